// The route declarations live in the protocol (packages/protocol/src/routes.ts), so that the web's
// API client is typed by the same table the server mounts its routers from.
export {
  ROUTE_TABLE,
  impliedErrors,
  roleOf,
  routeErrors,
  tableRoutes,
  type Access,
  type ApiRoute,
  type Rule,
  type Success,
  type TableRoute,
} from '@vmo/protocol';

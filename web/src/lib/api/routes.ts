// The route table as the web calls it: each route's method and path at run time from ROUTE_PATHS
// (generated, no zod: zod would be a third of the dashboard's JavaScript), and for the compiler
// the declared types of ROUTE_TABLE, so a call still takes and returns what the route declares.
import { ROUTE_PATHS, type ROUTE_TABLE } from '@vmo/protocol';

export const ROUTES = ROUTE_PATHS as unknown as typeof ROUTE_TABLE;

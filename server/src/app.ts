// createApp(deps): the Express app and the Socket.io server on one http.Server, not listening (tests drive it).
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cors from 'cors';
import express, { Router } from 'express';
import proxyAddr from 'proxy-addr';
import { Server } from 'socket.io';
import { JOBS_NAMESPACE } from '@vmo/protocol';
import type { Config } from './config.js';
import type { Db } from './db/client.js';
import { auditRoutes } from './http/audit.routes.js';
import { searchRoutes } from './http/search.routes.js';
import { authRoutes, loginLinkRoute } from './http/auth.routes.js';
import { healthRoutes } from './http/health.routes.js';
import { loadUser, originCheck, requireAuth } from './http/middleware/authenticate.js';
import { errorHandler, notFound } from './http/middleware/error.js';
import { hostCheck } from './http/middleware/host-check.js';
import { rejectNulInBody, rejectNulInUrl } from './http/middleware/odd-input.js';
import type { LoginLimits } from './http/middleware/rate-limit.js';
import { inlineScriptHashes, securityHeaders } from './http/middleware/security-headers.js';
import { sessionMiddleware } from './http/middleware/session.js';
import { jobsRoutes } from './http/jobs.routes.js';
import { catalogRoutes } from './http/catalog.routes.js';
import { metricsRoutes } from './http/metrics.routes.js';
import { openApiRoutes } from './http/openapi.routes.js';
import { clusterAdapter } from './realtime/cluster-adapter.js';
import { notificationsRoutes } from './http/notifications.routes.js';
import { schedulesRoutes } from './http/schedules.routes.js';
import { triggersRoutes, triggerUseRoutes } from './http/triggers.routes.js';
import { tokensRoutes } from './http/tokens.routes.js';
import { usersRoutes } from './http/users.routes.js';
import type { Logger } from './logger.js';
import { allowHandshake } from './realtime/handshake.js';
import { writeFlushesWhole } from './realtime/whole-flush.js';
import { attachJobsNamespace } from './realtime/jobs.namespace.js';
import type { JobsServer } from './realtime/socket.types.js';
import type { Services } from './services.js';

export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../web/build', import.meta.url));

export interface AppDeps {
  config: Pick<Config, 'security'>;
  db: Db;
  log: Logger;
  services: Services;
  sessionSecret: string;
  version: string;
  /** Job output one socket may have queued before it must resync (bytes). */
  sendBufferBytes?: number;
  /** The built SPA; null serves no static files. */
  webDir?: string | null;
  /** Failed sign-ins allowed before 429 (defaults: 10 per user and address, 100 per address, 15 min). */
  loginLimits?: LoginLimits;
}

export interface App {
  app: express.Express;
  server: HttpServer;
  io: JobsServer;
  /** Closes sockets and the HTTP server; the database belongs to the caller. */
  close(): Promise<void>;
}

export function createApp(deps: AppDeps): App {
  const { security } = deps.config;
  const { auth, tokens } = deps.services;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', security.trustProxy);
  const trust = app.get('trust proxy fn') as Parameters<typeof proxyAddr>[1];

  const session = sessionMiddleware({ pool: deps.db.pool, secret: deps.sessionSecret });
  const webDir = deps.webDir === undefined ? DEFAULT_WEB_DIR : deps.webDir;
  const spaIndex = webDir ? readIndex(webDir, deps.log) : null;

  app.use(hostCheck(security));
  app.use(
    securityHeaders({
      scriptHashes: spaIndex ? inlineScriptHashes(spaIndex.html) : [],
    }),
  );

  const api = Router();
  // The backend-URL override (SPEC §4): a page of a listed origin may call us with a token. Only
  // those origins get CORS answers, and never with cookies (credentials stay same-origin).
  const corsOrigins = security.allowedOrigins.map((o) => new URL(o).origin);
  api.use(
    cors({
      origin: corsOrigins,
      credentials: false,
      allowedHeaders: ['Authorization', 'Content-Type'],
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      maxAge: 600,
    }),
  );
  // Public: health, and the API's description (it holds no data).
  const access = deps.services.access;
  api.use(healthRoutes({ ...deps, access }), openApiRoutes({ ...deps, access }));
  api.use(session, loadUser(auth, tokens), originCheck(security));
  api.use(
    authRoutes({
      auth,
      access: deps.services.access,
      security,
      ...deps.services.signIn,
      sessionSecret: deps.sessionSecret,
      loginLimits: deps.loginLimits,
      limitCounts: deps.services.loginLimits,
    }),
  );
  // A trigger's use: its own secret is the credential (TRIGGER_PREFIX), no user is signed in.
  api.use(triggerUseRoutes(deps.services));
  // Everything below needs a signed-in user, checked before any body is parsed (SPEC §2: auth → size → schema).
  api.use(requireAuth, rejectNulInUrl, express.json({ limit: '64kb' }), rejectNulInBody);
  api.use(catalogRoutes(deps.services));
  api.use(jobsRoutes(deps.services));
  api.use(usersRoutes({ users: deps.services.accounts, access }));
  api.use(tokensRoutes(deps.services));
  api.use(schedulesRoutes(deps.services));
  api.use(triggersRoutes(deps.services));
  api.use(notificationsRoutes(deps.services));
  api.use(searchRoutes(deps.services));
  api.use(auditRoutes({ ...deps.services, log: deps.log }));
  api.use(notFound);
  app.use('/api', api);
  app.use(metricsRoutes({ metrics: deps.services.metrics, auth, tokens, session, access }));
  app.use(session, loadUser(auth, tokens), loginLinkRoute({ auth, access }));

  if (webDir && spaIndex) serveSpa(app, webDir, spaIndex.path);
  app.use(notFound);
  app.use(errorHandler(deps.log));

  const server = createServer(app);
  const io: JobsServer = new Server(server, {
    serveClient: false,
    // Long-polling from a listed origin (the override); websockets ignore CORS, and the handshake's
    // own Origin and token checks apply to both.
    cors: { origin: corsOrigins, credentials: false },
    allowRequest: allowHandshake(security),
    maxHttpBufferSize: 1e6,
    ...(deps.services.cluster ? { adapter: clusterAdapter(deps.db.pool, deps.log) } : {}),
  });
  writeFlushesWhole(io);
  deps.services.metrics.countSockets(() => io.of(JOBS_NAMESPACE).sockets.size);
  const detachNamespace = attachJobsNamespace(io, {
    ...deps.services,
    log: deps.log,
    sendBufferBytes: deps.sendBufferBytes,
    session,
    version: deps.version,
    sourceOf: (req) => proxyAddr(req, trust),
    security,
  });

  return {
    app,
    server,
    io,
    close: () =>
      new Promise<void>((resolve) => {
        detachNamespace();
        void io.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The SPA shell, read once: its inline bootstrap script's hash goes into the CSP header. */
function readIndex(webDir: string, log: Logger): { path: string; html: string } | null {
  const index = path.join(webDir, 'index.html');
  if (!existsSync(index)) {
    log.warn({ webDir }, 'the web app is not built (npm run build); serving the API only');
    return null;
  }
  return { path: index, html: readFileSync(index, 'utf8') };
}

function serveSpa(app: express.Express, webDir: string, index: string): void {
  // Files under _app/immutable have their content's hash in their name: never asked for again.
  app.use(
    express.static(webDir, {
      index: false,
      maxAge: '1h',
      setHeaders: (res, file) => {
        if (file.includes(`${path.sep}_app${path.sep}immutable${path.sep}`))
          res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      },
    }),
  );
  // Client-side routes (/jobs/…, /projects/…) all load the SPA shell.
  app.get(/^\/(?!api\/|socket\.io\/).*/, (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
}

// The public contract of vm-orchestrator, shared by the server and the browser.
export * from './errors.js';
export * from './auth.js';
export * from './health.js';
export * from './jobs.js';
export * from './socket.js';
export * from './admin.js';
export * from './audit-actions.js';
export * from './catalog.js';
export * from './lines.js';
export * from './permissions.js';
export * from './routes.js';
export * from './schedules.js';
export * from './triggers.js';
export * from './notifications.js';
export * from './search.js';
export * from './disposables.js';

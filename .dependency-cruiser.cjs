// The server's layers, checked by `make lint` (dependency-cruiser): no import circles, type-only
// imports included, and lower layers never reach up. From the bottom:
//   process   spawning, environments, quoting, process groups: node only
//   db        Postgres: tables, repositories (may use process's types)
//   runners, catalog, remote   may use process and db, never the job service
//   jobs      the job service
//   realtime, http   the two front doors; they share src/boundary, never each other
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle (type-only imports count: they tie the files together as much).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'process-is-the-bottom',
      severity: 'error',
      comment: 'src/process uses node and itself only.',
      from: { path: '^server/src/process/' },
      to: { path: '^server/src/', pathNot: '^server/src/process/' },
    },
    {
      name: 'db-stays-below',
      severity: 'error',
      comment: 'The database layer never imports what is built on it.',
      from: { path: '^server/src/db/' },
      to: {
        path: '^server/src/(jobs|runners|catalog|remote|realtime|http|auth|cluster|metrics|services)',
      },
    },
    {
      name: 'no-job-service-below',
      severity: 'error',
      comment: 'catalog, runners and remote never import the job service.',
      from: { path: '^server/src/(catalog|runners|remote)/' },
      to: { path: '^server/src/(jobs|realtime|http)/' },
    },
    {
      name: 'front-doors-apart',
      severity: 'error',
      comment: 'realtime and http share src/boundary; neither imports the other.',
      from: { path: '^server/src/realtime/' },
      to: { path: '^server/src/http/' },
    },
    {
      name: 'front-doors-apart-too',
      severity: 'error',
      from: { path: '^server/src/http/' },
      to: { path: '^server/src/realtime/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(\\.test\\.ts$|/dist/)' },
    tsPreCompilationDeps: true,
  },
};

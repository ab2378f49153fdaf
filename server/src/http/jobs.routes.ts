// Jobs over REST (SPEC §2): start, list, read, cancel and re-run; declared in ROUTE_TABLE.jobs.
import { ROUTE_TABLE } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import type { JobQueries } from '../jobs/job.queries.js';
import type { JobService } from '../jobs/job.service.js';
import { sourceOf } from './auth.routes.js';
import { ANSWERED, mount } from './mount.js';

export function jobsRoutes(deps: { jobs: JobService; queries: JobQueries; access: Access }) {
  const { jobs, queries } = deps;
  return mount(
    ROUTE_TABLE.jobs,
    {
      listJobs: ({ query, user }) => queries.list(query, user),
      startStream: ({ body, user }, req) => jobs.startStream(body, user, sourceOf(req)),
      startSsh: ({ body, user }, req) => jobs.startSsh(body, user, sourceOf(req)),
      startTerminal: ({ body, user }, req) => jobs.startTerminal(body, user, sourceOf(req)),
      startFanout: ({ body, user }, req) => jobs.startFanout(body, user, sourceOf(req)),
      cancelJob: ({ body, user }, req) => jobs.cancel(body.jobId, user, sourceOf(req)),
      getJob: ({ params, user }) => queries.get(params.id!, user),
      jobEvents: ({ params, query, user }) => queries.events(params.id!, query, user),
      jobTail: ({ params, query, user }) => queries.tail(params.id!, query, user),
      rerunJob: ({ params, body, user }, req) => jobs.rerun(params.id!, user, sourceOf(req), body),
      jobLog: async ({ params, user }, _req, res) => {
        const row = await queries.readableRow(params.id!, user);
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.setHeader('Content-Disposition', `attachment; filename="job-${row.id}.log"`);
        for await (const text of queries.log(row.id)) {
          if (res.destroyed) return ANSWERED; // the client went away
          if (!res.write(text))
            await new Promise((r) => (res.once('drain', r), res.once('close', r)));
        }
        res.end();
        return ANSWERED;
      },
    },
    { access: deps.access, prefix: '/api' },
  );
}

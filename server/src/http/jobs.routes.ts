import { Router, type RequestHandler } from 'express';
import {
  CancelJob,
  StartFanout,
  StartSsh,
  StartTerminal,
  EventsQuery,
  JobsQuery,
  RerunJob,
  StartStream,
  TailQuery,
  type EventsQuery as EventsQueryT,
  type JobsQuery as JobsQueryT,
  type TailQuery as TailQueryT,
} from '@vmo/protocol';
import type { JobQueries } from '../jobs/job.queries.js';
import type { JobService } from '../jobs/job.service.js';
import { sourceOf } from './auth.routes.js';
import type { Access } from '../auth/permissions.js';
import { allow } from './middleware/authenticate.js';
import { validate } from './middleware/validate.js';

/** A POST without a body is an empty object. */
const emptyBody: RequestHandler = (req, _res, next) => {
  req.body ??= {};
  next();
};

export function jobsRoutes(deps: {
  jobs: JobService;
  queries: JobQueries;
  access: Access;
}): Router {
  const { jobs, queries } = deps;
  const router = Router();
  // The route-level answer for callers who may never do it; the job service asks can() again per job.
  const operator = allow(deps.access, 'job.run');

  router.get('/jobs', validate(JobsQuery, 'query'), async (req, res) =>
    res.json(await queries.list(req.validated as JobsQueryT, req.user!)),
  );
  router.post('/jobs/stream', operator, validate(StartStream), async (req, res) =>
    res.status(201).json(await jobs.startStream(req.body, req.user!, sourceOf(req))),
  );
  router.post('/jobs/ssh-logs', operator, validate(StartSsh), async (req, res) =>
    res.status(201).json(await jobs.startSsh(req.body, req.user!, sourceOf(req))),
  );
  router.post(
    '/jobs/terminal',
    allow(deps.access, 'terminal.open'),
    validate(StartTerminal),
    async (req, res) =>
      res.status(201).json(await jobs.startTerminal(req.body, req.user!, sourceOf(req))),
  );
  router.post('/jobs/fanout', operator, validate(StartFanout), async (req, res) =>
    res.status(201).json(await jobs.startFanout(req.body, req.user!, sourceOf(req))),
  );
  router.post('/jobs/cancel', operator, validate(CancelJob), async (req, res) =>
    res.status(202).json(await jobs.cancel(req.body.jobId, req.user!, sourceOf(req))),
  );
  router.get('/jobs/:id', async (req, res) =>
    res.json(await queries.get(String(req.params.id), req.user!)),
  );
  router.get('/jobs/:id/events', validate(EventsQuery, 'query'), async (req, res) =>
    res.json(await queries.events(String(req.params.id), req.validated as EventsQueryT, req.user!)),
  );
  router.get('/jobs/:id/tail', validate(TailQuery, 'query'), async (req, res) =>
    res.json(await queries.tail(String(req.params.id), req.validated as TailQueryT, req.user!)),
  );
  // The body is optional: none re-runs the stored request as it was.
  router.post('/jobs/:id/rerun', operator, emptyBody, validate(RerunJob), async (req, res) =>
    res
      .status(201)
      .json(await jobs.rerun(String(req.params.id), req.user!, sourceOf(req), req.body)),
  );
  router.get('/jobs/:id/log', async (req, res) => {
    const row = await queries.readableRow(req.params.id, req.user!);
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="job-${row.id}.log"`);
    for await (const text of queries.log(row.id)) {
      if (res.destroyed) return; // the client went away
      if (!res.write(text)) await new Promise((r) => (res.once('drain', r), res.once('close', r)));
    }
    res.end();
  });
  return router;
}

// Search across every job's output (SPEC §2: GET /api/search, issue 25): the lines a user sees
// (escape codes stripped, `\r` redraws as they ended up), grouped by job, newest job first.
import { z } from 'zod';
import { Job, JobStatus, JobType } from './jobs.js';

export const SearchQuery = z.strictObject({
  q: z.string().min(1).max(1000),
  /** `1`: q is a regular expression (POSIX-style, as both Postgres and JavaScript read it). */
  regex: z.enum(['0', '1', 'true', 'false']).optional(),
  /** `1`: letters' case must match. */
  case: z.enum(['0', '1', 'true', 'false']).optional(),
  status: JobStatus.optional(),
  type: JobType.optional(),
  project: z.string().max(256).optional(),
  host: z.string().max(256).optional(),
  vm: z.string().max(256).optional(),
  environment: z.string().max(256).optional(),
  /** `me`, or a username. */
  user: z.string().max(128).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  /** The cursor: jobs older than this one. */
  before: z.string().max(200).optional(),
  /** Jobs per page. */
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
export type SearchQuery = z.infer<typeof SearchQuery>;

export const SearchLine = z.object({
  line: z.number().int(),
  text: z.string(),
});
export type SearchLine = z.infer<typeof SearchLine>;

export const SearchMatch = SearchLine.extend({
  /** [start, end) in `text`, UTF-16 offsets. */
  ranges: z.array(z.array(z.number().int()).length(2)),
  /** `text` is a window of a longer line, starting this far in. */
  offset: z.number().int().optional(),
  /** The line before and after it, when there is one. */
  before: SearchLine.nullable(),
  after: SearchLine.nullable(),
});
export type SearchMatch = z.infer<typeof SearchMatch>;

export const SearchHit = z.object({
  job: Job,
  matches: z.array(SearchMatch),
  /** More lines of this job match than are shown. */
  more: z.boolean(),
});
export type SearchHit = z.infer<typeof SearchHit>;

export const SearchPage = z.object({
  items: z.array(SearchHit),
  nextCursor: z.string().nullable(),
});
export type SearchPage = z.infer<typeof SearchPage>;

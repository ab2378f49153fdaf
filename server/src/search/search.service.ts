// GET /api/search (issue 25): which jobs printed this, and on which lines. First the newest jobs
// are read in order, a small window at a time (a common word fills the page from them alone);
// then, for what is left, the trigram index gives the candidate blocks of all older jobs at once
// (a rare literal costs its few blocks). A literal or regex then finds the lines in the blocks.
import type { SearchHit, SearchMatch, SearchPage, SearchQuery, User } from '@vmo/protocol';
import type { Access } from '../auth/permissions.js';
import { decodeCursor, encodeCursor, toJob, type JobsRepository } from '../db/jobs.repository.js';
import type {
  JobPlace,
  Pattern,
  SearchFilter,
  SearchRepository,
  StoredBlock,
} from '../db/search.repository.js';
import { AppError } from '../errors.js';
import { numbersOf } from './lines.js';

/** The newest jobs read in order before the index is asked: windows of the page's size × these. */
const WINDOWS = [1, 4];
/** A search through the index stops after this long (too common a pattern for it). */
const INDEX_TIMEOUT_MS = 10_000;
/** Blocks read per job, and lines shown per job. */
const BLOCKS_PER_JOB = 3;
/** A job's first blocks read in order for its lines, before its index is asked. */
const SCAN_BLOCKS = 16;
const LINES_PER_JOB = 10;
/** A longer line is shown as a window this wide around its first match. */
const MAX_TEXT = 400;
const MAX_RANGES = 20;

const yes = (v: string | undefined) => v === '1' || v === 'true';

/** Finds the matches of a pattern in one line, as JavaScript reads it. */
export type LineMatcher = (line: string) => [number, number][];

export function lineMatcher(p: Pattern): LineMatcher {
  if (p.kind === 'regex') {
    let re: RegExp;
    try {
      re = new RegExp(p.text, p.caseSensitive ? 'g' : 'gi');
    } catch (err) {
      throw new AppError('VALIDATION', `q: not a regular expression: ${(err as Error).message}`);
    }
    return (line) => {
      const out: [number, number][] = [];
      re.lastIndex = 0;
      for (let m = re.exec(line); m && out.length < MAX_RANGES; m = re.exec(line)) {
        if (m[0].length === 0) {
          re.lastIndex++; // an empty match: move on
          continue;
        }
        out.push([m.index, m.index + m[0].length]);
      }
      return out;
    };
  }
  const needle = p.caseSensitive ? p.text : p.text.toLowerCase();
  return (line) => {
    const hay = p.caseSensitive ? line : line.toLowerCase();
    const out: [number, number][] = [];
    for (let i = hay.indexOf(needle); i !== -1 && out.length < MAX_RANGES;) {
      out.push([i, i + needle.length]);
      i = hay.indexOf(needle, i + needle.length);
    }
    return out;
  };
}

/** A long line cut to a window around its first match, the ranges moved with it. */
export function clip(
  text: string,
  ranges: [number, number][],
): Pick<SearchMatch, 'text' | 'ranges' | 'offset'> {
  if (text.length <= MAX_TEXT) return { text, ranges };
  const start = Math.max(0, Math.min(ranges[0]![0] - MAX_TEXT / 4, text.length - MAX_TEXT));
  const end = start + MAX_TEXT;
  return {
    text: text.slice(start, end),
    ranges: ranges
      .filter(([a]) => a < end)
      .map(([a, b]) => [a - start, Math.min(b, end) - start] as [number, number]),
    offset: start,
  };
}

const brief = (line: number, text: string) => ({
  line,
  text: text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text,
});

export class SearchService {
  constructor(
    private readonly deps: { repo: SearchRepository; jobRows: JobsRepository; access: Access },
  ) {}

  async search(q: SearchQuery, user: User): Promise<SearchPage> {
    const pattern: Pattern = {
      kind: yes(q.regex) ? 'regex' : 'literal',
      text: q.q,
      caseSensitive: yes(q.case),
    };
    const match = lineMatcher(pattern);
    const filter = this.filterFor(q, user);
    let upper: JobPlace | null = null;
    if (q.before) {
      const c = decodeCursor(q.before);
      if (!c) throw new AppError('VALIDATION', 'before: not a cursor of this search');
      upper = c;
    }
    const places = await this.guard(() => this.findJobs(pattern, filter, upper, q.limit));
    const items = await this.hits(pattern, match, places, user);
    const last = places.at(-1);
    return {
      items,
      nextCursor:
        places.length === q.limit && last
          ? encodeCursor({ created_at: last.createdAt, id: last.id })
          : null,
    };
  }

  private filterFor(q: SearchQuery, user: User): SearchFilter {
    const f: SearchFilter = {};
    if (q.status) f.status = q.status;
    if (q.type) f.type = q.type;
    if (q.project) f.project = q.project;
    if (q.host) f.host = q.host;
    if (q.vm) f.vm = q.vm;
    if (q.environment) f.environment = q.environment;
    if (q.user === 'me') f.userId = user.id;
    else if (q.user) f.username = q.user;
    if (q.since) f.since = new Date(q.since);
    if (q.until) f.until = new Date(q.until);
    // What can(job.readOutput) refuses is left out in the query already (and checked again).
    if (user.role !== 'admin') f.readerId = user.id;
    return f;
  }

  /** Postgres refusing the regular expression is the caller's mistake, said as such. */
  private async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === '2201B') throw new AppError('VALIDATION', `q: ${e.message}`);
      throw err;
    }
  }

  private async findJobs(
    p: Pattern,
    f: SearchFilter,
    upper: JobPlace | null,
    limit: number,
  ): Promise<JobPlace[]> {
    const { repo } = this.deps;
    const found: JobPlace[] = [];
    for (const factor of WINDOWS) {
      const lower = await repo.placeBelow(upper, limit * factor);
      if (!lower) break; // fewer jobs than that left: the index takes them all
      found.push(...(await repo.jobsInWindow(p, f, { upper, lower }, limit - found.length)));
      if (found.length >= limit) return found;
      upper = lower; // the next window: below this one
    }
    try {
      found.push(...(await repo.jobsByIndex(p, f, upper, limit - found.length, INDEX_TIMEOUT_MS)));
    } catch (err) {
      if ((err as { code?: string }).code === '57014')
        throw new AppError(
          'VALIDATION',
          'q: too common a pattern to search the whole history for; narrow it (a longer text, a project, a time range)',
        );
      throw err;
    }
    return found;
  }

  private async hits(
    p: Pattern,
    match: (line: string) => [number, number][],
    places: readonly JobPlace[],
    user: User,
  ): Promise<SearchHit[]> {
    const ids = places.map((x) => x.id);
    const [rows, blocks] = await Promise.all([
      this.deps.jobRows.getMany(ids),
      Promise.all(
        ids.map((id) => this.deps.repo.matchingBlocks(p, id, BLOCKS_PER_JOB, SCAN_BLOCKS)),
      ).then((each) => each.flat()),
    ]);
    const items: SearchHit[] = [];
    for (const id of ids) {
      const row = rows.find((r) => r.id === id);
      if (!row) continue; // deleted meanwhile
      const job = this.deps.access.present(toJob(row), user);
      if (!job.can.readOutput) continue;
      const mine = blocks.filter((b) => b.job_id === id);
      const { matches, more } = await this.linesOf(mine, match);
      if (matches.length === 0) continue; // Postgres's regex and JavaScript's may differ
      items.push({ job, matches, more: more || mine.length === BLOCKS_PER_JOB });
    }
    return items;
  }

  private async linesOf(
    blocks: readonly StoredBlock[],
    match: (line: string) => [number, number][],
  ): Promise<{ matches: SearchMatch[]; more: boolean }> {
    const matches: SearchMatch[] = [];
    for (const block of blocks) {
      const lines = block.body.split('\n');
      const nos = numbersOf({ firstLine: block.first_line, lineNos: block.line_nos }, lines.length);
      for (let k = 0; k < lines.length; k++) {
        const ranges = match(lines[k]!);
        if (ranges.length === 0) continue;
        if (matches.length === LINES_PER_JOB) return { matches, more: true };
        const { repo } = this.deps;
        matches.push({
          line: nos[k]!,
          ...clip(lines[k]!, ranges),
          // At a block's edge the line of context is the neighbouring block's.
          before:
            k > 0
              ? brief(nos[k - 1]!, lines[k - 1]!)
              : lastLine(await repo.neighbour(block.job_id, block.id, 'before')),
          after:
            k < lines.length - 1
              ? brief(nos[k + 1]!, lines[k + 1]!)
              : firstLine(await repo.neighbour(block.job_id, block.id, 'after')),
        });
      }
    }
    return { matches, more: false };
  }
}

function lastLine(block: StoredBlock | null) {
  if (!block) return null;
  const lines = block.body.split('\n');
  const nos = numbersOf({ firstLine: block.first_line, lineNos: block.line_nos }, lines.length);
  return brief(nos.at(-1)!, lines.at(-1)!);
}

function firstLine(block: StoredBlock | null) {
  if (!block) return null;
  const nl = block.body.indexOf('\n');
  return brief(
    block.line_nos?.[0] ?? block.first_line,
    nl === -1 ? block.body : block.body.slice(0, nl),
  );
}

// The audit trail's hash chain (SPEC §2 "Audit chain"): each entry's hash is
// sha256(prevHash + the entry's content as RFC 8785 canonical JSON), hex; the first entry's
// prevHash is 64 zeros, or after retention the hash of the last deleted entry (the anchor). Pure:
// the writer, the verifier, the export and the offline check all compute it here.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export const ZERO_HASH = '0'.repeat(64);

/** An entry as stored (audit_log's columns). */
export interface ChainRow {
  id: number | string;
  ts: Date;
  user_id: string | null;
  username: string | null;
  action: string;
  target: string | null;
  source: string | null;
  details: Record<string, unknown> | null;
}

/** What the hash covers: every column but the hashes, ids as strings, times as ISO strings. */
export interface EntryContent {
  id: string;
  ts: string;
  userId: string | null;
  username: string | null;
  action: string;
  target: string | null;
  source: string | null;
  details: Record<string, unknown> | null;
}

export function contentOf(row: ChainRow): EntryContent {
  return {
    id: String(row.id),
    ts: row.ts.toISOString(),
    userId: row.user_id,
    username: row.username,
    action: row.action,
    target: row.target,
    source: row.source,
    details: row.details,
  };
}

export function hashOf(prevHash: string, content: EntryContent): string {
  const canonical = canonicalize(content);
  if (canonical === undefined) throw new Error('an audit entry has no canonical form');
  return createHash('sha256')
    .update(prevHash + canonical, 'utf8')
    .digest('hex');
}

/** One line of an export (and the `entry` of a backed-up item): the content and both hashes. */
export interface ExportLine extends EntryContent {
  prevHash: string;
  hash: string;
}

export const exportLine = (row: ChainRow & { prev_hash: string; hash: string }): ExportLine => ({
  ...contentOf(row),
  prevHash: row.prev_hash,
  hash: row.hash,
});

/** The CSV export's columns, in order (`details` as its JSON text); they end with the hashes. */
export const CSV_COLUMNS = [
  'id',
  'ts',
  'userId',
  'username',
  'action',
  'target',
  'source',
  'details',
  'prevHash',
  'hash',
] as const;

/** One CSV record (RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled). */
export function csvRecord(line: ExportLine): string {
  return (
    CSV_COLUMNS.map((c) => {
      const v = c === 'details' ? (line.details ? JSON.stringify(line.details) : '') : line[c];
      const text = v ?? '';
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    }).join(',') + '\r\n'
  );
}

/**
 * Walks entries in id order from the anchor and reports the first link that does not hold: its
 * prevHash is not the hash before it (an entry before it was deleted, or its prevHash edited), or
 * its hash is not that of its content (it was edited). Feed it with `next`, then read `result`.
 */
export class ChainCheck {
  checked = 0;
  verifiedUpTo: string | null = null;
  firstBroken: { id: string; reason: string } | null = null;
  private prev: string;
  private prevId: string | null;

  constructor(anchor: { id: number | string; hash: string } | null) {
    this.prev = anchor?.hash ?? ZERO_HASH;
    this.prevId = anchor && Number(anchor.id) > 0 ? String(anchor.id) : null;
  }

  /** False once a link is broken (stop feeding). */
  next(line: ExportLine): boolean {
    if (this.firstBroken) return false;
    this.checked++;
    if (line.prevHash !== this.prev) {
      const before = this.prevId ? `#${this.prevId}` : 'the start of the chain';
      this.firstBroken = {
        id: line.id,
        reason: `its prevHash is not the hash of ${before}: an entry between them was deleted, or a hash edited`,
      };
      return false;
    }
    const { prevHash: _p, hash, ...content } = line;
    if (hashOf(this.prev, content) !== hash) {
      this.firstBroken = {
        id: line.id,
        reason: 'its content does not match its hash: the entry was edited',
      };
      return false;
    }
    this.prev = hash;
    this.prevId = line.id;
    this.verifiedUpTo = line.id;
    return true;
  }
}

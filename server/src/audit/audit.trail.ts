// The audit trail as a whole (issue 28): the chain verified from its anchor, exported as a stream
// (a million entries never held at once), and retention that keeps it verifiable.
import type { AuditBackupStatus, AuditVerify } from '@vmo/protocol';
import type { AuditRepository } from '../db/audit.repository.js';
import type { Logger } from '../logger.js';
import { WorkLoop } from '../loop.js';
import { ChainCheck, exportLine, type ExportLine } from './chain.js';

/** Entries read per query when walking the log. */
const PAGE = 5_000;

export interface AuditTrailDeps {
  audit: AuditRepository;
  log: Logger;
  /** `audit.retentionDays`; null keeps every entry. */
  retentionDays: number | null;
  /** What the backup holds (null: no backup): retention never deletes past it. */
  shippedUpTo?: () => Promise<number | null>;
  /** Where the backup stands, for the verify answer. */
  backupStatus?: () => Promise<AuditBackupStatus>;
}

export class AuditTrail {
  constructor(private readonly deps: AuditTrailDeps) {}

  /** Every entry in id order from `afterId`, a page at a time, within [since, until). */
  async *lines(f: { since?: Date; until?: Date } = {}): AsyncGenerator<ExportLine> {
    let afterId = 0;
    for (;;) {
      const rows = await this.deps.audit.range({ afterId, limit: PAGE, ...f });
      for (const row of rows) yield exportLine(row);
      if (rows.length < PAGE) return;
      afterId = rows.at(-1)!.id;
    }
  }

  /** Walks the chain from its anchor to its head and names the first link that does not hold. */
  async verify(): Promise<AuditVerify> {
    const chain = await this.deps.audit.chain();
    const check = new ChainCheck({ id: chain.anchor_id, hash: chain.anchor_hash });
    let last = { id: Number(chain.anchor_id), hash: chain.anchor_hash };
    for await (const line of this.lines()) {
      if (!check.next(line)) break;
      last = { id: Number(line.id), hash: line.hash };
    }
    let firstBroken = check.firstBroken;
    // The head is written with each entry: entries deleted at the end of the log show here.
    if (!firstBroken && (last.id !== Number(chain.head_id) || last.hash !== chain.head_hash))
      firstBroken = {
        id: String(chain.head_id),
        reason: `the chain's head is #${chain.head_id}, but the log ends at #${last.id}: entries at its end were deleted, or the head edited`,
      };
    return {
      ok: firstBroken === null,
      checked: check.checked,
      verifiedUpTo: check.verifiedUpTo,
      firstBroken,
      anchor:
        Number(chain.anchor_id) > 0
          ? { id: String(chain.anchor_id), hash: chain.anchor_hash }
          : null,
      backup: this.deps.backupStatus ? await this.deps.backupStatus() : null,
    };
  }

  /** One round of retention: a batch of the oldest entries past `retentionDays` (as of `now`). */
  async prune(batch = 1_000, now = Date.now()): Promise<number> {
    const days = this.deps.retentionDays;
    if (days === null) return 0;
    const shipped = this.deps.shippedUpTo ? await this.deps.shippedUpTo() : null;
    const before = new Date(now - days * 24 * 60 * 60 * 1000);
    const deleted = await this.deps.audit.deleteOldest(
      before,
      shipped ?? Number.MAX_SAFE_INTEGER,
      batch,
    );
    if (deleted) this.deps.log.info({ deleted, before }, 'audit retention');
    return deleted;
  }

  /** Retention in the background: a batch at a time, looked at hourly. */
  startRetention(): () => Promise<void> {
    if (this.deps.retentionDays === null) return () => Promise.resolve();
    return new WorkLoop(async () => {
      try {
        return (await this.prune()) > 0;
      } catch (err) {
        this.deps.log.warn({ err }, 'audit retention failed');
        return false;
      }
    }, 3_600_000).start();
  }
}

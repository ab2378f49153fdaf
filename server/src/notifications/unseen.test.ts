import { describe, expect, it } from 'vitest';
import type { JobRecord } from '@vmo/protocol';
import { tellsOwner } from './unseen.js';

const job = (over: Partial<JobRecord>): JobRecord =>
  ({
    id: 'j',
    status: 'success',
    parentId: null,
    requestedBy: { id: 'u', username: 'u' },
    trigger: { kind: 'manual', id: null },
    ...over,
  }) as JobRecord;

describe(tellsOwner.name, () => {
  it("tells an owner of their top-level jobs' ends, not a schedule's successes", () => {
    expect(tellsOwner(job({}))).toBe(true);
    expect(tellsOwner(job({ status: 'failed', trigger: { kind: 'schedule', id: 's' } }))).toBe(
      true,
    );
    expect(tellsOwner(job({ trigger: { kind: 'schedule', id: 's' } }))).toBe(false);
    expect(tellsOwner(job({ status: 'running' }))).toBe(false);
    expect(tellsOwner(job({ status: 'spawned' }))).toBe(false);
    expect(tellsOwner(job({ parentId: 'g' }))).toBe(false);
    expect(tellsOwner(job({ requestedBy: null }))).toBe(false);
  });
});

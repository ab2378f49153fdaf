// A Job for unit tests: a running `make hello NAME=x` of user u1, with any field overridden.
import type { Job } from '@vmo/protocol';

export const job = (over: Partial<Job> = {}): Job => ({
  id: 'j1',
  type: 'stream',
  status: 'running',
  project: 'engine',
  host: null,
  environment: null,
  vm: null,
  target: 'hello',
  args: {},
  preset: null,
  command: 'make hello NAME=x',
  exitCode: null,
  signal: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  startedAt: null,
  finishedAt: null,
  requestedBy: { id: 'u1', username: 'dana' },
  parentId: null,
  lastSeq: 0,
  outputBytes: 0,
  truncated: false,
  protection: null,
  can: { cancel: true, rerun: true, readOutput: true, input: false },
  ...over,
});

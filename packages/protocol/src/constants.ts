// Plain values (and one decoder) of the contract, without zod: the web bundle imports them without pulling any
// schema in (zod would be a third of the dashboard's JavaScript).
import type { JobStatus } from './jobs.js';

/** The statuses a job never leaves. */
export const FINAL_STATUSES: readonly JobStatus[] = [
  'success',
  'failed',
  'canceled',
  'interrupted',
  'spawned',
];

/** The Socket.io namespace of jobs (SPEC §2 WebSocket). */
export const JOBS_NAMESPACE = '/jobs';

const eventDecoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** An event's bytes (binary mode, or as stored) as the text `chunk` the text events carry. */
export function decodeEventBytes(data: Uint8Array | ArrayBuffer): string {
  return eventDecoder.decode(data);
}

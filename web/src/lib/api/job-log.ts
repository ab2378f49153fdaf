// The download of a job's whole output (GET /api/jobs/:id/log). On this origin a plain link does
// it, the session cookie going along. Under the backend-URL override a link would reach this
// origin, not the backend, and carry no token: the log is fetched with the token instead and saved
// from an object URL.
import type { BackendOverride } from '$lib/settings/backend.js';

export function jobLogPath(id: string): string {
  return `/api/jobs/${encodeURIComponent(id)}/log`;
}

/** The name the server gives the file in its Content-Disposition, and so do we. */
export function jobLogFilename(id: string): string {
  return `job-${id}.log`;
}

/** The same-origin link that downloads the log, or null when it has to be fetched. */
export function jobLogLink(id: string, backend: BackendOverride | null): string | null {
  return backend ? null : jobLogPath(id);
}

/** What saving a blob needs from the browser; tests pass their own. */
export interface SaveEnv {
  createObjectURL(blob: Blob): string;
  revokeObjectURL(url: string): void;
  /** Follows a link that downloads `href` as `filename`. */
  follow(href: string, filename: string): void;
  /** Runs `fn` a little later. */
  later(fn: () => void): void;
}

/**
 * Some browsers (Firefox, Safari) still read the object URL after the click has returned: revoking
 * at once can cancel the download, so it goes a little later.
 */
const REVOKE_AFTER_MS = 10_000;

export const browserSaveEnv: SaveEnv = {
  createObjectURL: (blob) => URL.createObjectURL(blob),
  revokeObjectURL: (url) => URL.revokeObjectURL(url),
  follow(href, filename) {
    const link = document.createElement('a');
    link.href = href;
    link.download = filename;
    link.hidden = true;
    document.body.append(link);
    try {
      link.click();
    } finally {
      link.remove();
    }
  },
  later: (fn) => void setTimeout(fn, REVOKE_AFTER_MS),
};

/** Saves `blob` as a file named `filename`; its object URL is revoked afterwards, whatever happens. */
export function saveBlob(blob: Blob, filename: string, env: SaveEnv = browserSaveEnv): void {
  const url = env.createObjectURL(blob);
  try {
    env.follow(url, filename);
  } finally {
    env.later(() => env.revokeObjectURL(url));
  }
}

// Finding programs the server starts.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** An executable named like the alias on PATH (the mkcli convention), or null. */
export function findOnPath(name: string, pathVar: string | undefined): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return null;
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate; // a directory is "executable" too
    } catch {
      // not here
    }
  }
  return null;
}

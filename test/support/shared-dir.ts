import * as path from 'node:path';

/**
 * The shared folder (corpora, fixtures, loghub) sits beside the repository: `<repoRoot>/../shared`.
 * In CI the clone lives elsewhere with `shared/` beside it, so resolve from the repo root, not from
 * a fixed absolute path. `SHARED_DIR` overrides both.
 */
const repoRoot = path.resolve(__dirname, '../..');

export function sharedDir(): string {
  return process.env.SHARED_DIR ?? path.resolve(repoRoot, '../shared');
}

export function sharedPath(...parts: string[]): string {
  return path.join(sharedDir(), ...parts);
}

import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { sharedPath } from './shared-dir';

/** A row of `corpora/secrets.jsonl.gz`: a text holding one secret (sometimes more) of a format. */
export interface SecretRow {
  format: string;
  text: string;
  secret: string;
  other_secrets?: string[];
}

/**
 * One of the shared corpora (`../shared/corpora/<name>`, JSON lines, gzipped when the name ends in
 * `.gz`), read in place: the corpora are never copied into the project.
 */
export function readCorpus<T>(name: string): T[] {
  const bytes = fs.readFileSync(sharedPath('corpora', name));
  return (name.endsWith('.gz') ? zlib.gunzipSync(bytes) : bytes)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

import { createHash } from 'node:crypto';

/**
 * The fingerprint of one normalised message within its scope: hex sha256 of
 * `source + "|" + feature + "|" + normalizedMessage`. It never changes once computed; grouping
 * decisions (merges) are recorded beside it, as aliases, never by rewriting it.
 */
export function fingerprint(source: string, feature: string, normalizedMessage: string): string {
  return createHash('sha256').update(`${source}|${feature}|${normalizedMessage}`).digest('hex');
}

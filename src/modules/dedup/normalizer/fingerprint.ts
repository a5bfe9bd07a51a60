import { hash } from 'node:crypto';

/**
 * The version of what turns a message into a fingerprint (the secret scrubber and the normaliser).
 * Bump it whenever either changes its output for some input: at the next start, fixloop gives each
 * fingerprint's stored samples the new treatment and files any new fingerprint as an alias of the
 * same issue (`FingerprintUpgradeService`), so an upgrade does not split issues.
 * 1: up to session 6; 2: session 7's normaliser rules (durations, restated values, reverse DNS, ...);
 * 3: session 9's upper-case random ids (ULIDs), numbers with exponents, IPv4-mapped IPv6 addresses,
 * and text PostgreSQL cannot store replaced before scrubbing; 4: session 10's scrubbed scope (source
 * and feature), redaction markers masked as variables, and logfmt lines read for their message;
 * 5: session 11's scope names clipped to SCOPE_MAX_LENGTH (200) characters.
 */
export const FINGERPRINT_VERSION = 5;

/**
 * The fingerprint of one normalised message within its scope: hex sha256 of
 * `source + "|" + feature + "|" + normalizedMessage`. It never changes once computed; grouping
 * decisions (merges) are recorded beside it, as aliases, never by rewriting it.
 */
export function fingerprint(source: string, feature: string, normalizedMessage: string): string {
  // One-shot `hash` (UTF-8, as `createHash().update(string)`): a hash object per message cost 2.5x as much.
  return hash('sha256', `${source}|${feature}|${normalizedMessage}`);
}

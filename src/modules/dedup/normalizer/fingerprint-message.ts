import type { FingerprintedMessage } from '../dedup.contract';
import { storableText } from '../../../shared/database/pg-text';
import { scrubbedText } from '../../../shared/security/scrubbed-text';
import { scrubSecrets } from '../../../shared/security/secret-scrubber';
import { fingerprint } from './fingerprint';
import { normalizeMessage } from './message-normalizer';

/**
 * The one path from a message to its template, shared by ingest, the fingerprint upgrade,
 * verification's Loki reader and the `fixloop normalize`/`group` commands. Text PostgreSQL cannot
 * store is replaced first (`storableText`, as ingest stores it), then secrets are removed: nothing
 * derived from a message (title, template, samples) holds one, and two messages that differ only
 * by a token share a template.
 */
export function templateOf(message: string): { scrubbed: string; normalized: string } {
  const scrubbed = scrubSecrets(storableText(message)).text;
  return { scrubbed, normalized: normalizeMessage(scrubbed) };
}

/** Longest scope name (source, feature) kept, as the events API allows; a longer one is clipped. */
export const SCOPE_MAX_LENGTH = 200;

/**
 * A scope name (source, feature) or another short label-derived field (level, version) as it is
 * stored and sent: storable, without secrets (a label can carry one as well as a message), and at
 * most SCOPE_MAX_LENGTH characters, clipped after scrubbing so that no part of a secret is kept.
 * Loki labels and Grafana alert labels have no length of their own: the scope is indexed, and an
 * index entry has a size limit (a 100 kB source failed the whole push with a 500).
 */
export function scopeText(text: string): string {
  if (cleanScopes.has(text)) return text;
  const scoped = scrubbedText(text, SCOPE_MAX_LENGTH);
  if (scoped === text) {
    // Only text the scrubber left as it was is remembered, so no secret is held here.
    if (cleanScopes.size >= CLEAN_SCOPES_MAX) cleanScopes.clear();
    cleanScopes.add(text);
  }
  return scoped;
}

/**
 * Scope names already found storable, short enough and free of secrets: a service sends the same
 * few sources and features with every message, and scrubbing them again cost about a tenth of
 * fingerprinting a message (bench/grouping throughput). Bounded; emptied when full.
 */
const cleanScopes = new Set<string>();
const CLEAN_SCOPES_MAX = 4_096;

/** `templateOf` plus the fingerprint of the template in its (source, feature) scope, as stored. */
export function fingerprintMessage(source: string, feature: string, message: string): FingerprintedMessage {
  const { scrubbed, normalized } = templateOf(message);
  const scopedSource = scopeText(source);
  const scopedFeature = scopeText(feature);
  // No `{ ...scope, more }`: on Node 20 each property added after a spread cost about 0.6 us (V8
  // builds the copy's shape again every time), a quarter of this function's time.
  return {
    source: scopedSource,
    feature: scopedFeature,
    scrubbed,
    normalized,
    fingerprint: fingerprint(scopedSource, scopedFeature, normalized),
  };
}

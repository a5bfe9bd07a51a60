import { fingerprintMessage, scopeText } from '../../dedup/normalizer.contract';
import {
  DEFAULT_FEATURE,
  DEFAULT_LOKI_FEATURE_LABELS,
  DEFAULT_LOKI_SOURCE_LABELS,
  DEFAULT_VERSION_LABELS,
  UNKNOWN_SOURCE,
  extractVersion,
  firstPresent,
} from '../../ingest/ingest.contract';
import { lineMessage } from '../../../shared/logs/log-line';

/**
 * Reads a log line fetched from Loki the way ingest reads a pushed line
 * (src/modules/ingest/parsers/loki-push.parser.ts), so that verification recognises exactly the
 * lines ingest would have grouped into the issue: source and feature from the first present label
 * (stream labels before structured metadata), the message as ingest takes it (`lineMessage`: a
 * JSON or logfmt line's message fields, else the raw line), the version from the version labels; then the
 * message is scrubbed, normalised and fingerprinted with dedup's functions.
 *
 * The label-name defaults come from ingest's contract; both modules read the same
 * LOKI_SOURCE_LABELS / LOKI_FEATURE_LABELS overrides.
 */
export const INGEST_LOKI_SOURCE_LABELS = DEFAULT_LOKI_SOURCE_LABELS;
export const INGEST_LOKI_FEATURE_LABELS = DEFAULT_LOKI_FEATURE_LABELS;
export const INGEST_DEFAULT_FEATURE = DEFAULT_FEATURE;
export const INGEST_UNKNOWN_SOURCE = UNKNOWN_SOURCE;
export const INGEST_VERSION_LABELS = DEFAULT_VERSION_LABELS;

export interface LineReaderOptions {
  sourceLabels: readonly string[];
  featureLabels: readonly string[];
}

export interface ReadLine {
  source: string;
  feature: string;
  /** The message as ingest reads it from the line, before scrubbing (compare, never store). */
  message: string;
  /** The message as dedup stores it: storable, secrets scrubbed. */
  scrubbedMessage: string;
  normalizedMessage: string;
  fingerprint: string;
  version?: string;
}

export function readLokiLine(
  streamLabels: Record<string, string>,
  structuredMetadata: Record<string, string>,
  line: string,
  opts: LineReaderOptions,
): ReadLine {
  const maps = [streamLabels, structuredMetadata];
  const source = firstPresent(opts.sourceLabels, maps) ?? INGEST_UNKNOWN_SOURCE;
  const feature = firstPresent(opts.featureLabels, maps) ?? INGEST_DEFAULT_FEATURE;
  const message = lineMessage(line);
  const filed = fingerprintMessage(source, feature, message);
  const read: ReadLine = {
    source,
    feature,
    message,
    scrubbedMessage: filed.scrubbed,
    normalizedMessage: filed.normalized,
    fingerprint: filed.fingerprint,
  };
  const version = extractVersion(maps, INGEST_VERSION_LABELS);
  // Scrubbed as dedup stores an event's version, so both recurrence paths classify the same text.
  if (version !== undefined) read.version = scopeText(version);
  return read;
}

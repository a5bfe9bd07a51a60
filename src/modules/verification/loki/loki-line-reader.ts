import { fingerprintMessage } from '../../dedup/normalizer.contract';
import {
  DEFAULT_FEATURE,
  DEFAULT_LOKI_FEATURE_LABELS,
  DEFAULT_LOKI_SOURCE_LABELS,
  DEFAULT_VERSION_LABELS,
  UNKNOWN_SOURCE,
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
  message: string;
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
    normalizedMessage: filed.normalized,
    fingerprint: filed.fingerprint,
  };
  const version = firstVersion(maps);
  if (version !== undefined) read.version = version;
  return read;
}

function firstPresent(names: readonly string[], maps: ReadonlyArray<Record<string, string>>): string | undefined {
  for (const map of maps) {
    for (const name of names) {
      const value = map[name];
      if (value !== undefined && value.trim() !== '') return value;
    }
  }
  return undefined;
}

function firstVersion(maps: ReadonlyArray<Record<string, string>>): string | undefined {
  for (const map of maps) {
    for (const name of INGEST_VERSION_LABELS) {
      const value = map[name]?.trim();
      if (value && value.length <= 200) return value;
    }
  }
  return undefined;
}

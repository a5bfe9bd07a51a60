/**
 * What the ingest module publishes for others: how a log line's labels become an observation's
 * source, feature and build version. Verification reads Loki lines back with the same names.
 */
export { DEFAULT_FEATURE, DEFAULT_LOKI_FEATURE_LABELS, DEFAULT_LOKI_SOURCE_LABELS } from './ingest-label-defaults';
export { DEFAULT_VERSION_LABELS } from './parsers/label-version';
export { UNKNOWN_SOURCE } from './parsers/observation';

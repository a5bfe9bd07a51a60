/**
 * What the ingest module publishes for others: how a log line's labels become an observation's
 * source, feature and build version (verification reads Loki lines back with the same names and
 * functions), and the webhook's auth, which the application runs before the body is read and parsed.
 */
export { DEFAULT_FEATURE, DEFAULT_LOKI_FEATURE_LABELS, DEFAULT_LOKI_SOURCE_LABELS } from './ingest-label-defaults';
export { DEFAULT_VERSION_LABELS, extractVersion } from './parsers/label-version';
export { firstPresent } from './parsers/json-guards';
export { UNKNOWN_SOURCE } from './parsers/observation';
export { authenticateWebhook, webhookSignatureBeforeBody } from './guards/ingest-webhook.guard';
export { GRAFANA_SIGNATURE_HEADER } from './parsers/grafana-signature';

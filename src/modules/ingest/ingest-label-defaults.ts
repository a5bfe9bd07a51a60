/**
 * Which alert labels/annotations (Grafana, Alertmanager) and which Loki stream labels give an
 * observation its source, feature and message. Each is overridable by configuration
 * (ALERT_SOURCE_LABELS, ALERT_FEATURE_LABELS, ALERT_MESSAGE_LABELS, LOKI_SOURCE_LABELS,
 * LOKI_FEATURE_LABELS); the first name present wins. So are the names holding a pushed line's level
 * (LOKI_LEVEL_LABELS, LOKI_JSON_LEVEL_FIELDS) and the levels that make it an error (LOKI_ERROR_LEVELS).
 */
export const DEFAULT_ALERT_SOURCE_LABELS = ['source', 'service_name', 'app', 'job'] as const;
export const DEFAULT_ALERT_FEATURE_LABELS = ['feature'] as const;
export const DEFAULT_ALERT_MESSAGE_LABELS = ['msg', 'message'] as const;

export const DEFAULT_LOKI_SOURCE_LABELS = ['source', 'service_name', 'app', 'job', 'service'] as const;
export const DEFAULT_LOKI_FEATURE_LABELS = ['feature', 'component', 'logger'] as const;

/** Stream labels and structured-metadata keys holding a pushed line's level, in priority order. */
export const DEFAULT_LOKI_LEVEL_LABELS = ['level', 'detected_level', 'severity'] as const;
/** Fields of a JSON log line holding its level (pino, winston, bunyan, zap, logrus...). */
export const DEFAULT_LOKI_JSON_LEVEL_FIELDS = ['level', 'severity', 'lvl'] as const;

/** Levels (label `level`/`detected_level` or a parsed JSON field) that count a Loki line as an error. */
export const DEFAULT_LOKI_ERROR_LEVELS = [
  'error',
  'err',
  'fatal',
  'critical',
  'crit',
  'panic',
  'emerg',
  'alert',
  '50',
  '60',
] as const;

/** The feature an observation gets when none of the feature labels is present. */
export const DEFAULT_FEATURE = 'default';

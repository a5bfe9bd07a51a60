import { DEFAULT_FEATURE } from '../ingest-label-defaults';
import { IngestInputError } from '../ingest.errors';
import { deliveryKey } from './delivery-key';
import {
  childPath,
  describeType,
  firstPresent,
  invalidPayload,
  isJsonObject,
  readStringMap,
  type JsonObject,
} from './json-guards';
import { DEFAULT_VERSION_LABELS, extractVersion } from './label-version';
import { UNKNOWN_SOURCE, type Observation, type SyntheticAlert } from './observation';

/**
 * Grafana unified alerting webhook (`version: "1"`) and Prometheus Alertmanager webhook
 * (`version: "4"`) -> one observation per alert. See FORMATS.md sections 1 and 2.
 */

export interface AlertWebhookOptions {
  /** Label/annotation names giving the source (DEFAULT_ALERT_SOURCE_LABELS). */
  sourceLabels: readonly string[];
  /** Label/annotation names giving the feature (DEFAULT_ALERT_FEATURE_LABELS). */
  featureLabels: readonly string[];
  /** Label/annotation names giving the message (DEFAULT_ALERT_MESSAGE_LABELS). */
  messageLabels: readonly string[];
  /** Receipt time: `occurredAt` when an alert carries no usable `startsAt`. */
  receivedAt: Date;
  /**
   * Grafana `values` keys (refIds) to use as the count, in preference order, when present and
   * numeric, e.g. `['B']` when every rule reduces into B (ALERT_COUNT_REF_IDS). Empty by default
   * (see `alertCount`). A rule's own `COUNT_REF_ANNOTATION` wins.
   */
  countRefIds?: readonly string[];
  /** Label names carrying a build version (DEFAULT_VERSION_LABELS). */
  versionLabels?: readonly string[];
}

export interface AlertWebhookResult {
  kind: 'grafana' | 'alertmanager';
  observations: Observation[];
  /**
   * Alerts the sender dropped because of its `max_alerts`/`maxAlerts` limit (0 when absent, as old
   * Alertmanagers omit the field). Log it when > 0: those alerts are not in `observations`.
   */
  truncatedAlerts: number;
  groupKey?: string;
  receiver?: string;
}

/** The largest count an observation gets (a Postgres `integer`). */
export const MAX_OBSERVATION_COUNT = 2_147_483_647;

const SYNTHETIC_ALERTS: readonly SyntheticAlert[] = ['DatasourceNoData', 'DatasourceError'];
const MESSAGE_ANNOTATION_FALLBACKS = ['summary', 'description'] as const;
const LEVEL_LABELS = ['severity', 'level'] as const;
const STACK_ANNOTATIONS = ['stack', 'stacktrace', 'stack_trace'] as const;
/**
 * The annotation by which a rule says which of its refIds counts occurrences (`A` for fixloop's
 * provisioned rules), or `none` when its value is no count at all (memory, CPU, latency): then each
 * notification counts 1. An annotation, not a label, so it is not part of the alert's identity.
 */
export const COUNT_REF_ANNOTATION = 'fixloop_count_ref';

/**
 * Parses a Grafana or Alertmanager webhook body (already JSON-decoded). Validates the shape and
 * throws `IngestInputError` naming the JSON path of the first problem; an unknown `version` gives
 * `INGEST_UNSUPPORTED_VERSION`.
 *
 * Per alert:
 * - `source`: the first `sourceLabels` name present in the labels, then in the annotations; else
 *   `UNKNOWN_SOURCE`. Deliberately not `alertname`: the source names the service (it routes the
 *   issue to a repository), the alert name names the symptom and already backs the message.
 * - `feature`: `featureLabels` in labels, then annotations; else `DEFAULT_FEATURE`.
 * - `message`: `messageLabels` in labels, then annotations; then the `summary`, then `description`
 *   annotation; then the `alertname` label. Raw text: a templated summary may contain numbers, which
 *   the caller's normalisation must handle.
 * - `level`: the `severity` or `level` label. `stack`: a `stack`/`stacktrace`/`stack_trace` annotation.
 * - `occurredAt`: `startsAt`, or `receivedAt` when absent, unparseable or Go's zero time.
 *   `endedAt` (resolved alerts only): `endsAt`, unless absent, unparseable or Go's zero time.
 * - `count`: the refId the rule's `COUNT_REF_ANNOTATION` names, else see `alertCount`. `status`: the alert's own status (a group may mix both).
 * - `synthetic`: set for Grafana's `DatasourceNoData`/`DatasourceError` alerts.
 * - `deliveryKey`: hash of (kind, `fingerprint` — or the sorted label set when absent —,
 *   `startsAt`, `values` or `valueString`, status). Retries and both members of an HA pair send the
 *   same tuple; a repeat notification after a new evaluation carries new values, so a new key.
 */
export function parseAlertWebhook(body: unknown, opts: AlertWebhookOptions): AlertWebhookResult {
  if (!isJsonObject(body)) {
    throw invalidPayload('', `must be a JSON object (got ${describeType(body)})`);
  }
  const kind = webhookKind(body.version);

  const alerts = body.alerts;
  if (!Array.isArray(alerts)) {
    throw invalidPayload('alerts', `must be an array of alerts (got ${describeType(alerts)})`);
  }

  const observations = alerts.map((alert, index) => parseAlert(kind, alert, `alerts[${index}]`, opts));
  return {
    kind,
    observations,
    truncatedAlerts: readTruncatedAlerts(body.truncatedAlerts),
    groupKey: typeof body.groupKey === 'string' ? body.groupKey : undefined,
    receiver: typeof body.receiver === 'string' ? body.receiver : undefined,
  };
}

function webhookKind(version: unknown): 'grafana' | 'alertmanager' {
  if (version === '1') return 'grafana';
  if (version === '4') return 'alertmanager';
  const got =
    version === undefined
      ? 'version is missing (a Grafana custom payload template or legacy alerting body?)'
      : `version ${JSON.stringify(version)} is not supported`;
  throw new IngestInputError(
    'INGEST_UNSUPPORTED_VERSION',
    `${got}: expected "1" (Grafana unified alerting) or "4" (Alertmanager)`,
    'version',
  );
}

function readTruncatedAlerts(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidPayload('truncatedAlerts', `must be a non-negative integer (got ${JSON.stringify(value)})`);
  }
  return value;
}

function parseAlert(
  kind: 'grafana' | 'alertmanager',
  alert: unknown,
  path: string,
  opts: AlertWebhookOptions,
): Observation {
  if (!isJsonObject(alert)) {
    throw invalidPayload(path, `must be an object (got ${describeType(alert)})`);
  }
  const status = alert.status;
  if (status !== 'firing' && status !== 'resolved') {
    throw invalidPayload(
      childPath(path, 'status'),
      `must be "firing" or "resolved" (got ${status === undefined ? 'nothing' : JSON.stringify(status)})`,
    );
  }
  const labels = readStringMap(alert.labels, childPath(path, 'labels'), false);
  const annotations = readStringMap(alert.annotations, childPath(path, 'annotations'), true);
  const startsAt = optionalString(alert, 'startsAt', path);
  const endsAt = optionalString(alert, 'endsAt', path);
  const fingerprint = optionalString(alert, 'fingerprint', path);
  const values = readValues(alert.values, childPath(path, 'values'));
  const valueString = optionalString(alert, 'valueString', path);
  // `values` wins; Grafana 9 sends only `valueString`, and an empty `values` map says nothing.
  const evaluated =
    values !== undefined && Object.keys(values).length > 0
      ? values
      : valueString
        ? parseValueString(valueString)
        : values;

  const both = [labels, annotations];
  const alertname = labels.alertname;
  const message =
    firstPresent(opts.messageLabels, both) ??
    firstPresent(MESSAGE_ANNOTATION_FALLBACKS, [annotations]) ??
    (alertname !== undefined && alertname.trim() !== '' ? alertname : undefined);
  if (message === undefined) {
    throw invalidPayload(
      childPath(path, 'labels'),
      'must contain alertname (or a message label/annotation, a summary or a description)',
    );
  }

  const observation: Observation = {
    kind,
    source: firstPresent(opts.sourceLabels, both) ?? UNKNOWN_SOURCE,
    feature: firstPresent(opts.featureLabels, both) ?? DEFAULT_FEATURE,
    message,
    occurredAt: alertTime(startsAt) ?? opts.receivedAt,
    count: countOf(evaluated, annotations[COUNT_REF_ANNOTATION], opts.countRefIds ?? []),
    labels,
    deliveryKey: deliveryKey(
      kind,
      fingerprint ? { fingerprint } : { labels },
      startsAt ?? null,
      values ?? (valueString || null),
      status,
    ),
    status,
  };
  const level = firstPresent(LEVEL_LABELS, [labels]);
  if (level !== undefined) observation.level = level;
  const stack = firstPresent(STACK_ANNOTATIONS, [annotations]);
  if (stack !== undefined) observation.stack = stack;
  const endedAt = status === 'resolved' ? alertTime(endsAt) : undefined;
  if (endedAt !== undefined) observation.endedAt = endedAt;
  const synthetic = SYNTHETIC_ALERTS.find((name) => name === alertname);
  if (synthetic !== undefined) observation.synthetic = synthetic;
  const version = extractVersion([labels, annotations], opts.versionLabels ?? DEFAULT_VERSION_LABELS);
  if (version !== undefined) observation.version = version;
  return observation;
}

function optionalString(alert: JsonObject, key: string, path: string): string | undefined {
  const value = alert[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw invalidPayload(childPath(path, key), `must be a string (got ${describeType(value)})`);
  }
  return value;
}

/** Grafana `values`: refId -> number, may be null; non-numeric entries are ignored. */
function readValues(value: unknown, path: string): Record<string, number> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) {
    throw invalidPayload(path, `must be an object of numbers or null (got ${describeType(value)})`);
  }
  const out: Record<string, number> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'number' && Number.isFinite(item)) out[key] = item;
  }
  return out;
}

/** `startsAt`/`endsAt` as a date; undefined when absent, unparseable or before 1970 (Go's zero time). */
function alertTime(at: string | undefined): Date | undefined {
  if (at === undefined) return undefined;
  const ms = Date.parse(at);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms) : undefined;
}

const VALUE_STRING_ENTRY = /\[\s*(?:var='([^']*)'\s*)?(?:metric='[^']*'\s*)?labels=\{.*?\}\s+value=([^\s\]]+)\s*\]/g;

/**
 * Grafana's legacy `valueString` (`[ var='A' labels={instance=x} value=3 ], [ var='C' labels={} value=1 ]`,
 * Grafana 9 has `metric='...'` too) -> refId -> number. Entries without `var` are keyed `#<index>`;
 * non-numeric values (`<nil>`) are skipped.
 */
export function parseValueString(valueString: string): Record<string, number> {
  const out: Record<string, number> = {};
  let index = 0;
  for (const match of valueString.matchAll(VALUE_STRING_ENTRY)) {
    const value = Number(match[2]);
    if (Number.isFinite(value)) out[match[1] ?? `#${index}`] = value;
    index++;
  }
  return out;
}

/**
 * The count of one alert: what its rule declares (`COUNT_REF_ANNOTATION`: that refId's value, 1
 * when it has none or says `none`), else `alertCount` with the configured refIds.
 */
function countOf(
  values: Readonly<Record<string, number>> | undefined,
  declared: string | undefined,
  countRefIds: readonly string[],
): number {
  const refId = declared?.trim();
  if (refId === undefined || refId === '') return alertCount(values, countRefIds);
  const value = refId.toLowerCase() === 'none' ? undefined : values?.[refId];
  return value === undefined || !Number.isFinite(value) ? 1 : toCount(value);
}

/**
 * The count an alert stands for, from its evaluated values (Grafana `values`, else the parsed
 * `valueString`; Alertmanager has neither -> 1):
 * 1. the first of `countRefIds` present, if configured;
 * 2. else the largest value that is not 0 or 1 — a threshold/condition expression (usually `C`)
 *    evaluates to 0/1, the query/reduce expressions (`A`, `B`) hold the measured value, and
 *    non-refId keys such as `minute` are ordinary expression results;
 * 3. else (only 0/1 values) the largest of them.
 * Rounded to an integer and clamped to [1, MAX_OBSERVATION_COUNT]. For rules that do not count
 * log lines (memory, CPU) the value is not a count: such a rule says so with the
 * `COUNT_REF_ANNOTATION` annotation (`none`), or ALERT_COUNT_REF_IDS names the refIds that count.
 */
export function alertCount(
  values: Readonly<Record<string, number>> | undefined,
  countRefIds: readonly string[],
): number {
  if (values === undefined) return 1;
  for (const refId of countRefIds) {
    const value = values[refId];
    if (value !== undefined && Number.isFinite(value)) return toCount(value);
  }
  const finite = Object.values(values).filter((value) => Number.isFinite(value));
  const measured = finite.filter((value) => value !== 0 && value !== 1);
  const pool = measured.length > 0 ? measured : finite;
  return pool.length > 0 ? toCount(Math.max(...pool)) : 1;
}

function toCount(value: number): number {
  return Math.min(MAX_OBSERVATION_COUNT, Math.max(1, Math.round(value)));
}

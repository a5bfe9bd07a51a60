import { storableStrings, storableText } from '../../../shared/database/pg-text';

/** The source of an observation that carries none of the configured source labels. */
export const UNKNOWN_SOURCE = 'unknown';

/** Where an observation came from. */
export type ObservationKind = 'grafana' | 'alertmanager' | 'loki' | 'events';

/** The two Grafana synthetic alerts: recorded, never turned into issues. */
export type SyntheticAlert = 'DatasourceNoData' | 'DatasourceError';

/**
 * One normalised thing seen by ingest: an alert instance (Grafana, Alertmanager), an error log line
 * (Loki push) or a client-sent event. Produced by the pure parsers in this folder; persistence and
 * dedup into issues happen later.
 */
export interface Observation {
  kind: ObservationKind;
  source: string;
  feature: string;
  /** Raw text, not normalised. */
  message: string;
  level?: string;
  /** The thing's own time: Loki ns timestamp, alert `startsAt`, event `timestamp`; else receipt time. */
  occurredAt: Date;
  /** Observed count: the alert rule's value where the payload carries one, else 1. Positive integer. */
  count: number;
  labels: Record<string, string>;
  /** Stack trace or context excerpt when present. */
  stack?: string;
  /** Idempotency key: a redelivery of the same thing yields the same key. */
  deliveryKey: string;
  /** Loki lines and events are always 'firing'. A 'resolved' alert is not a new occurrence. */
  status: 'firing' | 'resolved';
  /** When a resolved alert stopped firing (its `endsAt`), when the payload says. */
  endedAt?: Date;
  synthetic?: SyntheticAlert;
  /** Build version/commit taken from labels when present (see `extractVersion`). */
  version?: string;
}

/**
 * The observation with every text PostgreSQL could not store made storable (`storableText`: NUL
 * and unpaired surrogates become U+FFFD). A sender's odd byte is kept visible and never fails the
 * statement that shares it with other requests. The same object when nothing changes.
 */
export function storableObservation(o: Observation): Observation {
  const source = storableText(o.source);
  const feature = storableText(o.feature);
  const message = storableText(o.message);
  const level = o.level === undefined ? undefined : storableText(o.level);
  const stack = o.stack === undefined ? undefined : storableText(o.stack);
  const version = o.version === undefined ? undefined : storableText(o.version);
  const labels = storableStrings(o.labels);
  if (
    source === o.source &&
    feature === o.feature &&
    message === o.message &&
    level === o.level &&
    stack === o.stack &&
    version === o.version &&
    labels === o.labels
  ) {
    return o;
  }
  const storable: Observation = Object.assign({}, o, { source, feature, message, labels });
  if (level !== undefined) storable.level = level;
  if (stack !== undefined) storable.stack = stack;
  if (version !== undefined) storable.version = version;
  return storable;
}

/**
 * How far past its receipt an observation's own time may lie: Loki's default creation grace period
 * for entries from the future. Beyond it the sender's clock is wrong, and its time would pin the
 * issue's last-seen time (and its post-deploy watch) years ahead.
 */
export const MAX_FUTURE_SKEW_MS = 10 * 60_000;

/**
 * The observation with its time taken as `receivedAt` when it lies more than MAX_FUTURE_SKEW_MS
 * after it (Loki would refuse such a line; fixloop counts it at the time it arrived instead of
 * losing it). Times in the past are kept: late and backfilled logs are real. The same object when
 * nothing changes.
 */
export function withinClock(o: Observation, receivedAt: Date): Observation {
  const ahead = (at: Date): boolean => at.getTime() - receivedAt.getTime() > MAX_FUTURE_SKEW_MS;
  if (!ahead(o.occurredAt) && (o.endedAt === undefined || !ahead(o.endedAt))) return o;
  const clocked: Observation = Object.assign({}, o, { occurredAt: ahead(o.occurredAt) ? receivedAt : o.occurredAt });
  if (o.endedAt !== undefined && ahead(o.endedAt)) clocked.endedAt = receivedAt;
  return clocked;
}

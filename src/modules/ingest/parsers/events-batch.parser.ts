import { scrubbedText } from '../../../shared/security/scrubbed-text';
import { IngestInputError } from '../ingest.errors';
import { deliveryKey } from './delivery-key';
import { childPath, describeType, invalidPayload, isJsonObject, readStringMap, type JsonObject } from './json-guards';
import { DEFAULT_VERSION_LABELS, extractVersion } from './label-version';
import type { Observation } from './observation';

/**
 * fixloop's own JSON batch, for services that report errors directly:
 * `{ "events": [{ "id"?, "source", "feature", "message", "level"?, "timestamp"?, "labels"?, "stack"? }] }`.
 * `EventsBatchDto` documents the same shape for OpenAPI; this parser validates by hand for precise
 * messages (`events[3].message must be a non-empty string`).
 */

export const EVENTS_BATCH_LIMITS = {
  maxEvents: 1000,
  maxIdLength: 200,
  maxSourceLength: 200,
  maxFeatureLength: 200,
  maxMessageLength: 32 * 1024,
  maxLevelLength: 32,
  maxStackLength: 64 * 1024,
  maxLabels: 64,
  maxLabelNameLength: 128,
  maxLabelValueLength: 1024,
} as const;

export type EventsBatchLimits = { -readonly [K in keyof typeof EVENTS_BATCH_LIMITS]: number };

/** Epoch-millisecond numbers below this (1973-03-03) are taken for a mistake: seconds, not ms. */
export const MIN_EPOCH_MS = 100_000_000_000;

/** ISO-8601 date-time with a zone: `2026-01-01T00:00:00Z`, `...T00:00:00.123+02:00`. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

const EVENT_FIELDS = ['id', 'source', 'feature', 'message', 'level', 'timestamp', 'labels', 'stack'] as const;
const BATCH_FIELDS = ['events'] as const;

export interface EventsBatchOptions {
  /** Receipt time: `occurredAt` of events without a timestamp. */
  receivedAt: Date;
  limits?: Partial<EventsBatchLimits>;
  versionLabels?: readonly string[];
}

export interface EventsBatchResult {
  observations: Observation[];
}

/**
 * Validates and converts an events batch (already JSON-decoded). Throws `IngestInputError` for the
 * first problem, naming its path; size limits give INGEST_PAYLOAD_TOO_LARGE, anything else
 * INGEST_INVALID_PAYLOAD. Unknown fields are rejected, as the global ValidationPipe does.
 *
 * Per event: `source`, `feature`, `message`, `level`, `labels`, `stack` as sent; `occurredAt` from
 * `timestamp` (ISO-8601 with a zone, or epoch milliseconds), else `receivedAt`; `count` 1;
 * `status` 'firing'; `version` from the labels (version, app_version, commit, git_sha, ...).
 *
 * `deliveryKey`:
 * - with `id`: hash of ('events', source, id). A client that wants exactly-once ingestion across
 *   retries must send a unique `id` per event (a UUID).
 * - without `id` but with `timestamp`: hash of (content, timestamp, n) where n counts identical
 *   (content, timestamp) events before it in the batch: a retried batch maps to the same keys, and
 *   two identical events in one batch stay two.
 * - without both: hash of (content, receipt time, position in the batch): unique, so never
 *   deduplicated — a retry of such a batch counts twice.
 */
export function parseEventsBatch(body: unknown, opts: EventsBatchOptions): EventsBatchResult {
  const limits: EventsBatchLimits = Object.assign({}, EVENTS_BATCH_LIMITS, opts.limits);
  if (!isJsonObject(body)) throw invalidPayload('', `must be a JSON object (got ${describeType(body)})`);
  rejectUnknownFields(body, '', BATCH_FIELDS);
  const events = body.events;
  if (!Array.isArray(events)) {
    throw invalidPayload('events', `must be an array of events (got ${describeType(events)})`);
  }
  if (events.length > limits.maxEvents) {
    throw tooLarge('events', `has ${events.length} events, over the limit of ${limits.maxEvents} per batch`);
  }

  const seen = new Map<string, number>();
  const observations = events.map((event: unknown, index) => {
    const path = `events[${index}]`;
    const parsed = readEvent(event, path, limits);
    const observation: Observation = {
      kind: 'events',
      source: parsed.source,
      feature: parsed.feature,
      message: parsed.message,
      occurredAt: parsed.occurredAt ?? opts.receivedAt,
      count: 1,
      labels: parsed.labels,
      deliveryKey: eventKey(parsed, index, seen, opts.receivedAt),
      status: 'firing',
    };
    if (parsed.level !== undefined) observation.level = parsed.level;
    if (parsed.stack !== undefined) observation.stack = parsed.stack;
    const version = extractVersion([parsed.labels], opts.versionLabels ?? DEFAULT_VERSION_LABELS);
    if (version !== undefined) observation.version = version;
    return observation;
  });
  return { observations };
}

interface ParsedEvent {
  id?: string;
  source: string;
  feature: string;
  message: string;
  level?: string;
  occurredAt?: Date;
  labels: Record<string, string>;
  stack?: string;
}

function readEvent(event: unknown, path: string, limits: EventsBatchLimits): ParsedEvent {
  if (!isJsonObject(event)) throw invalidPayload(path, `must be an object (got ${describeType(event)})`);
  rejectUnknownFields(event, path, EVENT_FIELDS);
  const labels = readStringMap(event.labels, childPath(path, 'labels'), true);
  checkLabels(labels, childPath(path, 'labels'), limits);
  return {
    id: optionalText(event, 'id', path, limits.maxIdLength),
    source: requiredText(event, 'source', path, limits.maxSourceLength),
    feature: requiredText(event, 'feature', path, limits.maxFeatureLength),
    message: requiredText(event, 'message', path, limits.maxMessageLength),
    level: optionalText(event, 'level', path, limits.maxLevelLength),
    occurredAt: readTimestamp(event.timestamp, childPath(path, 'timestamp')),
    labels,
    stack: optionalText(event, 'stack', path, limits.maxStackLength),
  };
}

function rejectUnknownFields(object: JsonObject, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw invalidPayload(childPath(path, key), `is not a known field (allowed: ${allowed.join(', ')})`);
    }
  }
}

function requiredText(event: JsonObject, key: string, path: string, maxLength: number): string {
  const value = event[key];
  const fieldPath = childPath(path, key);
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalidPayload(
      fieldPath,
      `must be a non-empty string (got ${typeof value === 'string' ? 'a blank string' : describeType(value)})`,
    );
  }
  checkLength(value, fieldPath, maxLength);
  return value;
}

function optionalText(event: JsonObject, key: string, path: string, maxLength: number): string | undefined {
  const value = event[key];
  if (value === undefined || value === null) return undefined;
  return requiredText(event, key, path, maxLength);
}

function checkLength(value: string, path: string, maxLength: number): void {
  if (value.length > maxLength) {
    throw tooLarge(path, `is ${value.length} characters long, over the limit of ${maxLength}`);
  }
}

function checkLabels(labels: Record<string, string>, path: string, limits: EventsBatchLimits): void {
  const names = Object.keys(labels);
  if (names.length > limits.maxLabels) {
    throw tooLarge(path, `has ${names.length} labels, over the limit of ${limits.maxLabels}`);
  }
  for (const name of names) {
    if (name === '') throw invalidPayload(path, 'must not have an empty label name');
    if (name.length > limits.maxLabelNameLength) {
      throw tooLarge(
        childPath(path, scrubbedText(name, 40)),
        `name is over the limit of ${limits.maxLabelNameLength} characters`,
      );
    }
    checkLength(labels[name], childPath(path, name), limits.maxLabelValueLength);
  }
}

function readTimestamp(value: unknown, path: string): Date | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > 8.64e15) {
      throw invalidPayload(path, `must be epoch milliseconds or an ISO-8601 string (got ${value})`);
    }
    if (value < MIN_EPOCH_MS) {
      throw invalidPayload(path, `must be epoch milliseconds (got ${value}, which looks like seconds)`);
    }
    return new Date(Math.round(value));
  }
  if (typeof value === 'string') {
    const ms = ISO_8601.test(value) ? Date.parse(value) : NaN;
    if (!Number.isFinite(ms)) {
      throw invalidPayload(
        path,
        `must be an ISO-8601 date-time with a time zone, e.g. 2026-01-01T12:00:00.000Z, or epoch milliseconds (got ${JSON.stringify(scrubbedText(value, 60))})`,
      );
    }
    return new Date(ms);
  }
  throw invalidPayload(path, `must be an ISO-8601 string or epoch milliseconds (got ${describeType(value)})`);
}

function eventKey(event: ParsedEvent, index: number, seen: Map<string, number>, receivedAt: Date): string {
  if (event.id !== undefined) return deliveryKey('events', 'id', event.source, event.id);
  const content = {
    source: event.source,
    feature: event.feature,
    message: event.message,
    level: event.level ?? null,
    labels: event.labels,
    stack: event.stack ?? null,
  };
  if (event.occurredAt === undefined) {
    return deliveryKey('events', 'received', content, receivedAt.toISOString(), index);
  }
  const identity = deliveryKey('events', 'content', content, event.occurredAt.toISOString());
  const ordinal = seen.get(identity) ?? 0;
  seen.set(identity, ordinal + 1);
  return ordinal === 0 ? identity : deliveryKey('events', 'content', content, event.occurredAt.toISOString(), ordinal);
}

function tooLarge(path: string, problem: string): IngestInputError {
  return new IngestInputError('INGEST_PAYLOAD_TOO_LARGE', `${path} ${problem}`, path);
}

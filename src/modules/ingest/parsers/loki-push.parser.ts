import { gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';

import { uncompressSync } from 'snappy';

import {
  DEFAULT_FEATURE,
  DEFAULT_LOKI_ERROR_LEVELS,
  DEFAULT_LOKI_FEATURE_LABELS,
  DEFAULT_LOKI_JSON_LEVEL_FIELDS,
  DEFAULT_LOKI_LEVEL_LABELS,
  DEFAULT_LOKI_SOURCE_LABELS,
} from '../ingest-label-defaults';
import { scrubbedText } from '../../../shared/security/scrubbed-text';
import { IngestInputError } from '../ingest.errors';
import { deliveryKey } from './delivery-key';
import {
  describeType,
  firstPresent,
  invalidPayload,
  isJsonObject,
  readStringMap,
  type JsonObject,
} from './json-guards';
import { DEFAULT_VERSION_LABELS, extractVersion } from './label-version';
import { decodePushRequest } from './loki-push.proto-schema';
import { STACK_FIELDS, firstString, lineFields, lineMessage } from '../../../shared/logs/log-line';
import { UNKNOWN_SOURCE, type Observation } from './observation';
import { parsePrometheusLabels } from './prometheus-labels';

/**
 * Loki push API (`POST /loki/api/v1/push`) body -> observations for the lines that are errors.
 * Mirrors grafana/loki `pkg/loghttp/push/push.go` (FORMATS.md section 3):
 * - `Content-Type: application/json` (charset utf-8 allowed) -> JSON
 *   `{"streams":[{"stream":{...},"values":[["<ns>","<line>",{metadata}?]]}]}`;
 * - no Content-Type, `application/x-protobuf` or `application/octet-stream` -> block-snappy
 *   protobuf `logproto.PushRequest`;
 * - `Content-Encoding`: none/`identity`, `gzip`, `deflate` (zlib or raw DEFLATE; Loki uses raw),
 *   and `snappy` (ignored: protobuf bodies are always snappy) -> anything else is
 *   INGEST_UNSUPPORTED_ENCODING.
 * Pass the bytes as they came over the wire with the request's Content-Type and Content-Encoding
 * (the push route is a raw route: `registerBodyParsing` neither parses nor inflates its bodies).
 * If something upstream did inflate the body, pass no `contentEncoding`.
 */

/** Loki defaults: `max_line_size`, `max_structured_metadata_entries_count`/`_size`. */
export const LOKI_MAX_LINE_BYTES = 256 * 1024;
export const LOKI_MAX_STRUCTURED_METADATA_ENTRIES = 128;
export const LOKI_MAX_STRUCTURED_METADATA_BYTES = 64 * 1024;
/**
 * Cap on a decompressed body (gzip/deflate/snappy), against decompression bombs, when the caller
 * sets none (the service passes REQUEST_BODY_LIMIT_BYTES).
 */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

export interface LokiPushRequest {
  /**
   * The body as received: bytes (or their UTF-8 text), or — when a JSON body parser already
   * decoded it — the parsed JSON value (encoding and content type are then not looked at).
   */
  body: Uint8Array | string | JsonObject;
  contentType?: string;
  contentEncoding?: string;
}

export interface LokiPushOptions {
  sourceLabels?: readonly string[];
  featureLabels?: readonly string[];
  /** Levels that make a line an error (case-insensitive). Default DEFAULT_LOKI_ERROR_LEVELS. */
  errorLevels?: readonly string[];
  levelLabels?: readonly string[];
  jsonLevelFields?: readonly string[];
  /**
   * false: every line is an observation (for a push endpoint fed only with errors, e.g. by an Alloy
   * pipeline that already filters). Default true: only error lines, the rest are `skipped`.
   */
  errorsOnly?: boolean;
  versionLabels?: readonly string[];
  maxLineBytes?: number;
  maxStructuredMetadataEntries?: number;
  maxStructuredMetadataBytes?: number;
  maxDecompressedBytes?: number;
}

export interface LokiPushResult {
  format: 'json' | 'protobuf';
  /** One per error line, in request order. */
  observations: Observation[];
  /** Lines that were valid but not errors. */
  skipped: number;
  /** Streams in the request. */
  streams: number;
}

/** A log line in either wire format, after validation. */
interface PushedLine {
  stream: Record<string, string>;
  /** Nanoseconds since the epoch. */
  ns: bigint;
  line: string;
  metadata: Record<string, string>;
}

interface Limits {
  maxLineBytes: number;
  maxStructuredMetadataEntries: number;
  maxStructuredMetadataBytes: number;
}

const PINO_LEVEL_NAMES: Record<string, string> = {
  '10': 'trace',
  '20': 'debug',
  '30': 'info',
  '40': 'warn',
  '50': 'error',
  '60': 'fatal',
};
const MAX_INT64 = 9_223_372_036_854_775_807n;
/** The last second a `google.protobuf.Timestamp` may hold: 9999-12-31T23:59:59Z. */
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;

/**
 * Parses a Loki push request. Throws `IngestInputError` (naming the JSON path, e.g.
 * `streams[0].values[2][0]`) where Loki would answer 400, so one malformed line rejects the request
 * as Loki does. An entry over Loki's line or structured-metadata size limits is kept, cut to fit
 * (`withinLimits`): it never costs the push its other lines.
 *
 * Per error line:
 * - error or not: a `levelLabels` value in the stream labels or structured metadata is in
 *   `errorLevels`, or the line is a JSON object (or a logfmt line) whose `jsonLevelFields` value is (pino's numeric
 *   levels match as "50"/"60" or by name, "error"/"fatal"). `level` is that value, lower-cased,
 *   pino numbers named.
 * - `source`: `sourceLabels` in the stream labels, then structured metadata; else `UNKNOWN_SOURCE`.
 *   `feature`: `featureLabels` likewise; else `DEFAULT_FEATURE`.
 * - `message`: for a JSON line the first non-blank `msg`, `message`, `error.message`,
 *   `err.message`; for a logfmt line its `msg` (or `message`) with its `err` (or `error`); else the
 *   raw line. `stack`: `err.stack`, `stack` or `error.stack`.
 * - `occurredAt`: the entry's timestamp (ms precision). `count`: 1. `status`: 'firing'.
 * - `labels`: structured metadata overlaid by the stream labels (stream labels win).
 * - `deliveryKey`: hash of ('loki', sorted stream labels, ns timestamp, line) — the identity Loki
 *   itself uses to drop duplicate pushes, so a client retry or a JSON and a protobuf copy of the
 *   same entry share a key.
 */
export function parseLokiPush(request: LokiPushRequest, opts: LokiPushOptions = {}): LokiPushResult {
  const limits: Limits = {
    maxLineBytes: opts.maxLineBytes ?? LOKI_MAX_LINE_BYTES,
    maxStructuredMetadataEntries: opts.maxStructuredMetadataEntries ?? LOKI_MAX_STRUCTURED_METADATA_ENTRIES,
    maxStructuredMetadataBytes: opts.maxStructuredMetadataBytes ?? LOKI_MAX_STRUCTURED_METADATA_BYTES,
  };
  const decoded = decodeBody(request, opts.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES);
  const { lines, streams } =
    decoded.format === 'json' ? readJsonPush(decoded.value, limits) : readProtobufPush(decoded.bytes, limits);

  const classifier = new LineClassifier(opts);
  const observations: Observation[] = [];
  for (const pushed of lines) {
    const observation = classifier.toObservation(pushed, opts);
    if (observation !== undefined) observations.push(observation);
  }
  return { format: decoded.format, observations, skipped: lines.length - observations.length, streams };
}

// ---------------------------------------------------------------------------------------------
// Framing: media type, content encoding, decompression

type DecodedBody = { format: 'json'; value: unknown } | { format: 'protobuf'; bytes: Buffer };

function decodeBody(request: LokiPushRequest, maxBytes: number): DecodedBody {
  const { body } = request;
  if (!(body instanceof Uint8Array) && typeof body !== 'string') {
    return { format: 'json', value: body };
  }
  const format = mediaFormat(request.contentType);
  let bytes =
    typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (bytes.length === 0) throw invalidPayload('', 'is empty');
  bytes = decompress(bytes, request.contentEncoding, maxBytes);

  if (format === 'protobuf') return { format, bytes: unsnappy(bytes, maxBytes) };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    const hint = isSnappy(request.contentEncoding)
      ? ' (Content-Encoding snappy is for protobuf bodies only: send JSON as it is, gzip or deflate)'
      : '';
    throw invalidPayload('', `is not valid UTF-8 JSON: ${(error as Error).message}${hint}`);
  }
  return { format, value };
}

function mediaFormat(contentType: string | undefined): 'json' | 'protobuf' {
  const [type = '', ...params] = (contentType ?? '').split(';').map((part) => part.trim());
  const mediaType = type.toLowerCase();
  if (mediaType === '' || mediaType === 'application/x-protobuf' || mediaType === 'application/octet-stream') {
    return 'protobuf';
  }
  if (mediaType !== 'application/json') {
    throw new IngestInputError(
      'INGEST_UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${JSON.stringify(contentType)} is not supported: use application/json or application/x-protobuf`,
    );
  }
  for (const param of params) {
    const [name = '', value = ''] = param.split('=').map((part) => part.trim().replace(/^"|"$/g, '').toLowerCase());
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') {
      throw new IngestInputError(
        'INGEST_UNSUPPORTED_MEDIA_TYPE',
        `Content-Type charset ${JSON.stringify(value)} is not supported: JSON must be UTF-8`,
      );
    }
  }
  return 'json';
}

function decompress(bytes: Buffer, contentEncoding: string | undefined, maxBytes: number): Buffer {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  const options = { maxOutputLength: maxBytes };
  try {
    switch (encoding) {
      case '':
      case 'identity':
      case 'snappy': // Loki ignores it: protobuf is always snappy-decoded (see grafana/loki#3407).
        return bytes;
      case 'gzip':
      case 'x-gzip':
        if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
          throw invalidPayload('', 'is not gzip data although Content-Encoding is gzip (was it already inflated?)');
        }
        return gunzipSync(bytes, options);
      case 'deflate':
        return isZlibHeader(bytes) ? inflateSync(bytes, options) : inflateRawSync(bytes, options);
      default:
        throw new IngestInputError(
          'INGEST_UNSUPPORTED_ENCODING',
          `Content-Encoding ${JSON.stringify(contentEncoding)} is not supported: use gzip, deflate or none`,
        );
    }
  } catch (error) {
    if (error instanceof IngestInputError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLargeBody(maxBytes);
    throw invalidPayload('', `could not be decompressed as ${encoding}: ${(error as Error).message}`);
  }
}

/** RFC 1950 header: CM=8 and (CMF*256 + FLG) divisible by 31. */
function isZlibHeader(bytes: Buffer): boolean {
  return bytes.length >= 2 && (bytes[0] & 0x0f) === 8 && ((bytes[0] << 8) | bytes[1]) % 31 === 0;
}

function isSnappy(contentEncoding: string | undefined): boolean {
  return (contentEncoding ?? '').trim().toLowerCase() === 'snappy';
}

/** The stream identifier chunk that starts snappy's framed (stream) format. */
const SNAPPY_FRAMED_MAGIC = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);

function unsnappy(bytes: Buffer, maxBytes: number): Buffer {
  if (bytes.subarray(0, SNAPPY_FRAMED_MAGIC.length).equals(SNAPPY_FRAMED_MAGIC)) {
    throw invalidPayload('', 'is snappy framed (stream) format: Loki and fixloop take block snappy (snappy.Encode)');
  }
  const declared = snappyUncompressedLength(bytes);
  if (declared === undefined) throw notSnappy(bytes, '');
  if (declared > maxBytes) throw tooLargeBody(maxBytes);
  try {
    return uncompressSync(bytes, { asBuffer: true }) as Buffer;
  } catch (error) {
    throw notSnappy(bytes, `: ${(error as Error).message}`);
  }
}

/** A body that is not block snappy; one that looks like JSON says which Content-Type it needs. */
function notSnappy(bytes: Buffer, detail: string): IngestInputError {
  const json = /^\s*[{[]/.test(bytes.subarray(0, 64).toString('latin1'))
    ? ' (it looks like JSON: send Content-Type: application/json; without one Loki reads protobuf)'
    : '';
  return invalidPayload('', `is not block-snappy-compressed protobuf${detail}${json}`);
}

/** The varint uncompressed length that starts every snappy block. */
function snappyUncompressedLength(bytes: Buffer): number | undefined {
  let length = 0;
  for (let i = 0; i < 5 && i < bytes.length; i++) {
    length += (bytes[i] & 0x7f) * 2 ** (7 * i);
    if ((bytes[i] & 0x80) === 0) return length;
  }
  return undefined;
}

function tooLargeBody(maxBytes: number): IngestInputError {
  return new IngestInputError('INGEST_PAYLOAD_TOO_LARGE', `body is larger than ${maxBytes} bytes once decompressed`);
}

// ---------------------------------------------------------------------------------------------
// Wire formats -> validated lines

function readJsonPush(value: unknown, limits: Limits): { lines: PushedLine[]; streams: number } {
  if (!isJsonObject(value)) throw invalidPayload('', `must be a JSON object (got ${describeType(value)})`);
  const streams = value.streams;
  if (!Array.isArray(streams)) {
    throw invalidPayload('streams', `must be an array of streams (got ${describeType(streams)})`);
  }
  const lines: PushedLine[] = [];
  streams.forEach((stream: unknown, s) => {
    const path = `streams[${s}]`;
    if (!isJsonObject(stream)) throw invalidPayload(path, `must be an object (got ${describeType(stream)})`);
    const labels = readStringMap(stream.stream, `${path}.stream`, false);
    requireLabels(labels, `${path}.stream`);
    // A stream without entries (`values` absent or null) adds nothing, as in Loki, which decodes it
    // to an empty stream: refusing it would lose the push's other streams (clients drop a 4xx).
    const values = stream.values ?? [];
    if (!Array.isArray(values)) {
      throw invalidPayload(
        `${path}.values`,
        `must be an array of [timestamp, line] entries (got ${describeType(values)})`,
      );
    }
    values.forEach((entry: unknown, e) => {
      const entryPath = `${path}.values[${e}]`;
      if (!Array.isArray(entry) || entry.length < 2 || entry.length > 3) {
        throw invalidPayload(
          entryPath,
          `must be ["<ns timestamp>", "<line>"] or ["<ns timestamp>", "<line>", {structured metadata}] (got ${
            Array.isArray(entry) ? `an array of ${entry.length}` : describeType(entry)
          })`,
        );
      }
      const [ts, line, metadata] = entry as [unknown, unknown, unknown];
      if (typeof ts !== 'string') {
        throw invalidPayload(
          `${entryPath}[0]`,
          `must be a string of nanoseconds since the Unix epoch (got ${describeType(ts)}${
            typeof ts === 'number' ? ` ${ts}; Loki rejects numeric timestamps` : ''
          })`,
        );
      }
      if (typeof line !== 'string') {
        throw invalidPayload(`${entryPath}[1]`, `must be a string log line (got ${describeType(line)})`);
      }
      const meta = readStringMap(metadata, `${entryPath}[2]`, true);
      lines.push(
        withinLimits({ stream: labels, ns: nanoseconds(ts, `${entryPath}[0]`), line, metadata: meta }, limits),
      );
    });
  });
  return { lines, streams: streams.length };
}

function readProtobufPush(bytes: Buffer, limits: Limits): { lines: PushedLine[]; streams: number } {
  let request;
  try {
    request = decodePushRequest(bytes);
  } catch (error) {
    throw invalidPayload('', `is not a valid protobuf logproto.PushRequest: ${(error as Error).message}`);
  }
  const lines: PushedLine[] = [];
  request.streams.forEach((stream, s) => {
    const path = `streams[${s}]`;
    const labels = parsePrometheusLabels(stream.labels, `${path}.labels`);
    requireLabels(labels, `${path}.labels`);
    stream.entries.forEach((entry, e) => {
      const entryPath = `${path}.entries[${e}]`;
      const seconds = BigInt(entry.timestamp?.seconds ?? '0');
      const nanos = entry.timestamp?.nanos ?? 0;
      // google.protobuf.Timestamp's own range ends at 9999-12-31 (Loki refuses what is past it);
      // fixloop takes no time before the epoch. Past year 275760 the time would not be a Date at all.
      if (seconds < 0n || seconds > MAX_TIMESTAMP_SECONDS || nanos < 0 || nanos > 999_999_999) {
        throw invalidPayload(
          `${entryPath}.timestamp`,
          `is not a valid timestamp (seconds ${seconds}, nanos ${nanos}): seconds must be 0 to ${MAX_TIMESTAMP_SECONDS} (9999-12-31T23:59:59Z), nanos 0 to 999999999`,
        );
      }
      const metadata: Record<string, string> = {};
      for (const pair of entry.structuredMetadata) metadata[pair.name] = pair.value;
      lines.push(
        withinLimits(
          { stream: labels, ns: seconds * 1_000_000_000n + BigInt(nanos), line: entry.line, metadata },
          limits,
        ),
      );
    });
  });
  return { lines, streams: request.streams.length };
}

function requireLabels(labels: Record<string, string>, path: string): void {
  if (Object.keys(labels).length === 0) {
    throw invalidPayload(path, 'must have at least one label (Loki rejects streams without labels)');
  }
}

function nanoseconds(ts: string, path: string): bigint {
  if (!/^\d{1,32}$/.test(ts) || BigInt(ts) > MAX_INT64) {
    throw invalidPayload(
      path,
      `must be a string of nanoseconds since the Unix epoch (got ${JSON.stringify(scrubbedText(ts, 40))})`,
    );
  }
  return BigInt(ts);
}

/**
 * A line within Loki's per-entry limits. An error line is what fixloop is for, so one entry over a
 * limit never costs the push its other lines (Promtail and Alloy do not retry a 4xx: a rejected
 * push is lost). Loki itself drops only the offending entry; fixloop keeps it: a line over
 * `maxLineBytes` is cut there (on a character boundary) and says so, as Loki's
 * `max_line_size_truncate` does, and structured metadata keeps its first entries that fit the
 * entry and byte limits. Only the first few kB of a message make its fingerprint anyway.
 */
function withinLimits(line: PushedLine, limits: Limits): PushedLine {
  let text = line.line;
  if (text.length > limits.maxLineBytes / 4 && Buffer.byteLength(text, 'utf8') > limits.maxLineBytes) {
    text = truncateUtf8(text, limits.maxLineBytes);
  }
  let metadata = line.metadata;
  const entries = Object.entries(metadata);
  let bytes = 0;
  for (const [name, value] of entries) bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  if (entries.length > limits.maxStructuredMetadataEntries || bytes > limits.maxStructuredMetadataBytes) {
    metadata = {};
    let kept = 0;
    let keptBytes = 0;
    for (const [name, value] of entries) {
      const size = Buffer.byteLength(name) + Buffer.byteLength(value);
      if (kept === limits.maxStructuredMetadataEntries || keptBytes + size > limits.maxStructuredMetadataBytes)
        continue;
      metadata[name] = value;
      kept++;
      keptBytes += size;
    }
  }
  return text === line.line && metadata === line.metadata ? line : Object.assign({}, line, { line: text, metadata });
}

/** `text` cut to at most `maxBytes` of UTF-8, marker included, never inside a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  const marker = ` [truncated by fixloop: ${bytes.length} bytes in all]`;
  let end = Math.max(0, maxBytes - Buffer.byteLength(marker));
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--; // back to the start of a character
  return bytes.subarray(0, end).toString('utf8') + marker;
}

// ---------------------------------------------------------------------------------------------
// Lines -> observations

class LineClassifier {
  private readonly errorLevels: ReadonlySet<string>;
  private readonly levelLabels: readonly string[];
  private readonly jsonLevelFields: readonly string[];
  private readonly errorsOnly: boolean;

  constructor(opts: LokiPushOptions) {
    this.errorLevels = new Set(
      (opts.errorLevels ?? DEFAULT_LOKI_ERROR_LEVELS).map((level) => level.trim().toLowerCase()),
    );
    this.levelLabels = opts.levelLabels ?? DEFAULT_LOKI_LEVEL_LABELS;
    this.jsonLevelFields = opts.jsonLevelFields ?? DEFAULT_LOKI_JSON_LEVEL_FIELDS;
    this.errorsOnly = opts.errorsOnly ?? true;
  }

  toObservation(pushed: PushedLine, opts: LokiPushOptions): Observation | undefined {
    const maps = [pushed.stream, pushed.metadata];
    const json = lineFields(pushed.line);
    const labelLevel = this.matchingLevel(this.levelLabels.flatMap((name) => maps.map((map) => map[name])));
    const jsonLevel =
      labelLevel ??
      (json === undefined ? undefined : this.matchingLevel(this.jsonLevelFields.map((field) => json[field])));
    if (this.errorsOnly && jsonLevel === undefined) return undefined;
    const level =
      jsonLevel ??
      firstLevel(this.levelLabels.flatMap((name) => maps.map((map) => map[name]))) ??
      (json === undefined ? undefined : firstLevel(this.jsonLevelFields.map((field) => json[field])));

    const observation: Observation = {
      kind: 'loki',
      source: firstPresent(opts.sourceLabels ?? DEFAULT_LOKI_SOURCE_LABELS, maps) ?? UNKNOWN_SOURCE,
      feature: firstPresent(opts.featureLabels ?? DEFAULT_LOKI_FEATURE_LABELS, maps) ?? DEFAULT_FEATURE,
      message: lineMessage(pushed.line, json),
      occurredAt: new Date(Number(pushed.ns / 1_000_000n)),
      count: 1,
      // Object.assign, not `{ ...metadata, ...stream }`, which cost ~1.8 us a line on Node 20; the
      // same here: both maps are built by assignment, so neither has an own `__proto__` key.
      labels: Object.assign({}, pushed.metadata, pushed.stream),
      deliveryKey: deliveryKey('loki', pushed.stream, pushed.ns.toString(), pushed.line),
      status: 'firing',
    };
    if (level !== undefined) observation.level = level;
    const stack = json && firstString(json, STACK_FIELDS);
    if (stack) observation.stack = stack;
    const version = extractVersion(maps, opts.versionLabels ?? DEFAULT_VERSION_LABELS);
    if (version !== undefined) observation.version = version;
    return observation;
  }

  /** The first candidate that is an error level, normalised. */
  private matchingLevel(candidates: unknown[]): string | undefined {
    for (const candidate of candidates) {
      const level = levelText(candidate);
      // pino's numbers also match by name: errorLevels ['error'] catches level 50.
      if (level !== undefined && (this.errorLevels.has(level) || this.errorLevels.has(levelName(level)))) {
        return levelName(level);
      }
    }
    return undefined;
  }
}

function firstLevel(candidates: unknown[]): string | undefined {
  for (const candidate of candidates) {
    const level = levelText(candidate);
    if (level !== undefined && level !== '') return levelName(level);
  }
  return undefined;
}

function levelText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim().toLowerCase();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function levelName(level: string): string {
  return PINO_LEVEL_NAMES[level] ?? level;
}

/** The line as a JSON object, when it is one. */

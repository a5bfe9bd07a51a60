import { Logger } from '@nestjs/common';
import { scrubbedText } from '../../../shared/security/scrubbed-text';
import { DomainError } from '../../../shared/errors/domain-error';
import { isJsonObject } from '../../../shared/json';

/**
 * A small client for Loki's query API (`GET /loki/api/v1/query_range`, FORMATS.md section 4).
 * Multi-tenant header `X-Scope-OrgID`, basic or bearer auth, a per-attempt timeout and retries
 * with backoff on network errors, timeouts, 429 and 5xx (never on other 4xx: the query is wrong).
 * Asks for `X-Loki-Response-Encoding-Flags: categorize-labels` so that stream labels, structured
 * metadata and parsed labels come apart (older Loki ignores the header and merges them).
 */
export interface LokiClientOptions {
  url: string;
  tenantId?: string;
  username?: string;
  password?: string;
  bearerToken?: string;
  timeoutMs: number;
  retries: number;
  /** First retry delay; doubled each attempt. */
  backoffMs?: number;
}

export interface LokiEntry {
  /** Nanoseconds since the epoch. */
  ns: bigint;
  line: string;
  structuredMetadata: Record<string, string>;
  parsed: Record<string, string>;
}

export interface LokiStream {
  labels: Record<string, string>;
  entries: LokiEntry[];
}

export interface LokiSeries {
  metric: Record<string, string>;
  /** [unix seconds, value] */
  values: Array<[number, number]>;
}

export type LokiQueryResult =
  | { resultType: 'streams'; streams: LokiStream[]; warnings: string[] }
  | { resultType: 'matrix'; series: LokiSeries[]; warnings: string[] }
  | { resultType: 'vector'; series: LokiSeries[]; warnings: string[] };

export interface QueryRangeRequest {
  query: string;
  startNs: bigint;
  endNs: bigint;
  limit?: number;
  direction?: 'forward' | 'backward';
  /** Metric queries only. */
  step?: string;
}

export class LokiClient {
  private readonly logger = new Logger(LokiClient.name);

  constructor(private readonly options: LokiClientOptions) {}

  async queryRange(req: QueryRangeRequest): Promise<LokiQueryResult> {
    const url = new URL(
      'loki/api/v1/query_range',
      this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`,
    );
    url.searchParams.set('query', req.query);
    url.searchParams.set('start', req.startNs.toString());
    url.searchParams.set('end', req.endNs.toString());
    if (req.limit !== undefined) url.searchParams.set('limit', String(req.limit));
    if (req.direction) url.searchParams.set('direction', req.direction);
    if (req.step) url.searchParams.set('step', req.step);
    const body = await this.getJson(url);
    return parseQueryResponse(body);
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = {
      Accept: 'application/json',
      'X-Loki-Response-Encoding-Flags': 'categorize-labels',
    };
    const o = this.options;
    if (o.tenantId) h['X-Scope-OrgID'] = o.tenantId;
    if (o.bearerToken) h.Authorization = `Bearer ${o.bearerToken}`;
    else if (o.username !== undefined || o.password !== undefined) {
      h.Authorization = `Basic ${Buffer.from(`${o.username ?? ''}:${o.password ?? ''}`).toString('base64')}`;
    }
    return h;
  }

  private async getJson(url: URL): Promise<unknown> {
    const attempts = this.options.retries + 1;
    let delay = this.options.backoffMs ?? 250;
    let lastError = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let retryable = true;
      try {
        const res = await fetch(url, { headers: this.headers(), signal: AbortSignal.timeout(this.options.timeoutMs) });
        const text = await res.text();
        if (res.ok) {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            throw lokiError(`Loki answered ${res.status} with a body that is not JSON`);
          }
        }
        retryable = res.status === 429 || res.status >= 500;
        // scrubbed before the clip: a cut secret would escape the scrubber (lokiError scrubs again)
        lastError = `Loki answered ${res.status}: ${scrubbedText(text, 300).trim()}`;
      } catch (err) {
        if (err instanceof DomainError) throw err;
        const e = err as Error;
        lastError =
          e.name === 'TimeoutError' || e.name === 'AbortError'
            ? `Loki did not answer within ${this.options.timeoutMs} ms`
            : `Loki could not be reached: ${e.message}${causeOf(e)}`;
      }
      if (!retryable || attempt === attempts) break;
      this.logger.warn({ msg: 'Loki query failed, retrying', attempt, error: lastError });
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
    throw lokiError(lastError);
  }
}

const causeOf = (e: Error): string => {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause ? ` (${cause.code ?? cause.message ?? 'unknown cause'})` : '';
};

/**
 * The message quotes Loki's answer (or a network error's) and is kept on the window
 * (loki_last_error) and logged: storable text, scrubbed of secrets.
 */
const lokiError = (message: string): DomainError =>
  new DomainError('unavailable', 'VERIFICATION_LOKI_FAILED', scrubbedText(message));

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isJsonObject(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

/** Reads a `/query_range` (or `/query`) JSON answer; `result: []` is an empty answer, not an error. */
export function parseQueryResponse(body: unknown): LokiQueryResult {
  if (!isJsonObject(body)) throw lokiError('Loki answered with a body that is not a JSON object');
  if (body.status !== 'success') {
    throw lokiError(
      `Loki answered status ${JSON.stringify(body.status)}${typeof body.error === 'string' ? `: ${body.error}` : ''}`,
    );
  }
  const warnings = Array.isArray(body.warnings) ? body.warnings.filter((w): w is string => typeof w === 'string') : [];
  const data = body.data;
  if (!isJsonObject(data) || !Array.isArray(data.result)) throw lokiError('Loki answer has no data.result array');
  const result = data.result as unknown[];
  switch (data.resultType) {
    case 'streams':
      return { resultType: 'streams', warnings, streams: result.map(readStream) };
    case 'matrix':
      return { resultType: 'matrix', warnings, series: result.map(readSeries) };
    case 'vector':
      return { resultType: 'vector', warnings, series: result.map(readSeries) };
    default:
      throw lokiError(`Loki answered an unsupported resultType ${JSON.stringify(data.resultType)}`);
  }
}

function readStream(v: unknown, i: number): LokiStream {
  if (!isJsonObject(v) || !Array.isArray(v.values)) throw lokiError(`Loki stream ${i} has no values array`);
  const entries = (v.values as unknown[]).map((entry, j): LokiEntry => {
    if (
      !Array.isArray(entry) ||
      typeof entry[0] !== 'string' ||
      typeof entry[1] !== 'string' ||
      !/^\d+$/.test(entry[0])
    ) {
      throw lokiError(`Loki stream ${i} value ${j} is not ["<ns>", "<line>"]`);
    }
    const extra: unknown = entry[2];
    return {
      ns: BigInt(entry[0]),
      line: entry[1],
      structuredMetadata: isJsonObject(extra) ? stringMap(extra.structuredMetadata) : {},
      parsed: isJsonObject(extra) ? stringMap(extra.parsed) : {},
    };
  });
  return { labels: stringMap(v.stream), entries };
}

function readSeries(v: unknown, i: number): LokiSeries {
  if (!isJsonObject(v)) throw lokiError(`Loki series ${i} is not an object`);
  const raw = Array.isArray(v.values) ? (v.values as unknown[]) : Array.isArray(v.value) ? [v.value] : undefined;
  if (!raw) throw lokiError(`Loki series ${i} has no values`);
  return {
    metric: stringMap(v.metric),
    values: raw.map((p, j): [number, number] => {
      if (!Array.isArray(p) || typeof p[0] !== 'number' || typeof p[1] !== 'string') {
        throw lokiError(`Loki series ${i} point ${j} is not [<seconds>, "<value>"]`);
      }
      return [p[0], Number(p[1])];
    }),
  };
}

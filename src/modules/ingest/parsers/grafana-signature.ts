import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Grafana 12+ webhook HMAC (grafana/alerting `http/hmac.go`, FORMATS.md section 1.2):
 * header value = lowercase hex HMAC-SHA256(secret, body), no `sha256=` prefix; when a timestamp
 * header is configured, Grafana puts unix seconds in it and signs `timestamp + ":" + body`.
 * Verify on the raw request bytes (`NestFactory.create(App, { rawBody: true })`, `req.rawBody`),
 * never on re-serialised JSON.
 */

/** Grafana's default signature header (Express lower-cases header names). */
export const GRAFANA_SIGNATURE_HEADER = 'x-grafana-alerting-signature';
/** The timestamp header name used by Grafana's docs; Grafana itself has no default. */
export const GRAFANA_TIMESTAMP_HEADER = 'x-grafana-alerting-timestamp';
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

export interface GrafanaSignatureInput {
  /** The request body exactly as received. */
  rawBody: Buffer | string;
  /** Value of the signature header, if any (`req.headers[...]`; a repeated header never verifies). */
  signature: string | readonly string[] | undefined;
  /** Value of the timestamp header, if any. */
  timestamp?: string | readonly string[] | undefined;
}

/** A header value as Node gives it; a repeated header is ambiguous and treated as malformed. */
function single(value: string | readonly string[] | undefined): string | undefined | null {
  if (value === undefined || typeof value === 'string') return value?.trim();
  return value.length === 1 ? value[0].trim() : null;
}

export interface GrafanaSignatureOptions {
  secret: string;
  /** Largest accepted |now - timestamp|, in seconds, both directions. Default 300. */
  toleranceSeconds?: number;
  /** Reject requests without a timestamp (replay protection). Default false. */
  requireTimestamp?: boolean;
  /** The current time; injectable for tests. Default: now. */
  now?: Date;
}

export type GrafanaSignatureFailure =
  | 'missing-signature'
  | 'malformed-signature'
  | 'missing-timestamp'
  | 'malformed-timestamp'
  | 'stale-timestamp'
  | 'mismatch';

export type GrafanaSignatureResult =
  { valid: true; timestamp?: number } | { valid: false; reason: GrafanaSignatureFailure; detail: string };

/** Lowercase hex HMAC-SHA256 as Grafana sends it. Used by tests and by senders we simulate. */
export function signGrafanaPayload(secret: string, rawBody: Buffer | string, timestamp?: string): string {
  const hmac = createHmac('sha256', secret);
  if (timestamp !== undefined) hmac.update(`${timestamp}:`);
  return hmac.update(rawBody).digest('hex');
}

/**
 * Checks a Grafana webhook signature. Returns why it failed rather than throwing, so the caller
 * can log the reason and answer 401 without telling the sender which check failed. The digest
 * comparison is constant-time; an empty secret never verifies. The timestamp is checked after the
 * signature, so a stale verdict is only given for a genuine (replayed or clock-skewed) request.
 */
export function verifyGrafanaSignature(
  input: GrafanaSignatureInput,
  options: GrafanaSignatureOptions,
): GrafanaSignatureResult {
  const headers = checkGrafanaSignatureHeaders(input, options);
  if (!headers.valid) return headers;
  const expected = Buffer.from(signGrafanaPayload(options.secret, input.rawBody, headers.signedTimestamp), 'hex');
  const presented = Buffer.from(headers.signature, 'hex');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
    return { valid: false, reason: 'mismatch', detail: 'signature does not match the body' };
  }
  return headers.timestamp === undefined ? { valid: true } : { valid: true, timestamp: headers.timestamp };
}

/**
 * Everything `verifyGrafanaSignature` checks that does not need the body: the signature is 64 hex
 * characters, the timestamp (required with `requireTimestamp`) is unix seconds within the
 * tolerance, a secret is configured. Run before the body is read, so a malformed or stale request
 * is refused without reading it.
 */
export function checkGrafanaSignatureHeaders(
  input: Omit<GrafanaSignatureInput, 'rawBody'>,
  options: GrafanaSignatureOptions,
):
  | { valid: true; signature: string; signedTimestamp?: string; timestamp?: number }
  | { valid: false; reason: GrafanaSignatureFailure; detail: string } {
  const signature = single(input.signature);
  if (signature === undefined || signature === '') {
    return { valid: false, reason: 'missing-signature', detail: 'no signature header' };
  }
  if (signature === null || !/^[0-9a-fA-F]{64}$/.test(signature)) {
    return { valid: false, reason: 'malformed-signature', detail: 'signature is not 64 hex characters' };
  }
  const timestamp = single(input.timestamp);
  if (timestamp === null) {
    return { valid: false, reason: 'malformed-timestamp', detail: 'timestamp header repeated' };
  }
  const hasTimestamp = timestamp !== undefined && timestamp !== '';
  if (!hasTimestamp && options.requireTimestamp === true) {
    return { valid: false, reason: 'missing-timestamp', detail: 'no timestamp header' };
  }
  if (hasTimestamp && !/^\d{1,15}$/.test(timestamp)) {
    return { valid: false, reason: 'malformed-timestamp', detail: 'timestamp is not unix seconds' };
  }
  if (options.secret === '') {
    return { valid: false, reason: 'mismatch', detail: 'no secret configured' };
  }
  if (!hasTimestamp) return { valid: true, signature };

  const seconds = Number(timestamp);
  const tolerance = options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  const nowSeconds = (options.now ?? new Date()).getTime() / 1000;
  const skew = nowSeconds - seconds;
  if (Math.abs(skew) > tolerance) {
    return {
      valid: false,
      reason: 'stale-timestamp',
      detail: `timestamp is ${Math.round(Math.abs(skew))} s ${skew > 0 ? 'old' : 'in the future'} (tolerance ${tolerance} s)`,
    };
  }
  return { valid: true, signature, signedTimestamp: timestamp, timestamp: seconds };
}

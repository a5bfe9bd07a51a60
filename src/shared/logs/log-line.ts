/**
 * How a log line's text becomes its fields and its message: JSON lines (pino, winston, bunyan),
 * logfmt lines (Go's go-kit/log, logrus, slog text) and plain text. Pure functions shared by
 * ingest's Loki receiver, verification's Loki reader and the fingerprint upgrade, so all three read
 * one line the same way.
 */

/** A structured line's fields (a JSON object, or logfmt's flat strings). */
export type LineFields = Record<string, unknown>;

export const MESSAGE_FIELDS: ReadonlyArray<readonly string[]> = [
  ['msg'],
  ['message'],
  ['error', 'message'],
  ['err', 'message'],
];

export const STACK_FIELDS: ReadonlyArray<readonly string[]> = [['err', 'stack'], ['stack'], ['error', 'stack']];

/**
 * The message of a log line, as ingest files a pushed line (verification reads Loki's lines back
 * and the fingerprint upgrade reads stored samples the same way): a
 * JSON line's first non-blank `msg`, `message`, `error.message`, `err.message`; a logfmt line's
 * `msg` with its `err`; else the raw line.
 */
export function lineMessage(line: string, fields: LineFields | undefined = lineFields(line)): string {
  return (fields && firstString(fields, MESSAGE_FIELDS)) ?? line;
}

import { isJsonObject } from '../json';

/** A structured line's fields: a JSON object, or a logfmt line (`level=error msg="..." err=...`); else undefined. */
export function lineFields(line: string): LineFields | undefined {
  const trimmed = line.trimStart();
  if (!trimmed.startsWith('{')) return parseLogfmtLine(trimmed);
  try {
    const value: unknown = JSON.parse(trimmed);
    return isJsonObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const LOGFMT_PAIR = /([A-Za-z_][\w.\-/]*)=("(?:[^"\\]|\\.)*"|[^\s"=]*)(?:\s+|$)/y;

/**
 * A logfmt line (Go's go-kit/log, logrus and slog text handlers, Loki's and Prometheus' own logs):
 * nothing but `key=value` pairs, at least two, values bare or double-quoted. Its `msg` is the
 * message, with `err`/`error` appended (`msg="flush failed" err="disk full"`: two different errors
 * are two different messages). Undefined for any other line.
 */
function parseLogfmtLine(line: string): LineFields | undefined {
  if (!line.includes('=')) return undefined;
  const fields: Record<string, string> = {};
  let pairs = 0;
  LOGFMT_PAIR.lastIndex = 0;
  while (LOGFMT_PAIR.lastIndex < line.length) {
    const start = LOGFMT_PAIR.lastIndex;
    const m = LOGFMT_PAIR.exec(line);
    if (m === null || LOGFMT_PAIR.lastIndex === start) return undefined;
    fields[m[1]] = m[2].startsWith('"') ? unquote(m[2]) : m[2];
    pairs++;
  }
  if (pairs < 2) return undefined;
  const error = fields.err ?? fields.error;
  const msg = fields.msg ?? fields.message;
  if (msg !== undefined && error !== undefined && error !== '') fields.msg = `${msg}: ${error}`;
  else if (msg === undefined && error !== undefined) fields.msg = error;
  return fields;
}

function unquote(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted.slice(1, -1);
  }
}

export function firstString(json: LineFields, fieldPaths: ReadonlyArray<readonly string[]>): string | undefined {
  for (const fieldPath of fieldPaths) {
    let value: unknown = json;
    for (const key of fieldPath) value = isJsonObject(value) ? value[key] : undefined;
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return undefined;
}

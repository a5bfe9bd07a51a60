import { isJsonObject } from '../../../shared/json';
import { IngestInputError } from '../ingest.errors';

/** Small helpers for hand validation with precise, path-naming messages. */

export { type JsonObject, isJsonObject } from '../../../shared/json';

/** `null`, `array`, `object`, `string`, `number`, ... for "(got X)" in messages. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `alerts[2]` + `labels` -> `alerts[2].labels`; keys that are not identifiers use `["..."]`. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (IDENTIFIER.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

/** Display form of a path; the document root is called `body`. */
export function showPath(path: string): string {
  return path === '' ? 'body' : path;
}

export function invalidPayload(path: string, problem: string): IngestInputError {
  return new IngestInputError('INGEST_INVALID_PAYLOAD', `${showPath(path)} ${problem}`, showPath(path));
}

/**
 * A flat string -> string map (alert labels/annotations, Loki stream labels, structured metadata).
 * `undefined`/`null` give `{}` when `optional`; anything else that is not an object of strings is an
 * error naming the offending key.
 */
export function readStringMap(value: unknown, path: string, optional: boolean): Record<string, string> {
  if (value === undefined || value === null) {
    if (optional) return {};
    throw invalidPayload(path, `is required and must be an object of string values (got ${describeType(value)})`);
  }
  if (!isJsonObject(value)) {
    throw invalidPayload(path, `must be an object of string values (got ${describeType(value)})`);
  }
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      throw invalidPayload(childPath(path, key), `must be a string (got ${describeType(item)})`);
    }
    out[key] = item;
  }
  return out;
}

/**
 * First non-blank value of `names` in `maps`: maps are searched in order (an alert's labels before
 * its annotations), and within a map the names in order.
 */
export function firstPresent(
  names: readonly string[],
  maps: ReadonlyArray<Readonly<Record<string, string>>>,
): string | undefined {
  for (const map of maps) {
    for (const name of names) {
      const value = map[name];
      if (value !== undefined && value.trim() !== '') return value;
    }
  }
  return undefined;
}

/**
 * PostgreSQL cannot store every JavaScript string: `text` refuses NUL (U+0000) and `jsonb` refuses
 * NUL and unpaired UTF-16 surrogates (a JSON body may carry `"\u0000"` or `"\ud800"`). A statement
 * with one of them fails as a whole, so text received from outside is made storable before it
 * reaches a statement: each such character becomes U+FFFD, the replacement character, as a UTF-8
 * decoder would show it. Anything else is returned as it is (the same string, no copy).
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const UNSTORABLE = /[\u0000\ud800-\udfff]/;
// eslint-disable-next-line no-control-regex -- as above
const NUL = /\u0000/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function storableText(text: string): string {
  if (!UNSTORABLE.test(text)) return text;
  return text.replace(NUL, '\ufffd').replace(LONE_SURROGATE, '\ufffd');
}

/**
 * At most `maxUnits` UTF-16 code units of `text`, storable: a cut never leaves half of a surrogate
 * pair (an emoji at the limit is dropped whole), which `jsonb` would refuse.
 */
export function clipText(text: string, maxUnits: number): string {
  if (text.length <= maxUnits) return storableText(text);
  const last = text.charCodeAt(maxUnits - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? maxUnits - 1 : maxUnits;
  return storableText(text.slice(0, end));
}

/** `storableText` over a flat string map's keys and values; the same object when nothing changes. */
export function storableStrings(map: Readonly<Record<string, string>>): Record<string, string> {
  return storableJson(map) as Record<string, string>;
}

/**
 * `storableText` over every string (and object key) of a parsed JSON value; the same value when
 * nothing changes. JSON can carry what PostgreSQL refuses only as `\u` escapes or raw NUL bytes, so
 * callers may skip the walk for bodies with neither (`mayHoldUnstorableText`).
 */
export function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const clean = storableJson(item);
      if (clean !== item) (out ??= value.slice())[i] = clean;
    });
    return out ?? value;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value);
    let changed = false;
    const cleaned = entries.map(([key, item]): [string, unknown] => {
      const k = storableText(key);
      const v = storableJson(item);
      if (k !== key || v !== item) changed = true;
      return [k, v];
    });
    return changed ? Object.fromEntries(cleaned) : value;
  }
  return value;
}

/** Whether a JSON text could hold a NUL or an unpaired surrogate: a raw NUL or any `\u` escape. */
export function mayHoldUnstorableText(json: string): boolean {
  return json.includes('\u0000') || json.includes('\\u');
}

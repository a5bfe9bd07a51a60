import { PLACEHOLDER } from '../../dedup/normalizer.contract';

/**
 * LogQL for the verification query. The selector finds the source the way ingest derived
 * it (the first present of the source label names, docs/verification.md); the line filters are
 * the longest literal words of the normalised template, which appear verbatim in every
 * line that normalises to it. Lines are re-normalised client-side, so the filters only need to be
 * necessary, never sufficient.
 */

/** A LogQL double-quoted string literal (Go string syntax): backslash, quote and control chars escaped. */
export function logqlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A valid Prometheus/Loki label name (structured-metadata names with dots cannot be selected). */
export const isSelectableLabel = (name: string): boolean => LABEL_NAME.test(name);

/**
 * One selector per source label name, each matching exactly the streams whose FIRST present
 * source label has that value: `{source="", service_name="checkout-api"}` (an empty matcher
 * matches streams without the label). Together they partition the streams as ingest does, so no
 * line is seen twice. Names that are not valid label names are skipped.
 */
export function sourceSelectors(sourceLabels: readonly string[], source: string): string[] {
  const names = sourceLabels.filter(isSelectableLabel);
  return names.map((name, i) => {
    const matchers = names.slice(0, i).map((earlier) => `${earlier}=""`);
    matchers.push(`${name}=${logqlString(source)}`);
    return `{${matchers.join(', ')}}`;
  });
}

/** Marker the secret scrubber leaves in stored messages; never present in the raw line. */
const REDACTION = /\[REDACTED:[^\]]*\]/g;

/**
 * The literal words of a normalised template, longest first: split on the placeholder and on
 * whitespace (the normaliser collapses whitespace, the raw line may not), drop the scrubber's
 * markers and words that a JSON log line would escape (`"`, `\`, control characters), keep words
 * of at least `minLength` characters.
 */
export function literalWords(template: string, minLength = 3): string[] {
  const words = template
    .replace(REDACTION, PLACEHOLDER)
    .split(PLACEHOLDER)
    .flatMap((chunk) => chunk.split(/\s+/))
    .filter((w) => w.length >= minLength && !hasEscapedChar(w));
  const unique = [...new Set(words)];
  return unique.sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

/** Has a character a JSON encoder escapes: a quote, a backslash or a control character. */
function hasEscapedChar(word: string): boolean {
  for (const ch of word) {
    const code = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\' || code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** `|= "word"` filters for the `max` longest literal words (none when the template has none). */
export function lineFilters(template: string, max = 3): string {
  return literalWords(template)
    .slice(0, max)
    .map((w) => ` |= ${logqlString(w)}`)
    .join('');
}

/** The full log query for one selector. */
export function verificationQuery(selector: string, template: string, maxFilters = 3): string {
  return `${selector}${lineFilters(template, maxFilters)}`;
}

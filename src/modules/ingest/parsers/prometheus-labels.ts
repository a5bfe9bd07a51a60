import { clipText } from '../../../shared/database/pg-text';
import { scrubbedText } from '../../../shared/security/scrubbed-text';
import { invalidPayload } from './json-guards';

/**
 * Parses a label set in Prometheus/LogQL syntax, as Loki's protobuf push carries it in
 * `StreamAdapter.labels`: `{app="x", env="prod"}`. Accepted, as Loki's LogQL lexer does:
 * - names `[a-zA-Z_][a-zA-Z0-9_]*`, or double-quoted UTF-8 names (`{"service.name"="x"}`);
 * - values in double quotes with Go escapes (`\\ \" \' \n \r \t \a \b \f \v \xHH \uHHHH \UHHHHHHHH`
 *   and 3-digit octal) or in backticks (raw, no escapes);
 * - `=` only, optional spaces, optional trailing comma, `{}` for the empty set.
 * Duplicate names, matchers other than `=` and unterminated strings are errors naming `path` and
 * the character offset.
 */
export function parsePrometheusLabels(text: string, path: string): Record<string, string> {
  const parser = new LabelParser(text, path);
  return parser.parse();
}

const NAME_START = /[A-Za-z_]/;
const NAME_PART = /[A-Za-z0-9_]/;
const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  '"': '"',
  "'": "'",
  n: '\n',
  r: '\r',
  t: '\t',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

class LabelParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly path: string,
  ) {}

  parse(): Record<string, string> {
    const labels: Record<string, string> = {};
    this.skipSpace();
    this.expect('{');
    this.skipSpace();
    while (this.peek() !== '}') {
      const name = this.name();
      this.skipSpace();
      if (this.peek() !== '=' || this.text[this.pos + 1] === '~') {
        throw this.error(`expected "=" after label ${JSON.stringify(name)} (only equality is allowed)`);
      }
      this.pos++;
      this.skipSpace();
      const value = this.quoted();
      if (Object.prototype.hasOwnProperty.call(labels, name)) {
        throw this.error(`duplicate label name ${JSON.stringify(name)}`);
      }
      labels[name] = value;
      this.skipSpace();
      if (this.peek() === ',') {
        this.pos++;
        this.skipSpace();
      } else if (this.peek() !== '}') {
        throw this.error('expected "," or "}"');
      }
    }
    this.pos++;
    this.skipSpace();
    if (this.pos !== this.text.length) throw this.error('unexpected text after "}"');
    return labels;
  }

  private name(): string {
    const start = this.pos;
    if (this.peek() === '"') return this.quoted();
    if (!NAME_START.test(this.peek())) throw this.error('expected a label name');
    while (this.pos < this.text.length && NAME_PART.test(this.text[this.pos])) this.pos++;
    return this.text.slice(start, this.pos);
  }

  private quoted(): string {
    const quote = this.peek();
    if (quote === '`') {
      const end = this.text.indexOf('`', this.pos + 1);
      if (end === -1) throw this.error('unterminated `-quoted string');
      const value = this.text.slice(this.pos + 1, end);
      this.pos = end + 1;
      return value;
    }
    if (quote !== '"') throw this.error('expected a double-quoted value');
    this.pos++;
    let value = '';
    for (;;) {
      if (this.pos >= this.text.length) throw this.error('unterminated quoted string');
      const char = this.text[this.pos];
      if (char === '"') {
        this.pos++;
        return value;
      }
      if (char === '\n') throw this.error('newline in quoted string');
      if (char !== '\\') {
        value += char;
        this.pos++;
        continue;
      }
      value += this.escape();
    }
  }

  /** At a backslash: decodes one Go escape sequence and advances past it. */
  private escape(): string {
    const kind = this.text[this.pos + 1];
    if (kind === undefined) throw this.error('unterminated escape sequence');
    const simple = SIMPLE_ESCAPES[kind];
    if (simple !== undefined) {
      this.pos += 2;
      return simple;
    }
    const hexDigits = kind === 'x' ? 2 : kind === 'u' ? 4 : kind === 'U' ? 8 : 0;
    if (hexDigits > 0) {
      const hex = this.text.slice(this.pos + 2, this.pos + 2 + hexDigits);
      if (hex.length !== hexDigits || !/^[0-9a-fA-F]+$/.test(hex)) throw this.error(`invalid \\${kind} escape`);
      this.pos += 2 + hexDigits;
      const code = parseInt(hex, 16);
      // \xHH is a byte in Go; bytes >= 0x80 only make sense as UTF-8 sequences, not supported here.
      if (kind === 'x' && code > 0x7f) throw this.error('non-ASCII \\x escape is not supported');
      if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) throw this.error(`invalid \\${kind} escape`);
      return String.fromCodePoint(code);
    }
    const octal = this.text.slice(this.pos + 1, this.pos + 4);
    if (/^[0-3][0-7]{2}$/.test(octal)) {
      const code = parseInt(octal, 8);
      if (code > 0x7f) throw this.error('non-ASCII octal escape is not supported');
      this.pos += 4;
      return String.fromCharCode(code);
    }
    throw this.error(`unknown escape sequence \\${kind}`);
  }

  private peek(): string {
    return this.text[this.pos] ?? '';
  }

  private expect(char: string): void {
    if (this.peek() !== char) throw this.error(`expected "${char}"`);
    this.pos++;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  private error(problem: string) {
    return invalidPayload(
      this.path,
      `is not a valid label set: ${problem} at offset ${this.pos} in ${JSON.stringify(truncate(this.text))}`,
    );
  }
}

/** The label set as the 4xx quotes it: scrubbed first (a cut secret would escape the scrubber), then cut. */
function truncate(text: string): string {
  const scrubbed = scrubbedText(text);
  return scrubbed.length > 200 ? `${clipText(scrubbed, 200)}...` : scrubbed;
}

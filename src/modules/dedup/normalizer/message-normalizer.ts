/**
 * Message normaliser: masks the variable parts of a log/error message with `*` so that two
 * occurrences of one bug produce the same text, and so the same fingerprint.
 *
 * The categories follow Sentry's message parameteriser (email, url, hostname, ip, uuid, sha1/md5/hex,
 * date, duration, float, int, quoted value after `=`, bool after `=`), plus what turns one bug into a
 * new issue on every deploy or on every replica: trace ids, build hashes (short git shas), versions,
 * Kubernetes pod names, prefixed ids (`cus_abc123` -> `cus_*`), amounts and byte sizes; and what
 * varies in shape with a value: durations with spelled units or bounds (`<1 sec`), a value restated
 * in brackets (`1190 bytes (1.16 KB)`), reverse-DNS host names, booleans after `:`.
 *
 * Rules, in priority order (at each position the first rule that matches wins):
 * - every placeholder is a bare `*`; a prefixed id keeps its prefix (`cus_*`), a pod name keeps its
 *   workload name (`api-*`), a URL keeps its scheme, host and port and masks only the variable path
 *   segments and the query values (`https://api.example.com/v1/thing/*`), a quoted value after `=`
 *   keeps its quotes (`name='*'`);
 * - runs of whitespace collapse to one space and the ends are trimmed.
 *
 * One combined regular expression scans the message once; it is linear in the message length. It
 * passes over the inside of words without trying the rules there (`NOT_INSIDE_A_WORD`), and at
 * each other position tries only the rules that can start with its character (`starts`), and for a
 * plain word or number that a space follows, only the few that can match one (`bareRun`).
 * Secrets are scrubbed elsewhere, before this runs; their redaction markers are variables (`*`).
 */

import { storableText } from '../../../shared/database/pg-text';
import { REDACTION_MARKERS } from '../../../shared/security/secret-scrubber';

const MARKER_START = '[REDACTED:';

/** The placeholder that replaces every variable value. */
export const PLACEHOLDER = '*';

/**
 * Only the start of a message counts: what identifies a bug comes first, and some rules are
 * O(length x token length), so a huge message must not stall ingestion.
 */
export const MAX_MESSAGE_LENGTH = 8192;
/** A token (run of non-space characters) longer than this is a blob (base64, a dump): one `*`. */
export const MAX_TOKEN_LENGTH = 256;

/** What the first character of a match can be: `other` is one of `OTHER_STARTS`. */
type StartClass = 'digit' | 'letter' | 'other';

/** Every character but a letter or digit that a match of a rule (email aside) can start with. */
const OTHER_STARTS = `-[:/$€£¥<>~'"`;

interface MaskRule {
  /** For tests and debugging; the rule names are not part of the output. */
  readonly name: string;
  /** Source of a regex without capturing groups (use `(?:...)`). */
  readonly pattern: string;
  /** Replacement for a match; the default is the bare placeholder. */
  readonly replace?: (match: string) => string;
  /** What a match can start with (the scan tries the rule only there; the unit tests hold it). */
  readonly starts: readonly StartClass[];
  /**
   * Whether a match can start at a run of digits (letters) that whitespace or the end of the text
   * follows, as `35 ms` or `Jan 2` do. The other rules need a character that is neither right
   * after the run (`10.0.0.1`, `node17`, `cus_ab12`), so most words are passed after one check.
   */
  readonly bareRun?: readonly ('digit' | 'letter')[];
}

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)';
const WEEKDAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const TIME = '\\d{1,2}:\\d{2}(?::\\d{2})?(?:[.,]\\d+)?';
const ZONE = '(?:\\s?(?:Z|UTC|GMT|[+-]\\d{2}:?\\d{2}))?';
const HEX4 = '[0-9a-fA-F]{1,4}';
/** Kubernetes' random-suffix alphabet (no vowels, no 0/1/3), so real words rarely match. */
const K8S = '[bcdfghjklmnpqrstvwxz2456789]';
const TLDS = [
  // generic, and the common country codes (not those that are also common words or property
  // names: id, is, in, to, no, me, my)
  'com',
  'net',
  'org',
  'edu',
  'gov',
  'mil',
  'int',
  'info',
  'biz',
  'io',
  'dev',
  'app',
  'cloud',
  'ai',
  'co',
  'us',
  'uk',
  'de',
  'fr',
  'nl',
  'eu',
  'jp',
  'cn',
  'ru',
  'br',
  'au',
  'ca',
  'ch',
  'se',
  'es',
  'it',
  'pl',
  'kr',
  'tw',
  'hk',
  'sg',
  'nz',
  'za',
  'ie',
  'be',
  'at',
  'dk',
  'fi',
  'pt',
  'gr',
  'cz',
  'hu',
  'ro',
  'bg',
  'tr',
  'il',
  'ua',
  'ar',
  'mx',
  'cl',
  'pe',
  'vn',
  'th',
  'ph',
  'sk',
  'lt',
  'lv',
  'ee',
  'si',
  'hr',
  'rs',
  'by',
  'kz',
  'ir',
  'tv',
  'cc',
  'xyz',
  // the most registered generic TLDs after those (not `.pro`, `.app`-like file extensions)
  'top',
  'online',
  'site',
  'store',
  'shop',
  'club',
  'vip',
  'asia',
  'live',
  'tech',
  'space',
  'website',
  'icu',
  'mobi',
  // private and cluster-internal suffixes
  'local',
  'internal',
  'localdomain',
  'lan',
  'intranet',
  'corp',
].join('|');

const RULES: readonly MaskRule[] = [
  {
    name: 'url',
    starts: ['letter'],
    pattern: '\\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://[^\\s"\'<>()\\[\\]{}]+',
    replace: (url) => maskUrl(url),
  },
  {
    name: 'email',
    starts: ['digit', 'letter', 'other'],
    pattern: '[a-zA-Z0-9._%+-]+@[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*\\.[a-zA-Z]{2,}\\b',
  },
  { name: 'traceparent', starts: ['digit'], pattern: '\\b00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]\\b' },
  {
    name: 'uuid',
    starts: ['digit', 'letter'],
    pattern: '\\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\\b',
  },
  {
    name: 'date',
    starts: ['digit', 'letter'],
    bareRun: ['letter'],
    pattern: [
      // ISO 8601 / RFC 3339 and the common `2024-01-02 03:04:05,678` form.
      `\\b\\d{4}-\\d{2}-\\d{2}(?:[T ]${TIME}${ZONE})?(?![\\w:])`,
      // 2024/01/02, 01/02/2024, 2/1/24 (with an optional time)
      `\\b(?:\\d{4}/\\d{1,2}/\\d{1,2}|\\d{1,2}/\\d{1,2}/\\d{2,4})(?:[ T:]${TIME}${ZONE})?(?![\\w/])`,
      // RFC 1123 / 822: `Mon, 02 Jan 2006 15:04:05 GMT`
      `\\b${WEEKDAY},? \\d{1,2} ${MONTH} \\d{2,4}(?: ${TIME}${ZONE})?`,
      // syslog / ctime: `Jan  2 15:04:05`, `Mon Jan 2 15:04:05 2006`, `Jan 02, 2006`
      `\\b(?:${WEEKDAY},? +)?${MONTH} +\\d{1,2}(?:,? +\\d{4})?(?: +${TIME}${ZONE})?(?: +\\d{4})?\\b`,
      // a bare time of day: 15:04, 15:04:05.123, 3:04 PM
      `(?<![\\w:.])${TIME}(?:\\s?[AaPp][Mm])?(?![\\w:])`,
    ].join('|'),
  },
  { name: 'mac', starts: ['digit', 'letter'], pattern: '\\b[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}\\b' },
  {
    name: 'ip',
    starts: ['digit', 'letter', 'other'],
    pattern: [
      // IPv4, optionally with a port
      '(?<![\\w.-])(?:\\d{1,3}\\.){3}\\d{1,3}(?::\\d{1,5})?(?![\\w]|[.-][\\w])',
      // [IPv6]:port
      '\\[[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\\](?::\\d{1,5})?',
      // IPv6: full, or compressed with `::` (must contain a digit, so that `Foo::bar` is left alone)
      `(?<![\\w:])(?=[0-9a-fA-F:.]*\\d)(?:(?:${HEX4}:){7}${HEX4}|(?:${HEX4}(?::${HEX4}){0,6})?::(?:${HEX4}(?::${HEX4}){0,6})?(?::(?:\\d{1,3}\\.){3}\\d{1,3})?)(?![\\w:]|\\.\\d)`,
    ].join('|'),
  },
  {
    // Kubernetes pod names: <workload>-<replicaset hash>-<5 chars> or <workload>-<5 chars>; the
    // random parts must contain a digit. Keeps the workload name: api-7d9f8b6c5-x2k4q -> api-*.
    name: 'pod',
    starts: ['letter'],
    pattern: `\\b[a-z][a-z0-9]*(?:-[a-z0-9]+)*-(?:(?=[a-z]*\\d)${K8S}{6,10}-${K8S}{5}|${K8S}{6,10}-(?=[a-z]*\\d)${K8S}{5}|(?=[a-z]*\\d)${K8S}{5})\\b(?!-)`,
    replace: (pod) => {
      const parts = pod.split('-');
      parts.pop();
      const hash = parts[parts.length - 1];
      if (parts.length > 1 && new RegExp(`^${K8S}{6,10}$`).test(hash)) parts.pop();
      return `${parts.join('-')}-${PLACEHOLDER}`;
    },
  },
  {
    // Host names under the common TLDs, and reverse-DNS names that start with the address they
    // name (`5.36.59.76.dynamic-dsl.example.om`, `1-2-3-4.pool.isp.xx`) under any TLD.
    name: 'hostname',
    starts: ['digit', 'letter'],
    pattern: [
      `\\b(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\\.)+(?:${TLDS})(?::\\d{1,5})?\\b(?![.-]?[a-zA-Z0-9])`,
      '(?<![\\w.-])(?:\\d{1,3}[.-]){3}\\d{1,3}[.-](?:[a-zA-Z0-9-]+\\.)+[a-zA-Z]{2,}(?::\\d{1,5})?\\b(?![.-]?[a-zA-Z0-9])',
    ].join('|'),
  },
  {
    // File paths are masked segment by segment, like URL paths: ids go, names such as `v1` stay.
    name: 'path',
    starts: ['letter', 'other'],
    pattern: [
      '(?<![\\w:/.])(?:/[A-Za-z0-9._%@+~:=*-]+)+/?',
      // Windows: C:\\Windows\\System32\\x.dll
      // (a directory may contain spaces, the last segment may not)
      '\\b[A-Za-z]:\\\\(?:[^\\\\\\s"\'<>|]+(?: [^\\\\\\s"\'<>|]+){0,4}\\\\)*[^\\\\\\s"\'<>|]*',
    ].join('|'),
    replace: (path) =>
      path.includes('\\') ? path.split('\\').map(maskSegment).join('\\') : path.split('/').map(maskSegment).join('/'),
  },
  {
    name: 'amount',
    starts: ['digit', 'other'],
    bareRun: ['digit'],
    pattern: [
      '[$€£¥]\\s?-?\\d[\\d,]*(?:\\.\\d+)?',
      '(?<![\\w.])-?\\d[\\d,]*(?:\\.\\d+)? ?(?:USD|EUR|GBP|JPY|CHF|CAD|AUD|BTC)\\b',
      // byte sizes: 512KB, 1.5 GiB, 100 bytes
      '(?<![\\w.])\\d+(?:\\.\\d+)? ?(?:[kKMGTP]i?B|B|bytes)\\b',
    ].join('|'),
  },
  {
    // 250ms, 1.5s, 3m, 1h30m15s; with the unit spelled out: 35 ms, 1 sec, 30 seconds, 5 min,
    // 2 hours; and a bound, as in `lifetime <1 sec` or `took >30s`.
    name: 'duration',
    starts: ['digit', 'other'],
    bareRun: ['digit'],
    pattern: [
      '(?<![\\w.<>~])[<>~]?-?\\d+(?:\\.\\d+)?(?:ns|us|µs|ms|s|m|h|d)(?:\\d+(?:\\.\\d+)?(?:ms|s|m|h))*\\b',
      '(?<![\\w.<>~])[<>~]?-?\\d+(?:\\.\\d+)? (?:ns|us|µs|ms|msecs?|millis(?:econds?)?|secs?|seconds?|mins?|minutes?|hrs?|hours?)\\b',
    ].join('|'),
  },
  {
    name: 'hex',
    starts: ['digit', 'letter'],
    bareRun: ['digit', 'letter'],
    pattern: [
      '\\b0[xX][0-9a-fA-F]+\\b',
      // sha1, md5, sha256, build hashes, short git shas: 7+ hex chars with at least one digit
      // (an underscore separates: amd64_31bf3856ad364e35_6 -> amd*_*_*)
      '(?<![A-Za-z0-9])(?=[a-f]*\\d)[0-9a-f]{7,}(?![A-Za-z0-9])',
      // a value of 8+ hex digits after `=`, even without a decimal digit: mask=ffffffff
      '(?<==)[0-9a-fA-F]{8,}(?![A-Za-z0-9])',
      '(?<![A-Za-z0-9])(?=[A-F]*\\d)[0-9A-F]{8,}(?![A-Za-z0-9])',
    ].join('|'),
  },
  {
    // Versions: v1.2, 1.2.3, 1.2.3-rc.1+build.5 (two-part numbers without a `v` are floats)
    name: 'version',
    starts: ['digit', 'letter'],
    pattern:
      '(?<![A-Za-z0-9.])(?:[vV]\\d+(?:\\.\\d+)+|\\d+(?:\\.\\d+){2,})(?:[-+][0-9A-Za-z]+(?:[.-][0-9A-Za-z]+)*)?(?![A-Za-z0-9]|\\.[A-Za-z0-9])',
  },
  {
    // Prefixed ids: cus_abc123 -> cus_*, blk_-123 -> blk_*, task_1445_m_000001 -> task_*.
    // The part after the prefix must contain a digit, or be a long mixed-case random string.
    name: 'prefixed-id',
    starts: ['letter'],
    pattern:
      '\\b[a-z]{1,20}_(?:-?(?=[A-Za-z0-9_-]*\\d)[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*|(?=[a-z0-9]*[A-Z])(?=[A-Z0-9]*[a-z])[A-Za-z0-9]{12,})\\b',
    replace: (id) => `${id.slice(0, id.indexOf('_') + 1)}${PLACEHOLDER}`,
  },
  {
    // Opaque random ids: 10+ letters and digits in mixed case (base62 ids, queue ids, request ids).
    name: 'random-id',
    starts: ['digit', 'letter'],
    pattern: '\\b(?=[A-Za-z]*\\d)(?=[A-Z0-9]*[a-z])(?=[a-z0-9]*[A-Z])[A-Za-z0-9]{10,}\\b',
  },
  {
    // Upper-case random ids (ULIDs, Crockford base32, request ids): 16+ capitals and digits, each
    // in three or more separate runs, so that names like SHA256WITHRSA or ISO8859 stay.
    name: 'upper-id',
    starts: ['digit', 'letter'],
    pattern: '\\b(?=[A-Z]*\\d+(?:[A-Z]+\\d+){2})(?=\\d*[A-Z]+(?:\\d+[A-Z]+){2})[A-Z0-9]{16,}\\b',
  },
  {
    // A name ending in a number is one of many (node17, eth0, worker12, an14): node*, eth*.
    // Not applied inside URL paths, where `v1` is part of the route.
    name: 'numbered-name',
    starts: ['letter'],
    pattern: '(?<![A-Za-z0-9])[A-Za-z]+\\d+(?![A-Za-z0-9])',
    replace: (name) => name.replace(/\d+$/, PLACEHOLDER),
  },
  {
    name: 'quoted',
    starts: ['other'],
    pattern: `(?<==)(?:'[^'\\n]{0,${MAX_TOKEN_LENGTH}}'|"[^"\\n]{0,${MAX_TOKEN_LENGTH}}")`,
    replace: (quoted) => `${quoted[0]}${PLACEHOLDER}${quoted[0]}`,
  },
  {
    // after `=`, as Sentry does, and after `:` (`isOverlap:false`, `"ok": true`; not the word
    // that starts a phrase: `Result: False positive`)
    name: 'bool',
    starts: ['letter'],
    bareRun: ['letter'],
    pattern: [
      '(?<=[=:])(?:true|false|True|False|TRUE|FALSE)\\b',
      '(?<=: )(?:true|false|True|False|TRUE|FALSE)\\b(?! [A-Za-z])',
    ].join('|'),
  },
  {
    // Integers and decimals standing alone, with an exponent (`3.14e-10`, `1e6`), not glued to
    // letters (`J12`, `utf8` stay).
    name: 'number',
    starts: ['digit', 'other'],
    bareRun: ['digit'],
    pattern: '(?:(?<![A-Za-z0-9-])-)?(?<![A-Za-z0-9])\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?(?![A-Za-z0-9])',
  },
];

/**
 * What a rule-by-rule scan compiles to: one regex, and what replaces each match. Only rules with a
 * replacement of their own capture (the others become the bare placeholder), so that a match hands
 * the replacer a few groups, not one per rule.
 */
interface Masker {
  readonly pattern: RegExp;
  readonly replace: (match: string, ...groups: unknown[]) => string;
}

/**
 * A position inside a run of letters and digits (one before it, one at it). Every rule but `email`
 * starts with `\b`, a lookbehind that refuses a letter or digit before it, or a character that is
 * neither, so none of them can start a match there; the guard lets the engine pass such a position
 * after two checks instead of trying every rule's alternatives at it (a third of the normaliser's
 * time). An email's local part can start anywhere in a run, so text holding `@` is scanned without
 * the guard. The unit tests hold every rule to this, rule by rule.
 */
const NOT_INSIDE_A_WORD = '(?:(?<![A-Za-z0-9])|(?![A-Za-z0-9]))';

/** Regex source for a class of characters, escaped for use inside `[...]`. */
const OTHER_STARTS_CLASS = OTHER_STARTS.replace(/[-\\\]^[]/g, '\\$&');

/**
 * The guarded scan tries at each position only the rules that can start there (`starts`,
 * `bareRun`), in their priority order: a digit or a letter starting a run that a character other
 * than whitespace follows (every rule that can start with it), such a run that whitespace or the
 * end follows (the few rules with `bareRun`), or one of `OTHER_STARTS`. The branches' classes do not
 * overlap, so at each position the first rule that matches is the one the plain alternation would
 * take; the unit tests compare the two scans. With the guard, two fifths of the scan's time.
 */
function dispatched(rules: readonly MaskRule[]): { source: string; order: MaskRule[] } {
  const order: MaskRule[] = [];
  const branch = (lookahead: string, take: (rule: MaskRule) => boolean): string[] => {
    const chosen = rules.filter(take);
    if (chosen.length === 0) return []; // an empty branch would match the empty string
    order.push(...chosen);
    return [`(?=${lookahead})(?:${chosen.map(alternative).join('|')})`];
  };
  const branches = [
    ...branch('\\d+[^\\d\\s]', (r) => r.starts.includes('digit')),
    ...branch('\\d', (r) => r.starts.includes('digit') && r.bareRun?.includes('digit') === true),
    ...branch('[A-Za-z]+[^A-Za-z\\s]', (r) => r.starts.includes('letter')),
    ...branch('[A-Za-z]', (r) => r.starts.includes('letter') && r.bareRun?.includes('letter') === true),
    ...branch(`[${OTHER_STARTS_CLASS}]`, (r) => r.starts.includes('other')),
  ];
  return { source: `${NOT_INSIDE_A_WORD}(?:${branches.join('|')})`, order };
}

function alternative(rule: MaskRule): string {
  return rule.replace ? `(${rule.pattern})` : `(?:${rule.pattern})`;
}

function combine(rules: readonly MaskRule[], options: { guarded: boolean }): Masker {
  const scan = options.guarded ? dispatched(rules) : { source: rules.map(alternative).join('|'), order: [...rules] };
  // one capture per rule with a replacement of its own, in the order the branches hold them
  const custom = scan.order.flatMap((rule) => (rule.replace ? [rule.replace] : []));
  return {
    pattern: new RegExp(scan.source, 'g'),
    replace: (match, ...groups) => {
      for (let i = 0; i < custom.length; i++) if (groups[i] !== undefined) return custom[i](match);
      return PLACEHOLDER;
    },
  };
}

/** Rules that may start a match inside a word; `NOT_INSIDE_A_WORD` holds for all the others. */
const STARTS_INSIDE_WORDS = new Set(['email']);

/** Every rule, for text holding `@`. */
const ALL = combine(RULES, { guarded: false });
/** The same scan for text without `@`, where no email can match. */
const ALL_BUT_EMAIL = combine(
  RULES.filter((rule) => !STARTS_INSIDE_WORDS.has(rule.name)),
  { guarded: true },
);
/** What a URL path segment or query value goes through: everything but URLs and emails. */
const NOT_IN_SEGMENTS = ['url', 'email', 'path', 'numbered-name'];
const SEGMENT = combine(
  RULES.filter((rule) => !NOT_IN_SEGMENTS.includes(rule.name)),
  { guarded: true },
);

/** The masking rules in priority order, for tests. */
export const MASK_RULES: readonly Pick<MaskRule, 'name' | 'pattern' | 'replace' | 'starts' | 'bareRun'>[] = RULES;
/** The scans of text without `@` and of URL and path segments, for tests. */
export const MASK_SCANS = {
  guarded: ALL_BUT_EMAIL,
  segment: SEGMENT,
  notInSegments: NOT_IN_SEGMENTS,
  otherStarts: OTHER_STARTS,
} as const;
/** The rules `NOT_INSIDE_A_WORD` does not hold for, and the guard itself, for tests. */
export const MASK_GUARD = { pattern: NOT_INSIDE_A_WORD, exempt: [...STARTS_INSIDE_WORDS] } as const;

/** A path segment this long with letters and digits mixed is an opaque token (base64, random id). */
const OPAQUE_SEGMENT = /^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_-]{16,}$/;

/**
 * In a URL, a segment of 6+ characters mixing letters and at least two digits is an id or a slug
 * (`a1b2c3`, `abc123.jpg`); `v1`, `v2beta` or `oauth2` name the route.
 */
const URL_ID_SEGMENT = /^(?=(?:[^.\d]*\d){2})(?=[^.]*[A-Za-z])[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9]{1,5})?$/;

function maskUrlSegment(segment: string): string {
  if (URL_ID_SEGMENT.test(segment)) {
    const dot = segment.lastIndexOf('.');
    return dot > 0 ? `${PLACEHOLDER}${segment.slice(dot)}` : PLACEHOLDER;
  }
  return maskSegment(segment);
}

function maskSegment(segment: string): string {
  if (segment === '') return segment;
  if (OPAQUE_SEGMENT.test(segment)) return PLACEHOLDER;
  return segment.replace(SEGMENT.pattern, SEGMENT.replace);
}

/** Keeps scheme, host and port; masks variable path segments, query values and the fragment. */
function maskUrl(url: string): string {
  // A URL at the end of a sentence keeps its closing punctuation outside.
  const trailing = /[.,;:!?]+$/.exec(url);
  const body = trailing ? url.slice(0, trailing.index) : url;
  const schemeEnd = body.indexOf('://') + 3;
  let rest = body.slice(schemeEnd);
  let authority = rest;
  let tail = '';
  const pathStart = rest.search(/[/?#]/);
  if (pathStart >= 0) {
    authority = rest.slice(0, pathStart);
    tail = rest.slice(pathStart);
  }
  // user:password@ is dropped (secrets are scrubbed elsewhere, but it is never part of the key)
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  const hostIsIp = /^(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?$|^\[/.test(authority);
  rest = hostIsIp ? PLACEHOLDER : authority;

  let fragment = '';
  const hash = tail.indexOf('#');
  if (hash >= 0) {
    fragment = `#${PLACEHOLDER}`;
    tail = tail.slice(0, hash);
  }
  let query = '';
  const question = tail.indexOf('?');
  if (question >= 0) {
    query = `?${tail
      .slice(question + 1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        return eq >= 0 ? `${pair.slice(0, eq)}=${PLACEHOLDER}` : pair;
      })
      .join('&')}`;
    tail = tail.slice(0, question);
  }
  const path = tail.split('/').map(maskUrlSegment).join('/');
  return `${body.slice(0, schemeEnd)}${rest}${path}${query}${fragment}${trailing ? trailing[0] : ''}`;
}

const NEEDS_WHITESPACE_FIX = /\s\s|[\t\n\r\f\v]|^\s|\s$/;

/** A list of masked values (`*,*,*`, `*; *`, `*|*`, `*##*`) is one value: lists vary in length. */
const MASKED_LIST = /\*(?:(?:,|;|\||##+) ?\*)+/g;
/** A run of one masked token repeated (`blk_* blk_* blk_*`) is a list too. */
const REPEATED_MASKED_TOKEN = /(^| )([^ *]*\*[^ ]*)(?: \2)+(?= |$)/g;

/**
 * A value restated in brackets (`18846 bytes (18.4 KB)`, `0.5 (50%)`) is one value: the restatement
 * comes and goes with the value's size.
 */
const RESTATED_VALUE = /(^| )\* \(\*\)(?= |$|[,.;:])/g;

/** An empty value in brackets (`from 1.2.3.4 ()`) is a value: `(*)`. Not a call: `run()` stays. */
const EMPTY_VALUE = /(?<![^ ])([([])([)\]])/g;

const LONG_TOKEN = new RegExp(`(?<!\\S)\\S{${MAX_TOKEN_LENGTH + 1},}`, 'g');

/**
 * Normalises one message: masks its variable parts with `*` and collapses whitespace. Looks at the
 * first `MAX_MESSAGE_LENGTH` characters; tokens longer than `MAX_TOKEN_LENGTH` become one `*`.
 */
export function normalizeMessage(message: string): string {
  let text = message.length > MAX_MESSAGE_LENGTH ? message.slice(0, MAX_MESSAGE_LENGTH) : message;
  if (NEEDS_WHITESPACE_FIX.test(text)) text = text.replace(/\s+/g, ' ').trim();
  if (text.length > MAX_TOKEN_LENGTH) text = text.replace(LONG_TOKEN, PLACEHOLDER);
  // Where the scrubber removed a secret, a variable: a 16-digit id that passes the card check and
  // one that does not are the same position, and a URL's user name beside a redacted password is
  // user info (dropped with it below), not a word of the template.
  if (text.includes(MARKER_START)) text = text.replace(REDACTION_MARKERS, PLACEHOLDER);
  const masker = text.includes('@') ? ALL : ALL_BUT_EMAIL;
  text = text.replace(masker.pattern, masker.replace);
  if (text.includes('*')) text = text.replace(MASKED_LIST, PLACEHOLDER);
  if (text.includes('* ')) text = text.replace(REPEATED_MASKED_TOKEN, '$1$2');
  if (text.includes('()') || text.includes('[]')) text = text.replace(EMPTY_VALUE, '$1*$2');
  if (text.includes('* (*)')) text = text.replace(RESTATED_VALUE, '$1*');
  // The cut to MAX_MESSAGE_LENGTH can fall inside a surrogate pair (an emoji): the half it keeps
  // becomes U+FFFD. A template's tokens are stored as jsonb, which refuses a lone surrogate (a new
  // fingerprint could not be filed), and U+FFFD is how that half always hashed (UTF-8 has no lone
  // surrogates), so no fingerprint changes.
  return storableText(text);
}

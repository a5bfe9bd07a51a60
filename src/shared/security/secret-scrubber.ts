/**
 * Removes secrets from free text (error messages, log lines, stack traces) before fixloop stores
 * them or sends them anywhere. Each secret becomes a visible marker, `[REDACTED:<kind>]`, so a reader
 * (or the agent) can still see that something was there and what it looked like.
 *
 * It runs on every ingested message, so the common case must be cheap: one pass over the characters
 * looks for the rules' anchors (vendor prefixes, keywords such as `token` or `pass`, `://`,
 * `-----BEGIN`, runs of 13+ digits). A rule's regex runs only on text that holds one of its
 * anchors; most log lines hold none and come back untouched without any regex having run.
 *
 * Rules, in order (earlier rules win; later rules never touch a marker):
 *  1. private key blocks (PEM, OpenSSH, PGP), also with JSON-escaped `\n` line breaks;
 *  2. passwords in URLs and connection strings (scheme, user and host are kept);
 *  3. webhook URLs and vendor tokens recognisable by their own shape (GitHub, GitLab, Slack, Stripe,
 *     AWS, GCP, Azure, OpenAI, Anthropic, npm, PyPI, Twilio, SendGrid, Shopify, Vault, ... );
 *  4. JWTs; `Authorization:` headers, bearer and basic credentials; `curl -u user:pass`;
 *  5. keyword assignments (`password=...`, `"api_key": "..."`, `TOKEN := ...`, `<authToken>...<`),
 *     where the value is replaced and the key kept;
 *  6. payment card numbers (Luhn-checked, with a known issuer prefix).
 *
 * It deliberately keeps look-alikes: UUIDs, hashes and commit ids, digests, timestamps, ids such as
 * `cus_abc123`, and references such as `${NPM_TOKEN}`, `{{ .Values.Password }}` or `%PASSWORD%`.
 * The dedup normaliser depends on those surviving unchanged.
 */

export interface ScrubResult {
  /** The text with every secret found replaced by `[REDACTED:<kind>]`. */
  readonly text: string;
  /** How many secrets were replaced. */
  readonly redactions: number;
}

/** The marker that replaces a secret; scrubbing text that already holds markers changes nothing. */
export const redactionMarker = (kind: string): string => `[REDACTED:${kind}]`;

/** Every redaction marker in a text (a global pattern, for `replace`): where a secret was. */
export const REDACTION_MARKERS = /\[REDACTED:[a-z0-9-]+\]/g;

const MARKER_PREFIX = '[REDACTED:';

type Replacer = (m: RegExpExecArray, text: string) => string | null;

interface Rule {
  readonly kind: string;
  /**
   * Literals (case-sensitive, two characters or more), one of which occurs in every match of
   * `pattern`. The rule runs only on text that contains one of them.
   */
  readonly anchors: readonly string[];
  /** A cheap second check before the pattern runs (optional). */
  readonly gate?: RegExp;
  /** The rule also runs on text with a run of 13 or more digits (single spaces or dashes between). */
  readonly digitRun?: true;
  /** Global regex. */
  readonly pattern: RegExp;
  /** The replacement for a whole match, or null to keep the match as it is. */
  readonly replace: Replacer;
  /** Instead of `pattern` and `replace`: the whole rewrite, for a rule one regex cannot do in linear time. */
  readonly apply?: (text: string) => ScrubResult;
}

// ---------------------------------------------------------------------------------------------
// Value checks
// ---------------------------------------------------------------------------------------------

function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Visa, Mastercard (51-55, 2221-2720), Amex, Discover, Diners, JCB, UnionPay, Maestro. */
const CARD_ISSUER =
  /^(?:4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|3(?:0[0-5]|[689])|35|6(?:011|5|4[4-9]|2)|5[06-8]|6\d)/;

const HAS_DIGIT = /\d/;
const HAS_LETTER = /[A-Za-z]/;
const HAS_LOWER = /[a-z]/;
const HAS_UPPER = /[A-Z]/;

/** Random-looking: letters and digits mixed, or long and mixed-case. */
function looksRandom(v: string, minLength: number): boolean {
  if (v.length < minLength) return false;
  if (HAS_DIGIT.test(v) && HAS_LETTER.test(v)) return true;
  return v.length >= 20 && HAS_LOWER.test(v) && HAS_UPPER.test(v);
}

/**
 * A reference to a secret rather than the secret: `${VAR}`, `$VAR`, `$(cmd)`, `{{ expr }}`,
 * `%VAR%`, `%s`, `<%= x %>`, `<your-token>`, `****`.
 */
const PLACEHOLDER =
  /^(?:\$\{\{[^}]*\}\}|\$\{[^}]*\}|\$\([^)]*\)|\{\{[^}]*\}\}|%[A-Za-z_][\w.]*%|%[sdvqxf]|\$[A-Za-z_]\w*|<%[^%]*%>|<[^<>]+>|\{\w*\}|\*{3,}|[xX]{3,}|\.{3}|\u2026|\s)+$/;
const PLACEHOLDER_START = /^(?:\$\{|\{\{|\$\(|<%|%[A-Za-z_]|\$[A-Za-z_])/;

/** Values that are words about a secret, types or states, not the secret itself. */
const NON_SECRET_WORDS =
  /^(?:true|false|yes|no|on|off|null|nil|none|undefined|empty|required|optional|invalid|missing|expired|revoked|unknown|redacted|hidden|masked|omitted|not[ _-]?set|unset|set|string|str|bytes|number|int|boolean|bool|any|object|buffer|secret|password|token|bearer|basic|env|default|changed|provided|present|ok)$/i;

/** `PASSWORD`, `ACCESS_TOKEN`: an upper-case name, used as a placeholder (not a long run of capitals). */
const CONSTANT_NAME = /^(?:[A-Z]+_[A-Z_]*[A-Z]|[A-Z]{2,12})$/;
/** `The`, `expired`, `Unauthorized`: a plain word (after `token:` it is prose, not a token). */
const PLAIN_WORD = /^[A-Za-z][a-z]*$/;
/** Keywords after which a plain word can still be the secret. */
const PASSWORD_LIKE = /pass|pwd|secret|cred/i;
/**
 * `process.env.DB_PASSWORD`, `req.body.password`, `config.db.password`: a property path, not a value.
 * Only well-known roots count: `ya29.abcDEF` is a token.
 */
const PROPERTY_PATH =
  /^(?:process\.env|os\.environ|ENV|env|config|settings|self|this|req|request|params|options|opts|args|ctx|context|secrets|vars|inputs)(?:\.[A-Za-z_$][\w$]*|\[['"]?[\w$-]+['"]?\])+(?:\(\))?$/;
/** `create_token(user)`, `os.getenv("TOKEN")`: code, not a value. */
const FUNCTION_CALL = /^[A-Za-z_$][\w$.]*\(.*\)$/;
const FILE_PATH = /^(?:~?\/|\.\.?\/)[\w./-]*$/;
const URL_VALUE = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;
const SHORT_NUMBER = /^\d{1,5}$/;

function isPlaceholder(v: string): boolean {
  return PLACEHOLDER.test(v);
}

/** Whether a value found after a secret keyword should be redacted. */
function isSecretValue(v: string, quoted: boolean, weak: boolean): boolean {
  if (v.length === 0 || v.startsWith(MARKER_PREFIX)) return false;
  if (isPlaceholder(v) || (!quoted && PLACEHOLDER_START.test(v))) return false;
  const trimmed = v.trim();
  if (trimmed.length < 3) return false;
  if (NON_SECRET_WORDS.test(trimmed)) return false;
  if (CONSTANT_NAME.test(trimmed)) return false;
  if (SHORT_NUMBER.test(trimmed)) return false;
  if (URL_VALUE.test(trimmed) || FILE_PATH.test(trimmed)) return false;
  if (!quoted && (PROPERTY_PATH.test(trimmed) || FUNCTION_CALL.test(trimmed))) return false;
  if (weak) {
    // `key`, `auth`: common words; only a random-looking token counts, not `idempotency-7f9c2ba4`.
    if (!/^[A-Za-z0-9+/=_.~%-]+$/.test(trimmed)) return false;
    if (trimmed.includes('/') && trimmed.includes('.')) return false;
    const core = trimmed.replace(/^[A-Za-z]+[-_:.]/, '');
    return looksRandom(core, 16) || (core.length >= 32 && shannonEntropy(core) > 3);
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Rule builders
// ---------------------------------------------------------------------------------------------

const NOT_ALNUM_BEFORE = '(?<![A-Za-z0-9])';
const NOT_ALNUM_AFTER = '(?![A-Za-z0-9])';

/** A token recognised by its shape alone: the whole match is replaced. */
function shape(kind: string, anchors: readonly string[], source: string, accept?: (match: string) => boolean): Rule {
  const marker = redactionMarker(kind);
  return {
    kind,
    anchors,
    pattern: new RegExp(source, 'g'),
    replace: accept ? (m) => (accept(m[0]) ? marker : null) : () => marker,
  };
}

/**
 * Vendor tokens, by the shape each vendor documents (patterns after gitleaks, secretlint and
 * detect-secrets rules). Hints are the literal prefixes.
 */
const VENDOR_RULES: readonly Rule[] = [
  // Webhook URLs: keep scheme and host, drop the path that is the credential.
  shape(
    'slack-webhook',
    ['hooks.slack.com'],
    String.raw`(?<=hooks\.slack\.com/)(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{16,}`,
  ),
  shape(
    'teams-webhook',
    ['webhook.office.com'],
    String.raw`(?<=\.webhook\.office\.com/)webhookb2/[A-Za-z0-9@/_-]{20,}`,
  ),
  shape(
    'discord-webhook',
    ['/api/webhooks/'],
    String.raw`(?<=discord(?:app)?\.com/api/webhooks/)\d+/[A-Za-z0-9_-]{20,}`,
  ),
  // GitHub
  shape('github', ['github_pat_'], NOT_ALNUM_BEFORE + String.raw`github_pat_[A-Za-z0-9_]{22,}`),
  shape(
    'github',
    ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    NOT_ALNUM_BEFORE + String.raw`gh[pousr]_[A-Za-z0-9_]{20,}(?:\.[A-Za-z0-9_-]{4,}){0,2}`,
  ),
  // GitLab
  shape(
    'gitlab',
    [
      'glpat-',
      'glptt-',
      'gldt-',
      'glrt-',
      'glcbt-',
      'glft-',
      'glimt-',
      'glagent-',
      'gloas-',
      'glsoat-',
      'glffct-',
      'glwt-',
    ],
    NOT_ALNUM_BEFORE + String.raw`gl(?:pat|ptt|dt|rt|cbt|ft|imt|agent|oas|soat|ffct|wt)-[A-Za-z0-9_.-]{20,}`,
  ),
  shape('gitlab', ['GR1348941'], NOT_ALNUM_BEFORE + String.raw`GR1348941[A-Za-z0-9_-]{20,}`),
  shape('gitlab', ['_gitlab_session='], String.raw`_gitlab_session=[0-9a-z]{32}`),
  // Slack
  shape('slack', ['xoxe'], NOT_ALNUM_BEFORE + String.raw`xoxe(?:\.xox[a-z])?-\d-[A-Za-z0-9]{40,}`),
  shape('slack', ['xox'], NOT_ALNUM_BEFORE + String.raw`xox[a-z]-\d+-[A-Za-z0-9-]{6,}`),
  shape('slack', ['xapp-'], NOT_ALNUM_BEFORE + String.raw`xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+`),
  // Stripe (secret and restricted keys; publishable `pk_` keys are public)
  shape(
    'stripe',
    ['k_live_', 'k_test_', 'k_prod_'],
    NOT_ALNUM_BEFORE + String.raw`[sr]k_(?:live|test|prod)_[A-Za-z0-9]{10,}`,
  ),
  shape('stripe', ['whsec_'], NOT_ALNUM_BEFORE + String.raw`whsec_[A-Za-z0-9+/=]{24,}`),
  // AWS
  shape(
    'aws',
    ['AKIA', 'ASIA', 'ABIA', 'ACCA', 'A3T'],
    String.raw`\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b`,
    // Key ids are base32 and nearly always hold a digit; `ASIA...`/`ACCA...` words in upper case do not.
    (m) => shannonEntropy(m) > 2.5 && (m.startsWith('AKIA') || m.startsWith('A3T') || HAS_DIGIT.test(m.slice(4))),
  ),
  shape('aws', ['ABSK'], NOT_ALNUM_BEFORE + String.raw`ABSK[A-Za-z0-9+/]{100,}={0,2}`),
  shape('aws', ['bedrock-api-key-'], NOT_ALNUM_BEFORE + String.raw`bedrock-api-key-[A-Za-z0-9+/]{20,}={0,2}`),
  // GCP, Azure
  shape('gcp', ['AIza'], NOT_ALNUM_BEFORE + String.raw`AIza[A-Za-z0-9_-]{35}`),
  shape('azure', ['Q~'], String.raw`(?<![A-Za-z0-9_~.])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])`),
  shape('azure', ['sig='], String.raw`(?<=[?&;]sig=)[A-Za-z0-9%+/=]{20,}`),
  // AI vendors
  shape('anthropic', ['sk-ant-'], NOT_ALNUM_BEFORE + String.raw`sk-ant-[a-z]+\d*-[A-Za-z0-9_-]{32,}`),
  shape(
    'openai',
    ['sk-'],
    NOT_ALNUM_BEFORE + String.raw`sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{20,}`,
    (m) => HAS_DIGIT.test(m) && HAS_UPPER.test(m),
  ),
  shape('groq', ['gsk_'], NOT_ALNUM_BEFORE + String.raw`gsk_[A-Za-z0-9]{48,}`),
  shape('perplexity', ['pplx-'], NOT_ALNUM_BEFORE + String.raw`pplx-[A-Za-z0-9]{40,}`),
  shape('huggingface', ['hf_'], NOT_ALNUM_BEFORE + String.raw`hf_[A-Za-z]{34}` + NOT_ALNUM_AFTER),
  shape('huggingface', ['api_org_'], NOT_ALNUM_BEFORE + String.raw`api_org_[A-Za-z]{34}` + NOT_ALNUM_AFTER),
  // Package registries
  shape('npm', ['npm_'], NOT_ALNUM_BEFORE + String.raw`npm_[A-Za-z0-9]{36}` + NOT_ALNUM_AFTER),
  shape('pypi', ['pypi-AgEIcHlwaS5vcmc'], String.raw`pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}`),
  shape('rubygems', ['rubygems_'], NOT_ALNUM_BEFORE + String.raw`rubygems_[a-f0-9]{48}`),
  shape('clojars', ['CLOJARS_'], NOT_ALNUM_BEFORE + String.raw`CLOJARS_[A-Za-z0-9]{60}`),
  shape('docker', ['dckr_pat_'], NOT_ALNUM_BEFORE + String.raw`dckr_pat_[A-Za-z0-9_-]{20,}`),
  shape('artifactory', ['AKCp'], NOT_ALNUM_BEFORE + String.raw`AKCp[A-Za-z0-9]{69}`),
  shape('artifactory', ['cmVmd'], NOT_ALNUM_BEFORE + String.raw`cmVmd[A-Za-z0-9]{59}` + NOT_ALNUM_AFTER),
  // Messaging, mail
  shape('twilio', ['SK'], String.raw`\bSK[0-9a-fA-F]{32}\b`),
  shape('sendgrid', ['SG.'], String.raw`(?<![A-Za-z0-9_.])SG\.[A-Za-z0-9_=-]{16,}(?:\.[A-Za-z0-9_=-]{16,})?`),
  shape('sendinblue', ['xkeysib-'], NOT_ALNUM_BEFORE + String.raw`xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}`),
  shape('mailchimp', ['-us'], String.raw`\b[0-9a-f]{32}-us\d{1,2}\b`),
  shape('telegram', [':AA'], String.raw`(?<!\d)\d{8,10}:AA[A-Za-z0-9_-]{33}` + NOT_ALNUM_AFTER),
  shape(
    'discord',
    ['MT', 'Mj', 'Mz', 'ND', 'NT', 'Nj', 'Nz', 'OD', 'OT'],
    String.raw`\b(?:M[Tjz]|N[DTjz]|O[DT])[A-Za-z0-9_-]{22,24}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}\b`,
  ),
  shape('facebook', ['EAAC', 'EAAM'], NOT_ALNUM_BEFORE + String.raw`EAA[MC][A-Za-z0-9]{100,}`),
  shape(
    'facebook',
    [...'0123456789'].map((d) => `${d}|`),
    String.raw`\b\d{15,16}\|[0-9A-Za-z_-]{27,40}\b`,
  ),
  shape('square', ['EAAA'], NOT_ALNUM_BEFORE + String.raw`EAAA[A-Za-z0-9_-]{60}` + NOT_ALNUM_AFTER),
  shape('square', ['sq0'], NOT_ALNUM_BEFORE + String.raw`sq0(?:csp|atp)-[A-Za-z0-9_\\-]{22,60}`),
  // Commerce, SaaS
  shape(
    'shopify',
    ['shpat_', 'shpca_', 'shppa_', 'shpss_'],
    NOT_ALNUM_BEFORE + String.raw`shp(?:at|ca|pa|ss)_[A-Za-z0-9]{32,}`,
  ),
  shape('shippo', ['shippo_'], NOT_ALNUM_BEFORE + String.raw`shippo_(?:live|test)_[a-f0-9]{40}`),
  shape(
    'plaid',
    ['access-'],
    NOT_ALNUM_BEFORE +
      String.raw`access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`,
  ),
  shape(
    'flutterwave',
    ['FLWPUBK', 'FLWSECK'],
    NOT_ALNUM_BEFORE + String.raw`FLW(?:PUB|SEC)K(?:_TEST)?-[a-h0-9]{12,32}(?:-X)?`,
  ),
  shape('duffel', ['duffel_'], NOT_ALNUM_BEFORE + String.raw`duffel_(?:test|live)_[A-Za-z0-9_=-]{43}`),
  shape('easypost', ['EZAK', 'EZTK'], NOT_ALNUM_BEFORE + String.raw`EZ[AT]K[A-Za-z0-9]{54}`),
  shape('adobe', ['p8e-'], NOT_ALNUM_BEFORE + String.raw`p8e-[A-Za-z0-9]{32}`),
  shape('alibaba', ['LTAI'], NOT_ALNUM_BEFORE + String.raw`LTAI[A-Za-z0-9]{20}` + NOT_ALNUM_AFTER),
  shape('airtable', ['pat'], NOT_ALNUM_BEFORE + String.raw`pat[A-Za-z0-9]{14}\.[a-f0-9]{64}`),
  shape('mapbox', ['pk.', 'sk.'], NOT_ALNUM_BEFORE + String.raw`[ps]k\.[A-Za-z0-9]{60}\.[A-Za-z0-9]{22}`),
  shape(
    'newrelic',
    ['NRAK-', 'NRJS-', 'NRII-'],
    NOT_ALNUM_BEFORE + String.raw`NR(?:AK-[A-Za-z0-9]{27}|JS-[a-f0-9]{19}|II-[A-Za-z0-9-]{32})`,
  ),
  shape('notion', ['ntn_', 'secret_'], NOT_ALNUM_BEFORE + String.raw`(?:ntn_[A-Za-z0-9]{40,}|secret_[A-Za-z0-9]{43})`),
  shape('linear', ['lin_api_'], NOT_ALNUM_BEFORE + String.raw`lin_api_[A-Za-z0-9]{40}`),
  shape('postman', ['PMAK-'], NOT_ALNUM_BEFORE + String.raw`PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}`),
  shape('prefect', ['pnu_'], NOT_ALNUM_BEFORE + String.raw`pnu_[A-Za-z0-9]{36}`),
  shape('pulumi', ['pul-'], NOT_ALNUM_BEFORE + String.raw`pul-[a-f0-9]{40}`),
  shape('readme', ['rdme_'], NOT_ALNUM_BEFORE + String.raw`rdme_[a-z0-9]{70}`),
  shape('scalingo', ['tk-us-'], NOT_ALNUM_BEFORE + String.raw`tk-us-[A-Za-z0-9_-]{48}`),
  shape(
    'sentry',
    ['sntrys_', 'sntryu_'],
    NOT_ALNUM_BEFORE + String.raw`(?:sntrys_eyJ[A-Za-z0-9+/=_]{30,}|sntryu_[a-f0-9]{64})`,
  ),
  shape('settlemint', ['sm_aat_', 'sm_pat_', 'sm_sat_'], NOT_ALNUM_BEFORE + String.raw`sm_[aps]at_[A-Za-z0-9]{16}`),
  shape('sonar', ['squ_', 'sqp_', 'sqa_'], NOT_ALNUM_BEFORE + String.raw`sq[upa]_[A-Za-z0-9]{40}`),
  shape('sourcegraph', ['sgp_'], NOT_ALNUM_BEFORE + String.raw`sgp_[A-Za-z0-9_]{40,}`),
  shape('tailscale', ['tskey-'], NOT_ALNUM_BEFORE + String.raw`tskey-[a-z]+-[A-Za-z0-9]{6,}-[A-Za-z0-9]{16,}`),
  shape(
    'vercel',
    ['vcp_', 'vcc_', 'vci_', 'vca_', 'vcr_', 'vck_'],
    NOT_ALNUM_BEFORE + String.raw`vc[pcirak]_[A-Za-z0-9]{24,}`,
  ),
  shape('figma', ['figd_'], NOT_ALNUM_BEFORE + String.raw`figd_[A-Za-z0-9_-]{40,}`),
  shape('typeform', ['tfp_'], NOT_ALNUM_BEFORE + String.raw`tfp_[A-Za-z0-9_=.-]{59}`),
  shape('frameio', ['fio-u-'], NOT_ALNUM_BEFORE + String.raw`fio-u-[A-Za-z0-9_=-]{64}`),
  shape('infracost', ['ico-'], NOT_ALNUM_BEFORE + String.raw`ico-[A-Za-z0-9]{32}`),
  shape('intra42', ['s-s4t2'], NOT_ALNUM_BEFORE + String.raw`s-s4t2(?:ud|af)-[a-f0-9]{64}`),
  shape('atlassian', ['ATATT3'], NOT_ALNUM_BEFORE + String.raw`ATATT3[A-Za-z0-9_=-]{100,}`),
  shape('octopus', ['API-'], String.raw`(?<![A-Za-z0-9_-])API-[A-Z0-9]{26}` + NOT_ALNUM_AFTER),
  shape('heroku', ['HRKU-'], NOT_ALNUM_BEFORE + String.raw`HRKU-[A-Za-z0-9_-]{58,}`),
  shape(
    'grafana',
    ['glc_', 'glsa_', 'eyJrIjoi'],
    NOT_ALNUM_BEFORE +
      String.raw`(?:glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|eyJrIjoi[A-Za-z0-9]{50,}={0,2})`,
  ),
  // Infrastructure
  shape('vault', ['hvs.', 'hvb.', 'hvr.'], NOT_ALNUM_BEFORE + String.raw`hv[sbr]\.[A-Za-z0-9_-]{24,}`),
  shape('terraform', ['.atlasv1.'], String.raw`\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,}`),
  shape(
    'harness',
    ['sat.', 'pat.'],
    NOT_ALNUM_BEFORE + String.raw`(?:sat|pat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}`,
  ),
  shape('databricks', ['dapi'], NOT_ALNUM_BEFORE + String.raw`dapi[a-fA-F0-9]{32}(?:-\d)?` + NOT_ALNUM_AFTER),
  shape('digitalocean', ['dop_v1_', 'doo_v1_', 'dor_v1_'], NOT_ALNUM_BEFORE + String.raw`do[opr]_v1_[a-f0-9]{64}`),
  shape('doppler', ['dp.'], NOT_ALNUM_BEFORE + String.raw`dp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,44}`),
  shape('dynatrace', ['dt0c01.'], NOT_ALNUM_BEFORE + String.raw`dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}`),
  shape('cloudflare', ['cfat_', 'cfut_', 'cfk_'], NOT_ALNUM_BEFORE + String.raw`cf(?:at|ut|k)_[A-Za-z0-9]{40,}`),
  shape('cloudflare', ['v1.0-'], NOT_ALNUM_BEFORE + String.raw`v1\.0-[a-f0-9]{24}-[a-f0-9]{146}`),
  shape('planetscale', ['pscale_'], NOT_ALNUM_BEFORE + String.raw`pscale_(?:pw|tkn|oauth)_[A-Za-z0-9_=.-]{32,64}`),
  shape('defined-networking', ['dnkey-'], NOT_ALNUM_BEFORE + String.raw`dnkey-[A-Za-z0-9=_-]{26}-[A-Za-z0-9=_-]{52}`),
  shape(
    'flyio',
    ['fo1_', 'fm1', 'fm2'],
    NOT_ALNUM_BEFORE + String.raw`(?:fo1_[A-Za-z0-9_-]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})`,
  ),
  shape('openshift', ['sha256~'], NOT_ALNUM_BEFORE + String.raw`sha256~[A-Za-z0-9_-]{43}`),
  shape(
    'yandex',
    ['AQVN', 't1.', 'YC'],
    NOT_ALNUM_BEFORE +
      String.raw`(?:AQVN[A-Za-z0-9_-]{35,38}|t1\.[A-Z0-9a-z_-]+=*\.[A-Z0-9a-z_-]{86}=*|YC[A-Za-z0-9_-]{38})` +
      NOT_ALNUM_AFTER,
  ),
  shape(
    '1password',
    ['A3-'],
    NOT_ALNUM_BEFORE +
      String.raw`A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}` +
      NOT_ALNUM_AFTER,
  ),
  shape('1password', ['ops_eyJ'], NOT_ALNUM_BEFORE + String.raw`ops_eyJ[A-Za-z0-9+/]{100,}={0,3}`),
  shape('age', ['AGE-SECRET-KEY-1'], String.raw`AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}`),
  // A raw secp256k1 / Ethereum private key written as 0x + 64 hex characters.
  shape('hex-private', ['0x'], String.raw`\b0x[0-9a-fA-F]{64}\b`),
  // JWTs (header.payload[.signature]), and JWTs base64-encoded once more.
  shape('jwt', ['eyJ'], String.raw`(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*)?`),
  shape('jwt', ['ZXlK'], NOT_ALNUM_BEFORE + String.raw`ZXlK[A-Za-z0-9+/]{40,}={0,2}`),
];

// ---------------------------------------------------------------------------------------------
// Private keys, URLs, headers
// ---------------------------------------------------------------------------------------------

const PEM_BEGIN = /-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_END = /-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----/g;
/** What a key body is made of, JSON-escaped line breaks (`\n`) included. */
const PEM_BODY_CHAR = /[A-Za-z0-9+/=\s\\:.,-]/;

/**
 * From each BEGIN line to its END line. The END line may be missing (a truncated log line): then
 * the block runs to the end of its base64. Written as a loop, not one lazy regex, so that many
 * BEGIN lines without an END stay linear.
 */
function scrubPrivateKeys(text: string): ScrubResult {
  const marker = redactionMarker('pem-block');
  let out = '';
  let last = 0;
  let redactions = 0;
  let endSearchedFrom = Number.POSITIVE_INFINITY;
  PEM_BEGIN.lastIndex = 0;
  let begin: RegExpExecArray | null;
  while ((begin = PEM_BEGIN.exec(text)) !== null) {
    let stop = -1;
    if (begin.index < endSearchedFrom) {
      PEM_END.lastIndex = PEM_BEGIN.lastIndex;
      const end = PEM_END.exec(text);
      if (end !== null) stop = end.index + end[0].length;
      // No END after here: later BEGIN lines need not search again.
      else endSearchedFrom = begin.index;
    }
    if (stop === -1) {
      stop = PEM_BEGIN.lastIndex;
      while (stop < text.length && PEM_BODY_CHAR.test(text[stop]!)) stop++;
    }
    out += text.slice(last, begin.index) + marker;
    last = stop;
    redactions++;
    PEM_BEGIN.lastIndex = stop;
  }
  return redactions === 0 ? { text, redactions } : { text: out + text.slice(last), redactions };
}

const PEM_RULE: Rule = {
  kind: 'pem-block',
  anchors: ['-----BEGIN'],
  pattern: PEM_BEGIN,
  replace: () => null,
  apply: scrubPrivateKeys,
};

/** `scheme://user:password@host`: keep scheme, user and host; replace the password. */
const URL_RULE: Rule = {
  kind: 'url-userinfo',
  anchors: ['://'],
  gate: /:\/\/[^\s/?#@]*@/,
  pattern:
    /\b([a-zA-Z][a-zA-Z0-9+.-]{0,30}:\/\/)([^\s:/?#@"'`<>]*)(?::([^\s/?#"'`<>]+))?@(?=[^\s/?#@"'`<>]*[A-Za-z0-9\]])/g,
  replace: (m) => {
    const [, scheme, user = '', password] = m as unknown as [string, string, string | undefined, string | undefined];
    const marker = redactionMarker('url-userinfo');
    if (password === undefined) {
      // `https://<token>@host`: a token used as the user name.
      if (user.length >= 32 && looksRandom(user, 32) && !isPlaceholder(user)) return `${scheme}${marker}@`;
      return null;
    }
    if (user.startsWith('[REDACTED')) return null;
    if (password.startsWith(MARKER_PREFIX) || isPlaceholder(password) || PLACEHOLDER_START.test(password)) {
      return null;
    }
    if (/^x-oauth-(?:basic|token)$/.test(password)) return `${scheme}${marker}:${password}@`;
    return `${scheme}${user}:${marker}@`;
  },
};

/** `Authorization: Bearer <token>`, `Authorization: Basic <b64>`, `Authorization: Token <t>`. */
const AUTH_HEADER_RULE: Rule = {
  kind: 'auth-header',
  anchors: ['uthorization', 'UTHORIZATION'],
  pattern:
    /\b((?:[Pp]roxy-)?(?:[Aa]uthorization|AUTHORIZATION)\\?["']?[ \t]*[:=][ \t]*\\?["']?(?:[A-Za-z][\w-]*[ \t]+)?)([^\s"'\\,;]+)/g,
  replace: (m) => {
    const [, head = '', value = ''] = m;
    if (value.length < 8 || value.startsWith(MARKER_PREFIX)) return null;
    if (PLACEHOLDER_START.test(value) || isPlaceholder(value) || NON_SECRET_WORDS.test(value)) return null;
    return head + redactionMarker('auth-header');
  },
};

const BEARER_RULE: Rule = {
  kind: 'bearer',
  anchors: ['earer', 'EARER'],
  pattern: /\b((?:[Bb]earer|BEARER)[ \t]+)([A-Za-z0-9._~+/=-]{16,})/g,
  replace: (m) => {
    const [, head = '', value = ''] = m;
    return looksRandom(value, 16) ? head + redactionMarker('bearer') : null;
  },
};

/** `Basic dXNlcjpwYXNz`: only when the base64 decodes to `user:password`. */
const BASIC_RULE: Rule = {
  kind: 'basic-header',
  anchors: ['Basic', 'basic', 'BASIC'],
  pattern: /\b((?:Basic|basic|BASIC)[ \t]+)([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/g,
  replace: (m) => {
    const [, head = '', value = ''] = m;
    const decoded = Buffer.from(value, 'base64').toString('latin1');
    return /^[\x20-\x7e]+:[\x20-\x7e]*$/.test(decoded) ? head + redactionMarker('basic-header') : null;
  },
};

const COOKIE_ATTRIBUTES = /^(?:path|domain|expires|max-age|samesite|secure|httponly|priority|partitioned)$/i;
const SESSION_NAME = /sess|sid|token|auth|jwt|remember|login|csrf|xsrf|secret|key/i;

/** `Cookie: a=1; session=...`, `Set-Cookie: sid=...; Path=/`: values of session-like cookies. */
const COOKIE_RULE: Rule = {
  kind: 'cookie',
  anchors: ['ookie', 'OOKIE'],
  pattern: /\b((?:[Ss]et-)?(?:[Cc]ookie|COOKIE)\\?["']?[ \t]*[:=][ \t]*\\?["']?)([^\r\n"'\\]+)/g,
  replace: (m) => {
    const [, head = '', list = ''] = m;
    let changed = false;
    const scrubbed = list.replace(
      /(^|;[ \t]*)([^=;\s]+)=([^;\s]*)/g,
      (pair, sep: string, name: string, value: string) => {
        if (COOKIE_ATTRIBUTES.test(name) || value.startsWith(MARKER_PREFIX)) return pair;
        const secret = SESSION_NAME.test(name) ? value.length >= 8 && !isPlaceholder(value) : looksRandom(value, 20);
        if (!secret) return pair;
        changed = true;
        return `${sep}${name}=${redactionMarker('cookie')}`;
      },
    );
    return changed ? head + scrubbed : null;
  },
};

/** `curl -u user:pass`, `--user 'user:pass'`: keep the user, replace the password. */
const CURL_USER_RULE: Rule = {
  kind: 'curl-user',
  anchors: ['-u'],
  gate: /(?<![\w-])(?:-u|--user)[ \t]/,
  pattern: /(?<![\w-])((?:-u|--user)[ \t]+)(?:"([^"\n]*)"|'([^'\n]*)'|([^\s'"]+))/g,
  replace: (m) => {
    const [, head = '', dq, sq, bare] = m;
    const value = dq ?? sq ?? bare ?? '';
    const colon = value.indexOf(':');
    if (colon <= 0 || colon === value.length - 1) return null;
    const password = value.slice(colon + 1);
    if (password.startsWith(MARKER_PREFIX) || PLACEHOLDER_START.test(password) || password.includes('${')) return null;
    const quote = dq !== undefined ? '"' : sq !== undefined ? "'" : '';
    return `${head}${quote}${value.slice(0, colon + 1)}${redactionMarker('curl-user')}${quote}`;
  },
};

/** NuGet `<add key="ClearTextPassword" value="..." />`. */
const NUGET_RULE: Rule = {
  kind: 'nuget',
  anchors: ['ClearTextPassword'],
  pattern: /(key=\\?"ClearTextPassword\\?"\s+value=\\?")([^"\\]*)/g,
  replace: (m) => {
    const [, head = '', value = ''] = m;
    return isSecretValue(value, true, false) ? head + redactionMarker('nuget') : null;
  },
};

/** Sidekiq Enterprise credentials in bundler's environment variables. */
const SIDEKIQ_RULE: Rule = {
  kind: 'sidekiq',
  anchors: ['CONTRIBSYS__COM'],
  pattern: /(BUNDLE_(?:ENTERPRISE|GEMS)__CONTRIBSYS__COM[ \t]*=[ \t]*["']?)([A-Za-z0-9]{8}:[A-Za-z0-9]{8})/g,
  replace: (m) => `${m[1] ?? ''}${redactionMarker('sidekiq')}`,
};

/** Ids that are secrets for a few vendors only (`SUMOLOGIC_ACCESSID`, `MessageBirdClientID`). */
const VENDOR_ID_RULE: Rule = {
  kind: 'vendor-id',
  anchors: ['umo', 'UMO', 'essage', 'ESSAGE'],
  pattern:
    /((?:[Ss]umo|SUMO|[Mm]essage[_-]?[Bb]ird|MESSAGE_?BIRD)[\w.-]*?(?:[Ii]d|ID)\\?["']?[ \t]*(?::{1,3}=|=>|={1,3}|:)[ \t]*\\?["']?)([A-Za-z0-9-]{12,})/g,
  replace: (m) => `${m[1] ?? ''}${redactionMarker('vendor-id')}`,
};

// ---------------------------------------------------------------------------------------------
// Keyword assignments
// ---------------------------------------------------------------------------------------------

/** Words that name a secret. The weak ones (`key`, `auth`, `pat`, `signature`) need a random-looking value. */
const STRONG_WORDS = [
  'token',
  'secret',
  'password',
  'passwd',
  'passphrase',
  'pass',
  'pwd',
  'credentials',
  'credential',
  'creds',
  'apikey',
  'accesskey',
  'secretkey',
  'privatekey',
  'authtoken',
  'accesstoken',
];
const WEAK_WORDS = ['signature', 'key', 'auth', 'pat'];
/** Identifiers ending in these (separators removed, lower case) are strong even though they end in `key`. */
const STRONG_KEY_ENDINGS = [
  'apikey',
  'accesskey',
  'secretkey',
  'privatekey',
  'accountkey',
  'masterkey',
  'signingkey',
  'encryptionkey',
  'clientkey',
  'authkey',
  'appkey',
  'licensekey',
  'sessionkey',
];

function caseForms(word: string): { lower: string; capital: string; upper: string } {
  return { lower: word, capital: word[0]!.toUpperCase() + word.slice(1), upper: word.toUpperCase() };
}

/** Lower-case keywords distinctive enough to count inside a lower-case word: `dbpassword`, `clientsecret`. */
const GLUED_WORDS = ['password', 'passwd', 'secret'];

/**
 * A keyword where an identifier part starts: `token` after a non-alphanumeric (`api_token`,
 * `x-token`), `Token` or `TOKEN` anywhere (`authToken`, `APIToken`, `PGPASSWORD`). So
 * `jsonwebtoken` and `bypass` do not count. (The keyword must also end the identifier: see
 * `KEYWORD_SUFFIX`.)
 */
function keywordSource(words: readonly string[]): string {
  const sorted = [...words].sort((a, b) => b.length - a.length);
  const capitalised = sorted.flatMap((w) => {
    const f = caseForms(w);
    return [f.capital, f.upper];
  });
  return `(?:(?<![A-Za-z0-9])(?:${sorted.join('|')})|${GLUED_WORDS.join('|')}|${capitalised.join('|')})`;
}

const KEYWORD = keywordSource([...STRONG_WORDS, ...WEAK_WORDS]);
/** `token1`, `mySecretString`, `secret_value`, `password_hash`, `API_KEY_B64`. */
const KEYWORD_SUFFIX = String.raw`(?:[_-]?\d+|[_-]?(?:[Ss]tring|STRING|str|[Vv]alue|VALUE|[Hh]ash|HASH|[Bb]64|B64))?(?![\w])`;
/**
 * Literals found in every case form of every keyword (`Accesstoken` holds `token`,
 * `CREDENTIALS` holds `CRED`): anchors for the assignment rule and the cheap gates.
 */
const KEYWORD_ANCHORS = ['token', 'secret', 'pass', 'pwd', 'cred', 'key', 'auth', 'pat', 'signature'].flatMap((w) => {
  const f = caseForms(w);
  return [f.lower, f.capital, f.upper];
});
const KEYWORD_LOOSE = KEYWORD_ANCHORS.join('|');
/** A keyword followed, within the identifier, by an assignment operator: `..._TOKEN" :=`, `apiKey:`. */
const ASSIGNMENT_GATE = new RegExp(
  String.raw`(?:${KEYWORD_LOOSE})[\w-]*\\*["'\x60]?\]?(?:[ \t]+[\w&\[\]]+)?[ \t]*[:=!?.+<,-]`,
);

const IDENTIFIER_CHAR = /[A-Za-z0-9_.-]/;

/** The identifier that ends at `end` (exclusive), scanning back over identifier characters. */
function identifierBefore(text: string, end: number): string {
  let start = end;
  while (start > 0 && IDENTIFIER_CHAR.test(text[start - 1]!)) start--;
  return text.slice(start, end);
}

type KeyStrength = 'strong' | 'weak' | 'none';

function keyStrength(identifier: string): KeyStrength {
  const norm = identifier.toLowerCase().replace(/[^a-z0-9]/g, '');
  const bare = norm.replace(/(?:\d+|string|str|value|hash|b64)$/, '');
  if (bare.includes('public') || bare.endsWith('pubkey')) return 'none';
  // A bare `PASS:` is more often a test result than a password; `db_pass:` is a password.
  if (bare === 'pass') return 'weak';
  if (STRONG_KEY_ENDINGS.some((e) => bare.endsWith(e))) return 'strong';
  if (['key', 'auth', 'pat', 'signature'].some((w) => bare.endsWith(w))) return 'weak';
  return 'strong';
}

/**
 * `<key><quote?> <type?> <op> <quote?><value><quote?>`, e.g. `password = "x"`, `"api_key": "x"`,
 * `TOKEN := x`, `$tok .= "x"`, `setProperty("GH_TOKEN", "x")`, `var t string = "x"`.
 * The value stops at the matching quote, or (unquoted) at white space, quotes, `,;&\<`.
 */
const ASSIGNMENT_RULE: Rule = {
  kind: 'assignment',
  anchors: KEYWORD_ANCHORS,
  gate: ASSIGNMENT_GATE,
  pattern: new RegExp(
    String.raw`(?<key>${KEYWORD}${KEYWORD_SUFFIX})(?<head>(?<kq>\\*["'\x60]?)\]?(?:[ \t]+(?:string|String|str|&str|\[\]byte))?[ \t]*(?<op>:{1,3}=|=>|={1,3}|!==?|\?=|\.=|\+=|->|<-|:|,)[ \t]*)(?:(?<vq>@?(?<esc>\\*)(?<q>["'\x60]))(?<qv>(?:(?!\k<esc>\k<q>)[^\r\n])*)|(?<uv>[^\s'"\x60,;&\\<]+))`,
    'g',
  ),
  replace: (m, text) => {
    const g = m.groups ?? {};
    const key = g.key ?? '';
    const op = g.op ?? '';
    const quoted = g.qv !== undefined;
    let value = quoted ? (g.qv ?? '') : (g.uv ?? '');
    // `,` only separates a quoted name from a quoted value: `setProperty("TOKEN", "value")`, not
    // the end of a quoted message from the next item: `{"message": "Bad credentials", "url": ...}`.
    const before = identifierBefore(text, m.index);
    if (op === ',' && (!quoted || !g.kq || text[m.index - before.length - 1] !== g.kq.slice(-1))) return null;
    // `==`: a comparison with a literal is a hard-coded secret; with a name it is not.
    if ((op === '==' || op === '===' || op === '!=' || op === '!==') && !quoted) return null;
    const identifier = before + key;
    const strength = keyStrength(identifier);
    if (strength === 'none') return null;
    let tail = '';
    if (!quoted) {
      // Trailing brackets that close nothing opened inside the value, and a full stop, are not part of it.
      while (value.length > 0) {
        const last = value[value.length - 1]!;
        const open = last === ')' ? '(' : last === ']' ? '[' : last === '}' ? '{' : last === '.' ? '' : null;
        if (open === null) break;
        if (open !== '' && count(value, open) >= count(value, last)) break;
        tail = last + tail;
        value = value.slice(0, -1);
      }
    }
    if (!isSecretValue(value, quoted, strength === 'weak')) return null;
    if (!quoted && PLAIN_WORD.test(value) && !PASSWORD_LIKE.test(key)) return null;
    const marker = redactionMarker('assignment');
    if (quoted) {
      // The closing quote stays (the match stops before it); without one the value ran to the line end.
      return `${key}${g.head ?? ''}${g.vq ?? ''}${marker}`;
    }
    return `${key}${g.head ?? ''}${marker}${tail}`;
  },
};

function count(s: string, ch: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s[i] === ch) n++;
  return n;
}

/** `--password hunter2`, `--api-token "x"`: a command-line flag named after a secret, and its value. */
const CLI_FLAG_RULE: Rule = {
  kind: 'cli-flag',
  anchors: ['--'],
  pattern: new RegExp(
    String.raw`(?<![\w-])(?<head>--[\w-]*?${KEYWORD}${KEYWORD_SUFFIX}[ \t]+)(?:"(?<dq>[^"\n]*)"|'(?<sq>[^'\n]*)'|(?<bare>[^\s'"-][^\s'"]*))`,
    'g',
  ),
  replace: (m) => {
    const g = m.groups ?? {};
    const head = g.head ?? '';
    const quote = g.dq !== undefined ? '"' : g.sq !== undefined ? "'" : '';
    const value = g.dq ?? g.sq ?? g.bare ?? '';
    const strength = keyStrength(head.trim());
    if (strength === 'none' || !isSecretValue(value, quote !== '', strength === 'weak')) return null;
    return `${head}${quote}${redactionMarker('cli-flag')}${quote}`;
  },
};

/** `docker login -u ci -p <password>`, `mysql -uroot -p<password>`: the short password flag of login commands. */
const LOGIN_PASSWORD_FLAG_RULE: Rule = {
  kind: 'cli-flag',
  anchors: ['-p'],
  gate: /\b(?:(?:docker|podman|nerdctl|helm|oras|skopeo|buildah)\b.*\blogin|mysql(?:dump|admin|import)?|mariadb)\b/,
  pattern: /(?<=\s)(-p[ \t]*)(?![ \t-])([^\s'"]+|"[^"\n]*"|'[^'\n]*')/g,
  replace: (m, text) => {
    const [, flag = '', value = ''] = m;
    if (!LOGIN_PASSWORD_FLAG_RULE.gate!.test(text.slice(0, m.index))) return null;
    const quote = /^["']/.test(value) ? value[0]! : '';
    const inner = quote ? value.slice(1, -1) : value;
    if (!isSecretValue(inner, quote !== '', false)) return null;
    return `${flag}${quote}${redactionMarker('cli-flag')}${quote}`;
  },
};

/** Card verification codes: `"cvv": "123"`, `cvc=4567`, `securityCode: 123`. */
const CVV_RULE: Rule = {
  kind: 'cvv',
  anchors: ['cvv', 'cvc', 'Cvv', 'Cvc', 'CVV', 'CVC', 'ecurity_code', 'ecurityCode', 'ard_code', 'ardCode'],
  pattern:
    /(?<![A-Za-z0-9])((?:cvv2?|cvc2?|Cvv2?|Cvc2?|CVV2?|CVC2?|(?:[Ss]ecurity|[Cc]ard)_?[Cc]ode)\\?["']?[ \t]*[:=]?[ \t]*\\?["']?)(\d{3,4})(?!\d)/g,
  replace: (m) => `${m[1] ?? ''}${redactionMarker('cvv')}`,
};

/** A key name that ends in a secret keyword, for structured data: `password`, `apiKey`, `X-Auth-Token`. */
const SECRET_KEY_NAME = new RegExp(`${KEYWORD}${KEYWORD_SUFFIX}$`);

/** `if ("hunter2" == password)`: a literal compared with a secret-named variable. */
const REVERSE_COMPARISON_RULE: Rule = {
  kind: 'assignment',
  anchors: ['==', '!='],
  gate: new RegExp(String.raw`[!=]==?[ \t]*[\w.$]*(?:${KEYWORD_LOOSE})`),
  pattern: new RegExp(
    String.raw`(?<q>["'\x60])(?<v>[^"'\x60\r\n]{3,})\k<q>(?<tail>[ \t]*[!=]==?[ \t]*(?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$]?[\w$]*?${KEYWORD}${KEYWORD_SUFFIX})`,
    'g',
  ),
  replace: (m) => {
    const g = m.groups ?? {};
    if (!isSecretValue(g.v ?? '', true, false)) return null;
    return `${g.q ?? ''}${redactionMarker('assignment')}${g.q}${g.tail}`;
  },
};

/** `<authToken>value</authToken>`, also with the value on its own line. */
const XML_ELEMENT_RULE: Rule = {
  kind: 'assignment',
  anchors: ['</'],
  gate: new RegExp(String.raw`(?:${KEYWORD_LOOSE})[\w-]*>`),
  pattern: /<([A-Za-z][\w.:-]*)>(\s*)([^<>\s](?:[^<>]*[^<>\s])?)(\s*)<\/\1>/g,
  replace: (m) => {
    const [, tag = '', lead = '', value = '', trail = ''] = m;
    if (!new RegExp(`${KEYWORD}${KEYWORD_SUFFIX}$`).test(tag)) return null;
    const strength = keyStrength(tag);
    if (strength === 'none' || !isSecretValue(value, true, strength === 'weak')) return null;
    return `<${tag}>${lead}${redactionMarker('assignment')}${trail}</${tag}>`;
  },
};

// ---------------------------------------------------------------------------------------------
// Payment cards
// ---------------------------------------------------------------------------------------------

const CARD_RULE: Rule = {
  kind: 'card',
  anchors: [],
  digitRun: true,
  pattern: /(?<![\w.+\-/])\d(?:[ -]?\d){12,18}(?![\w.\-/])/g,
  replace: (m) => {
    const raw = m[0];
    const digits = raw.replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19) return null;
    const separators = raw.replace(/\d/g, '');
    if (separators.length > 0 && !/^(?: +|-+)$/.test(separators)) return null;
    if (/^(\d)\1+$/.test(digits) || !CARD_ISSUER.test(digits) || !luhnValid(digits)) return null;
    return redactionMarker('card');
  },
};

// ---------------------------------------------------------------------------------------------
// The scrubber
// ---------------------------------------------------------------------------------------------

const RULES: readonly Rule[] = [
  PEM_RULE,
  URL_RULE,
  ...VENDOR_RULES,
  AUTH_HEADER_RULE,
  BEARER_RULE,
  BASIC_RULE,
  COOKIE_RULE,
  CURL_USER_RULE,
  NUGET_RULE,
  SIDEKIQ_RULE,
  VENDOR_ID_RULE,
  ASSIGNMENT_RULE,
  CLI_FLAG_RULE,
  LOGIN_PASSWORD_FLAG_RULE,
  CVV_RULE,
  REVERSE_COMPARISON_RULE,
  XML_ELEMENT_RULE,
  CARD_RULE,
];

const CARD_MIN_DIGITS = 13;

/**
 * The pre-filter: one pass over the text's characters that finds every rule anchor (a table of
 * the anchors' first two characters, then `startsWith` at the few positions that hit) and every
 * run of 13 or more digits, and marks the rules that need to run. On a typical log line no rule
 * is marked and the text is returned as it is; no regex has run.
 */
class AnchorScanner {
  private static readonly BITS = 7;
  private static readonly MASK = (1 << AnchorScanner.BITS) - 1;
  /** Bigram of the first two characters (7 bits each) -> bucket index, or -1. */
  private readonly slots = new Int32Array(1 << (2 * AnchorScanner.BITS)).fill(-1);
  private readonly buckets: { anchor: string; rules: number[] }[][] = [];
  private readonly digitRunRules: number[] = [];

  constructor(rules: readonly Rule[]) {
    const byAnchor = new Map<string, number[]>();
    rules.forEach((rule, index) => {
      if (rule.digitRun) this.digitRunRules.push(index);
      for (const anchor of rule.anchors) {
        if (anchor.length < 2) throw new Error(`anchor "${anchor}" of ${rule.kind} is shorter than 2`);
        byAnchor.set(anchor, [...(byAnchor.get(anchor) ?? []), index]);
      }
    });
    for (const [anchor, ruleIndexes] of byAnchor) {
      const slot = this.slotOf(anchor.charCodeAt(0), anchor.charCodeAt(1));
      if (this.slots[slot] === -1) {
        this.slots[slot] = this.buckets.length;
        this.buckets.push([]);
      }
      this.buckets[this.slots[slot]!]!.push({ anchor, rules: ruleIndexes });
    }
  }

  /** Sets `hits[i] = 1` for every rule `i` whose anchor occurs; true if any did. */
  scan(text: string, hits: Uint8Array): boolean {
    const n = text.length;
    let any = false;
    let digits = 0;
    let separator = false;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) {
        digits++;
        separator = false;
        if (digits === CARD_MIN_DIGITS) {
          for (const r of this.digitRunRules) hits[r] = 1;
          any = true;
        }
      } else if ((c === 32 || c === 45) && digits > 0 && !separator) {
        separator = true;
      } else {
        digits = 0;
        separator = false;
      }
      if (i + 1 === n) break;
      const bucket = this.slots[this.slotOf(c, text.charCodeAt(i + 1))]!;
      if (bucket === -1) continue;
      for (const entry of this.buckets[bucket]!) {
        if (text.startsWith(entry.anchor, i)) {
          for (const r of entry.rules) hits[r] = 1;
          any = true;
        }
      }
    }
    return any;
  }

  private slotOf(c0: number, c1: number): number {
    return ((c0 & AnchorScanner.MASK) << AnchorScanner.BITS) | (c1 & AnchorScanner.MASK);
  }
}

/**
 * Replaces secrets in free text with `[REDACTED:<kind>]` markers. Construct once and reuse: the
 * constructor compiles the rules and builds the pre-filter. Not re-entrant across threads (it keeps
 * one scratch array), which JavaScript's single thread makes moot.
 */
export class SecretScrubber {
  private readonly rules: readonly Rule[];
  private readonly scanner: AnchorScanner;
  private readonly hits: Uint8Array;
  private readonly exhaustive: boolean;

  /**
   * @param options.exhaustive run every rule on every text, skipping the pre-filter. Slow; for tests
   *   that check the pre-filter never hides a secret.
   */
  constructor(options: { exhaustive?: boolean } = {}) {
    this.rules = RULES.map((r) => Object.assign({}, r, { pattern: new RegExp(r.pattern.source, r.pattern.flags) }));
    this.scanner = new AnchorScanner(this.rules);
    this.hits = new Uint8Array(this.rules.length);
    this.exhaustive = options.exhaustive ?? false;
  }

  /** The scrubbed text and how many secrets were replaced. */
  scrub(text: string): ScrubResult {
    const hits = this.hits;
    if (this.exhaustive) hits.fill(1);
    else if (!this.scanner.scan(text, hits)) return { text, redactions: 0 };
    let out = text;
    let redactions = 0;
    for (let i = 0; i < this.rules.length; i++) {
      if (hits[i] === 0) continue;
      hits[i] = 0;
      const rule = this.rules[i]!;
      if (rule.gate !== undefined && !rule.gate.test(out)) continue;
      const r = rule.apply ? rule.apply(out) : applyRule(out, rule);
      out = r.text;
      redactions += r.redactions;
    }
    return { text: out, redactions };
  }

  /** Just the scrubbed text. */
  scrubText(text: string): string {
    return this.scrub(text).text;
  }

  /**
   * Scrubs every string in a JSON-like value (parsed JSON logs, labels, payloads), object keys
   * included, and returns a copy; the input is not changed. A string under a secret-named key (`password`, `apiKey`,
   * `client_secret`) is replaced whole, as `password=...` would be in text.
   */
  scrubJson<T>(value: T): { value: T; redactions: number } {
    let redactions = 0;
    const visit = (v: unknown, key: string | undefined): unknown => {
      if (typeof v === 'string') {
        if (key !== undefined && SECRET_KEY_NAME.test(key)) {
          const strength = keyStrength(key);
          if (strength !== 'none' && isSecretValue(v, true, strength === 'weak')) {
            redactions++;
            return redactionMarker('assignment');
          }
        }
        const r = this.scrub(v);
        redactions += r.redactions;
        return r.text;
      }
      if (Array.isArray(v)) return v.map((item) => visit(item, undefined));
      if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
        const out: Record<string, unknown> = {};
        for (const [k, item] of Object.entries(v)) {
          // a key can hold a secret too (a label or metadata name): scrubbed like a value, and
          // numbered when the scrubbed name is taken
          const r = this.scrub(k);
          redactions += r.redactions;
          let name = r.text;
          for (let n = 2; r.redactions > 0 && Object.prototype.hasOwnProperty.call(out, name); n++)
            name = `${r.text}#${n}`;
          out[name] = visit(item, k);
        }
        return out;
      }
      return v;
    };
    const scrubbed = visit(value, undefined) as T;
    return { value: redactions === 0 ? value : scrubbed, redactions };
  }
}

function applyRule(text: string, rule: Rule): ScrubResult {
  const re = rule.pattern;
  re.lastIndex = 0;
  let out = '';
  let last = 0;
  let redactions = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    if (text.startsWith(MARKER_PREFIX, m.index)) continue;
    const replacement = rule.replace(m, text);
    if (replacement === null) continue;
    out += text.slice(last, m.index) + replacement;
    last = m.index + m[0].length;
    redactions++;
  }
  return redactions === 0 ? { text, redactions } : { text: out + text.slice(last), redactions };
}

const defaultScrubber = new SecretScrubber();

/** Scrubs text with a shared `SecretScrubber`. */
export function scrubSecrets(text: string): ScrubResult {
  return defaultScrubber.scrub(text);
}

/** Scrubs every string of a JSON-like value with a shared `SecretScrubber`; see `SecretScrubber.scrubJson`. */
export function scrubJsonSecrets<T>(value: T): { value: T; redactions: number } {
  return defaultScrubber.scrubJson(value);
}

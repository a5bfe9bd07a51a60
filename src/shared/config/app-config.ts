import { Transform, plainToInstance } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  IsUrl,
  MinLength,
  getMetadataStorage,
  validateSync,
} from 'class-validator';

const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  return value;
};
const toNumber = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string' || value.trim() === '') return value;
  const n = Number(value);
  return Number.isNaN(n) ? value : n;
};
const toList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : value;
/** An http(s) URL; hosts without a top-level domain (localhost, 127.0.0.1, cluster names) too. */
const HTTP_URL = { protocols: ['http', 'https'], require_protocol: true, require_tld: false };
const IsHttpUrl = (name: string) => IsUrl(HTTP_URL, { message: `${name} must be an http(s) URL` });

/**
 * A key sent in an `Authorization` header: a Bearer value arrives trimmed, so a key that starts or
 * ends with whitespace (a secret file's trailing newline) could only ever match as a Basic password.
 */
const IsHeaderKey = (name: string) =>
  Matches(/^(?!\s)[\s\S]*(?<!\s)$/, {
    message: `${name} must not start or end with whitespace (an Authorization header cannot carry it)`,
  });

/** A list where an empty value means "not set": the built-in default applies. */
const toListOrUnset = (params: { value: unknown }): unknown => {
  const list = toList(params);
  return Array.isArray(list) && list.length === 0 ? undefined : list;
};
const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * Every environment variable fixloop reads, with its default. Validated once at boot: a bad value
 * stops start-up with a message naming the variable. The README's env table mirrors this class.
 * Durations accept decimals so tests can shorten them.
 */
export class EnvironmentSchema {
  // --- server ---
  @Transform(toNumber) @IsInt() @Min(0) @Max(65535) PORT = 3000;
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @Matches(/^postgres(ql)?:\/\//, {
    message: 'DATABASE_URL must be a postgres:// URL',
  })
  DATABASE_URL?: string;
  @IsString() @MinLength(1) DATA_DIR = './data';
  @Transform(toNumber) @IsInt() @Min(1) @Max(200) DATABASE_POOL_SIZE = 10;
  /** How long a query may wait for a pooled connection before failing (never hang). */
  @Transform(toNumber) @IsNumber() @Min(0.1) DATABASE_ACQUIRE_TIMEOUT_SECONDS = 10;
  @Transform(toNumber) @IsNumber() @Min(0) DATABASE_STALL_TIMEOUT_SECONDS = 60;
  @IsIn(['json', 'pretty']) LOG_FORMAT: 'json' | 'pretty' = 'json';
  @IsIn(['error', 'warn', 'log', 'debug', 'verbose']) LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';
  @Transform(toNumber) @IsInt() @Min(1024) REQUEST_BODY_LIMIT_BYTES = 5 * 1024 * 1024;

  // --- auth ---
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, {
    message: 'ADMIN_API_KEY must be at least 16 characters',
  })
  @IsHeaderKey('ADMIN_API_KEY')
  ADMIN_API_KEY?: string;
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16, {
    message: 'AGENT_API_KEY must be at least 16 characters',
  })
  @IsHeaderKey('AGENT_API_KEY')
  AGENT_API_KEY?: string;
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(8, {
    message: 'LOKI_WEBHOOK_SECRET must be at least 8 characters',
  })
  @IsHeaderKey('LOKI_WEBHOOK_SECRET')
  LOKI_WEBHOOK_SECRET?: string;
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(8, {
    message: 'GITHUB_WEBHOOK_SECRET must be at least 8 characters',
  })
  GITHUB_WEBHOOK_SECRET?: string;

  // --- issues ---
  @Matches(/^[A-Z][A-Z0-9]{0,15}$/, {
    message: 'ISSUE_PREFIX must be 1-16 upper-case letters or digits, starting with a letter',
  })
  ISSUE_PREFIX = 'CHIPP';

  // --- ingest ---
  @Transform(toListOrUnset) @IsOptional() @IsString({ each: true }) ALERT_SOURCE_LABELS?: string[];
  @Transform(toListOrUnset) @IsOptional() @IsString({ each: true }) ALERT_FEATURE_LABELS?: string[];
  @Transform(toListOrUnset) @IsOptional() @IsString({ each: true }) ALERT_MESSAGE_LABELS?: string[];
  @Transform(toListOrUnset) @IsOptional() @IsString({ each: true }) LOKI_SOURCE_LABELS?: string[];
  @Transform(toListOrUnset) @IsOptional() @IsString({ each: true }) LOKI_FEATURE_LABELS?: string[];
  @Transform(toListOrUnset) @IsOptional() @IsString({ each: true }) LOKI_ERROR_LEVELS?: string[];
  @Transform(toListOrUnset) @IsOptional() @IsString({ each: true }) LOKI_LEVEL_LABELS?: string[];
  @Transform(toListOrUnset) @IsOptional() @IsString({ each: true }) LOKI_JSON_LEVEL_FIELDS?: string[];
  @Transform(toListOrUnset) @IsOptional() @IsString({ each: true }) ALERT_COUNT_REF_IDS?: string[];
  @Transform(toNumber) @IsNumber() @Min(0) GRAFANA_SIGNATURE_TOLERANCE_SECONDS = 300;
  @Transform(toBool) @IsBoolean() GRAFANA_SIGNATURE_REQUIRE_TIMESTAMP = false;
  @Transform(toNumber) @IsInt() @Min(1) @Max(1000) SAMPLES_PER_FINGERPRINT = 20;
  @Transform(toNumber) @IsInt() @Min(0) @Max(3_600_000) SAMPLE_INTERVAL_MS = 1000;
  @Transform(toNumber) @IsNumber() @Min(1) INGEST_DELIVERY_RETENTION_HOURS = 168;
  /** Resolved and synthetic alerts (alert_notices) are deleted this long after they arrived. */
  @Transform(toNumber) @IsNumber() @Min(1) ALERT_NOTICE_RETENTION_DAYS = 30;

  // --- GitHub ---
  @Transform(emptyToUndefined) @IsOptional() @IsString() GITHUB_TOKEN?: string;
  @IsHttpUrl('GITHUB_API_URL') GITHUB_API_URL = 'https://api.github.com';
  @Transform(emptyToUndefined) @IsOptional() @IsString() GITHUB_REPO_OWNER?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() GITHUB_REPO_NAME?: string;
  @IsString() GITHUB_WORKFLOW_ID = 'auto-investigate.yml';
  @IsString() GITHUB_WORKFLOW_REF = 'staging';
  @IsString() STAGING_BRANCH = 'staging';
  @IsString() PRODUCTION_ENVIRONMENT = 'production';
  /** GitHub webhook delivery ids and body hashes (webhook_deliveries) are kept this long to recognise a redelivery (GitHub redelivers for 3 days) or a replayed body. */
  @Transform(toNumber) @IsNumber() @Min(3) GITHUB_DELIVERY_RETENTION_DAYS = 30;

  // --- spawn gate ---
  @Transform(toNumber) @IsInt() @Min(0) MAX_CONCURRENT_SPAWNS = 2;
  @Transform(toNumber) @IsInt() @Min(0) DAILY_SPAWN_BUDGET = 10;
  @Transform(toNumber) @IsNumber() @Min(0) SPAWN_COOLDOWN_HOURS = 24;
  @Transform(toNumber) @IsInt() @Min(1) MIN_EVENT_COUNT_TO_SPAWN = 3;
  @Transform(toNumber) @IsNumber() @Min(0) SPAWN_DELAY_MINUTES = 5;
  @Transform(toBool) @IsBoolean() SPAWN_KILL_SWITCH = false;
  @Transform(toNumber) @IsNumber() @Min(0.01) SPAWN_TIMEOUT_MINUTES = 90;
  @IsString() BUDGET_TIMEZONE = 'UTC';
  /** How many times one dispatch is retried after a 5xx, network error or rate limit before the reconciler takes over. */
  @Transform(toNumber) @IsInt() @Min(0) @Max(20) SPAWN_DISPATCH_RETRIES = 4;
  /** First retry delay of a dispatch (doubles per retry). */
  @Transform(toNumber) @IsNumber() @Min(0) GITHUB_RETRY_BASE_SECONDS = 2;
  /** Longest wait fixloop honours from GitHub's `retry-after` before handing the dispatch to the reconciler. */
  @Transform(toNumber) @IsNumber() @Min(0) GITHUB_RETRY_MAX_SECONDS = 120;
  /** Timeout of one GitHub API call. */
  @Transform(toNumber) @IsNumber() @Min(0.1) GITHUB_HTTP_TIMEOUT_SECONDS = 30;
  /** A dispatch in flight holds its row this long; past it, a crashed dispatch is reconciled (run looked up by name). */
  @Transform(toNumber) @IsNumber() @Min(1) SPAWN_DISPATCH_LEASE_SECONDS = 300;
  /** How many due spawn requests one gate pass examines (and locks). */
  @Transform(toNumber) @IsInt() @Min(1) @Max(10000) SPAWN_GATE_BATCH = 200;

  // --- workers ---
  @Transform(toNumber) @IsNumber() @Min(0.05) WORKER_POLL_SECONDS = 15;
  /** Off in tests, which drive the scheduled jobs by hand. */
  @Transform(toBool) @IsBoolean() WORKERS_ENABLED = true;
  /**
   * outbox_events rows are deleted this long after they were written, delivered or not: nothing
   * consumes them yet, and a notification older than this is no longer worth sending.
   */
  @Transform(toNumber) @IsNumber() @Min(1) OUTBOX_RETENTION_DAYS = 30;

  // --- verification ---
  @Transform(toNumber) @IsNumber() @Min(0) FIX_VERIFICATION_HOURS = 48;
  @Transform(toNumber) @IsNumber() @Min(0) VERIFICATION_GRACE_MINUTES = 10;
  @Transform(emptyToUndefined) @IsOptional() @IsHttpUrl('LOKI_URL') LOKI_URL?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() LOKI_TENANT_ID?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() LOKI_USERNAME?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() LOKI_PASSWORD?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() LOKI_BEARER_TOKEN?: string;
  /** Timeout of one Loki query attempt (verification). */
  @Transform(toNumber) @IsNumber() @Min(0.1) LOKI_TIMEOUT_SECONDS = 30;
  /** Retries of a Loki query after a network error, timeout, 429 or 5xx. */
  @Transform(toNumber) @IsInt() @Min(0) @Max(10) LOKI_RETRIES = 2;
  /** How often one verification window queries Loki (the database check runs every poll). */
  @Transform(toNumber) @IsNumber() @Min(0) LOKI_QUERY_INTERVAL_SECONDS = 60;

  // --- matching (embeddings and LLM judge) ---
  @Transform(emptyToUndefined) @IsOptional() @IsHttpUrl('EMBEDDING_BASE_URL') EMBEDDING_BASE_URL?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() EMBEDDING_API_KEY?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() EMBEDDING_MODEL?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() GEMINI_API_KEY?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsHttpUrl('LLM_BASE_URL') LLM_BASE_URL?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() LLM_API_KEY?: string;
  @Transform(emptyToUndefined) @IsOptional() @IsString() LLM_MODEL?: string;
  /** Gemini REST endpoint (tests point it at a local server). */
  @IsHttpUrl('GEMINI_BASE_URL') GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com';
  /** Semantic PR matching: the best issue's cosine similarity must reach this... */
  @Transform(toNumber) @IsNumber() @Min(0) @Max(1) MATCH_SIMILARITY_THRESHOLD = 0.5;
  /** ...and beat the runner-up by this much; otherwise the LLM judge decides. */
  @Transform(toNumber) @IsNumber() @Min(0) @Max(1) MATCH_MARGIN = 0.08;
  /** Candidates at or above this similarity are shown to the LLM judge when step 2 is not sure. */
  @Transform(toNumber) @IsNumber() @Min(0) @Max(1) MATCH_CANDIDATE_FLOOR = 0.15;
  /** The LLM judge links only at or above this confidence. */
  @Transform(toNumber) @IsNumber() @Min(0) @Max(1) MATCH_LLM_MIN_CONFIDENCE = 0.85;
  /**
   * Whose PRs are matched to issues automatically: a PR author whose GitHub author_association is
   * one of these (an empty value trusts none)...
   */
  @Transform(toList) @IsString({ each: true }) PR_TRUSTED_ASSOCIATIONS: string[] = ['OWNER', 'MEMBER', 'COLLABORATOR'];
  /** ...or whose login is one of these (the agent's GitHub App bot opens fixloop's own PRs). */
  @Transform(toList) @IsString({ each: true }) PR_TRUSTED_AUTHORS: string[] = ['claude[bot]'];
  /** How many candidate issues the LLM judge sees. */
  @Transform(toNumber) @IsInt() @Min(1) @Max(50) MATCH_LLM_CANDIDATES = 8;
  /** Timeout of one embedding or LLM call. */
  @Transform(toNumber) @IsNumber() @Min(0.1) MATCH_HTTP_TIMEOUT_SECONDS = 30;
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/** Validates raw environment values; throws ConfigValidationError naming every bad variable. */
export function validateEnvironment(raw: Record<string, string | undefined>): EnvironmentSchema {
  const known = environmentVariableNames();
  const picked: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v !== undefined && known.has(k)) picked[k] = v;
  }
  const config = plainToInstance(EnvironmentSchema, picked, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: false, forbidUnknownValues: false });
  if (errors.length > 0) {
    const problems = errors.flatMap((e) =>
      Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? m : `${e.property}: ${m}`)),
    );
    throw new ConfigValidationError(problems);
  }
  return config;
}

/** The names of every variable the schema declares (from its validation metadata). */
export function environmentVariableNames(): Set<string> {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(EnvironmentSchema, '', true, false);
  return new Set(metadata.map((m) => m.propertyName));
}

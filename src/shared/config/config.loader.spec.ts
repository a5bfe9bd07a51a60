import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigValidationError, validateEnvironment } from './app-config';
import { loadConfig } from './config.loader';

const keys = {
  ADMIN_API_KEY: 'a'.repeat(20),
  AGENT_API_KEY: 'b'.repeat(20),
  LOKI_WEBHOOK_SECRET: 'c'.repeat(20),
  GITHUB_WEBHOOK_SECRET: 'd'.repeat(20),
};

describe(validateEnvironment.name, () => {
  it('applies the documented defaults', () => {
    const c = validateEnvironment({});
    expect(c).toMatchObject({
      PORT: 3000,
      DATA_DIR: './data',
      ISSUE_PREFIX: 'CHIPP',
      MAX_CONCURRENT_SPAWNS: 2,
      DAILY_SPAWN_BUDGET: 10,
      SPAWN_COOLDOWN_HOURS: 24,
      MIN_EVENT_COUNT_TO_SPAWN: 3,
      SPAWN_DELAY_MINUTES: 5,
      SPAWN_KILL_SWITCH: false,
      GITHUB_API_URL: 'https://api.github.com',
      GITHUB_WORKFLOW_REF: 'staging',
      FIX_VERIFICATION_HOURS: 48,
      VERIFICATION_GRACE_MINUTES: 10,
    });
  });

  it('accepts decimal durations so tests can shorten them', () => {
    const c = validateEnvironment({
      SPAWN_DELAY_MINUTES: '0.01',
      FIX_VERIFICATION_HOURS: '0.0005',
      WORKER_POLL_SECONDS: '0.1',
    });
    expect(c.SPAWN_DELAY_MINUTES).toBe(0.01);
    expect(c.FIX_VERIFICATION_HOURS).toBe(0.0005);
    expect(c.WORKER_POLL_SECONDS).toBe(0.1);
  });

  it('reads an empty label list as unset, so the built-in default applies', () => {
    const c = validateEnvironment({
      LOKI_SOURCE_LABELS: '',
      ALERT_MESSAGE_LABELS: ' , ',
      LOKI_ERROR_LEVELS: 'error,fatal',
    });
    expect(c.LOKI_SOURCE_LABELS).toBeUndefined();
    expect(c.ALERT_MESSAGE_LABELS).toBeUndefined();
    expect(c.LOKI_ERROR_LEVELS).toEqual(['error', 'fatal']);
  });

  it('stops start-up on a key an Authorization header cannot carry: surrounding whitespace', () => {
    for (const name of ['ADMIN_API_KEY', 'AGENT_API_KEY', 'LOKI_WEBHOOK_SECRET'] as const) {
      for (const value of [` ${keys[name]}`, `${keys[name]}\n`]) {
        expect(() => validateEnvironment({ ...keys, [name]: value })).toThrow(
          `${name} must not start or end with whitespace`,
        );
      }
    }
    expect(validateEnvironment({ ...keys, LOKI_WEBHOOK_SECRET: 'inner  space ok' }).LOKI_WEBHOOK_SECRET).toBe(
      'inner  space ok',
    );
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      validateEnvironment({
        PORT: 'eighty',
        SPAWN_KILL_SWITCH: 'maybe',
        ISSUE_PREFIX: 'chipp',
        DATABASE_URL: 'mysql://x',
        LOKI_URL: 'notaurl',
        GITHUB_API_URL: 'nope',
        EMBEDDING_BASE_URL: 'ftp://models.example.com',
        GITHUB_WEBHOOK_SECRET: 'x',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const message = (error as Error).message;
    for (const name of [
      'PORT',
      'SPAWN_KILL_SWITCH',
      'ISSUE_PREFIX',
      'DATABASE_URL',
      'LOKI_URL',
      'GITHUB_API_URL',
      'EMBEDDING_BASE_URL',
      'GITHUB_WEBHOOK_SECRET',
    ]) {
      expect(message).toContain(name);
    }
  });

  it('accepts http(s) URLs of hosts without a top-level domain', () => {
    const c = validateEnvironment({ LOKI_URL: 'http://loki:3100', GITHUB_API_URL: 'http://127.0.0.1:9/api/v3' });
    expect(c).toMatchObject({ LOKI_URL: 'http://loki:3100', GITHUB_API_URL: 'http://127.0.0.1:9/api/v3' });
  });

  it('ignores unrelated environment variables', () => {
    const c = validateEnvironment({ PATH: '/usr/bin', HOME: '/root' }) as unknown as Record<string, unknown>;
    expect(c.PATH).toBeUndefined();
  });
});

describe(loadConfig.name, () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fixloop-cfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stops start-up on a server database when a key is unset, naming it', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://x/y', ...keys, AGENT_API_KEY: undefined })).toThrow(
      /AGENT_API_KEY is required when DATABASE_URL is set/,
    );
  });

  it('generates unset keys on the embedded database, stores them owner-only and reuses them', () => {
    const first = loadConfig({ DATA_DIR: dir, ADMIN_API_KEY: keys.ADMIN_API_KEY });
    expect(first.databaseKind).toBe('pglite');
    expect(first.ADMIN_API_KEY).toBe(keys.ADMIN_API_KEY);
    expect(first.AGENT_API_KEY.length).toBeGreaterThanOrEqual(16);
    const file = path.join(dir, 'fixloop-keys.json');
    expect(first.generatedKeysFile).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(stored.ADMIN_API_KEY).toBeUndefined();
    const second = loadConfig({ DATA_DIR: dir, ADMIN_API_KEY: keys.ADMIN_API_KEY });
    expect(second.AGENT_API_KEY).toBe(first.AGENT_API_KEY);
    expect(second.LOKI_WEBHOOK_SECRET).toBe(first.LOKI_WEBHOOK_SECRET);
  });

  it('uses given keys without writing a keys file', () => {
    const c = loadConfig({ DATA_DIR: dir, ...keys });
    expect(c.generatedKeysFile).toBeUndefined();
  });
});

describe('loadConfig in memory', () => {
  it('generates keys for DATA_DIR=memory:// without writing any file', () => {
    const c = loadConfig({ DATA_DIR: 'memory://' });
    expect(c.ADMIN_API_KEY.length).toBeGreaterThanOrEqual(16);
    expect(c.generatedKeysFile).toBeUndefined();
  });
});

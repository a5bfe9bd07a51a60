import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { validateEnvironment } from './app-config';
import { ConfigValidationError } from './app-config';
import { AppConfig } from './config';

/** Keys that guard fixloop's doors. Authentication is never off: each must have a value. */
export const SECRET_KEYS = ['ADMIN_API_KEY', 'AGENT_API_KEY', 'LOKI_WEBHOOK_SECRET', 'GITHUB_WEBHOOK_SECRET'] as const;
type SecretKey = (typeof SECRET_KEYS)[number];

/** Same value as the database opener's in-memory marker (shared/config must not import database). */
const IN_MEMORY_DATA_DIR = 'memory://';

export const GENERATED_KEYS_FILE = 'fixloop-keys.json';

/**
 * Validates the environment and settles the secrets:
 * - with DATABASE_URL, an unset key stops start-up with a message naming it;
 * - on the embedded database, unset keys are generated at first start and kept in
 *   `<DATA_DIR>/fixloop-keys.json` (mode 0600), and reused on the next start.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const schema = validateEnvironment(env);
  const databaseKind = schema.DATABASE_URL ? 'postgres' : 'pglite';
  const missing = SECRET_KEYS.filter((k) => !schema[k]);
  let generatedKeysFile: string | undefined;
  if (missing.length > 0) {
    if (databaseKind === 'postgres') {
      throw new ConfigValidationError(
        missing.map((k) => `${k} is required when DATABASE_URL is set (authentication is never off)`),
      );
    }
    if (schema.DATA_DIR === IN_MEMORY_DATA_DIR) {
      // Nothing persists in memory: the keys live as long as the process.
      for (const k of missing) schema[k] = randomBytes(24).toString('base64url');
    } else {
      generatedKeysFile = path.resolve(schema.DATA_DIR, GENERATED_KEYS_FILE);
      const stored = readOrCreateKeys(generatedKeysFile, missing);
      for (const k of missing) schema[k] = stored[k];
    }
  }
  return { ...schema, databaseKind, generatedKeysFile } as AppConfig;
}

function readOrCreateKeys(file: string, wanted: readonly SecretKey[]): Record<string, string> {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let stored: Record<string, string> = {};
  if (existsSync(file)) {
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    } catch {
      throw new ConfigValidationError([`${file} is not valid JSON: fix or delete it to generate new keys`]);
    }
  }
  let changed = false;
  for (const k of wanted) {
    if (typeof stored[k] !== 'string' || stored[k].length < 16) {
      stored[k] = randomBytes(24).toString('base64url');
      changed = true;
    }
  }
  if (changed) writeFileSync(file, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return stored;
}

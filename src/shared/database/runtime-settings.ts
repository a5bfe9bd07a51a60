import type { EntityManager } from 'typeorm';

/** Keys of the runtime_settings table (persisted switches every replica reads). */
export const KILL_SWITCH_SETTING = 'spawn.kill_switch';
/** The FINGERPRINT_VERSION that every stored fingerprint's samples have been re-fingerprinted with. */
export const FINGERPRINT_VERSION_SETTING = 'dedup.fingerprint_version';

/** A setting's value (JSON), or undefined when it was never written. */
export async function readRuntimeSetting(manager: Pick<EntityManager, 'query'>, key: string): Promise<unknown> {
  const rows = (await manager.query(`SELECT value FROM runtime_settings WHERE key = $1`, [key])) as {
    value: unknown;
  }[];
  return rows[0]?.value;
}

/** Writes a setting (insert or replace), with who wrote it and when. */
export async function writeRuntimeSetting(
  manager: Pick<EntityManager, 'query'>,
  key: string,
  value: unknown,
  by: string,
): Promise<void> {
  await manager.query(
    `INSERT INTO runtime_settings (key, value, updated_by, updated_at) VALUES ($1, $2::jsonb, $3, now())
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now()`,
    [key, JSON.stringify(value), by],
  );
}

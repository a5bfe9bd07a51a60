import { EnvironmentSchema } from './app-config';

/** DI token for the validated configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

/**
 * The validated configuration plus what boot derived from it (generated keys on the embedded
 * database). Services inject it with `@Inject(APP_CONFIG)`.
 */
export interface AppConfig extends EnvironmentSchema {
  ADMIN_API_KEY: string;
  AGENT_API_KEY: string;
  LOKI_WEBHOOK_SECRET: string;
  /** 'pglite' when DATABASE_URL is unset, else 'postgres'. */
  databaseKind: 'pglite' | 'postgres';
  /** Where generated keys were stored, when any were generated. */
  generatedKeysFile?: string;
}

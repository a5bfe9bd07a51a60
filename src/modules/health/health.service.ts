import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { DATABASE_CAPABILITIES, DatabaseCapabilities } from '../../shared/database/database-kind';
import { KILL_SWITCH_SETTING, readRuntimeSetting } from '../../shared/database/runtime-settings';
import { APP_VERSION } from '../../shared/version';
import { HealthView } from './health.view';

@Injectable()
export class HealthService {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(DATABASE_CAPABILITIES) private readonly capabilities: DatabaseCapabilities,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async check(): Promise<HealthView> {
    let database: 'up' | 'down' = 'up';
    let killSwitch = this.config.SPAWN_KILL_SWITCH;
    try {
      if (!killSwitch && (await readRuntimeSetting(this.dataSource, KILL_SWITCH_SETTING)) === true) killSwitch = true;
    } catch {
      database = 'down';
    }
    return {
      status: database === 'up' ? 'ok' : 'degraded',
      database,
      databaseKind: this.capabilities.kind,
      pgvector: this.capabilities.pgvector,
      ...(this.capabilities.pgvector
        ? {}
        : { pgvectorHint: 'Similarity search is off: install pgvector on the server and run CREATE EXTENSION vector' }),
      killSwitch,
      version: APP_VERSION,
    };
  }
}

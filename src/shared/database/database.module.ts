import { DynamicModule, Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/config';
import { DataDirLockedError } from './data-dir-lock';
import { DATABASE_CAPABILITIES, DatabaseCapabilities } from './database-kind';
import { armStallGuard, closeDataSource, createDataSource, detectCapabilities, runMigrations } from './database-opener';

@Injectable()
class EmbeddedDatabaseCloser implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}
  async onApplicationShutdown(): Promise<void> {
    await closeDataSource(this.dataSource);
  }
}

/**
 * The system of record. Opens PGlite or the server, runs pending migrations (never `synchronize`),
 * detects pgvector, and closes everything on shutdown. Entities register through
 * TypeOrmModule.forFeature in their own module (autoLoadEntities).
 */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            type: 'postgres',
            autoLoadEntities: true,
            synchronize: false,
            // A server may still be starting: retry. A locked embedded folder will not free itself.
            retryAttempts: config.databaseKind === 'postgres' ? 5 : 0,
            retryDelay: 2000,
            toRetry: (err: unknown) => !(err instanceof DataDirLockedError),
          }),
          dataSourceFactory: async (options) => {
            const ds = await createDataSource(config, { entities: options?.entities ?? [] });
            try {
              await runMigrations(ds, config.databaseKind);
              armStallGuard(ds);
            } catch (err) {
              await closeDataSource(ds);
              throw err;
            }
            return ds;
          },
        }),
      ],
      providers: [
        EmbeddedDatabaseCloser,
        {
          provide: DATABASE_CAPABILITIES,
          inject: [DataSource],
          useFactory: (ds: DataSource): Promise<DatabaseCapabilities> => detectCapabilities(ds, config.databaseKind),
        },
      ],
      exports: [DATABASE_CAPABILITIES],
    };
  }
}

import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { DedupModule } from './modules/dedup/dedup.module';
import { DeploymentsModule } from './modules/deployments/deployments.module';
import { GithubModule } from './modules/github/github.module';
import { HealthModule } from './modules/health/health.module';
import { IngestModule } from './modules/ingest/ingest.module';
import { IssuesModule } from './modules/issues/issues.module';
import { MatchingModule } from './modules/matching/matching.module';
import { SpawnModule } from './modules/spawn/spawn.module';
import { VerificationModule } from './modules/verification/verification.module';
import { ApiKeyGuard } from './shared/auth/api-key.guard';
import { AppConfig } from './shared/config/config';
import { ConfigModule } from './shared/config/config.module';
import { DatabaseModule } from './shared/database/database.module';
import { AllExceptionsFilter } from './shared/errors/all-exceptions.filter';
import { EventsModule } from './shared/events/events.module';

/** The modular monolith: shared kernel + one module per domain concern. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(config),
        EventEmitterModule.forRoot({ wildcard: false, ignoreErrors: false }),
        EventsModule,
        ScheduleModule.forRoot(),
        HealthModule,
        IssuesModule,
        MatchingModule,
        DeploymentsModule,
        GithubModule,
        DedupModule,
        IngestModule,
        VerificationModule,
        SpawnModule,
      ],
      providers: [
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}

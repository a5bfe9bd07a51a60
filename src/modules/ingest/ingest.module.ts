import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { DedupModule } from '../dedup/dedup.module';
import { IngestWebhookGuard } from './guards/ingest-webhook.guard';
import { IngestController } from './ingest.controller';
import { IngestRepository } from './ingest.repository';
import { IngestService } from './ingest.service';
import { RawPushBodyMiddleware } from './raw-push-body.middleware';

/** Receivers of alerts, Loki pushes and events; parsing here, filing into issues by DedupFacade. */
@Module({
  imports: [DedupModule],
  controllers: [IngestController],
  providers: [IngestService, IngestRepository, IngestWebhookGuard, RawPushBodyMiddleware],
})
export class IngestModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RawPushBodyMiddleware).forRoutes({ path: 'loki/api/v1/push', method: RequestMethod.POST });
  }
}

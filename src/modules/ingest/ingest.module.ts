import { Module } from '@nestjs/common';
import { DedupModule } from '../dedup/dedup.module';
import { DeliveryRetentionCron } from './delivery-retention.cron';
import { IngestWebhookGuard } from './guards/ingest-webhook.guard';
import { IngestController } from './ingest.controller';
import { IngestRepository } from './ingest.repository';
import { IngestService } from './ingest.service';

/** Receivers of alerts, Loki pushes and events; parsing here, filing into issues by DedupFacade. */
@Module({
  imports: [DedupModule],
  controllers: [IngestController],
  providers: [IngestService, IngestRepository, IngestWebhookGuard, DeliveryRetentionCron],
})
export class IngestModule {}

import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { RetentionJob, RetentionRule } from '../../shared/scheduling/retention-job';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';

/**
 * GitHub delivery ids exist to recognise a redelivery, which GitHub makes for 3 days at most; one
 * is written per delivery fixloop handles (every workflow run of the repository reports several),
 * so they are kept GITHUB_DELIVERY_RETENTION_DAYS and then deleted. What the deliveries did (links,
 * deployments, history) is kept. Scheduling, batching and replica safety: `RetentionJob`.
 */
@Injectable()
export class WebhookDeliveryRetentionCron implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly deliveryIds: RetentionRule;
  private readonly job: RetentionJob;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    deliveries: WebhookDeliveriesRepository,
  ) {
    const days = config.GITHUB_DELIVERY_RETENTION_DAYS;
    this.deliveryIds = {
      rows: 'GitHub delivery ids',
      keptFor: `${days} d`,
      deleteBatch: (limit) => deliveries.prune(days, limit),
    };
    this.job = new RetentionJob(
      'github.deliveryRetention',
      [this.deliveryIds],
      new Logger(WebhookDeliveryRetentionCron.name),
    );
  }

  onApplicationBootstrap(): void {
    this.job.start(this.scheduler, this.config);
  }

  onModuleDestroy(): void {
    this.job.stop(this.scheduler);
  }

  /** Deletes expired delivery ids, batch after batch, until none is left; returns how many. */
  prune(): Promise<number> {
    return this.job.prune(this.deliveryIds);
  }
}

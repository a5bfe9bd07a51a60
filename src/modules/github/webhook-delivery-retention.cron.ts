import { Inject, Injectable, Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { RetentionCron } from '../../shared/scheduling/retention-cron';
import { RetentionJob, RetentionRule } from '../../shared/scheduling/retention-job';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';

/**
 * GitHub delivery ids exist to recognise a redelivery, which GitHub makes for 3 days at most; one
 * is written per delivery fixloop handles (every workflow run of the repository reports several),
 * so they are kept GITHUB_DELIVERY_RETENTION_DAYS and then deleted. What the deliveries did (links,
 * deployments, history) is kept. Scheduling, batching and replica safety: `RetentionJob`; its lifecycle: `RetentionCron`.
 */
@Injectable()
export class WebhookDeliveryRetentionCron extends RetentionCron {
  private readonly deliveryIds: RetentionRule;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    scheduler: SchedulerRegistry,
    deliveries: WebhookDeliveriesRepository,
  ) {
    const days = config.GITHUB_DELIVERY_RETENTION_DAYS;
    const deliveryIds: RetentionRule = {
      rows: 'GitHub delivery ids',
      keptFor: `${days} d`,
      deleteBatch: (limit) => deliveries.prune(days, limit),
    };
    super(
      new RetentionJob('github.deliveryRetention', [deliveryIds], new Logger(WebhookDeliveryRetentionCron.name)),
      scheduler,
      config,
    );
    this.deliveryIds = deliveryIds;
  }

  /** Deletes expired delivery ids, batch after batch, until none is left; returns how many. */
  prune(): Promise<number> {
    return this.job.prune(this.deliveryIds);
  }
}

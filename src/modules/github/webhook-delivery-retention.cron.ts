import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { IntervalJob } from '../../shared/scheduling/interval-job';
import { pruneUntilCaughtUp } from '../../shared/scheduling/prune-until-caught-up';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';

/** Delivery ids deleted per statement. */
const PRUNE_BATCH = 5_000;

/**
 * GitHub delivery ids exist to recognise a redelivery, which GitHub makes for 3 days at most; one
 * is written per delivery fixloop handles (every workflow run of the repository reports several),
 * so they are kept GITHUB_DELIVERY_RETENTION_DAYS and then deleted, in batches until caught up,
 * every WORKER_POLL_SECONDS x 20. What the deliveries did (links, deployments, history) is kept.
 * Safe on several replicas (SKIP LOCKED); stops between batches at shutdown; off with
 * WORKERS_ENABLED=false.
 */
@Injectable()
export class WebhookDeliveryRetentionCron implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookDeliveryRetentionCron.name);
  private readonly job = new IntervalJob('github.deliveryRetention', () => this.prune(), this.logger);
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly deliveries: WebhookDeliveriesRepository,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.WORKERS_ENABLED) return;
    this.job.start(this.scheduler, this.config.WORKER_POLL_SECONDS * 20_000);
  }

  onModuleDestroy(): void {
    this.stopping = true;
    this.job.stop(this.scheduler);
  }

  /** Deletes expired delivery ids, batch after batch, until none is left; returns how many. */
  async prune(): Promise<number> {
    const days = this.config.GITHUB_DELIVERY_RETENTION_DAYS;
    const deleted = await pruneUntilCaughtUp(
      PRUNE_BATCH,
      (limit) => this.deliveries.prune(days, limit),
      () => this.stopping,
    );
    if (deleted > 0) this.logger.log({ msg: `deleted ${deleted} GitHub delivery ids older than ${days} d`, deleted });
    return deleted;
  }
}

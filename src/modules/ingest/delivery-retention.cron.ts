import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { IntervalJob } from '../../shared/scheduling/interval-job';
import { IngestRepository } from './ingest.repository';

/** Delivery keys deleted per statement, and statements per run (the rest waits for the next run). */
const PRUNE_BATCH = 5_000;
const MAX_BATCHES_PER_RUN = 40;

/**
 * Delivery keys exist to recognise a redelivery (a sender's retry, the second member of an HA pair,
 * a repeated notification of a still-firing alert); one is written per alert and per pushed line,
 * so they are kept for INGEST_DELIVERY_RETENTION_HOURS and then deleted, in batches, every
 * WORKER_POLL_SECONDS x 20. Counts, samples and notices are kept; a redelivery arriving after its
 * key is gone counts once more. Safe on several replicas (SKIP LOCKED); off with WORKERS_ENABLED=false.
 */
@Injectable()
export class DeliveryRetentionCron implements OnApplicationBootstrap {
  private readonly logger = new Logger(DeliveryRetentionCron.name);
  private readonly job = new IntervalJob('ingest.deliveryRetention', () => this.prune(), this.logger);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly dataSource: DataSource,
    private readonly repo: IngestRepository,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.WORKERS_ENABLED) return;
    this.job.start(this.scheduler, this.config.WORKER_POLL_SECONDS * 20_000);
  }

  /** One run: deletes expired delivery keys, up to MAX_BATCHES_PER_RUN batches; returns how many. */
  async prune(): Promise<number> {
    let deleted = 0;
    for (let batch = 0; batch < MAX_BATCHES_PER_RUN; batch++) {
      const n = await this.repo.pruneDeliveries(
        this.dataSource.manager,
        this.config.INGEST_DELIVERY_RETENTION_HOURS,
        PRUNE_BATCH,
      );
      deleted += n;
      if (n < PRUNE_BATCH) break;
    }
    if (deleted > 0) {
      this.logger.log({
        msg: `deleted ${deleted} delivery keys older than ${this.config.INGEST_DELIVERY_RETENTION_HOURS} h`,
        deleted,
      });
    }
    return deleted;
  }
}

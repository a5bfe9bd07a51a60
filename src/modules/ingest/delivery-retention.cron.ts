import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { IntervalJob } from '../../shared/scheduling/interval-job';
import { IngestRepository } from './ingest.repository';

/** Delivery keys deleted per statement (each statement is short: its rows, nothing else, are locked). */
const PRUNE_BATCH = 5_000;

/**
 * Delivery keys exist to recognise a redelivery (a sender's retry, the second member of an HA pair,
 * a repeated notification of a still-firing alert); one is written per alert and per pushed line,
 * so they are kept for INGEST_DELIVERY_RETENTION_HOURS and then deleted, in batches, every
 * WORKER_POLL_SECONDS x 20. A run goes on until it has caught up (a batch comes back short), with
 * no cap per run: one key is written per pushed line, so a cap would delete less than sustained
 * traffic writes (40 x 5,000 keys per 5 minutes was 667 a second) and the table would grow for
 * ever. Counts, samples and notices are kept; a redelivery arriving after its key is gone counts
 * once more. Safe on several replicas (SKIP LOCKED: they share the backlog); stops between batches
 * at shutdown; off with WORKERS_ENABLED=false.
 */
@Injectable()
export class DeliveryRetentionCron implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryRetentionCron.name);
  private readonly job = new IntervalJob('ingest.deliveryRetention', () => this.prune(), this.logger);
  private stopping = false;

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

  onModuleDestroy(): void {
    this.stopping = true;
    this.job.stop(this.scheduler);
  }

  /** One run: deletes expired delivery keys, batch after batch, until none is left; returns how many. */
  async prune(): Promise<number> {
    let deleted = 0;
    for (let n = PRUNE_BATCH; n === PRUNE_BATCH && !this.stopping;) {
      n = await this.repo.pruneDeliveries(
        this.dataSource.manager,
        this.config.INGEST_DELIVERY_RETENTION_HOURS,
        PRUNE_BATCH,
      );
      deleted += n;
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

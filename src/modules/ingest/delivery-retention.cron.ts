import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { IntervalJob } from '../../shared/scheduling/interval-job';
import { pruneUntilCaughtUp } from '../../shared/scheduling/prune-until-caught-up';
import { IngestRepository } from './ingest.repository';

/** Rows deleted per statement (each statement is short: its rows, nothing else, are locked). */
const PRUNE_BATCH = 5_000;

/**
 * Delivery keys exist to recognise a redelivery (a sender's retry, the second member of an HA pair,
 * a repeated notification of a still-firing alert); one is written per alert and per pushed line,
 * so they are kept for INGEST_DELIVERY_RETENTION_HOURS and then deleted, in batches, every
 * WORKER_POLL_SECONDS x 20. Alert notices (resolved and synthetic alerts, one per notification;
 * nothing reads them back) are kept ALERT_NOTICE_RETENTION_DAYS, deleted the same way. A run goes
 * on until it has caught up (a batch comes back short), with no cap per run: one key is written
 * per pushed line, so a cap would delete less than sustained traffic writes (40 x 5,000 keys per
 * 5 minutes was 667 a second) and the table would grow for ever. Counts, samples and issues are
 * kept; a redelivery arriving after its key is gone counts once more. Safe on several replicas
 * (SKIP LOCKED: they share the backlog); stops between batches at shutdown; off with
 * WORKERS_ENABLED=false.
 */
@Injectable()
export class DeliveryRetentionCron implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(DeliveryRetentionCron.name);
  private readonly job = new IntervalJob(
    'ingest.deliveryRetention',
    async () => {
      await this.prune();
      await this.pruneNotices();
    },
    this.logger,
  );
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

  /** Deletes expired delivery keys, batch after batch, until none is left; returns how many. */
  async prune(): Promise<number> {
    const hours = this.config.INGEST_DELIVERY_RETENTION_HOURS;
    const deleted = await pruneUntilCaughtUp(
      PRUNE_BATCH,
      (limit) => this.repo.pruneDeliveries(this.dataSource.manager, hours, limit),
      () => this.stopping,
    );
    if (deleted > 0) this.logger.log({ msg: `deleted ${deleted} delivery keys older than ${hours} h`, deleted });
    return deleted;
  }

  /** Deletes expired alert notices, batch after batch, until none is left; returns how many. */
  async pruneNotices(): Promise<number> {
    const days = this.config.ALERT_NOTICE_RETENTION_DAYS;
    const deleted = await pruneUntilCaughtUp(
      PRUNE_BATCH,
      (limit) => this.repo.pruneNotices(this.dataSource.manager, days, limit),
      () => this.stopping,
    );
    if (deleted > 0) this.logger.log({ msg: `deleted ${deleted} alert notices older than ${days} d`, deleted });
    return deleted;
  }
}

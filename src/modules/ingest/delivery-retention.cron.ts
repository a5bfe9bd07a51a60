import { Inject, Injectable, Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { RetentionCron } from '../../shared/scheduling/retention-cron';
import { RetentionJob, RetentionRule } from '../../shared/scheduling/retention-job';
import { IngestRepository } from './ingest.repository';

/**
 * Delivery keys exist to recognise a redelivery (a sender's retry, the second member of an HA pair,
 * a repeated notification of a still-firing alert); one is written per alert and per pushed line,
 * so they are kept for INGEST_DELIVERY_RETENTION_HOURS and then deleted. Alert notices (resolved
 * and synthetic alerts, one per notification; nothing reads them back) are kept
 * ALERT_NOTICE_RETENTION_DAYS, deleted the same way. A run goes on until it has caught up, with no
 * cap per run: one key is written per pushed line, so a cap would delete less than sustained
 * traffic writes (40 x 5,000 keys per 5 minutes was 667 a second) and the table would grow for
 * ever. Counts, samples and issues are kept; a redelivery arriving after its key is gone counts
 * once more. Scheduling, batching and replica safety: `RetentionJob`; its lifecycle: `RetentionCron`.
 */
@Injectable()
export class DeliveryRetentionCron extends RetentionCron {
  private readonly deliveryKeys: RetentionRule;
  private readonly notices: RetentionRule;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    scheduler: SchedulerRegistry,
    dataSource: DataSource,
    repo: IngestRepository,
  ) {
    const hours = config.INGEST_DELIVERY_RETENTION_HOURS;
    const days = config.ALERT_NOTICE_RETENTION_DAYS;
    const deliveryKeys: RetentionRule = {
      rows: 'delivery keys',
      keptFor: `${hours} h`,
      deleteBatch: (limit) => repo.pruneDeliveries(dataSource.manager, hours, limit),
    };
    const notices: RetentionRule = {
      rows: 'alert notices',
      keptFor: `${days} d`,
      deleteBatch: (limit) => repo.pruneNotices(dataSource.manager, days, limit),
    };
    super(
      new RetentionJob('ingest.deliveryRetention', [deliveryKeys, notices], new Logger(DeliveryRetentionCron.name)),
      scheduler,
      config,
    );
    this.deliveryKeys = deliveryKeys;
    this.notices = notices;
  }

  /** Deletes expired delivery keys, batch after batch, until none is left; returns how many. */
  prune(): Promise<number> {
    return this.job.prune(this.deliveryKeys);
  }

  /** Deletes expired alert notices, batch after batch, until none is left; returns how many. */
  pruneNotices(): Promise<number> {
    return this.job.prune(this.notices);
  }
}

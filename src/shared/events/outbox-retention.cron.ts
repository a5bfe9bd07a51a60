import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/config';
import { deleteExpired } from '../database/delete-expired';
import { RetentionJob, RetentionRule } from '../scheduling/retention-job';

/**
 * outbox_events holds the notifications written in the transaction that caused them (fix.verified,
 * fix.failed, kill_switch.changed, spawn_budget.changed; spawn and verification write them) for a
 * notifier that does not exist yet, so nothing marks a row processed and nothing deletes it. Rows
 * are kept OUTBOX_RETENTION_DAYS after they were written (`created_at`), delivered or not, then
 * deleted: a notification that old is no longer worth sending, and the audit trail of what
 * happened is issue_history, not the outbox. The notifier that comes will delete what it has
 * delivered sooner; this stays as the bound for what it never delivers. Scheduling, batching and
 * replica safety: `RetentionJob`.
 */
@Injectable()
export class OutboxRetentionCron implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly outboxEvents: RetentionRule;
  private readonly job: RetentionJob;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    dataSource: DataSource,
  ) {
    const days = config.OUTBOX_RETENTION_DAYS;
    this.outboxEvents = {
      rows: 'outbox events',
      keptFor: `${days} d`,
      deleteBatch: (limit) =>
        deleteExpired(dataSource, { table: 'outbox_events', key: 'id', at: 'created_at' }, days * 86_400, limit),
    };
    this.job = new RetentionJob('events.outboxRetention', [this.outboxEvents], new Logger(OutboxRetentionCron.name));
  }

  onApplicationBootstrap(): void {
    this.job.start(this.scheduler, this.config);
  }

  onModuleDestroy(): void {
    this.job.stop(this.scheduler);
  }

  /** Deletes expired outbox events, batch after batch, until none is left; returns how many. */
  prune(): Promise<number> {
    return this.job.prune(this.outboxEvents);
  }
}

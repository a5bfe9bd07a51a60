import { Inject, Injectable, Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config/config';
import { deleteExpired } from '../database/delete-expired';
import { RetentionCron } from '../scheduling/retention-cron';
import { RetentionJob, RetentionRule } from '../scheduling/retention-job';

/**
 * outbox_events holds the notifications written in the transaction that caused them (fix.verified,
 * fix.failed, kill_switch.changed, spawn_budget.changed; spawn and verification write them) for a
 * notifier that does not exist yet, so nothing marks a row processed and nothing deletes it. Rows
 * are kept OUTBOX_RETENTION_DAYS after they were written (`created_at`), delivered or not, then
 * deleted: a notification that old is no longer worth sending, and the audit trail of what
 * happened is issue_history, not the outbox. The notifier that comes will delete what it has
 * delivered sooner; this stays as the bound for what it never delivers. Scheduling, batching and
 * replica safety: `RetentionJob`; its lifecycle: `RetentionCron`.
 */
@Injectable()
export class OutboxRetentionCron extends RetentionCron {
  private readonly outboxEvents: RetentionRule;

  constructor(@Inject(APP_CONFIG) config: AppConfig, scheduler: SchedulerRegistry, dataSource: DataSource) {
    const days = config.OUTBOX_RETENTION_DAYS;
    const outboxEvents: RetentionRule = {
      rows: 'outbox events',
      keptFor: `${days} d`,
      deleteBatch: (limit) =>
        deleteExpired(dataSource, { table: 'outbox_events', key: 'id', at: 'created_at' }, days * 86_400, limit),
    };
    super(
      new RetentionJob('events.outboxRetention', [outboxEvents], new Logger(OutboxRetentionCron.name)),
      scheduler,
      config,
    );
    this.outboxEvents = outboxEvents;
  }

  /** Deletes expired outbox events, batch after batch, until none is left; returns how many. */
  prune(): Promise<number> {
    return this.job.prune(this.outboxEvents);
  }
}

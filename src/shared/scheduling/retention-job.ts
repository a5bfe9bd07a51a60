import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { AppConfig } from '../config/config';
import { IntervalJob } from './interval-job';
import { pruneUntilCaughtUp } from './prune-until-caught-up';

/** Rows deleted per statement (each statement is short: its rows, nothing else, are locked). */
export const RETENTION_BATCH = 5_000;

/** One table's retention, as a retention job runs it and logs it. */
export interface RetentionRule {
  /** What the rows are, as the log line names them: `delivery keys`. */
  rows: string;
  /** How long they are kept, as the log line says it: `168 h`, `30 d`. */
  keptFor: string;
  /** Deletes up to `limit` expired rows and returns how many (`deleteExpired`: replicas share the work). */
  deleteBatch: (limit: number) => Promise<number>;
}

/**
 * The wiring every retention cron shares: one IntervalJob every WORKER_POLL_SECONDS x 20 (when
 * WORKERS_ENABLED) that runs its rules in order, each batch after batch of RETENTION_BATCH until it
 * has caught up (no cap per run, so deletion keeps pace with sustained traffic), stopping between
 * batches at shutdown, with one log line per rule that deleted something. Several replicas are safe
 * because each batch is a `deleteExpired` statement (SKIP LOCKED: they share the backlog). A cron
 * extends `RetentionCron`, which calls `start` and `stop`; tests call `prune` by hand.
 */
export class RetentionJob {
  private readonly job: IntervalJob;
  private stopping = false;

  constructor(
    name: string,
    private readonly rules: readonly RetentionRule[],
    private readonly logger: Logger,
  ) {
    this.job = new IntervalJob(
      name,
      async () => {
        for (const rule of this.rules) await this.prune(rule);
      },
      logger,
    );
  }

  start(scheduler: SchedulerRegistry, config: Pick<AppConfig, 'WORKERS_ENABLED' | 'WORKER_POLL_SECONDS'>): void {
    if (!config.WORKERS_ENABLED) return;
    this.job.start(scheduler, config.WORKER_POLL_SECONDS * 20_000);
  }

  stop(scheduler: SchedulerRegistry): void {
    this.stopping = true;
    this.job.stop(scheduler);
  }

  /** One scheduled run: every rule, in order (a failure is logged and ends the run). */
  run(): Promise<boolean> {
    return this.job.run();
  }

  /** Deletes the rule's expired rows, batch after batch, until none is left; returns how many. */
  async prune(rule: RetentionRule): Promise<number> {
    const deleted = await pruneUntilCaughtUp(RETENTION_BATCH, rule.deleteBatch, () => this.stopping);
    if (deleted > 0) this.logger.log({ msg: `deleted ${deleted} ${rule.rows} older than ${rule.keptFor}`, deleted });
    return deleted;
  }
}

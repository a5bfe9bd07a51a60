import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { RETENTION_BATCH, RetentionJob, RetentionRule } from './retention-job';

class RecordingLogger extends Logger {
  readonly lines: unknown[] = [];
  readonly errors: unknown[] = [];
  override log(message: unknown): void {
    this.lines.push(message);
  }
  override error(message: unknown): void {
    this.errors.push(message);
  }
}

/** A table of `backlog` expired rows, deleted `limit` at a time; records each batch. */
function table(rows: string, keptFor: string, backlog: number, calls: string[]): RetentionRule {
  let left = backlog;
  return {
    rows,
    keptFor,
    deleteBatch: async (limit) => {
      const n = Math.min(limit, left);
      left -= n;
      calls.push(`${rows}:${n}`);
      return n;
    },
  };
}

describe(RetentionJob.name, () => {
  it('runs its rules in order, each until caught up, and logs what each deleted', async () => {
    const logger = new RecordingLogger();
    const calls: string[] = [];
    const job = new RetentionJob(
      'test.retention',
      [table('keys', '24 h', RETENTION_BATCH + 1, calls), table('notices', '30 d', 0, calls)],
      logger,
    );
    await expect(job.run()).resolves.toBe(true);
    expect(calls).toEqual([`keys:${RETENTION_BATCH}`, 'keys:1', 'notices:0']);
    expect(logger.lines).toEqual([{ msg: `deleted ${RETENTION_BATCH + 1} keys older than 24 h`, deleted: 5001 }]);
  });

  it('logs a failing rule with the job name and leaves the next to the next run', async () => {
    const logger = new RecordingLogger();
    const calls: string[] = [];
    const failing: RetentionRule = {
      rows: 'keys',
      keptFor: '1 h',
      deleteBatch: () => Promise.reject(new Error('database went away')),
    };
    const job = new RetentionJob('test.retention', [failing, table('notices', '30 d', 3, calls)], logger);
    await job.run();
    expect(logger.errors).toEqual([{ msg: 'test.retention failed', err: 'database went away' }]);
    expect(calls).toEqual([]);
  });

  it('starts only with WORKERS_ENABLED, every WORKER_POLL_SECONDS x 20, and stops between batches once stopped', async () => {
    const scheduler = new SchedulerRegistry();
    const rule = table('keys', '1 h', 10 * RETENTION_BATCH, []);
    const job = new RetentionJob('test.retention', [rule], new RecordingLogger());
    job.start(scheduler, { WORKERS_ENABLED: false, WORKER_POLL_SECONDS: 15 });
    expect(scheduler.doesExist('interval', 'test.retention')).toBe(false);
    job.start(scheduler, { WORKERS_ENABLED: true, WORKER_POLL_SECONDS: 15 });
    expect(scheduler.doesExist('interval', 'test.retention')).toBe(true);
    job.stop(scheduler);
    expect(scheduler.doesExist('interval', 'test.retention')).toBe(false);
    await expect(job.prune(rule)).resolves.toBe(0);
  });
});

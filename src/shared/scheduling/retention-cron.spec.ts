import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { RetentionCron } from './retention-cron';
import { RetentionJob } from './retention-job';

class EmptyTableCron extends RetentionCron {
  constructor(scheduler: SchedulerRegistry, workersEnabled: boolean) {
    const rule = { rows: 'rows', keptFor: '1 d', deleteBatch: () => Promise.resolve(0) };
    super(new RetentionJob('test.retention', [rule], new Logger('test')), scheduler, {
      WORKERS_ENABLED: workersEnabled,
      WORKER_POLL_SECONDS: 60,
    });
  }
}

describe(RetentionCron.name, () => {
  it('registers its job at bootstrap and removes it at shutdown', () => {
    const scheduler = new SchedulerRegistry();
    const cron = new EmptyTableCron(scheduler, true);
    cron.onApplicationBootstrap();
    expect(scheduler.getIntervals()).toEqual(['test.retention']);
    cron.onModuleDestroy();
    expect(scheduler.getIntervals()).toEqual([]);
  });

  it('registers nothing when workers are off (tests drive prune by hand)', () => {
    const scheduler = new SchedulerRegistry();
    const cron = new EmptyTableCron(scheduler, false);
    cron.onApplicationBootstrap();
    expect(scheduler.getIntervals()).toEqual([]);
    cron.onModuleDestroy();
  });
});

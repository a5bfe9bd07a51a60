import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { IntervalJob } from './interval-job';

class RecordingLogger extends Logger {
  readonly errors: unknown[] = [];
  override error(message: unknown): void {
    this.errors.push(message);
  }
}

describe(IntervalJob.name, () => {
  it('never runs twice at once: a tick during a run is skipped', async () => {
    let release!: () => void;
    let runs = 0;
    const job = new IntervalJob(
      'test.sweep',
      async () => {
        runs++;
        await new Promise<void>((resolve) => (release = resolve));
      },
      new RecordingLogger(),
    );
    const first = job.run();
    await expect(job.run()).resolves.toBe(false);
    release();
    await expect(first).resolves.toBe(true);
    const again = job.run();
    release();
    await expect(again).resolves.toBe(true);
    expect(runs).toBe(2);
  });

  it('logs a failure with the job name and runs again next time', async () => {
    const logger = new RecordingLogger();
    let fail = true;
    let done = 0;
    const job = new IntervalJob(
      'test.sweep',
      async () => {
        if (fail) throw new Error('database went away');
        done++;
      },
      logger,
    );
    await expect(job.run()).resolves.toBe(true);
    expect(logger.errors).toEqual([{ msg: 'test.sweep failed', err: 'database went away' }]);
    fail = false;
    await job.run();
    expect(done).toBe(1);
  });

  it('registers its interval under its name and removes it on stop', () => {
    const scheduler = new SchedulerRegistry();
    const job = new IntervalJob('test.sweep', async () => undefined, new RecordingLogger());
    job.start(scheduler, 60_000);
    expect(scheduler.doesExist('interval', 'test.sweep')).toBe(true);
    job.stop(scheduler);
    expect(scheduler.doesExist('interval', 'test.sweep')).toBe(false);
    job.stop(scheduler); // idempotent
  });
});

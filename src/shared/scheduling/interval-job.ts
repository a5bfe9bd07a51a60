import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';

/**
 * A sweep this process runs every few seconds, registered with Nest's SchedulerRegistry under its
 * name (so shutdown clears it). Runs never overlap within the process: a tick that finds the
 * previous run still going is skipped. A failure is logged and left to the next run. Replicas each
 * run their own; the work itself must be safe with several (claims, advisory locks).
 */
export class IntervalJob {
  private running = false;

  constructor(
    readonly name: string,
    private readonly work: () => Promise<unknown>,
    private readonly logger: Logger,
  ) {}

  start(scheduler: SchedulerRegistry, everyMs: number): void {
    const handle = setInterval(() => void this.run(), Math.max(1, Math.round(everyMs)));
    scheduler.addInterval(this.name, handle);
  }

  stop(scheduler: SchedulerRegistry): void {
    if (scheduler.doesExist('interval', this.name)) scheduler.deleteInterval(this.name);
  }

  /** One run, unless one is already going; false when skipped. */
  async run(): Promise<boolean> {
    if (this.running) return false;
    this.running = true;
    try {
      await this.work();
    } catch (err) {
      this.logger.error({ msg: `${this.name} failed`, err: err instanceof Error ? err.message : String(err) });
    } finally {
      this.running = false;
    }
    return true;
  }
}

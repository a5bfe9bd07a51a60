import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { SpawnAdminService } from './spawn-admin.service';
import { SpawnWorker } from './spawn-worker.service';

const WORKER = 'spawn-worker';
const ROLLOVER = 'spawn-budget-rollover';

/**
 * The spawn module's schedules, registered at start from the config (off with WORKERS_ENABLED=false):
 * the worker every WORKER_POLL_SECONDS, and the budget rollover at midnight in BUDGET_TIMEZONE.
 * Each only calls a service method; replicas are kept apart inside those methods.
 */
@Injectable()
export class SpawnCron implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SpawnCron.name);

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly worker: SpawnWorker,
    private readonly admin: SpawnAdminService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.WORKERS_ENABLED) return;
    const interval = setInterval(() => void this.work(), Math.round(this.config.WORKER_POLL_SECONDS * 1000));
    this.registry.addInterval(WORKER, interval);
    const job = CronJob.from({
      cronTime: '0 0 * * *',
      timeZone: this.config.BUDGET_TIMEZONE,
      onTick: () => void this.rollover(),
      start: true,
    });
    this.registry.addCronJob(ROLLOVER, job);
    this.logger.log({
      msg: 'spawn worker scheduled',
      everySeconds: this.config.WORKER_POLL_SECONDS,
      rolloverTimezone: this.config.BUDGET_TIMEZONE,
    });
  }

  onModuleDestroy(): void {
    if (this.registry.doesExist('interval', WORKER)) this.registry.deleteInterval(WORKER);
    if (this.registry.doesExist('cron', ROLLOVER)) this.registry.deleteCronJob(ROLLOVER);
  }

  async work(): Promise<void> {
    await this.worker.tick();
  }

  async rollover(): Promise<void> {
    await this.admin.rolloverBudget();
    await this.worker.tick();
  }
}

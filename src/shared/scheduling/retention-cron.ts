import { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { AppConfig } from '../config/config';
import { RetentionJob } from './retention-job';

/**
 * A retention cron's Nest side, which every one shares: its `RetentionJob` starts at bootstrap
 * (when WORKERS_ENABLED) and stops at shutdown. A subclass names its rules and gives each a
 * `prune` method, which tests call by hand.
 */
export abstract class RetentionCron implements OnApplicationBootstrap, OnModuleDestroy {
  protected constructor(
    protected readonly job: RetentionJob,
    private readonly scheduler: SchedulerRegistry,
    private readonly workers: Pick<AppConfig, 'WORKERS_ENABLED' | 'WORKER_POLL_SECONDS'>,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start(this.scheduler, this.workers);
  }

  onModuleDestroy(): void {
    this.job.stop(this.scheduler);
  }
}

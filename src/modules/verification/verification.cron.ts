import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { IntervalJob } from '../../shared/scheduling/interval-job';
import { VerificationService } from './verification.service';

/**
 * Runs the verification checks every WORKER_POLL_SECONDS (off with WORKERS_ENABLED=false; tests
 * call `VerificationService.runDueChecks` by hand). Safe with several replicas: each window is
 * claimed with `FOR UPDATE SKIP LOCKED` and a Loki result is applied only if no other replica
 * moved the window's Loki cursor meanwhile. Runs never overlap within one process.
 */
@Injectable()
export class VerificationCron implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(VerificationCron.name);
  private readonly job = new IntervalJob('verification-checks', () => this.checks(), this.logger);

  constructor(
    private readonly verification: VerificationService,
    private readonly scheduler: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.WORKERS_ENABLED) return;
    this.job.start(this.scheduler, this.config.WORKER_POLL_SECONDS * 1000);
  }

  onModuleDestroy(): void {
    this.job.stop(this.scheduler);
  }

  private async checks(): Promise<void> {
    const summary = await this.verification.runDueChecks();
    if (summary.opened + summary.verified + summary.failed + summary.cancelled + summary.errors > 0) {
      this.logger.log({ msg: 'verification checks', ...summary });
    }
  }
}

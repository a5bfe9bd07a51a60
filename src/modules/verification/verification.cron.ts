import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { VerificationService } from './verification.service';

const JOB = 'verification-checks';

/**
 * Runs the verification checks every WORKER_POLL_SECONDS (off with WORKERS_ENABLED=false; tests
 * call `VerificationService.runDueChecks` by hand). Safe with several replicas: each window is
 * claimed with `FOR UPDATE SKIP LOCKED` and a Loki result is applied only if no other replica
 * moved the window's Loki cursor meanwhile. Runs never overlap within one process.
 */
@Injectable()
export class VerificationCron implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(VerificationCron.name);
  private running = false;

  constructor(
    private readonly verification: VerificationService,
    private readonly scheduler: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.WORKERS_ENABLED) return;
    const handle = setInterval(() => void this.tick(), Math.round(this.config.WORKER_POLL_SECONDS * 1000));
    this.scheduler.addInterval(JOB, handle);
  }

  onModuleDestroy(): void {
    if (this.scheduler.doesExist('interval', JOB)) this.scheduler.deleteInterval(JOB);
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const summary = await this.verification.runDueChecks();
      if (summary.opened + summary.verified + summary.failed + summary.cancelled + summary.errors > 0) {
        this.logger.log({ msg: 'verification checks', ...summary });
      }
    } catch (err) {
      this.logger.error({ msg: 'verification checks failed', err: err instanceof Error ? err.message : String(err) });
    } finally {
      this.running = false;
    }
  }
}

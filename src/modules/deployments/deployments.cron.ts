import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { DeploymentsService } from './deployments.service';

/**
 * Retries unprocessed deployments every WORKER_POLL_SECONDS x 4; off when WORKERS_ENABLED=false.
 * Safe with replicas: each deployment is claimed with FOR UPDATE SKIP LOCKED when applied.
 */
@Injectable()
export class DeploymentsCron implements OnApplicationBootstrap {
  private readonly logger = new Logger(DeploymentsCron.name);
  private running = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly deployments: DeploymentsService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.WORKERS_ENABLED) return;
    const handle = setInterval(() => void this.processPending(), Math.round(this.config.WORKER_POLL_SECONDS * 4000));
    this.scheduler.addInterval('deployments.processPending', handle);
  }

  async processPending(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.deployments.processPending();
    } catch (err) {
      this.logger.error({ msg: 'deployment sweep failed', err: String(err) });
    } finally {
      this.running = false;
    }
  }
}

import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { IntervalJob } from '../../shared/scheduling/interval-job';
import { DeploymentsService } from './deployments.service';

/**
 * Retries unprocessed deployments every WORKER_POLL_SECONDS x 4; off when WORKERS_ENABLED=false.
 * Safe with replicas: each deployment is claimed with FOR UPDATE SKIP LOCKED when applied.
 */
@Injectable()
export class DeploymentsCron implements OnApplicationBootstrap {
  private readonly job: IntervalJob;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    deployments: DeploymentsService,
  ) {
    this.job = new IntervalJob(
      'deployments.processPending',
      () => deployments.processPending(),
      new Logger(DeploymentsCron.name),
    );
  }

  onApplicationBootstrap(): void {
    if (!this.config.WORKERS_ENABLED) return;
    this.job.start(this.scheduler, this.config.WORKER_POLL_SECONDS * 4000);
  }
}

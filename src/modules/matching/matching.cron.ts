import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { IntervalJob } from '../../shared/scheduling/interval-job';
import { IssueEmbeddingService } from './issue-embedding.service';

/** The embedding sweep, every WORKER_POLL_SECONDS x 4; off when WORKERS_ENABLED=false (tests call the service). */
@Injectable()
export class MatchingCron implements OnApplicationBootstrap {
  private readonly job: IntervalJob;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly embeddings: IssueEmbeddingService,
  ) {
    this.job = new IntervalJob('matching.embedMissing', () => embeddings.embedMissing(), new Logger(MatchingCron.name));
  }

  onApplicationBootstrap(): void {
    if (!this.config.WORKERS_ENABLED || !this.embeddings.enabled) return;
    this.job.start(this.scheduler, this.config.WORKER_POLL_SECONDS * 4000);
  }
}

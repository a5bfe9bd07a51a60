import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { IssueEmbeddingService } from './issue-embedding.service';

/** The embedding sweep, every WORKER_POLL_SECONDS x 4; off when WORKERS_ENABLED=false (tests call the service). */
@Injectable()
export class MatchingCron implements OnApplicationBootstrap {
  private readonly logger = new Logger(MatchingCron.name);
  private running = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly embeddings: IssueEmbeddingService,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.WORKERS_ENABLED || !this.embeddings.enabled) return;
    const handle = setInterval(() => void this.embedMissing(), Math.round(this.config.WORKER_POLL_SECONDS * 4000));
    this.scheduler.addInterval('matching.embedMissing', handle);
  }

  async embedMissing(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.embeddings.embedMissing();
    } catch (err) {
      this.logger.error({ msg: 'embedding sweep failed', err: String(err) });
    } finally {
      this.running = false;
    }
  }
}

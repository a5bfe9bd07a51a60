import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { IntervalJob } from '../../shared/scheduling/interval-job';
import { FingerprintUpgradeReport, FingerprintUpgradeService } from './fingerprint-upgrade.service';

/**
 * Fingerprint upgrades (FingerprintUpgradeService): once at start-up, before requests are served
 * (always, also with WORKERS_ENABLED=false: a replica must not file under fingerprints its
 * release no longer gives), then every WORKER_POLL_SECONDS x 4 for the links that replicas of an
 * older release write meanwhile (off with WORKERS_ENABLED=false; tests call the service).
 */
@Injectable()
export class FingerprintUpgradeCron implements OnApplicationBootstrap {
  private readonly logger = new Logger(FingerprintUpgradeCron.name);
  private readonly job = new IntervalJob('dedup.fingerprintSweep', () => this.sweep(), this.logger);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly upgrade: FingerprintUpgradeService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.report(await this.upgrade.run());
    if (!this.config.WORKERS_ENABLED) return;
    this.job.start(this.scheduler, this.config.WORKER_POLL_SECONDS * 4000);
  }

  private async sweep(): Promise<void> {
    const report = await this.upgrade.sweep();
    if (report !== null) this.report(report);
  }

  private report(report: FingerprintUpgradeReport): void {
    if (report.linksChecked === 0) return;
    this.logger.log({
      msg: `fingerprints of ${report.linksChecked} links brought to version ${report.to}`,
      ...report,
    });
  }
}

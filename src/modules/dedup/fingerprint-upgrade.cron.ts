import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
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
  private running = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly upgrade: FingerprintUpgradeService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.report(await this.upgrade.run());
    if (!this.config.WORKERS_ENABLED) return;
    const handle = setInterval(() => void this.sweep(), Math.round(this.config.WORKER_POLL_SECONDS * 4000));
    this.scheduler.addInterval('dedup.fingerprintSweep', handle);
  }

  async sweep(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const report = await this.upgrade.sweep();
      if (report !== null) this.report(report);
    } catch (err) {
      this.logger.error({ msg: 'fingerprint sweep failed', err: String(err) });
    } finally {
      this.running = false;
    }
  }

  private report(report: FingerprintUpgradeReport): void {
    if (report.linksChecked === 0) return;
    this.logger.log({
      msg: `fingerprints of ${report.linksChecked} links brought to version ${report.to}`,
      ...report,
    });
  }
}

import { Module } from '@nestjs/common';
import { IssuesModule } from '../issues/issues.module';
import { MatchingModule } from '../matching/matching.module';
import { DedupAnnouncer } from './dedup-announcer';
import { DedupController } from './dedup.controller';
import { DedupFacade } from './dedup.facade';
import { DedupRepository } from './dedup.repository';
import { DedupService } from './dedup.service';
import { FingerprintUpgradeCron } from './fingerprint-upgrade.cron';
import { FingerprintUpgradeService } from './fingerprint-upgrade.service';
import { IssueMergeService } from './issue-merge.service';
import { KnownPathBatcher } from './known-path-batcher';

/**
 * Deduplication: fingerprints, the grouping engine's state, links (aliases) and merges. Ingest
 * calls DedupFacade inside its transaction; people merge and unmerge through DedupController.
 */
@Module({
  imports: [IssuesModule, MatchingModule],
  controllers: [DedupController],
  providers: [
    DedupRepository,
    DedupService,
    DedupAnnouncer,
    DedupFacade,
    IssueMergeService,
    KnownPathBatcher,
    FingerprintUpgradeService,
    FingerprintUpgradeCron,
  ],
  exports: [DedupFacade],
})
export class DedupModule {}

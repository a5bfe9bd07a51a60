import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { DedupAnnouncer } from './dedup-announcer';
import type { DedupBatchResult, KnownPathOutcome, ObservationInput } from './dedup.contract';
import { DedupService } from './dedup.service';
import { fingerprintMessage } from './normalizer/fingerprint-message';
import { KnownPathBatcher } from './known-path-batcher';

/**
 * The dedup module's door for ingest. `recordObservations` runs inside the caller's transaction
 * (ingest records the delivery keys in the same one, so a redelivery never counts twice);
 * `announce` emits the resulting events and must be called only after that transaction committed.
 */
@Injectable()
export class DedupFacade {
  constructor(
    private readonly dedup: DedupService,
    private readonly announcer: DedupAnnouncer,
    private readonly batcher: KnownPathBatcher,
  ) {}

  /**
   * The fast path for firing observations of fingerprints that already have an issue: their
   * delivery keys are claimed and they are counted in one atomic statement (shared with other
   * requests arriving meanwhile), committed when this resolves. The observations not in
   * `handled` (new fingerprints) go to `recordObservations`, with their keys claimed by the caller
   * in its transaction.
   */
  recordKnown(observations: readonly ObservationInput[]): Promise<KnownPathOutcome> {
    return this.batcher.submit(observations);
  }

  /** Files firing observations into issues (counts, samples, new issues, grouping merges). */
  recordObservations(manager: EntityManager, observations: readonly ObservationInput[]): Promise<DedupBatchResult> {
    return this.dedup.recordObservations(manager, observations);
  }

  /**
   * Notes resolved alerts on their fingerprints' links, each when `resolvedAt` says it resolved;
   * returns the fingerprints (not counted).
   */
  recordResolved<T extends ObservationInput>(
    manager: EntityManager,
    observations: readonly T[],
    resolvedAt: (o: T) => Date,
  ): Promise<string[]> {
    return this.dedup.recordResolved(manager, observations, resolvedAt);
  }

  /** The fingerprint dedup gives a message in its scope (scrubbed, normalised, hashed). */
  fingerprintOf(source: string, feature: string, message: string): string {
    return fingerprintMessage(source, feature, message).fingerprint;
  }

  /** Emits `issue.created`, `issues.merged` and `error.received` for a committed batch. */
  announce(result: DedupBatchResult): Promise<void> {
    return this.announcer.announce(result);
  }
}

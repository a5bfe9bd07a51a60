import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { DedupAnnouncer } from './dedup-announcer';
import type { DedupBatchResult, ObservationInput } from './dedup.contract';
import { DedupService, fingerprintMessage } from './dedup.service';

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
  ) {}

  /** Files firing observations into issues (counts, samples, new issues, grouping merges). */
  recordObservations(manager: EntityManager, observations: readonly ObservationInput[]): Promise<DedupBatchResult> {
    return this.dedup.recordObservations(manager, observations);
  }

  /** Notes resolved alerts on their fingerprints' links; returns the fingerprints (not counted). */
  recordResolved(manager: EntityManager, observations: readonly ObservationInput[], resolvedAt: Date): Promise<string[]> {
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

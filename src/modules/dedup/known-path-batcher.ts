import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { isDataException } from '../../shared/database/transaction-retry';
import type { KnownPathOutcome, ObservationInput } from './dedup.contract';
import { DedupAnnouncer } from './dedup-announcer';
import { DedupService, KnownGroup } from './dedup.service';

interface Pending extends KnownGroup {
  resolve(outcome: KnownPathOutcome): void;
  reject(err: unknown): void;
}

/**
 * Statements running at once: a second one starts only when the waiting observations are enough
 * to be worth it (OVERLAP_MIN_OBSERVATIONS). A second statement on the same hot rows waits for the
 * first's locks, so for small requests (single alerts) splitting the waiting ones into two smaller
 * batches costs more than the overlap saves; for pushes of many lines the overlap wins. Measured
 * with bench/ingest, single-alert webhooks/s: 1,900 with one statement, 1,100 with two, 980 with
 * three; 100-line pushes were faster with two.
 */
const MAX_IN_FLIGHT = 2;
const OVERLAP_MIN_OBSERVATIONS = 100;
/** Largest number of observations one statement carries. */
const MAX_BATCH_OBSERVATIONS = 5_000;

/**
 * Group commit for the known-fingerprint path. A hot error's link and issue rows are locked from
 * the counting statement to its commit, so concurrent requests for it would queue one by one
 * (single-alert webhooks, most of all). Requests that arrive while a statement is running are
 * counted together by the next one; each request still answers only after the statement that
 * holds its observations has committed, and a failed statement fails every request in it (nothing
 * of it was written), except for a value the database refuses (a data exception): then each
 * request runs alone and only the one at fault fails. A request that finds nothing running is not held back. The statement's
 * `error.received` events are announced here, once per fingerprint and version.
 */
@Injectable()
export class KnownPathBatcher {
  private queue: Pending[] = [];
  private queued = 0;
  private inFlight = 0;

  constructor(
    private readonly dedup: DedupService,
    private readonly dataSource: DataSource,
    private readonly announcer: DedupAnnouncer,
  ) {}

  submit(observations: readonly ObservationInput[]): Promise<KnownPathOutcome> {
    if (observations.length === 0) {
      return Promise.resolve({ handled: new Set(), accepted: 0, result: { filed: [], created: [], merges: [] } });
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ observations, prepared: this.dedup.prepareKnown(observations), resolve, reject });
      this.queued += observations.length;
      this.pump();
    });
  }

  private pump(): void {
    while (
      this.queue.length > 0 &&
      (this.inFlight === 0 || (this.inFlight < MAX_IN_FLIGHT && this.queued >= OVERLAP_MIN_OBSERVATIONS))
    ) {
      const batch: Pending[] = [];
      let size = 0;
      while (
        this.queue.length > 0 &&
        (batch.length === 0 || size + this.queue[0].observations.length <= MAX_BATCH_OBSERVATIONS)
      ) {
        const next = this.queue.shift() as Pending;
        size += next.observations.length;
        this.queued -= next.observations.length;
        batch.push(next);
      }
      this.inFlight++;
      void this.flush(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async flush(batch: readonly Pending[]): Promise<void> {
    let recorded: Awaited<ReturnType<DedupService['recordKnown']>>;
    try {
      recorded = await this.dedup.recordKnown(this.dataSource.manager, batch);
    } catch (err) {
      if (batch.length > 1 && isDataException(err)) {
        // One request's value the database refuses must not fail the others it was batched with:
        // each runs again alone, and only the one at fault fails.
        for (const p of batch) await this.flush([p]);
        return;
      }
      for (const p of batch) p.reject(err);
      return;
    }
    // Committed: one `error.received` per fingerprint and version of the whole statement (the
    // announcer publishes without waiting and never fails the requests that are already stored).
    await this.announcer.announce({ filed: recorded.filed, created: [], merges: [] }).catch(() => undefined);
    batch.forEach((p, i) => p.resolve(recorded.outcomes[i]));
  }
}

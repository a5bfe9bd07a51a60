/**
 * What other modules hand to dedup and get back (plain data). Ingest parses a request into
 * observations and passes the new ones (their delivery keys not seen before) to
 * `DedupFacade.recordObservations` inside its own transaction.
 */

/** One firing occurrence of an error to count against its issue (the ingest `Observation`, minus what dedup does not need). */
export interface ObservationInput {
  /** Where it came from: grafana, alertmanager, loki or events (stored as `error_events.ingest_kind`). */
  kind: string;
  source: string;
  feature: string;
  /** Raw text; dedup scrubs secrets before normalising, fingerprinting or storing it. */
  message: string;
  level?: string;
  /** The occurrence's own time (log line timestamp, alert startsAt). */
  occurredAt: Date;
  /** Positive integer. */
  count: number;
  labels: Record<string, string>;
  stack?: string;
  version?: string;
  /** Idempotency key (required by `recordKnown`, which claims it in the counting statement). */
  deliveryKey?: string;
}

/** What `DedupFacade.recordKnown` did with a batch. */
export interface KnownPathOutcome {
  /** Observations of known fingerprints: counted, or skipped as redeliveries. Already committed. */
  handled: ReadonlySet<ObservationInput>;
  /** Of those, how many were new (their delivery key claimed now). */
  accepted: number;
  result: DedupBatchResult;
}

/**
 * Where the observations of one fingerprint (and build version) in a batch were filed: `count`
 * is their total, `observedAt` the latest of their own times.
 */
export interface FiledObservation {
  issueId: string;
  fingerprint: string;
  /** The issue's event count after the whole batch. */
  eventCount: number;
  /** The issue's status and spawn status when the batch was counted. */
  issueStatus: string;
  spawnStatus: string | null;
  observedAt: Date;
  count: number;
  version?: string;
}

export interface CreatedIssue {
  issueId: string;
  identifier: string;
  fingerprint: string;
  source: string;
  feature: string;
}

export interface PerformedMerge {
  mergeId: string;
  targetIssueId: string;
  mergedIssueId: string;
  rule: string;
  actor: string;
  /** The merged issue's status before the merge closed it. */
  mergedFromStatus: string;
  /** The target's status change when it took over the merged issue's fix in flight. */
  targetStatusChange: { from: string; to: string } | null;
}

/**
 * The outcome of recording a batch, to announce once the caller's transaction has committed
 * (`DedupFacade.announce`): nothing is emitted from inside the transaction.
 */
export interface DedupBatchResult {
  filed: FiledObservation[];
  created: CreatedIssue[];
  merges: PerformedMerge[];
}

/** The fingerprint of a message in its scope, as dedup computes it (scrub, normalise, hash). */
export interface FingerprintedMessage {
  /** The scope as stored: storable and without secrets (`scopeText`). */
  source: string;
  feature: string;
  scrubbed: string;
  normalized: string;
  fingerprint: string;
}

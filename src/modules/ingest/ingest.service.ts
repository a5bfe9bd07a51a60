import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { DomainError } from '../../shared/errors/domain-error';
import { isDatabaseUnavailable } from '../../shared/errors/all-exceptions.filter';
import { isDataException, retryOnConflict } from '../../shared/database/transaction-retry';
import { scrubJsonSecrets } from '../../shared/security/secret-scrubber';
import type { DedupBatchResult } from '../dedup/dedup.contract';
import { DedupFacade } from '../dedup/dedup.facade';
import {
  DEFAULT_ALERT_FEATURE_LABELS,
  DEFAULT_ALERT_MESSAGE_LABELS,
  DEFAULT_ALERT_SOURCE_LABELS,
  DEFAULT_LOKI_ERROR_LEVELS,
  DEFAULT_LOKI_FEATURE_LABELS,
  DEFAULT_LOKI_JSON_LEVEL_FIELDS,
  DEFAULT_LOKI_LEVEL_LABELS,
  DEFAULT_LOKI_SOURCE_LABELS,
} from './ingest-label-defaults';
import { IngestRepository, NoticeRow } from './ingest.repository';
import { parseAlertWebhook } from './parsers/alert-webhook.parser';
import { parseEventsBatch } from './parsers/events-batch.parser';
import { LokiPushRequest, parseLokiPush } from './parsers/loki-push.parser';
import { Observation, ObservationKind, storableObservation, withinClock } from './parsers/observation';

/** What an ingest request did (the webhook and events responses). */
export interface IngestSummary {
  /** Observations in the request. */
  received: number;
  /** New ones (their delivery key not seen before): counted, or recorded as notices. */
  accepted: number;
  /** Redeliveries of observations already recorded: ignored. */
  duplicates: number;
  /** Resolved and synthetic (DatasourceNoData/DatasourceError) alerts recorded as notices. */
  notices: number;
  /** Issues created by this request. */
  issuesCreated: number;
  /** Loki lines that were not errors (push only). */
  skipped?: number;
}

const MAX_ATTEMPTS = 4;

/**
 * The three receivers' common path: parse (pure, nothing written on a bad body), then two steps:
 * the known fingerprints in one autocommitted statement (shared with other requests), then the
 * rest in one transaction that claims its delivery keys (a redelivery counts nothing), records
 * notices and hands the new firing observations to dedup; the events are emitted once both have
 * committed, and only then does the caller answer 2xx. A deadlock between concurrent batches is
 * retried; an unavailable database is 503 (Retry-After). A 4xx is decided before the first write
 * (bad input, or a value the database refuses in the first step) and means nothing was written;
 * the second step never answers 4xx (see `withRetries`).
 */
@Injectable()
export class IngestService {
  private readonly logger = new Logger(IngestService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: IngestRepository,
    private readonly dedup: DedupFacade,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async ingestAlertWebhook(body: unknown): Promise<IngestSummary> {
    if (body === undefined) {
      throw new DomainError(
        'unsupported_media_type',
        'INGEST_UNSUPPORTED_MEDIA_TYPE',
        'The webhook body must be JSON (Content-Type: application/json)',
      );
    }
    const receivedAt = new Date();
    const parsed = parseAlertWebhook(body, {
      sourceLabels: this.config.ALERT_SOURCE_LABELS ?? DEFAULT_ALERT_SOURCE_LABELS,
      featureLabels: this.config.ALERT_FEATURE_LABELS ?? DEFAULT_ALERT_FEATURE_LABELS,
      messageLabels: this.config.ALERT_MESSAGE_LABELS ?? DEFAULT_ALERT_MESSAGE_LABELS,
      countRefIds: this.config.ALERT_COUNT_REF_IDS ?? [],
      receivedAt,
    });
    if (parsed.truncatedAlerts > 0) {
      this.logger.warn(
        `${parsed.kind} webhook ${parsed.receiver ?? ''} dropped ${parsed.truncatedAlerts} alerts (max alerts); raise the sender's limit`,
      );
    }
    return this.persist(parsed.kind, parsed.observations, receivedAt);
  }

  async ingestLokiPush(request: LokiPushRequest): Promise<IngestSummary> {
    const parsed = parseLokiPush(request, {
      sourceLabels: this.config.LOKI_SOURCE_LABELS ?? DEFAULT_LOKI_SOURCE_LABELS,
      featureLabels: this.config.LOKI_FEATURE_LABELS ?? DEFAULT_LOKI_FEATURE_LABELS,
      errorLevels: this.config.LOKI_ERROR_LEVELS ?? DEFAULT_LOKI_ERROR_LEVELS,
      levelLabels: this.config.LOKI_LEVEL_LABELS ?? DEFAULT_LOKI_LEVEL_LABELS,
      jsonLevelFields: this.config.LOKI_JSON_LEVEL_FIELDS ?? DEFAULT_LOKI_JSON_LEVEL_FIELDS,
      // The body limit holds for the bytes once gzip/deflate/snappy is undone, as on every other route.
      maxDecompressedBytes: this.config.REQUEST_BODY_LIMIT_BYTES,
    });
    const summary = await this.persist('loki', parsed.observations, new Date());
    return { ...summary, skipped: parsed.skipped };
  }

  async ingestEvents(body: unknown): Promise<IngestSummary> {
    if (body === undefined) {
      throw new DomainError(
        'unsupported_media_type',
        'INGEST_UNSUPPORTED_MEDIA_TYPE',
        'The events body must be JSON (Content-Type: application/json)',
      );
    }
    const receivedAt = new Date();
    const { observations } = parseEventsBatch(body, { receivedAt });
    return this.persist('events', observations, receivedAt);
  }

  private async persist(
    kind: ObservationKind,
    parsed: readonly Observation[],
    receivedAt: Date,
  ): Promise<IngestSummary> {
    const observations = parsed.map((o) => withinClock(storableObservation(o), receivedAt));
    const summary: IngestSummary = {
      received: observations.length,
      accepted: 0,
      duplicates: 0,
      notices: 0,
      issuesCreated: 0,
    };
    if (observations.length === 0) return summary;
    // 1. Known fingerprints, the common case: one autocommitted statement claims and counts them.
    const firing = observations.filter((o) => o.status === 'firing' && o.synthetic === undefined);
    const known = await this.withRetries(() => this.dedup.recordKnown(firing), 'first');
    // 2. The rest (new fingerprints, resolved and synthetic alerts) in one transaction.
    const rest = observations.filter((o) => !known.handled.has(o));
    const slow =
      rest.length === 0
        ? { filed: [], created: [], merges: [] }
        : await this.withRetries(
            () => this.dataSource.transaction((m) => this.record(m, kind, rest, receivedAt, summary)),
            'rest',
          );
    summary.accepted += known.accepted;
    summary.duplicates += known.handled.size - known.accepted;
    summary.issuesCreated = slow.created.length;
    await this.dedup.announce({
      filed: [...known.result.filed, ...slow.filed],
      created: slow.created,
      merges: slow.merges,
    });
    return summary;
  }

  private async record(
    m: EntityManager,
    kind: ObservationKind,
    observations: readonly Observation[],
    receivedAt: Date,
    summary: IngestSummary,
  ): Promise<DedupBatchResult> {
    const keys = [...new Set(observations.map((o) => o.deliveryKey))];
    const claimed = await this.repo.claimDeliveries(m, keys, kind);
    const fresh = observations.filter((o) => claimed.delete(o.deliveryKey));
    summary.accepted = fresh.length;
    summary.duplicates = observations.length - fresh.length;

    const firing = fresh.filter((o) => o.status === 'firing' && o.synthetic === undefined);
    const noticed = fresh.filter((o) => o.status === 'resolved' || o.synthetic !== undefined);
    summary.notices = noticed.length;
    if (noticed.length > 0) {
      const resolved = noticed.filter((o) => o.synthetic === undefined);
      const fps = await this.dedup.recordResolved(m, resolved, (o) => o.endedAt ?? receivedAt);
      const fpOf = new Map(resolved.map((o, i) => [o, fps[i]]));
      const notices: NoticeRow[] = noticed.map((o) => {
        const labels = scrubJsonSecrets(o.labels).value;
        return {
          kind: o.synthetic !== undefined ? 'synthetic' : 'resolved',
          status: o.status,
          alertname: labels.alertname ?? null,
          fingerprint: fpOf.get(o) ?? null,
          labels,
          startsAt: o.occurredAt,
          endsAt: o.status === 'resolved' ? (o.endedAt ?? receivedAt) : null,
        };
      });
      await this.repo.insertNotices(m, notices);
    }
    return this.dedup.recordObservations(m, firing);
  }

  /**
   * Runs `work` (one statement or a transaction), retrying deadlocks and serialisation failures;
   * 503 (Retry-After) when the database is unavailable. Otherwise, by step:
   * - `first`: nothing of the request is written yet, so a value the database refuses is the
   *   sender's 400 (`INGEST_UNSTORABLE_VALUE`), and true to its word;
   * - `rest`: the known fingerprints may be committed, so nothing here is a 4xx (it would say that
   *   nothing was written, and the sender would not retry). The request's values were all checked
   *   before the first write (the parsers; the first step's statement casts every firing
   *   observation's values) and what dedup derives from them is made storable, so a value refused
   *   here, like any other failure, is fixloop's bug: 500 with a logged error id. The sender's
   *   retry counts the committed part once (its delivery keys are taken) and the rest, whose keys
   *   were rolled back with it, when it goes through.
   */
  private async withRetries<T>(work: () => Promise<T>, step: 'first' | 'rest'): Promise<T> {
    try {
      return await retryOnConflict(work, MAX_ATTEMPTS, (code, attempt) =>
        this.logger.warn(`ingest transaction retried after ${code} (attempt ${attempt})`),
      );
    } catch (err) {
      if (step === 'first' && isDataException(err)) {
        throw new DomainError(
          'invalid',
          'INGEST_UNSTORABLE_VALUE',
          `The payload holds a value the database cannot store (${(err as Error).message}); nothing was recorded`,
        );
      }
      if (isDatabaseUnavailable(err) || !this.dataSource.isInitialized) {
        throw new DomainError(
          'unavailable',
          'INGEST_DATABASE_UNAVAILABLE',
          'The database is unavailable; retry later (a retry never counts twice what this request may have recorded)',
        );
      }
      if (step === 'rest' && !(err instanceof DomainError && err.kind === 'unavailable')) {
        // Whatever it is (a refused value, a domain error of a 4xx kind such as a merge's
        // conflict, a bug): a plain Error, which the global filter answers 500 and logs with an id.
        throw new Error(
          `ingest: filing new fingerprints and notices failed after the request's known fingerprints ` +
            `may have been counted (${err instanceof Error ? err.message : String(err)})`,
          { cause: err },
        );
      }
      throw err;
    }
  }
}

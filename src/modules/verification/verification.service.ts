import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { fingerprint as fingerprintOf } from '../dedup/normalizer.contract';
import { IssuesFacade, SYSTEM } from '../issues/issues.facade';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { clipText } from '../../shared/database/pg-text';
import { scrubbedText } from '../../shared/security/scrubbed-text';
import { ErrorReceived, FixDeployed, FixFailed, FixVerified } from '../../shared/events/event-catalogue';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { BuildRef, BuildVerdict, classifyBuild, countsAsRecurrence } from './build-match';
import { LokiClient } from './loki/loki-client';
import { INGEST_LOKI_FEATURE_LABELS, INGEST_LOKI_SOURCE_LABELS, LineReaderOptions } from './loki/loki-line-reader';
import { LokiCheckResult, LokiScope, checkLoki } from './loki/loki-recurrence-check';
import { MissingWindow, VerificationRepository, VerificationWindow } from './verification.repository';

const ACTOR = SYSTEM('verification');
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** When Loki cannot cover a window this long after it ended, decide on fixloop's own events. */
export const LOKI_GIVE_UP_AFTER_MS = 6 * HOUR_MS;
/** Windows looked at per scheduled run. */
const BATCH = 200;

export type CheckOutcome = 'watching' | 'verified' | 'failed' | 'cancelled' | 'skipped';

export interface CheckSummary {
  opened: number;
  checked: number;
  verified: number;
  failed: number;
  cancelled: number;
  errors: number;
}

interface CheckOptions {
  withLoki: boolean;
  /** An ErrorReceived the listener saw, in case its event row is not (yet) readable. */
  hint?: ErrorReceived;
}

interface Recurrence {
  via: 'error_events' | 'loki' | 'error.received';
  occurredAt: Date;
  version: string | null;
  verdict: BuildVerdict;
  message?: string;
  fingerprint?: string;
  eventId?: string;
  labels?: Record<string, string>;
}

type PendingEvent = { name: 'fix.verified'; payload: FixVerified } | { name: 'fix.failed'; payload: FixFailed };

/**
 * Fix verification: a merged PR is not a fix until the error stops. A FixDeployed opens a durable
 * window (one watching per issue); the scheduled check recounts fixloop's own events for every
 * fingerprint of the issue and, with LOKI_URL set, asks Loki for matching lines; a recurrence from
 * a build that contains the fix fails the fix (issue reopened, escalated, `fix-failed`), a window
 * that ends clean verifies it. See docs/verification.md.
 */
@Injectable()
export class VerificationService {
  private readonly logger = new Logger(VerificationService.name);
  private readonly loki?: LokiClient;
  private readonly reader: LineReaderOptions;

  constructor(
    private readonly dataSource: DataSource,
    private readonly windows: VerificationRepository,
    private readonly issues: IssuesFacade,
    private readonly bus: DomainEventBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    if (config.LOKI_URL) {
      this.loki = new LokiClient({
        url: config.LOKI_URL,
        tenantId: config.LOKI_TENANT_ID,
        username: config.LOKI_USERNAME,
        password: config.LOKI_PASSWORD,
        bearerToken: config.LOKI_BEARER_TOKEN,
        timeoutMs: Math.round(config.LOKI_TIMEOUT_SECONDS * 1000),
        retries: config.LOKI_RETRIES,
      });
    }
    this.reader = {
      sourceLabels: config.LOKI_SOURCE_LABELS?.length ? config.LOKI_SOURCE_LABELS : INGEST_LOKI_SOURCE_LABELS,
      featureLabels: config.LOKI_FEATURE_LABELS?.length ? config.LOKI_FEATURE_LABELS : INGEST_LOKI_FEATURE_LABELS,
    };
  }

  private get graceMs(): number {
    return this.config.VERIFICATION_GRACE_MINUTES * MINUTE_MS;
  }

  // ------------------------------------------------------------------------------------------
  // Opening windows

  /** FixDeployed: opens the issue's window (idempotent). Returns the new window id, or null. */
  async openForDeployment(e: FixDeployed): Promise<string | null> {
    const deployment = await this.windows.deployment(e.deploymentId);
    const issuePrId = e.issuePrId ?? (await this.windows.latestMergedPr(e.issueId))?.id ?? null;
    return this.open(
      {
        issueId: e.issueId,
        deploymentId: deployment ? e.deploymentId : null,
        issuePrId,
        deployedAt: new Date(e.deployedAt),
        version: e.version ?? deployment?.version ?? null,
        sha: e.sha ?? deployment?.sha ?? null,
      },
      'fix.deployed',
    );
  }

  /** Opens windows the lost-event case missed: issues in production nobody watches. */
  async sweep(): Promise<number> {
    const missing = await this.windows.inProductionWithoutWindow(this.config.PRODUCTION_ENVIRONMENT, BATCH);
    let opened = 0;
    for (const m of missing) {
      try {
        if (await this.open(m, 'sweep')) opened++;
      } catch (err) {
        this.logger.error({ msg: 'could not open a verification window', issueId: m.issueId, err: errorText(err) });
      }
    }
    return opened;
  }

  private async open(m: MissingWindow, trigger: 'fix.deployed' | 'sweep'): Promise<string | null> {
    return this.dataSource.transaction(async (manager) => {
      const issue = await this.issues.findById(m.issueId, manager);
      if (!issue) {
        this.logger.warn({ msg: 'FixDeployed for an unknown issue', issueId: m.issueId });
        return null;
      }
      if (issue.status !== 'in_production' || issue.mergedIntoId) {
        // Nothing to verify (already verified, closed, merged away). Should the status commit land
        // after the event, the sweep opens the window.
        this.logger.log({
          msg: 'no verification window: issue not in production',
          issueId: m.issueId,
          status: issue.status,
        });
        return null;
      }
      const existing = await this.windows.findWatchingByIssue(m.issueId, manager);
      if (existing) {
        const newAttempt =
          m.deploymentId !== null &&
          existing.deploymentId !== m.deploymentId &&
          m.issuePrId !== null &&
          existing.issuePrId !== null &&
          existing.issuePrId !== m.issuePrId &&
          m.deployedAt.getTime() > existing.deployedAt.getTime();
        if (!newAttempt) return null;
        const locked = await this.windows.lockWatching(existing.id, manager);
        if (!locked) return null;
        const reason = `superseded by deployment ${m.deploymentId} of another fix`;
        await this.windows.decide(existing.id, 'cancelled', reason, new Date(), manager);
        await this.history(manager, m.issueId, 'cancelled', reason, { windowId: existing.id });
      }
      const links = await this.windows.fingerprintsOfIssue(m.issueId, manager);
      const own = fingerprintOf(issue.source, issue.feature, issue.normalizedMessage);
      const fingerprints = [...new Set([...links.map((l) => l.fingerprint), own])];
      const endsAt = new Date(m.deployedAt.getTime() + this.config.FIX_VERIFICATION_HOURS * HOUR_MS);
      const id = await this.windows.openWindow(
        {
          issueId: m.issueId,
          deploymentId: m.deploymentId,
          issuePrId: m.issuePrId,
          fingerprints,
          source: issue.source,
          feature: issue.feature,
          normalizedMessage: issue.normalizedMessage,
          deployedAt: m.deployedAt,
          deployedVersion: m.version,
          deployedSha: m.sha,
          endsAt,
        },
        manager,
      );
      if (id) {
        await this.issues.recordHistory(manager, {
          issueId: m.issueId,
          actor: ACTOR,
          field: 'verification',
          from: null,
          to: 'watching',
          reason: `watching the error for ${this.config.FIX_VERIFICATION_HOURS} h after the deploy`,
          data: {
            windowId: id,
            trigger,
            deploymentId: m.deploymentId,
            issuePrId: m.issuePrId,
            deployedAt: m.deployedAt.toISOString(),
            endsAt: endsAt.toISOString(),
            version: m.version,
            sha: m.sha,
            fingerprints,
          },
        });
        this.logger.log({ msg: 'verification window opened', issueId: m.issueId, windowId: id, trigger });
      }
      return id;
    });
  }

  // ------------------------------------------------------------------------------------------
  // Checking

  /** The scheduled job: opens missing windows, then checks every watching window. */
  async runDueChecks(now: Date = new Date()): Promise<CheckSummary> {
    const summary: CheckSummary = { opened: 0, checked: 0, verified: 0, failed: 0, cancelled: 0, errors: 0 };
    try {
      summary.opened = await this.sweep();
    } catch (err) {
      summary.errors++;
      this.logger.error({ msg: 'verification sweep failed', err: errorText(err) });
    }
    for (const id of await this.windows.watchingIds(BATCH)) {
      try {
        const outcome = await this.checkWindow(id, now, { withLoki: true });
        if (outcome === 'skipped') continue;
        summary.checked++;
        if (outcome !== 'watching') summary[outcome]++;
      } catch (err) {
        summary.errors++;
        this.logger.error({ msg: 'verification check failed', windowId: id, err: errorText(err) });
      }
    }
    return summary;
  }

  /**
   * ErrorReceived fast path: checks at once the windows watching the issue or the fingerprint when
   * the event itself would count (stamped inside the window, from a build with the fix). Events that
   * would not (older builds, in flight from before the deploy) wait for the scheduled check, so a
   * flood from lagging clients costs one query per event, not one decision transaction.
   */
  async onErrorReceived(e: ErrorReceived): Promise<void> {
    // Only an issue in production is watched (a check cancels the window of any other); the event
    // says what the issue was when it was counted, so the common case costs no query. A window
    // opened after that sees the event's row in its scheduled check.
    if (e.issue !== undefined && e.issue.status !== 'in_production') return;
    const at = new Date(e.observedAt).getTime();
    for (const id of await this.windows.watchingIdsFor(e.issueId, e.fingerprint)) {
      const w = await this.windows.findById(id);
      if (!w || w.state !== 'watching') continue;
      if (at < w.deployedAt.getTime() + this.graceMs || at > w.endsAt.getTime()) continue;
      if (!countsAsRecurrence(classifyBuild(e.version, await this.fixBuilds(w)))) continue;
      await this.checkWindow(id, new Date(), { withLoki: false, hint: e });
    }
  }

  /** Checks one window and decides it when it can. */
  async checkWindow(id: string, now: Date, opts: CheckOptions): Promise<CheckOutcome> {
    const before = await this.windows.findById(id);
    if (!before || before.state !== 'watching') return 'skipped';

    let loki: { result?: LokiCheckResult; error?: string; at: Date } | undefined;
    if (opts.withLoki && this.loki && this.lokiDue(before, now)) loki = await this.queryLoki(before, now);

    const pending: PendingEvent[] = [];
    const outcome = await this.dataSource.transaction(async (manager): Promise<CheckOutcome> => {
      const w = await this.windows.lockWatching(id, manager);
      if (!w) return 'skipped';
      // Before anything is read: an undo moving one of these fingerprints back is then wholly
      // before this check or wholly after it (it waits for this commit, then hands over a failure).
      await this.windows.shareScopeLocks(w.fingerprints, manager);
      // Another replica applied a Loki result since we read the window: ours overlaps, drop it.
      if (loki && time(w.lokiCheckedUntil) !== time(before.lokiCheckedUntil)) loki = undefined;

      const issue = await this.issues.findById(w.issueId, manager);
      if (!issue || issue.status !== 'in_production' || issue.mergedIntoId) {
        const reason = !issue
          ? 'the issue no longer exists'
          : issue.mergedIntoId
            ? `the issue was merged into ${issue.mergedIntoId}`
            : `the issue is ${issue.status}, no longer in production`;
        await this.windows.decide(w.id, 'cancelled', reason, now, manager);
        if (issue) await this.history(manager, w.issueId, 'cancelled', reason, { windowId: w.id });
        return 'cancelled';
      }

      // Issues merged into this one while it is watched bring their fingerprints along; an undone
      // merge takes them away again (the reopened issue's own window watches them, if it has one).
      const current = (await this.windows.fingerprintsOfIssue(w.issueId, manager)).map((l) => l.fingerprint);
      const added = current.filter((f) => !w.fingerprints.includes(f));
      const givenBack = await this.windows.heldByOtherIssues(w.fingerprints, w.issueId, manager);
      if (added.length > 0 || givenBack.length > 0) {
        const gone = new Set(givenBack.map((g) => g.fingerprint));
        w.fingerprints = [...w.fingerprints.filter((f) => !gone.has(f)), ...added];
        await this.windows.setFingerprints(w.id, w.fingerprints, manager);
      }
      if (givenBack.length > 0) {
        const holders = [...new Set(givenBack.map((g) => g.identifier))];
        await this.history(
          manager,
          w.issueId,
          'watching',
          `no longer watching ${givenBack.length} fingerprint(s) of ${holders.join(', ')}, unmerged from this issue`,
          { windowId: w.id, fingerprints: givenBack.map((g) => g.fingerprint), heldBy: holders },
        );
      }

      const fixBuilds = await this.fixBuilds(w, manager);
      const from = new Date(w.deployedAt.getTime() + this.graceMs);
      const to = w.endsAt;
      const recurrences: Recurrence[] = [];
      let dbRecurrence = 0;
      let dbOld = 0;
      // As of `now` (a check driven with an earlier `now` ignores lines stamped later).
      const upTo = new Date(Math.min(to.getTime(), now.getTime()));
      for (const t of await this.windows.tallyEvents(w.fingerprints, from, upTo, manager)) {
        const verdict = classifyBuild(t.version, fixBuilds);
        if (countsAsRecurrence(verdict)) {
          dbRecurrence += t.count;
          recurrences.push({ via: 'error_events', occurredAt: t.firstAt, version: t.version, verdict });
        } else {
          dbOld += t.count;
        }
      }
      // The event counts for this window only while its fingerprint is watched here (or it counted on this issue).
      if (opts.hint && (opts.hint.issueId === w.issueId || w.fingerprints.includes(opts.hint.fingerprint))) {
        const at = new Date(opts.hint.observedAt);
        const verdict = classifyBuild(opts.hint.version, fixBuilds);
        if (at >= from && at <= to && countsAsRecurrence(verdict) && dbRecurrence === 0) {
          dbRecurrence += opts.hint.count;
          recurrences.push({
            via: 'error.received',
            occurredAt: at,
            version: opts.hint.version ?? null,
            verdict,
            fingerprint: opts.hint.fingerprint,
          });
        }
      }

      let lokiOld = w.lokiOldBuildCount;
      let lokiRecurrence = 0;
      let lokiCheckedUntil = w.lokiCheckedUntil;
      let lokiCheckedAt = w.lokiCheckedAt;
      let lokiError = w.lokiLastError;
      if (loki) {
        lokiCheckedAt = loki.at;
        lokiError = null;
        if (loki.result) {
          lokiOld += loki.result.oldBuildLines;
          lokiRecurrence = loki.result.recurrences.length;
          lokiCheckedUntil = nsToDate(loki.result.coveredUntilNs);
          for (const r of loki.result.recurrences) {
            recurrences.push({
              via: 'loki',
              occurredAt: nsToDate(r.ns),
              version: r.version ?? null,
              verdict: classifyBuild(r.version, fixBuilds),
              message: r.message,
              fingerprint: r.fingerprint,
              labels: r.labels,
            });
          }
        } else {
          lokiError = loki.error ?? 'unknown error';
        }
      }

      // Dedup keeps only the newest SAMPLES_PER_FINGERPRINT rows per fingerprint: a recount can
      // shrink as old rows are trimmed, so the database part never goes down.
      dbOld = Math.max(dbOld, w.oldBuildCount - w.lokiOldBuildCount);
      const oldBuilds = dbOld + lokiOld;
      if (dbRecurrence + lokiRecurrence > 0) {
        recurrences.sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
        const event = await this.fail(manager, w, {
          recurrences,
          dbRecurrence,
          lokiRecurrence,
          oldBuilds,
          lokiOld,
          now,
          from,
          to,
        });
        pending.push({ name: 'fix.failed', payload: event });
        return 'failed';
      }

      await this.windows.updateProgress(
        w.id,
        {
          recurrenceCount: 0,
          oldBuildCount: oldBuilds,
          lokiOldBuildCount: lokiOld,
          lokiCheckedUntil,
          lokiCheckedAt,
          lokiLastError: lokiError,
          lastCheckedAt: now,
        },
        manager,
      );

      const settled = now.getTime() >= w.endsAt.getTime() + this.graceMs;
      if (!settled) return 'watching';
      let lokiNote = '';
      if (this.loki) {
        const covered = lokiCheckedUntil !== null && lokiCheckedUntil.getTime() >= w.endsAt.getTime();
        if (!covered) {
          if (now.getTime() < w.endsAt.getTime() + this.graceMs + LOKI_GIVE_UP_AFTER_MS) return 'watching';
          lokiNote = `; Loki could not be read after ${lokiCheckedUntil?.toISOString() ?? 'the deploy'} (${lokiError ?? 'no answer'})`;
        }
      }
      const reason = `no recurrence from a build with the fix in ${this.config.FIX_VERIFICATION_HOURS} h after the deploy (${oldBuilds} from older builds)${lokiNote}`;
      const event = await this.verify(manager, w, reason, now, oldBuilds);
      pending.push({ name: 'fix.verified', payload: event });
      return 'verified';
    });

    for (const e of pending) {
      if (e.name === 'fix.failed') await this.bus.emit('fix.failed', e.payload);
      else await this.bus.emit('fix.verified', e.payload);
    }
    return outcome;
  }

  private lokiDue(w: VerificationWindow, now: Date): boolean {
    if (w.lokiCheckedUntil && w.lokiCheckedUntil.getTime() >= w.endsAt.getTime()) return false;
    if (!w.lokiCheckedAt) return true;
    return now.getTime() - w.lokiCheckedAt.getTime() >= this.config.LOKI_QUERY_INTERVAL_SECONDS * 1000;
  }

  /** Loki range [max(deployed_at + grace, loki_checked_until), min(now, ends_at)], in ns. */
  private async queryLoki(
    w: VerificationWindow,
    now: Date,
  ): Promise<{ result?: LokiCheckResult; error?: string; at: Date }> {
    const at = new Date();
    const start = Math.max(w.deployedAt.getTime() + this.graceMs, w.lokiCheckedUntil?.getTime() ?? 0);
    const end = Math.min(now.getTime(), w.endsAt.getTime());
    const settled = Math.max(start, Math.min(now.getTime() - this.graceMs, w.endsAt.getTime()));
    if (end <= start) {
      return { at, result: { recurrences: [], oldBuildLines: 0, coveredUntilNs: msToNs(settled), queries: 0 } };
    }
    try {
      const fixBuilds = await this.fixBuilds(w);
      const result = await checkLoki(
        this.loki as LokiClient,
        {
          scopes: await this.lokiScopes(w),
          fingerprints: new Set(w.fingerprints),
          fixBuilds,
          fromNs: msToNs(start),
          toNs: msToNs(end),
          settledNs: msToNs(settled),
        },
        this.reader,
      );
      return { at, result };
    } catch (err) {
      // kept on the window (loki_last_error): whatever threw may quote Loki's answer
      const error = scrubbedText(errorText(err));
      this.logger.warn({ msg: 'Loki verification query failed', windowId: w.id, err: error });
      return { at, error };
    }
  }

  /** The sources and templates to search: the issue's own and each alias fingerprint's. */
  private async lokiScopes(w: VerificationWindow): Promise<LokiScope[]> {
    const bySource = new Map<string, Set<string>>([[w.source, new Set([w.normalizedMessage])]]);
    for (const s of await this.windows.scopesOf(w.fingerprints)) {
      if (!s.source || !s.normalizedMessage) continue;
      const set = bySource.get(s.source) ?? new Set<string>();
      set.add(s.normalizedMessage);
      bySource.set(s.source, set);
    }
    return [...bySource].map(([source, templates]) => ({ source, templates: [...templates] }));
  }

  /** The deployed build plus every production build shipped after it. */
  private async fixBuilds(w: VerificationWindow, manager?: EntityManager): Promise<BuildRef[]> {
    const later = await this.windows.productionBuildsSince(this.config.PRODUCTION_ENVIRONMENT, w.deployedAt, manager);
    const builds: BuildRef[] = [{ version: w.deployedVersion, sha: w.deployedSha }];
    for (const d of later) if (d.id !== w.deploymentId) builds.push({ version: d.version, sha: d.sha });
    return builds;
  }

  // ------------------------------------------------------------------------------------------
  // Decisions

  private async verify(
    manager: EntityManager,
    w: VerificationWindow,
    reason: string,
    now: Date,
    oldBuilds: number,
  ): Promise<FixVerified> {
    await this.windows.decide(w.id, 'verified', reason, now, manager);
    const data = { windowId: w.id, deploymentId: w.deploymentId, issuePrId: w.issuePrId, oldBuildCount: oldBuilds };
    await this.issues.transition(manager, w.issueId, 'verified', ACTOR, reason, data);
    await this.history(manager, w.issueId, 'verified', reason, data);
    await this.windows.insertOutbox(
      'fix.verified',
      {
        issueId: w.issueId,
        windowId: w.id,
        deploymentId: w.deploymentId,
        issuePrId: w.issuePrId,
        deployedAt: w.deployedAt.toISOString(),
        endsAt: w.endsAt.toISOString(),
        oldBuildCount: oldBuilds,
      },
      manager,
    );
    this.logger.log({ msg: 'fix verified', issueId: w.issueId, windowId: w.id });
    return new FixVerified(w.issueId, w.id);
  }

  private async fail(
    manager: EntityManager,
    w: VerificationWindow,
    found: {
      recurrences: Recurrence[];
      dbRecurrence: number;
      lokiRecurrence: number;
      oldBuilds: number;
      lokiOld: number;
      now: Date;
      from: Date;
      to: Date;
    },
  ): Promise<FixFailed> {
    const first = found.recurrences[0];
    if (first.via === 'error_events') {
      const upTo = new Date(Math.min(found.to.getTime(), found.now.getTime()));
      const sample = await this.windows.sampleEvent(w.fingerprints, first.version, found.from, upTo, manager);
      if (sample) {
        first.eventId = sample.id;
        first.message = clipText(sample.message, 2000);
        first.fingerprint = sample.fingerprint;
        first.occurredAt = new Date(sample.occurredAt);
      }
    }
    const evidence = {
      via: first.via,
      occurredAt: first.occurredAt.toISOString(),
      version: first.version,
      build: first.verdict,
      message: first.message ?? null,
      fingerprint: first.fingerprint ?? null,
      eventId: first.eventId ?? null,
      labels: first.labels ?? null,
    };
    const pr = w.issuePrId ? await this.windows.pullRequest(w.issuePrId, manager) : null;
    const failedPr = pr
      ? {
          issuePrId: pr.id,
          repo: `${pr.repoOwner}/${pr.repoName}`,
          prNumber: pr.prNumber,
          url: pr.url,
          attempt: pr.attempt,
        }
      : null;
    const total = found.dbRecurrence + found.lokiRecurrence;
    const build = first.verdict === 'unlabelled' ? 'an unlabelled build' : `build ${first.version ?? '?'}`;
    const reason =
      `the error recurred ${total} time(s) after the deploy, first at ${evidence.occurredAt} from ${build}` +
      (failedPr ? `: ${failedPr.repo}#${failedPr.prNumber} did not fix it` : '');
    await this.windows.decide(w.id, 'failed', reason, found.now, manager, {
      recurrenceCount: total,
      lokiRecurrenceCount: found.lokiRecurrence,
      firstRecurrenceAt: first.occurredAt,
      recurrenceEvidence: { ...evidence, failedPr, oldBuildCount: found.oldBuilds },
    });
    await manager.query(
      `UPDATE verification_windows SET old_build_count = $2, loki_old_build_count = $3 WHERE id = $1`,
      [w.id, found.oldBuilds, found.lokiOld],
    );
    const data = { windowId: w.id, deploymentId: w.deploymentId, failedPr, recurrence: evidence };
    const reopened = await this.issues.reopenAfterFailedFix(manager, w.issueId, ACTOR, reason, data);
    await this.history(manager, w.issueId, 'failed', reason, data);
    await this.windows.insertOutbox(
      'fix.failed',
      {
        issueId: w.issueId,
        windowId: w.id,
        deploymentId: w.deploymentId,
        failedPr,
        priority: reopened.toPriority,
        previousPriority: reopened.fromPriority,
        recurrenceCount: total,
        recurrence: evidence,
      },
      manager,
    );
    this.logger.warn({ msg: 'fix failed', issueId: w.issueId, windowId: w.id, reason });
    return new FixFailed(w.issueId, w.id, reopened.toPriority);
  }

  private async history(
    manager: EntityManager,
    issueId: string,
    to: 'watching' | 'verified' | 'failed' | 'cancelled',
    reason: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.issues.recordHistory(manager, {
      issueId,
      actor: ACTOR,
      field: 'verification',
      from: 'watching',
      to,
      reason,
      data,
    });
  }
}

const time = (d: Date | null): number | null => (d ? d.getTime() : null);
const msToNs = (ms: number): bigint => BigInt(Math.floor(ms)) * 1_000_000n;
const nsToDate = (ns: bigint): Date => new Date(Number(ns / 1_000_000n));
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

import { Inject, Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { errorLine } from '../../shared/security/scrubbed-text';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { IssueStatusChanged } from '../../shared/events/event-catalogue';
import { IssuesFacade, SYSTEM } from '../issues/issues.facade';
import { canTransition } from '../issues/issue-status.contract';
import { FoundRun, GitHubWorkflowClient } from './github-workflow.client';
import { SpawnRepository, SpawnRequestRow } from './spawn.repository';
import { GITHUB_WORKFLOW_CLIENT, SPAWN_SLEEP, Sleep } from './spawn.tokens';

const DISPATCHER = SYSTEM('spawn-dispatcher');
/** A deferred dispatch (retries used up, or a retry-after too long to wait in process) is resumed by the reconciler no sooner than this. */
const MIN_DEFERRAL_MS = 30_000;

export type DispatchResult = 'dispatched' | 'failed' | 'deferred' | 'requeued' | 'gone';

/**
 * Sends committed attempts to GitHub, exactly once.
 *
 * The attempt (state 'dispatching', run name, exact payload, budget) is committed by the gate
 * before GitHub is called, and the dispatcher holds the row by a lease while it talks to GitHub.
 * - 200: the run id comes back; 204 (servers without run details): the run is found by its name.
 * - 5xx / network: GitHub may have created the run anyway, so the run is looked up by name before
 *   sending again; if GitHub cannot even be asked, nothing is sent.
 * - 403 secondary rate limit / 429: wait `retry-after` (up to GITHUB_RETRY_MAX_SECONDS, else the
 *   reconciler resumes once it has passed).
 * - other 4xx: a configuration error; the request fails with GitHub's reason, the slot frees and
 *   the day's budget is refunded.
 * A row left 'dispatching' by a process that died is reconciled once its lease has run out: the run
 * is looked up by name and adopted, or, when GitHub has none, sent (once).
 */
@Injectable()
export class SpawnDispatchService {
  private readonly logger = new Logger(SpawnDispatchService.name);

  constructor(
    private readonly repo: SpawnRepository,
    private readonly issues: IssuesFacade,
    private readonly events: DomainEventBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(GITHUB_WORKFLOW_CLIENT) private readonly github: GitHubWorkflowClient,
    @Inject(SPAWN_SLEEP) private readonly sleep: Sleep,
  ) {}

  private tx<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.repo.dataSource.transaction(fn);
  }

  private leaseFrom(now: Date, extraMs = 0): Date {
    return new Date(now.getTime() + this.config.SPAWN_DISPATCH_LEASE_SECONDS * 1000 + extraMs);
  }

  /** Sends one committed attempt (with retries as described on the class). */
  async dispatch(requestId: string): Promise<DispatchResult> {
    const req = await this.tx((m) => this.repo.findById(m, requestId));
    if (!req || req.state !== 'dispatching' || !req.requestPayload || !req.runName) return 'gone';
    const retries = this.config.SPAWN_DISPATCH_RETRIES;
    const maxWaitMs = this.config.GITHUB_RETRY_MAX_SECONDS * 1000;
    for (let i = 0; ; i++) {
      const now = new Date();
      // Nothing has reached GitHub yet (or a lookup just found no run): the kill switch still stops it.
      const leased = await this.tx(async (m): Promise<DispatchResult | null> => {
        if (await this.killSwitchOn(m)) return (await this.requeue(m, req, now)) ? 'requeued' : 'gone';
        return (await this.repo.renewLease(m, req.id, this.leaseFrom(now), true, now)) ? null : 'gone';
      });
      if (leased) return leased;
      const outcome = await this.github.dispatch(req.requestPayload, i);
      if (outcome.kind === 'accepted') {
        let { runId, runUrl } = outcome;
        if (!runId) {
          const found = await this.findWithPatience(req);
          runId = found?.runId ?? null;
          runUrl = found?.runUrl ?? null;
        }
        await this.markDispatched(req, runId, runUrl, new Date());
        return 'dispatched';
      }
      if (outcome.kind === 'rejected') {
        await this.failDispatch(req, outcome.reason, new Date());
        return 'failed';
      }
      this.logger.warn({ msg: 'dispatch not accepted yet', identifier: req.runName, reason: outcome.reason, retry: i });
      if (i >= retries || outcome.afterMs > maxWaitMs) {
        const later = new Date();
        await this.tx((m) =>
          this.repo.noteDispatchError(
            m,
            req.id,
            `${outcome.reason} (reconciler will retry)`,
            new Date(later.getTime() + Math.max(outcome.afterMs, MIN_DEFERRAL_MS)),
            later,
          ),
        );
        return 'deferred';
      }
      await this.sleep(outcome.afterMs);
      if (outcome.mayHaveRun) {
        let found: FoundRun | null;
        try {
          found = await this.lookup(req);
        } catch (err) {
          const later = new Date();
          await this.tx((m) =>
            this.repo.noteDispatchError(
              m,
              req.id,
              `${outcome.reason}; run lookup failed: ${lookupError(err)}`,
              this.leaseFrom(later),
              later,
            ),
          );
          return 'deferred';
        }
        if (found) {
          await this.markDispatched(req, found.runId, found.runUrl, new Date());
          return 'dispatched';
        }
      }
    }
  }

  /**
   * Resumes attempts left 'dispatching' by a dispatcher that died (lease run out): the run is
   * looked up by its name first and adopted when GitHub has it; otherwise it is sent, once.
   */
  async reconcile(now = new Date()): Promise<Record<DispatchResult, number>> {
    const counts: Record<DispatchResult, number> = { dispatched: 0, failed: 0, deferred: 0, requeued: 0, gone: 0 };
    const stale = await this.tx(async (m) => {
      const rows = await this.repo.claimStaleDispatching(m, now, 20);
      for (const r of rows) await this.repo.renewLease(m, r.id, this.leaseFrom(new Date()), false, new Date());
      return rows;
    });
    for (const r of stale) {
      let found: FoundRun | null;
      try {
        found = await this.lookup(r);
      } catch (err) {
        const later = new Date();
        await this.tx((m) =>
          this.repo.noteDispatchError(m, r.id, `run lookup failed: ${lookupError(err)}`, this.leaseFrom(later), later),
        );
        counts.deferred++;
        continue;
      }
      if (found) {
        this.logger.log({
          msg: 'reconciled a dispatch: GitHub already had the run',
          runName: r.runName,
          runId: found.runId,
        });
        await this.markDispatched(r, found.runId, found.runUrl, new Date());
        counts.dispatched++;
        continue;
      }
      const since = r.claimedAt ?? r.createdAt;
      if (now.getTime() - since.getTime() > this.config.SPAWN_TIMEOUT_MINUTES * 60_000) {
        await this.failDispatch(
          r,
          `could not dispatch within ${this.config.SPAWN_TIMEOUT_MINUTES} minutes: ${r.error ?? 'GitHub unavailable'}`,
          now,
        );
        counts.failed++;
        continue;
      }
      this.logger.log({ msg: 'reconciling a dispatch: GitHub has no run, sending it', runName: r.runName });
      counts[await this.dispatch(r.id)]++;
    }
    return counts;
  }

  private async killSwitchOn(m: EntityManager): Promise<boolean> {
    if (this.config.SPAWN_KILL_SWITCH) return true;
    return (await this.repo.readKillSwitch(m))?.value === true;
  }

  /** Back to the queue, budget refunded, the slot freed; the gate sends it once the switch is off. */
  private async requeue(m: EntityManager, r: SpawnRequestRow, now: Date): Promise<boolean> {
    const reason = 'kill switch is on: no new investigation is dispatched';
    const old = await this.repo.requeue(m, r.id, reason, now);
    if (!old) return false;
    if (old.budgetDay) await this.repo.refundBudget(m, old.budgetDay);
    await this.issues.recordHistory(m, {
      issueId: r.issueId,
      actor: DISPATCHER,
      field: 'spawn',
      from: 'dispatching',
      to: 'queued',
      reason: `${reason}; the attempt had not reached GitHub and goes back to the queue (budget refunded)`,
      data: { spawnRequestId: r.id, refundedBudgetDay: old.budgetDay },
    });
    this.logger.warn({ msg: 'kill switch: committed attempt returned to the queue', runName: r.runName });
    return true;
  }

  private async lookup(r: SpawnRequestRow): Promise<FoundRun | null> {
    if (!r.runName) return null;
    const exclude = await this.tx((m) => this.repo.knownRunIds(m, r.id));
    // From the claim on (a claim stamped with a `now` ahead of the clock falls back to the request's creation).
    const since = r.claimedAt && r.claimedAt.getTime() <= Date.now() ? r.claimedAt : r.createdAt;
    return this.github.findRunByName(r.runName, since, exclude);
  }

  /** After a 204 the run appears in the list within moments: ask a few times. */
  private async findWithPatience(r: SpawnRequestRow): Promise<FoundRun | null> {
    for (let i = 0; i < 3; i++) {
      try {
        const found = await this.lookup(r);
        if (found) return found;
      } catch (err) {
        this.logger.warn({ msg: 'run lookup after a 204 failed', runName: r.runName, error: (err as Error).message });
      }
      await this.sleep(Math.max(10, this.config.GITHUB_RETRY_BASE_SECONDS * 1000 * 2 ** i));
    }
    return null;
  }

  private async markDispatched(
    r: SpawnRequestRow,
    runId: string | null,
    runUrl: string | null,
    now: Date,
  ): Promise<void> {
    await this.tx(async (m) => {
      const updated = await this.repo.markDispatched(m, r.id, runId, runUrl, now);
      if (!updated) return;
      await this.issues.setSpawnState(
        m,
        r.issueId,
        {
          status: 'running',
          runId: updated.runId,
          runUrl: updated.runUrl,
          startedAt: updated.dispatchedAt,
          completedAt: null,
          attempts: r.attempt,
          data: { spawnRequestId: r.id },
        },
        DISPATCHER,
        `attempt ${r.attempt} dispatched to GitHub Actions${updated.runUrl ? ` (${updated.runUrl})` : ' (run id pending)'}`,
      );
    });
  }

  /** The dispatch never reached GitHub: fail it, refund the budget, hand the issue to a person. */
  private async failDispatch(r: SpawnRequestRow, reason: string, now: Date): Promise<void> {
    this.logger.error({ msg: 'dispatch failed', runName: r.runName, reason });
    const moved = await this.tx(async (m) => {
      const failed = await this.repo.failDispatch(m, r.id, reason, now);
      if (!failed) return null;
      if (failed.budgetDay) await this.repo.refundBudget(m, failed.budgetDay);
      await this.issues.setSpawnState(
        m,
        r.issueId,
        { status: 'failed', completedAt: now, data: { spawnRequestId: r.id, refundedBudgetDay: failed.budgetDay } },
        DISPATCHER,
        `dispatch failed: ${reason}`,
      );
      const issue = await this.issues.findById(r.issueId, m);
      if (
        issue &&
        issue.status !== 'needs_human' &&
        (issue.status === 'triage' || issue.status === 'investigating') &&
        canTransition(issue.status, 'needs_human')
      ) {
        const from = await this.issues.transition(
          m,
          r.issueId,
          'needs_human',
          DISPATCHER,
          `dispatch failed: ${reason}`,
        );
        return from ? { from } : null;
      }
      return null;
    });
    if (moved) {
      await this.events.emit(
        'issue.status_changed',
        new IssueStatusChanged(r.issueId, moved.from, 'needs_human', DISPATCHER.name, `dispatch failed: ${reason}`),
      );
    }
  }
}

/** A failed run lookup's message (GitHub's answer), as it is stored (spawn_requests.error): scrubbed, first line, clipped. */
const lookupError = (err: unknown): string => errorLine(err instanceof Error ? err.message : String(err));

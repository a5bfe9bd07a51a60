import { Inject, Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { ADVISORY_LOCKS } from '../../shared/database/database-opener';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { SpawnRequested } from '../../shared/events/event-catalogue';
import { scrubbedOptional } from '../../shared/security/scrubbed-text';
import { Actor, IssuesFacade, SYSTEM } from '../issues/issues.facade';
import { budgetDay } from './budget-day';
import { CONTEXT_SAMPLES, IssueContextInput, PreviousAttempt, buildDispatch } from './dispatch-inputs';
import { GitHubWorkflowClient } from './github-workflow.client';
import { COOLDOWN_HOLD_PREFIX, GateIssue, SpawnRepository, SpawnRequestRow, isActiveState } from './spawn.repository';
import { SpawnErrors } from './spawn.errors';
import { GITHUB_WORKFLOW_CLIENT } from './spawn.tokens';

const GATE = SYSTEM('spawn-gate');
/** How many eligible issues one sweep queues. */
const SWEEP_BATCH = 500;

const KILL_SWITCH_HOLD = 'kill switch is on: no new investigation is dispatched';
const concurrencyHold = (active: number, max: number): string =>
  `concurrency limit reached: ${active} of ${max} investigations in flight`;

export interface GateResult {
  /** Requests committed to 'dispatching' in this pass: the caller dispatches them. */
  claimed: string[];
  dryRuns: string[];
  held: number;
  cancelled: number;
}

/**
 * When may an issue's cooldown end? An explicit `issues.cooldown_until` wins (a person set it, in
 * either direction). Otherwise a per-issue `cooldown_hours` replaces SPAWN_COOLDOWN_HOURS after the
 * last investigation ended; without it, the fingerprints' own cooldown (external_issue_links, which
 * also carries the cooldown of fingerprints merged in from other issues) counts as well.
 */
export function cooldownEnd(
  issue: Pick<GateIssue, 'cooldownUntil' | 'cooldownHours'>,
  facts: { lastEnded: Date | null; linkCooldown: Date | null },
  defaultHours: number,
): Date | null {
  if (issue.cooldownUntil) return issue.cooldownUntil;
  const hours = issue.cooldownHours ?? defaultHours;
  const fromLast = facts.lastEnded ? new Date(facts.lastEnded.getTime() + hours * 3_600_000) : null;
  if (issue.cooldownHours !== null) return fromLast;
  const candidates = [fromLast, facts.linkCooldown].filter((d): d is Date => d !== null);
  if (candidates.length === 0) return null;
  return new Date(Math.max(...candidates.map((d) => d.getTime())));
}

/**
 * The spawn gate. Queues durable spawn requests (never in-memory timers) and, in one transaction
 * per pass serialised across replicas by an advisory lock, decides for each due request: cancel
 * (merged, no longer new), hold (kill switch, cooldown, concurrency, daily budget; the reason is
 * kept on the request and written to the issue's history once per change), dry run (no GitHub
 * token), or commit the attempt (budget counted, run name and exact payload stored) for dispatch.
 */
@Injectable()
export class SpawnGateService {
  private readonly logger = new Logger(SpawnGateService.name);

  constructor(
    private readonly repo: SpawnRepository,
    private readonly issues: IssuesFacade,
    private readonly events: DomainEventBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(GITHUB_WORKFLOW_CLIENT) private readonly github: GitHubWorkflowClient,
  ) {}

  private tx<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.repo.dataSource.transaction(fn);
  }

  /**
   * Queues the first investigation of eligible issues (all of them, or one: the event fast path).
   * Safe to run any number of times on any number of replicas.
   */
  async enqueueEligible(opts: { issueId?: string; now?: Date } = {}): Promise<number> {
    const min = this.config.MIN_EVENT_COUNT_TO_SPAWN;
    // The event fast path for an issue that already has its request: one read, no transaction.
    if (opts.issueId && (await this.repo.hasLiveRequest(this.repo.dataSource.manager, opts.issueId))) return 0;
    const queued = await this.tx(async (m) => {
      const rows = await this.repo.enqueueEligible(m, {
        minEvents: min,
        delayMinutes: this.config.SPAWN_DELAY_MINUTES,
        issueId: opts.issueId,
        limit: SWEEP_BATCH,
        reason: `new issue reached ${min} event${min === 1 ? '' : 's'}`,
      });
      for (const r of rows) {
        await this.issues.setSpawnState(
          m,
          r.issueId,
          { status: 'queued', data: { spawnRequestId: r.id, notBefore: r.notBefore.toISOString() } },
          GATE,
          `spawn queued: due ${r.notBefore.toISOString()} (${this.config.SPAWN_DELAY_MINUTES} min after the issue was filed)`,
        );
      }
      return rows;
    });
    for (const r of queued) await this.events.emit('spawn.requested', new SpawnRequested(r.issueId, r.id, r.notBefore));
    if (queued.length > 0) this.logger.log({ msg: 'spawn requests queued', count: queued.length });
    return queued.length;
  }

  /** A merge never starts a second investigation: the absorbed issue's queued request is cancelled. */
  async cancelForMerge(mergedIssueId: string, targetIssueId: string, now = new Date()): Promise<boolean> {
    return this.tx(async (m) => {
      const target = await this.issues.findById(targetIssueId, m);
      const reason = `issue merged into ${target?.identifier ?? targetIssueId}`;
      const cancelled = await this.repo.cancelQueued(m, mergedIssueId, reason, now);
      if (!cancelled) return false;
      await this.afterCancel(m, mergedIssueId, cancelled.id, reason);
      return true;
    });
  }

  /**
   * A deployed fix did not stop the error: a new attempt becomes eligible through the gate, carrying
   * the previous attempt's PR and summary. It bypasses the per-fingerprint cooldown (the fix itself
   * is what failed, and waiting a day would only prolong the error); kill switch, concurrency and
   * budget still apply. Idempotent per verification window.
   */
  async requestAfterFailedFix(issueId: string, windowId: string, now = new Date()): Promise<SpawnRequestRow | null> {
    const created = await this.tx(async (m) => {
      if (await this.repo.hasRequestForWindow(m, issueId, windowId)) return null;
      const issue = await this.issues.findById(issueId, m);
      if (!issue || issue.mergedIntoId) return null;
      const previous = await this.repo.previousAttempt(m, issueId);
      const trigger = `the fix was deployed but the error recurred (verification window ${windowId})`;
      const req = await this.repo.insertRequest(m, {
        issueId,
        notBefore: now,
        requestedBy: 'system:verification',
        reason: trigger,
        bypassCooldown: true,
        context: { trigger: 'fix_failed', windowId, previous: previous ? { ...previous, trigger, windowId } : null },
      });
      if (!req) return null;
      await this.issues.setSpawnState(
        m,
        issueId,
        { status: 'queued', data: { spawnRequestId: req.id, attempt: req.attempt, windowId } },
        GATE,
        `attempt ${req.attempt} queued: ${trigger}`,
      );
      return req;
    });
    if (created) await this.events.emit('spawn.requested', new SpawnRequested(issueId, created.id, created.notBefore));
    return created;
  }

  /** Loss-proofing for `fix.failed`: failed verification windows with no request after them. */
  async sweepFailedFixes(now = new Date()): Promise<number> {
    const missing = await this.tx((m) => this.repo.failedFixesWithoutRequest(m, 50));
    let n = 0;
    for (const w of missing) if (await this.requestAfterFailedFix(w.issueId, w.windowId, now)) n++;
    return n;
  }

  /** An admin asks for a (re)investigation: queued due now, through the gate. 409 when one is active. */
  async requestManual(
    identifier: string,
    input: { reason?: string; bypassCooldown?: boolean; actor?: string },
    now = new Date(),
  ): Promise<SpawnRequestRow> {
    // Who asks and why are stored (request, history) and sent (the dispatch context) scrubbed.
    const by = scrubbedOptional(input.actor);
    const why = scrubbedOptional(input.reason);
    const created = await this.tx(async (m) => {
      const issue = await this.issues.findByIdentifier(identifier, m);
      if (!issue) throw SpawnErrors.issueNotFound(identifier);
      if (issue.mergedIntoId) throw SpawnErrors.merged(identifier);
      const actor: Actor = { name: by ? `admin:${by}` : 'admin', type: 'user' };
      const previous = await this.repo.previousAttempt(m, issue.id);
      const reason = why?.trim() || 'manual spawn';
      const req = await this.repo.insertRequest(m, {
        issueId: issue.id,
        notBefore: now,
        requestedBy: actor.name,
        reason,
        bypassCooldown: input.bypassCooldown === true,
        context: {
          trigger: 'manual',
          previous: previous ? { ...previous, trigger: `requested by ${actor.name}: ${reason}` } : null,
        },
      });
      if (!req) {
        const active = (await this.repo.listForIssue(m, issue.id)).find(
          (r) => r.state === 'queued' || isActiveState(r.state),
        );
        throw SpawnErrors.alreadyActive(identifier, active?.state ?? 'in flight');
      }
      await this.issues.setSpawnState(
        m,
        issue.id,
        {
          status: 'queued',
          data: { spawnRequestId: req.id, attempt: req.attempt, bypassCooldown: req.bypassCooldown },
        },
        actor,
        `attempt ${req.attempt} queued by hand: ${reason}`,
      );
      return req;
    });
    await this.events.emit('spawn.requested', new SpawnRequested(created.issueId, created.id, created.notBefore));
    return created;
  }

  /** Env SPAWN_KILL_SWITCH=true forces the switch on; otherwise the runtime setting decides. */
  async killSwitchOn(m: EntityManager): Promise<boolean> {
    if (this.config.SPAWN_KILL_SWITCH) return true;
    return (await this.repo.readKillSwitch(m))?.value === true;
  }

  /** One pass of the gate over the due requests (see the class comment). */
  async runGate(now = new Date()): Promise<GateResult> {
    const result: GateResult = { claimed: [], dryRuns: [], held: 0, cancelled: 0 };
    await this.tx(async (m) => {
      await this.repo.lockGate(m, ADVISORY_LOCKS.spawnWorker);
      const due = await this.repo.claimDue(m, now, this.config.SPAWN_GATE_BATCH);
      if (due.length === 0) return;
      const killSwitch = await this.killSwitchOn(m);
      const dryRunReason = this.github.dryRunReason;
      const max = this.config.MAX_CONCURRENT_SPAWNS;
      const tz = this.config.BUDGET_TIMEZONE;
      const day = budgetDay(now, tz);
      let active = await this.repo.countActive(m);
      let budgetHold: string | null = null;

      for (const r of due) {
        const cancelReason = this.cancelReason(r);
        if (cancelReason) {
          await this.repo.cancel(m, r.id, cancelReason, now);
          await this.afterCancel(m, r.issueId, r.id, cancelReason);
          result.cancelled++;
          continue;
        }
        if (killSwitch) {
          await this.hold(m, r, KILL_SWITCH_HOLD, now);
          result.held++;
          continue;
        }
        if (!r.bypassCooldown) {
          const end = cooldownEnd(
            r.issue,
            await this.repo.cooldownFacts(m, r.issueId),
            this.config.SPAWN_COOLDOWN_HOURS,
          );
          if (end && end > now) {
            await this.hold(m, r, `${COOLDOWN_HOLD_PREFIX}${end.toISOString()}`, now);
            result.held++;
            continue;
          }
        }
        if (dryRunReason) {
          const built = await this.buildPayload(m, r);
          await this.repo.markDryRun(m, r.id, {
            runName: built.runName,
            payload: built.request,
            context: { ...(r.context ?? {}), truncatedChars: built.truncatedChars },
            now,
            reason: `dry run: ${dryRunReason}`,
          });
          await this.issues.setSpawnState(
            m,
            r.issueId,
            { status: 'dry_run', completedAt: now, data: { spawnRequestId: r.id, attempt: r.attempt } },
            GATE,
            `dry run (${dryRunReason}): the dispatch request that would have been sent is stored with the spawn`,
          );
          result.dryRuns.push(r.id);
          continue;
        }
        if (active >= max) {
          await this.hold(m, r, concurrencyHold(active, max), now);
          result.held++;
          continue;
        }
        if (!budgetHold) {
          const taken = await this.repo.takeBudget(m, day, this.config.DAILY_SPAWN_BUDGET);
          if (!taken) {
            const [row] = await this.repo.budgetDays(m, day, day);
            budgetHold = `daily budget used: ${row?.spawnCount ?? 0} of ${row?.maxSpawns ?? 0} spawns on ${day} (${tz})`;
          }
        }
        if (budgetHold) {
          await this.hold(m, r, budgetHold, now);
          result.held++;
          continue;
        }
        const built = await this.buildPayload(m, r);
        await this.repo.markDispatching(m, r.id, {
          runName: built.runName,
          budgetDay: day,
          payload: built.request,
          context: { ...(r.context ?? {}), truncatedChars: built.truncatedChars },
          now,
          // the lease is wall-clock time (a `now` in the past must not hand a live dispatch to the reconciler)
          leaseUntil: new Date(Math.max(now.getTime(), Date.now()) + this.config.SPAWN_DISPATCH_LEASE_SECONDS * 1000),
        });
        await this.issues.recordHistory(m, {
          issueId: r.issueId,
          actor: GATE,
          field: 'spawn',
          from: 'queued',
          to: 'dispatching',
          reason: `gate open: attempt ${r.attempt} committed for dispatch (budget day ${day})`,
          data: { spawnRequestId: r.id, runName: built.runName, truncatedChars: built.truncatedChars },
        });
        active++;
        result.claimed.push(r.id);
      }
      // The gate-wide reason also holds every due request this pass did not reach.
      const gateWide = killSwitch
        ? KILL_SWITCH_HOLD
        : dryRunReason
          ? null
          : active >= max
            ? concurrencyHold(active, max)
            : budgetHold;
      if (gateWide) {
        const changed = await this.repo.holdAllDue(
          m,
          now,
          due.map((r) => r.id),
          gateWide,
        );
        if (changed.length > 0) {
          await this.issues.recordHistory(
            m,
            ...changed.map((c) => ({
              issueId: c.issueId,
              actor: GATE,
              field: 'spawn_hold',
              from: c.previous,
              to: gateWide,
              reason: 'spawn held back by the gate',
              data: { spawnRequestId: c.id },
            })),
          );
          result.held += changed.length;
        }
      }
    });
    if (result.claimed.length + result.dryRuns.length + result.cancelled > 0) {
      this.logger.log({
        msg: 'spawn gate pass',
        ...result,
        claimed: result.claimed.length,
        dryRuns: result.dryRuns.length,
      });
    }
    return result;
  }

  /** The issue's spawn status falls back to its last outcome (or none); the history says why. */
  private async afterCancel(m: EntityManager, issueId: string, requestId: string, reason: string): Promise<void> {
    await this.issues.setSpawnState(
      m,
      issueId,
      { status: await this.repo.lastOutcome(m, issueId), data: { spawnRequestId: requestId, cancelled: true } },
      GATE,
      `spawn cancelled: ${reason}`,
    );
  }

  private cancelReason(r: SpawnRequestRow & { issue: GateIssue }): string | null {
    if (r.issue.mergedIntoId) return 'issue was merged into another issue';
    if (r.issue.absorbedInFlight) {
      return `${r.issue.absorbedInFlight}, merged into this issue, is already being investigated`;
    }
    const trigger = r.context?.trigger ?? 'new_issue';
    if (trigger === 'new_issue' && r.issue.status !== 'triage') return `issue is ${r.issue.status}, no longer new`;
    if (trigger === 'fix_failed' && (r.issue.status === 'closed' || r.issue.status === 'verified')) {
      return `issue is ${r.issue.status}`;
    }
    return null;
  }

  /** Keeps the request queued with its reason; the history gets one entry per change of reason. */
  private async hold(m: EntityManager, r: SpawnRequestRow, reason: string, now: Date): Promise<void> {
    if (r.heldReason === reason) return;
    await this.repo.hold(m, r.id, reason, now);
    await this.issues.recordHistory(m, {
      issueId: r.issueId,
      actor: GATE,
      field: 'spawn_hold',
      from: r.heldReason,
      to: reason,
      reason: 'spawn held back by the gate',
      data: { spawnRequestId: r.id },
    });
  }

  private async buildPayload(m: EntityManager, r: SpawnRequestRow): Promise<ReturnType<typeof buildDispatch>> {
    const issue = await this.issues.findById(r.issueId, m);
    if (!issue) throw new Error(`spawn request ${r.id} has no issue`);
    const previous: PreviousAttempt | null = r.context?.previous ?? null;
    const input: IssueContextInput = {
      issueId: issue.id,
      identifier: issue.identifier,
      title: issue.title,
      description: issue.description,
      source: issue.source,
      feature: issue.feature,
      normalizedMessage: issue.normalizedMessage,
      priority: issue.priority,
      status: issue.status,
      eventCount: issue.eventCount,
      firstSeenAt: issue.firstSeenAt,
      lastSeenAt: issue.lastSeenAt,
      fingerprints: await this.repo.fingerprints(m, issue.id),
      attempt: r.attempt,
      samples: await this.repo.recentSamples(m, issue.id, CONTEXT_SAMPLES),
      previous,
    };
    return buildDispatch(this.github.target, input);
  }
}

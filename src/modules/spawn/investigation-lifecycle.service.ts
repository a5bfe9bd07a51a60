import { Inject, Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { scrubJsonSecrets, scrubSecrets } from '../../shared/security/secret-scrubber';
import { errorLine, scrubbedOptional } from '../../shared/security/scrubbed-text';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { InvestigationEnded, IssueStatusChanged, WorkflowRunReported } from '../../shared/events/event-catalogue';
import { Actor, IssuesFacade, SYSTEM } from '../issues/issues.facade';
import { IssueStatus, canTransition } from '../issues/issue-status.contract';
import { budgetDay } from './budget-day';
import { identifierFromRunName } from './dispatch-inputs';
import { GitHubWorkflowClient } from './github-workflow.client';
import { SpawnRepository, SpawnRequestRow, isActiveState } from './spawn.repository';
import { SpawnErrors } from './spawn.errors';
import { GITHUB_WORKFLOW_CLIENT } from './spawn.tokens';

export type AgentStatus = 'running' | 'completed' | 'failed';
export type EndOutcome = 'completed' | 'failed' | 'timed_out';

export interface AgentStatusInput {
  status: AgentStatus;
  runId?: string;
  runUrl?: string;
  summary?: string;
  costUsd?: number;
}

export interface AgentActivityInput {
  type: string;
  message: string;
  data?: Record<string, unknown>;
}

export interface CallbackResult {
  /** False when the callback repeated what fixloop already knew (nothing changed, no history). */
  applied: boolean;
  spawnRequestId: string | null;
  state: string | null;
  issueStatus: string;
}

type Emit = () => Promise<void>;

const isActive = isActiveState;

/**
 * What happens to an investigation after dispatch: the workflow's callbacks (running, completed,
 * failed, activity), GitHub's `workflow_run` reports for runs that ended without calling back, and
 * the timeout of silent runs. Ending an investigation frees its slot, puts the issue's fingerprints
 * in cooldown, moves the issue on and emits `investigation.ended`.
 *
 * Decisions: `running` moves the issue to investigating. `completed` or `failed` with a PR linked
 * since the attempt started leaves the issue to the PR flow; without a PR the issue goes to
 * needs_human ("agent finished without opening a PR" / the failure reason): a PR linked later still
 * moves it on (needs_human -> in_review is allowed).
 */
@Injectable()
export class InvestigationLifecycleService {
  private readonly logger = new Logger(InvestigationLifecycleService.name);

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

  /** `POST /api/agent/issues/:identifier/status`. Idempotent: a repeated callback changes nothing. */
  async agentStatus(identifier: string, raw: AgentStatusInput, now = new Date()): Promise<CallbackResult> {
    // The agent read production data: whatever it reports is stored (and later sent) scrubbed.
    const input: AgentStatusInput = {
      ...raw,
      summary: scrubbedOptional(raw.summary),
      // a run URL is the agent's text too (`https://user:token@...`)
      runUrl: scrubbedOptional(raw.runUrl),
    };
    const after: Emit[] = [];
    const result = await this.tx(async (m): Promise<CallbackResult> => {
      const issue = await this.issues.findByIdentifier(identifier, m);
      if (!issue) throw SpawnErrors.issueNotFound(identifier);
      const req = await this.repo.lockForCallback(m, issue.id, input.runId);
      if (!req) throw SpawnErrors.noInvestigation(identifier);
      const actor: Actor = { name: `agent:${input.runId ?? req.runId ?? identifier}`, type: 'agent' };
      if (input.runId && req.runId && req.runId !== input.runId) {
        // A run fixloop does not know for this issue (an earlier attempt's, or a run started by hand): never let it end the current one.
        this.logger.warn({
          msg: 'callback from an unknown run ignored',
          identifier,
          runId: input.runId,
          currentRunId: req.runId,
        });
        return { applied: false, spawnRequestId: req.id, state: req.state, issueStatus: issue.status };
      }
      let applied = false;
      let state: string = req.state;
      if (input.status === 'running') {
        if (req.state === 'dispatching' || req.state === 'dispatched') {
          await this.repo.markRunning(m, req.id, input.runId ?? null, input.runUrl ?? null, now);
          state = 'running';
          applied = true;
          await this.issues.setSpawnState(
            m,
            issue.id,
            {
              status: 'running',
              runId: input.runId ?? req.runId,
              runUrl: input.runUrl ?? req.runUrl,
              data: { spawnRequestId: req.id, attempt: req.attempt },
            },
            actor,
            input.summary ?? 'investigation started',
          );
          after.push(
            ...(await this.moveIssue(m, issue.id, 'investigating', actor, 'the agent started investigating', [
              'triage',
              'needs_human',
            ])),
          );
        } else if (req.state === 'running') {
          await this.repo.heartbeat(m, req.id, now, input.runId, input.runUrl);
        }
      } else if (isActive(req.state)) {
        const outcome: EndOutcome = input.status;
        const reason =
          input.status === 'failed'
            ? `the agent reported failure${input.summary ? `: ${errorLine(input.summary)}` : ''}`
            : null;
        after.push(
          ...(await this.end(m, req, outcome, reason, input.summary ?? null, actor, now, {
            runId: input.runId ?? null,
            runUrl: input.runUrl ?? null,
          })),
        );
        state = input.status;
        applied = true;
      } else if (input.summary) {
        await this.repo.setSummaryIfMissing(m, req.id, input.summary);
      }
      if (input.costUsd !== undefined) await this.recordCost(m, req, input.costUsd, now);
      const fresh = await this.issues.findById(issue.id, m);
      return { applied, spawnRequestId: req.id, state, issueStatus: fresh?.status ?? issue.status };
    });
    for (const emit of after) await emit();
    return result;
  }

  /** `POST /api/agent/issues/:identifier/activity`: an agent_activity row (a retried identical one is kept once); a heartbeat. */
  async agentActivity(
    identifier: string,
    input: AgentActivityInput,
    now = new Date(),
  ): Promise<{ recorded: boolean; spawnRequestId: string | null }> {
    return this.tx(async (m) => {
      const issue = await this.issues.findByIdentifier(identifier, m);
      if (!issue) throw SpawnErrors.issueNotFound(identifier);
      const runId = typeof input.data?.runId === 'string' ? input.data.runId : undefined;
      const req = await this.repo.lockForCallback(m, issue.id, runId);
      const recorded = await this.repo.recordActivity(m, {
        issueId: issue.id,
        spawnRequestId: req?.id ?? null,
        type: scrubSecrets(input.type).text,
        message: scrubSecrets(input.message).text,
        // A step's data (a tool's output, a log excerpt) comes from the same production data.
        data: input.data === undefined ? null : scrubJsonSecrets(input.data).value,
      });
      if (req && isActive(req.state)) await this.repo.heartbeat(m, req.id, now, runId);
      return { recorded, spawnRequestId: req?.id ?? null };
    });
  }

  /** GitHub `workflow_run`: adopt the run id; close a run that ended without calling back. */
  async workflowRunReported(e: WorkflowRunReported, now = new Date()): Promise<boolean> {
    if (!e.runId) return false;
    const runName = identifierFromRunName(e.runName) ? e.runName : null;
    const after: Emit[] = [];
    const changed = await this.tx(async (m) => {
      const req = await this.repo.lockActiveByRun(m, e.runId, runName);
      if (!req || !isActive(req.state)) return false;
      if (e.status !== 'completed') {
        await this.repo.heartbeat(m, req.id, now, e.runId, e.htmlUrl);
        return false;
      }
      const outcome: EndOutcome = e.conclusion === 'success' ? 'completed' : 'failed';
      const reason = `workflow run ended (${e.conclusion ?? 'no conclusion'}) without reporting back to fixloop`;
      after.push(
        ...(await this.end(m, req, outcome, outcome === 'failed' ? reason : null, null, SYSTEM('github'), now, {
          runId: e.runId,
          runUrl: e.htmlUrl,
          note: reason,
        })),
      );
      return true;
    });
    for (const emit of after) await emit();
    return changed;
  }

  /** Fails runs silent for SPAWN_TIMEOUT_MINUTES (last callback, heartbeat or dispatch), freeing their slots. */
  async failTimedOut(now = new Date()): Promise<number> {
    const minutes = this.config.SPAWN_TIMEOUT_MINUTES;
    const silentSince = new Date(now.getTime() - minutes * 60_000);
    const after: Emit[] = [];
    const ended = await this.tx(async (m) => {
      const rows = await this.repo.claimTimedOut(m, silentSince, 50);
      for (const r of rows) {
        const reason = `timed out: no callback for ${minutes} minutes`;
        after.push(...(await this.end(m, r, 'timed_out', reason, null, SYSTEM('spawn-timeout'), now, {})));
      }
      return rows;
    });
    for (const emit of after) await emit();
    for (const r of ended) {
      this.logger.warn({ msg: 'investigation timed out', runName: r.runName, runId: r.runId });
      if (r.runId) await this.github.cancelRun(r.runId);
    }
    return ended.length;
  }

  /**
   * Ends an investigation inside the caller's transaction; returns the emits to run after commit.
   */
  private async end(
    m: EntityManager,
    req: SpawnRequestRow,
    outcome: EndOutcome,
    reason: string | null,
    summary: string | null,
    actor: Actor,
    now: Date,
    extra: { runId?: string | null; runUrl?: string | null; note?: string },
  ): Promise<Emit[]> {
    const state = outcome === 'completed' ? 'completed' : 'failed';
    await this.repo.markEnded(m, req.id, {
      state,
      summary,
      error: reason,
      runId: extra.runId,
      runUrl: extra.runUrl,
      now,
    });
    const issue = await this.issues.findById(req.issueId, m);
    if (!issue) return [];
    const hours = issue.cooldownHours ?? this.config.SPAWN_COOLDOWN_HOURS;
    const until = new Date(now.getTime() + hours * 3_600_000);
    await this.repo.setLinksCooldown(m, req.issueId, until);
    const text = extra.note ?? reason ?? (outcome === 'completed' ? 'the agent finished' : 'investigation failed');
    await this.issues.setSpawnState(
      m,
      req.issueId,
      {
        status: state,
        completedAt: now,
        runId: extra.runId ?? undefined,
        runUrl: extra.runUrl ?? undefined,
        data: { spawnRequestId: req.id, attempt: req.attempt, outcome, cooldownUntil: until.toISOString() },
      },
      actor,
      text,
    );
    const emits: Emit[] = [
      () =>
        this.events.emit(
          'investigation.ended',
          new InvestigationEnded(req.issueId, req.id, outcome, reason ?? undefined),
        ),
    ];
    const hasPr = await this.repo.hasPrSince(m, req.issueId, req.claimedAt ?? req.createdAt);
    if (!hasPr) {
      const why =
        outcome === 'completed'
          ? 'agent finished without opening a PR'
          : outcome === 'timed_out'
            ? `investigation ${reason ?? 'timed out'}`
            : `investigation failed: ${reason ?? 'unknown reason'}`;
      emits.push(...(await this.moveIssue(m, req.issueId, 'needs_human', actor, why, ['triage', 'investigating'])));
    }
    return emits;
  }

  /** Moves the issue when it is in one of `from` and the transition is allowed; returns the emit. */
  private async moveIssue(
    m: EntityManager,
    issueId: string,
    to: IssueStatus,
    actor: Actor,
    reason: string,
    from: IssueStatus[],
  ): Promise<Emit[]> {
    const issue = await this.issues.findById(issueId, m);
    if (!issue || !from.includes(issue.status) || !canTransition(issue.status, to)) return [];
    const previous = await this.issues.transition(m, issueId, to, actor, reason);
    if (!previous) return [];
    return [
      () => this.events.emit('issue.status_changed', new IssueStatusChanged(issueId, previous, to, actor.name, reason)),
    ];
  }

  private async recordCost(m: EntityManager, req: SpawnRequestRow, costUsd: number, now: Date): Promise<void> {
    const delta = await this.repo.setCost(m, req.id, costUsd);
    if (delta === 0) return;
    const day = req.budgetDay ?? budgetDay(now, this.config.BUDGET_TIMEZONE);
    await this.repo.addCost(m, day, delta, this.config.DAILY_SPAWN_BUDGET);
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { absorbedCte, survivorsCte } from '../../shared/database/merge-chain.sql';
import { KILL_SWITCH_SETTING, writeRuntimeSetting } from '../../shared/database/runtime-settings';
import type { ErrorSample, PreviousAttempt, WorkflowDispatchRequest } from './dispatch-inputs';

/** Hold reasons that start with this are per-issue cooldowns (see SpawnGateService). */
export const COOLDOWN_HOLD_PREFIX = 'fingerprint in cooldown until ';

/** States that hold a concurrency slot. */
export const ACTIVE_STATES = ['dispatching', 'dispatched', 'running'] as const;
export const isActiveState = (state: string): boolean => (ACTIVE_STATES as readonly string[]).includes(state);
export type SpawnRequestState =
  'queued' | 'dispatching' | 'dispatched' | 'running' | 'completed' | 'failed' | 'cancelled' | 'dry_run';

/** A spawn_requests row as the module reads it. */
export interface SpawnRequestRow {
  id: string;
  issueId: string;
  state: SpawnRequestState;
  notBefore: Date;
  attempt: number;
  dispatchAttempts: number;
  requestedBy: string;
  reason: string | null;
  heldReason: string | null;
  heldAt: Date | null;
  budgetDay: string | null;
  runName: string | null;
  runId: string | null;
  runUrl: string | null;
  requestPayload: WorkflowDispatchRequest | null;
  context: SpawnContext | null;
  summary: string | null;
  error: string | null;
  costUsd: number | null;
  bypassCooldown: boolean;
  claimedAt: Date | null;
  leaseUntil: Date | null;
  dispatchedAt: Date | null;
  startedAt: Date | null;
  lastHeartbeatAt: Date | null;
  finishedAt: Date | null;
  refundedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What a request carries into its dispatch (spawn_requests.context). */
export interface SpawnContext {
  trigger?: 'new_issue' | 'fix_failed' | 'manual';
  windowId?: string;
  previous?: PreviousAttempt | null;
  truncatedChars?: number;
}

export interface BudgetDayRow {
  day: string;
  spawnCount: number;
  maxSpawns: number;
  costUsd: number;
  updatedAt: Date;
}

const requestColumns = (p: string): string => `
  ${p}id, ${p}issue_id, ${p}state, ${p}not_before, ${p}attempt, ${p}dispatch_attempts, ${p}requested_by, ${p}reason,
  ${p}held_reason, ${p}held_at, to_char(${p}budget_day, 'YYYY-MM-DD') AS budget_day, ${p}run_name, ${p}run_id, ${p}run_url,
  ${p}request_payload, ${p}context, ${p}summary, ${p}error, ${p}cost_usd, ${p}bypass_cooldown, ${p}claimed_at,
  ${p}lease_until, ${p}dispatched_at, ${p}started_at, ${p}last_heartbeat_at, ${p}finished_at, ${p}refunded_at,
  ${p}created_at, ${p}updated_at`;
const SELECT_REQUEST = requestColumns('');

type Raw = Record<string, unknown>;

function toRequest(r: Raw): SpawnRequestRow {
  const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(v as string));
  return {
    id: r.id as string,
    issueId: r.issue_id as string,
    state: r.state as SpawnRequestState,
    notBefore: new Date(r.not_before as string),
    attempt: Number(r.attempt),
    dispatchAttempts: Number(r.dispatch_attempts),
    requestedBy: r.requested_by as string,
    reason: (r.reason as string | null) ?? null,
    heldReason: (r.held_reason as string | null) ?? null,
    heldAt: date(r.held_at),
    budgetDay: (r.budget_day as string | null) ?? null,
    runName: (r.run_name as string | null) ?? null,
    runId: (r.run_id as string | null) ?? null,
    runUrl: (r.run_url as string | null) ?? null,
    requestPayload: (r.request_payload as WorkflowDispatchRequest | null) ?? null,
    context: (r.context as SpawnContext | null) ?? null,
    summary: (r.summary as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    costUsd: r.cost_usd === null || r.cost_usd === undefined ? null : Number(r.cost_usd),
    bypassCooldown: r.bypass_cooldown === true,
    claimedAt: date(r.claimed_at),
    leaseUntil: date(r.lease_until),
    dispatchedAt: date(r.dispatched_at),
    startedAt: date(r.started_at),
    lastHeartbeatAt: date(r.last_heartbeat_at),
    finishedAt: date(r.finished_at),
    refundedAt: date(r.refunded_at),
    createdAt: new Date(r.created_at as string),
    updatedAt: new Date(r.updated_at as string),
  };
}

/**
 * Rows of a statement. TypeORM answers UPDATE/DELETE with `[rows, rowCount]` and everything else
 * with the rows; this always gives the rows (RETURNING included).
 */
async function rowsOf(m: EntityManager, sql: string, params: unknown[] = []): Promise<Raw[]> {
  const result = (await m.query(sql, params)) as unknown;
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as Raw[];
  }
  return result as Raw[];
}

export interface NewRequest {
  issueId: string;
  notBefore: Date;
  requestedBy: string;
  reason: string;
  bypassCooldown: boolean;
  context: SpawnContext | null;
}

/**
 * The spawn module's SQL: spawn_requests, spawn_budget_days, the kill-switch setting, and the few
 * reads of other tables the gate needs (recent error samples, the last linked PR, fingerprints,
 * failed verification windows). Every method runs in the caller's transaction (EntityManager).
 */
/**
 * The issues merged into issue `i`, directly or through a chain (A into B, B into C: both are
 * absorbed by C), with their identifiers: the start of a subquery on the outer query's `i`. An
 * investigation running on any of them is the target's investigation.
 */
const ABSORBED = `WITH RECURSIVE ${absorbedCte('absorbed', 'i.id', { columns: ['identifier'] })}`;

@Injectable()
export class SpawnRepository {
  constructor(readonly dataSource: DataSource) {}

  // ---- queueing ----------------------------------------------------------------------------

  /**
   * Queues the first investigation of every eligible issue that has none (or only `issueId`):
   * a live (not merged) issue in triage with at least `minEvents` events, no request of its own
   * that was not cancelled, and no issue merged into it that is still being investigated (queued or
   * in flight) or carries a fix (an open or merged PR). An absorbed issue's investigation that ended
   * without a fix does not stop the survivor: its fingerprints' cooldown (now on the survivor's
   * links) holds it at the gate instead. Due `delayMinutes` after
   * the issue's first event reached fixloop: the later of its first event's own time and the issue's
   * creation, so lines logged hours ago (a backlog, a replayed push, an old alert) still leave the
   * merges their window. The one-active-request index settles races (ON CONFLICT DO NOTHING).
   */
  async enqueueEligible(
    m: EntityManager,
    opts: { minEvents: number; delayMinutes: number; issueId?: string; limit: number; reason: string },
  ): Promise<{ id: string; issueId: string; notBefore: Date }[]> {
    const rows = (await rowsOf(
      m,
      `INSERT INTO spawn_requests (issue_id, state, not_before, attempt, requested_by, reason, context)
       SELECT i.id, 'queued', GREATEST(i.first_seen_at, i.created_at) + ($2::double precision * interval '1 minute'),
              COALESCE((SELECT max(r.attempt) FROM spawn_requests r WHERE r.issue_id = i.id), 0) + 1,
              'system:spawn-gate', $5, '{"trigger":"new_issue"}'::jsonb
         FROM issues i
        WHERE i.status = 'triage' AND i.merged_into_id IS NULL AND i.event_count >= $1
          AND ($3::uuid IS NULL OR i.id = $3::uuid)
          AND NOT EXISTS (SELECT 1 FROM spawn_requests r WHERE r.issue_id = i.id AND r.state <> 'cancelled')
          AND NOT EXISTS (${ABSORBED} SELECT 1 FROM spawn_requests r
                           WHERE r.issue_id IN (SELECT id FROM absorbed)
                             AND r.state IN ('queued','dispatching','dispatched','running'))
          AND NOT EXISTS (${ABSORBED} SELECT 1 FROM issue_prs p
                           WHERE p.issue_id IN (SELECT id FROM absorbed) AND p.state IN ('open','merged'))
        ORDER BY i.first_seen_at, i.id
        LIMIT $4
       ON CONFLICT DO NOTHING
       RETURNING id, issue_id, not_before`,
      [opts.minEvents, opts.delayMinutes, opts.issueId ?? null, opts.limit, opts.reason],
    )) as Raw[];
    return rows.map((r) => ({
      id: r.id as string,
      issueId: r.issue_id as string,
      notBefore: new Date(r.not_before as string),
    }));
  }

  /** Whether the issue has a request that was not cancelled (so it is not new any more). */
  async hasLiveRequest(m: EntityManager, issueId: string): Promise<boolean> {
    const rows = await rowsOf(m, `SELECT 1 FROM spawn_requests WHERE issue_id = $1 AND state <> 'cancelled' LIMIT 1`, [
      issueId,
    ]);
    return rows.length > 0;
  }

  /** The spawn status an issue falls back to when its queued request is cancelled: its last outcome, or none. */
  async lastOutcome(m: EntityManager, issueId: string): Promise<'completed' | 'failed' | 'dry_run' | null> {
    const rows = await rowsOf(
      m,
      `SELECT state FROM spawn_requests WHERE issue_id = $1 AND state IN ('completed','failed','dry_run')
        ORDER BY attempt DESC LIMIT 1`,
      [issueId],
    );
    return (rows[0]?.state as 'completed' | 'failed' | 'dry_run' | undefined) ?? null;
  }

  /** Inserts a request for a later attempt (manual, failed fix); null when one is already active. */
  async insertRequest(m: EntityManager, req: NewRequest): Promise<SpawnRequestRow | null> {
    const rows = (await rowsOf(
      m,
      `INSERT INTO spawn_requests (issue_id, state, not_before, attempt, requested_by, reason, bypass_cooldown, context)
       VALUES ($1, 'queued', $2, COALESCE((SELECT max(attempt) FROM spawn_requests WHERE issue_id = $1), 0) + 1,
               $3, $4, $5, $6::jsonb)
       ON CONFLICT DO NOTHING
       RETURNING ${SELECT_REQUEST}`,
      [
        req.issueId,
        req.notBefore,
        req.requestedBy,
        req.reason,
        req.bypassCooldown,
        req.context ? JSON.stringify(req.context) : null,
      ],
    )) as Raw[];
    return rows[0] ? toRequest(rows[0]) : null;
  }

  /** Failed verification windows decided after the issue's newest request, with no request for them. */
  async failedFixesWithoutRequest(m: EntityManager, limit: number): Promise<{ issueId: string; windowId: string }[]> {
    const rows = (await rowsOf(
      m,
      `SELECT w.issue_id, w.id AS window_id
         FROM verification_windows w
         JOIN issues i ON i.id = w.issue_id
        WHERE w.state = 'failed' AND i.merged_into_id IS NULL AND i.status NOT IN ('closed', 'verified')
          AND w.decided_at >= COALESCE((SELECT max(r.created_at) FROM spawn_requests r WHERE r.issue_id = w.issue_id), '-infinity')
          AND NOT EXISTS (SELECT 1 FROM spawn_requests r WHERE r.issue_id = w.issue_id AND r.context->>'windowId' = w.id::text)
          AND NOT EXISTS (SELECT 1 FROM spawn_requests r WHERE r.issue_id = w.issue_id AND r.state IN ('queued','dispatching','dispatched','running'))
        ORDER BY w.decided_at
        LIMIT $1`,
      [limit],
    )) as Raw[];
    return rows.map((r) => ({ issueId: r.issue_id as string, windowId: r.window_id as string }));
  }

  async hasRequestForWindow(m: EntityManager, issueId: string, windowId: string): Promise<boolean> {
    const rows = (await rowsOf(
      m,
      `SELECT 1 FROM spawn_requests WHERE issue_id = $1 AND context->>'windowId' = $2 LIMIT 1`,
      [issueId, windowId],
    )) as unknown[];
    return rows.length > 0;
  }

  /** Cancels the issue's queued request (a merge absorbed it). */
  async cancelQueued(m: EntityManager, issueId: string, reason: string, now: Date): Promise<SpawnRequestRow | null> {
    const rows = (await rowsOf(
      m,
      `UPDATE spawn_requests SET state = 'cancelled', error = $2, finished_at = $3, updated_at = $3
        WHERE issue_id = $1 AND state = 'queued'
        RETURNING ${SELECT_REQUEST}`,
      [issueId, reason, now],
    )) as Raw[];
    return rows[0] ? toRequest(rows[0]) : null;
  }

  // ---- the gate ----------------------------------------------------------------------------

  /** Serialises gate decisions across replicas for the rest of the transaction. */
  async lockGate(m: EntityManager, key: number): Promise<void> {
    await m.query('SELECT pg_advisory_xact_lock($1)', [key]);
  }

  async tryLock(m: EntityManager, key: number): Promise<boolean> {
    const [row] = (await rowsOf(m, 'SELECT pg_try_advisory_xact_lock($1) AS ok', [key])) as { ok: boolean }[];
    return row.ok;
  }

  /**
   * Due queued requests not examined in this pass (`exclude`) that are held for a reason other than
   * their own cooldown get the gate-wide `reason` (kill switch, concurrency, budget); returns the
   * rows whose reason changed, with the previous one, for the history.
   */
  async holdAllDue(
    m: EntityManager,
    now: Date,
    exclude: string[],
    reason: string,
  ): Promise<{ id: string; issueId: string; previous: string | null }[]> {
    const rows = await rowsOf(
      m,
      `WITH c AS (
         SELECT id, held_reason FROM spawn_requests
          WHERE state = 'queued' AND not_before <= $1 AND NOT (id = ANY($2::uuid[]))
            AND held_reason IS DISTINCT FROM $3
            AND COALESCE(held_reason NOT LIKE '${COOLDOWN_HOLD_PREFIX}%', true)
          FOR UPDATE SKIP LOCKED)
       UPDATE spawn_requests r SET held_reason = $3, held_at = $1, updated_at = $1
         FROM c WHERE r.id = c.id
       RETURNING r.id, r.issue_id, c.held_reason AS previous`,
      [now, exclude, reason],
    );
    return rows.map((r) => ({
      id: r.id as string,
      issueId: r.issue_id as string,
      previous: (r.previous as string | null) ?? null,
    }));
  }

  /**
   * Due queued requests, most urgent issue first (requests held for their own cooldown last, the
   * soonest cooldown end first, so they never starve the rest), locked (SKIP LOCKED) with the issue fields the gate needs.
   * The issues are locked too (FOR SHARE): a merge of one of them waits for this pass, or this pass
   * for the merge, so the gate never decides on a merge it cannot see yet. */
  async claimDue(m: EntityManager, now: Date, limit: number): Promise<(SpawnRequestRow & { issue: GateIssue })[]> {
    const rows = (await rowsOf(
      m,
      `SELECT ${requestColumns('r.')},
              i.identifier AS i_identifier, i.status AS i_status, i.merged_into_id AS i_merged_into_id,
              i.cooldown_until AS i_cooldown_until, i.cooldown_hours AS i_cooldown_hours, i.priority AS i_priority,
              (${ABSORBED} SELECT a.identifier FROM absorbed a JOIN spawn_requests ar ON ar.issue_id = a.id
                WHERE ar.state IN ('dispatching','dispatched','running')
                LIMIT 1) AS i_absorbed_in_flight
         FROM spawn_requests r JOIN issues i ON i.id = r.issue_id
        WHERE r.state = 'queued' AND r.not_before <= $1
        ORDER BY COALESCE(r.held_reason LIKE '${COOLDOWN_HOLD_PREFIX}%', false),
                 CASE WHEN r.held_reason LIKE '${COOLDOWN_HOLD_PREFIX}%' THEN r.held_reason END,
                 i.priority, r.not_before, r.created_at
        LIMIT $2
        FOR UPDATE OF r SKIP LOCKED
        FOR SHARE OF i`,
      [now, limit],
    )) as Raw[];
    return rows.map((r) => ({
      ...toRequest(r),
      issue: {
        identifier: r.i_identifier as string,
        status: r.i_status as string,
        mergedIntoId: (r.i_merged_into_id as string | null) ?? null,
        cooldownUntil: r.i_cooldown_until ? new Date(r.i_cooldown_until as string) : null,
        cooldownHours:
          r.i_cooldown_hours === null || r.i_cooldown_hours === undefined ? null : Number(r.i_cooldown_hours),
        priority: Number(r.i_priority),
        absorbedInFlight: (r.i_absorbed_in_flight as string | null) ?? null,
      },
    }));
  }

  async countActive(m: EntityManager): Promise<number> {
    const [row] = (await rowsOf(
      m,
      `SELECT count(*)::int AS n FROM spawn_requests WHERE state IN ('dispatching','dispatched','running')`,
    )) as { n: number }[];
    return Number(row.n);
  }

  /** When the issue's last real investigation ended, and the latest cooldown on its fingerprints. */
  async cooldownFacts(
    m: EntityManager,
    issueId: string,
  ): Promise<{ lastEnded: Date | null; linkCooldown: Date | null }> {
    const [row] = (await rowsOf(
      m,
      `SELECT (SELECT max(finished_at) FROM spawn_requests
                WHERE issue_id = $1 AND state IN ('completed','failed') AND dispatched_at IS NOT NULL) AS last_ended,
              (SELECT max(cooldown_until) FROM external_issue_links WHERE issue_id = $1) AS link_cooldown`,
      [issueId],
    )) as Raw[];
    return {
      lastEnded: row.last_ended ? new Date(row.last_ended as string) : null,
      linkCooldown: row.link_cooldown ? new Date(row.link_cooldown as string) : null,
    };
  }

  /** Counts one spawn on `day` if the day's budget allows; returns the row after, or null when exhausted. */
  async takeBudget(m: EntityManager, day: string, defaultMax: number): Promise<BudgetDayRow | null> {
    await this.ensureBudgetDay(m, day, defaultMax);
    const rows = (await rowsOf(
      m,
      `UPDATE spawn_budget_days SET spawn_count = spawn_count + 1, updated_at = now()
        WHERE day = $1 AND spawn_count < max_spawns
        RETURNING to_char(day, 'YYYY-MM-DD') AS day, spawn_count, max_spawns, cost_usd, updated_at`,
      [day],
    )) as Raw[];
    return rows[0] ? toBudget(rows[0]) : null;
  }

  async ensureBudgetDay(m: EntityManager, day: string, max: number): Promise<boolean> {
    const rows = (await rowsOf(
      m,
      `INSERT INTO spawn_budget_days (day, max_spawns) VALUES ($1, $2) ON CONFLICT (day) DO NOTHING RETURNING day`,
      [day, max],
    )) as unknown[];
    return rows.length > 0;
  }

  /** Gives one spawn back to the day it was counted on (a dispatch GitHub refused). */
  async refundBudget(m: EntityManager, day: string): Promise<void> {
    await m.query(
      `UPDATE spawn_budget_days SET spawn_count = spawn_count - 1, updated_at = now() WHERE day = $1 AND spawn_count > 0`,
      [day],
    );
  }

  async budgetDays(m: EntityManager, fromDay: string, toDay: string): Promise<BudgetDayRow[]> {
    const rows = (await rowsOf(
      m,
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, spawn_count, max_spawns, cost_usd, updated_at
         FROM spawn_budget_days WHERE day BETWEEN $1 AND $2 ORDER BY day DESC`,
      [fromDay, toDay],
    )) as Raw[];
    return rows.map(toBudget);
  }

  async setBudgetMax(m: EntityManager, day: string, max: number): Promise<BudgetDayRow> {
    const rows = (await rowsOf(
      m,
      `INSERT INTO spawn_budget_days (day, max_spawns) VALUES ($1, $2)
       ON CONFLICT (day) DO UPDATE SET max_spawns = EXCLUDED.max_spawns, updated_at = now()
       RETURNING to_char(day, 'YYYY-MM-DD') AS day, spawn_count, max_spawns, cost_usd, updated_at`,
      [day, max],
    )) as Raw[];
    return toBudget(rows[0]);
  }

  async addCost(m: EntityManager, day: string, deltaUsd: number, defaultMax: number): Promise<void> {
    await this.ensureBudgetDay(m, day, defaultMax);
    await m.query(`UPDATE spawn_budget_days SET cost_usd = cost_usd + $2, updated_at = now() WHERE day = $1`, [
      day,
      deltaUsd,
    ]);
  }

  // ---- request state changes ---------------------------------------------------------------

  async hold(m: EntityManager, id: string, reason: string, now: Date): Promise<void> {
    await m.query(`UPDATE spawn_requests SET held_reason = $2, held_at = $3, updated_at = $3 WHERE id = $1`, [
      id,
      reason,
      now,
    ]);
  }

  async cancel(m: EntityManager, id: string, reason: string, now: Date): Promise<void> {
    await m.query(
      `UPDATE spawn_requests SET state = 'cancelled', error = $2, finished_at = $3, updated_at = $3 WHERE id = $1 AND state = 'queued'`,
      [id, reason, now],
    );
  }

  /** The attempt is committed: budget counted, run name and exact payload stored, leased to this dispatcher. */
  async markDispatching(
    m: EntityManager,
    id: string,
    p: {
      runName: string;
      budgetDay: string;
      payload: WorkflowDispatchRequest;
      context: SpawnContext;
      now: Date;
      leaseUntil: Date;
    },
  ): Promise<void> {
    await m.query(
      `UPDATE spawn_requests
          SET state = 'dispatching', run_name = $2, budget_day = $3, request_payload = $4::jsonb, context = $5::jsonb,
              claimed_at = $6, lease_until = $7, held_reason = NULL, held_at = NULL, error = NULL, updated_at = $6
        WHERE id = $1 AND state = 'queued'`,
      [id, p.runName, p.budgetDay, JSON.stringify(p.payload), JSON.stringify(p.context), p.now, p.leaseUntil],
    );
  }

  async markDryRun(
    m: EntityManager,
    id: string,
    p: { runName: string; payload: WorkflowDispatchRequest; context: SpawnContext; now: Date; reason: string },
  ): Promise<void> {
    await m.query(
      `UPDATE spawn_requests
          SET state = 'dry_run', run_name = $2, request_payload = $3::jsonb, context = $4::jsonb, claimed_at = $5,
              finished_at = $5, held_reason = NULL, held_at = NULL, error = $6, updated_at = $5
        WHERE id = $1 AND state = 'queued'`,
      [id, p.runName, JSON.stringify(p.payload), JSON.stringify(p.context), p.now, p.reason],
    );
  }

  /**
   * Puts an attempt that was committed but never reached GitHub back in the queue (the kill switch
   * went on meanwhile); returns the budget day to refund, or undefined when the row was not dispatching.
   */
  async requeue(
    m: EntityManager,
    id: string,
    reason: string,
    now: Date,
  ): Promise<{ budgetDay: string | null } | undefined> {
    const rows = await rowsOf(
      m,
      `WITH old AS (SELECT id, budget_day FROM spawn_requests WHERE id = $1 AND state = 'dispatching' FOR UPDATE)
       UPDATE spawn_requests r
          SET state = 'queued', budget_day = NULL, claimed_at = NULL, lease_until = NULL,
              held_reason = $2, held_at = $3, updated_at = $3
         FROM old WHERE r.id = old.id
       RETURNING to_char(old.budget_day, 'YYYY-MM-DD') AS budget_day`,
      [id, reason, now],
    );
    return rows[0] ? { budgetDay: (rows[0].budget_day as string | null) ?? null } : undefined;
  }

  /** Extends a dispatching row's lease before a send; false when the row is no longer dispatching. */
  async renewLease(m: EntityManager, id: string, leaseUntil: Date, countSend: boolean, now: Date): Promise<boolean> {
    const rows = (await rowsOf(
      m,
      `UPDATE spawn_requests SET lease_until = $2, dispatch_attempts = dispatch_attempts + $3, updated_at = $4
        WHERE id = $1 AND state = 'dispatching' RETURNING id`,
      [id, leaseUntil, countSend ? 1 : 0, now],
    )) as unknown[];
    return rows.length > 0;
  }

  /** Dispatching rows whose lease ran out (their dispatcher died), locked for the reconciler. */
  async claimStaleDispatching(m: EntityManager, now: Date, limit: number): Promise<SpawnRequestRow[]> {
    const rows = (await rowsOf(
      m,
      `SELECT ${SELECT_REQUEST} FROM spawn_requests
        WHERE state = 'dispatching' AND (lease_until IS NULL OR lease_until < $1)
        ORDER BY claimed_at NULLS FIRST
        LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [now, limit],
    )) as Raw[];
    return rows.map(toRequest);
  }

  /** GitHub accepted: the run is known (or will be, from the callback or the webhook). */
  async markDispatched(
    m: EntityManager,
    id: string,
    runId: string | null,
    runUrl: string | null,
    now: Date,
  ): Promise<SpawnRequestRow | null> {
    const rows = (await rowsOf(
      m,
      `UPDATE spawn_requests
          SET state = CASE WHEN state = 'dispatching' THEN 'dispatched' ELSE state END,
              run_id = COALESCE(run_id, $2), run_url = COALESCE(run_url, $3),
              dispatched_at = COALESCE(dispatched_at, $4), lease_until = NULL, error = NULL, updated_at = $4
        WHERE id = $1 AND state IN ('dispatching','dispatched','running')
        RETURNING ${SELECT_REQUEST}`,
      [id, runId, runUrl, now],
    )) as Raw[];
    return rows[0] ? toRequest(rows[0]) : null;
  }

  async noteDispatchError(m: EntityManager, id: string, error: string, leaseUntil: Date, now: Date): Promise<void> {
    await m.query(
      `UPDATE spawn_requests SET error = $2, lease_until = $3, updated_at = $4 WHERE id = $1 AND state = 'dispatching'`,
      [id, error, leaseUntil, now],
    );
  }

  /** A dispatch that never reached GitHub ends failed; its budget is refunded in the same statement's transaction. */
  async failDispatch(m: EntityManager, id: string, error: string, now: Date): Promise<SpawnRequestRow | null> {
    const rows = (await rowsOf(
      m,
      `UPDATE spawn_requests
          SET state = 'failed', error = $2, finished_at = $3, lease_until = NULL,
              refunded_at = CASE WHEN budget_day IS NOT NULL THEN $3 ELSE refunded_at END, updated_at = $3
        WHERE id = $1 AND state = 'dispatching'
        RETURNING ${SELECT_REQUEST}`,
      [id, error, now],
    )) as Raw[];
    return rows[0] ? toRequest(rows[0]) : null;
  }

  async lockById(m: EntityManager, id: string): Promise<SpawnRequestRow | null> {
    const rows = (await rowsOf(m, `SELECT ${SELECT_REQUEST} FROM spawn_requests WHERE id = $1 FOR UPDATE`, [
      id,
    ])) as Raw[];
    return rows[0] ? toRequest(rows[0]) : null;
  }

  async findById(m: EntityManager, id: string): Promise<SpawnRequestRow | null> {
    const rows = (await rowsOf(m, `SELECT ${SELECT_REQUEST} FROM spawn_requests WHERE id = $1`, [id])) as Raw[];
    return rows[0] ? toRequest(rows[0]) : null;
  }

  /**
   * The request an agent callback is about, locked: the one with `runId` when given, else the
   * issue's active one, else its newest that reached GitHub.
   */
  async lockForCallback(m: EntityManager, issueId: string, runId?: string): Promise<SpawnRequestRow | null> {
    if (runId) {
      const byRun = (await rowsOf(
        m,
        `SELECT ${SELECT_REQUEST} FROM spawn_requests WHERE issue_id = $1 AND run_id = $2 ORDER BY attempt DESC LIMIT 1 FOR UPDATE`,
        [issueId, runId],
      )) as Raw[];
      if (byRun[0]) return toRequest(byRun[0]);
    }
    const rows = (await rowsOf(
      m,
      `SELECT ${SELECT_REQUEST} FROM spawn_requests
        WHERE issue_id = $1 AND (state IN ('dispatching','dispatched','running') OR claimed_at IS NOT NULL AND state <> 'dry_run')
        ORDER BY (state IN ('dispatching','dispatched','running')) DESC, attempt DESC
        LIMIT 1 FOR UPDATE`,
      [issueId],
    )) as Raw[];
    return rows[0] ? toRequest(rows[0]) : null;
  }

  /** An active request matched by its run id, or by run name when it has no run id yet; locked. */
  async lockActiveByRun(m: EntityManager, runId: string, runName: string | null): Promise<SpawnRequestRow | null> {
    const byId = (await rowsOf(
      m,
      `SELECT ${SELECT_REQUEST} FROM spawn_requests WHERE run_id = $1 ORDER BY attempt DESC LIMIT 1 FOR UPDATE`,
      [runId],
    )) as Raw[];
    if (byId[0]) return toRequest(byId[0]);
    if (!runName) return null;
    const byName = (await rowsOf(
      m,
      `SELECT ${SELECT_REQUEST} FROM spawn_requests
        WHERE run_name = $1 AND run_id IS NULL AND state IN ('dispatching','dispatched','running')
        ORDER BY attempt DESC LIMIT 1 FOR UPDATE`,
      [runName],
    )) as Raw[];
    return byName[0] ? toRequest(byName[0]) : null;
  }

  async markRunning(
    m: EntityManager,
    id: string,
    runId: string | null,
    runUrl: string | null,
    now: Date,
  ): Promise<void> {
    await m.query(
      `UPDATE spawn_requests
          SET state = 'running', started_at = COALESCE(started_at, $4), last_heartbeat_at = $4,
              run_id = COALESCE($2, run_id), run_url = COALESCE($3, run_url),
              dispatched_at = COALESCE(dispatched_at, $4), lease_until = NULL, updated_at = $4
        WHERE id = $1`,
      [id, runId, runUrl, now],
    );
  }

  async heartbeat(
    m: EntityManager,
    id: string,
    now: Date,
    runId?: string | null,
    runUrl?: string | null,
  ): Promise<void> {
    await m.query(
      `UPDATE spawn_requests SET last_heartbeat_at = $2, run_id = COALESCE(run_id, $3), run_url = COALESCE(run_url, $4), updated_at = $2
        WHERE id = $1`,
      [id, now, runId ?? null, runUrl ?? null],
    );
  }

  async markEnded(
    m: EntityManager,
    id: string,
    p: {
      state: 'completed' | 'failed';
      summary: string | null;
      error: string | null;
      runId?: string | null;
      runUrl?: string | null;
      now: Date;
    },
  ): Promise<void> {
    await m.query(
      `UPDATE spawn_requests
          SET state = $2, summary = COALESCE($3, summary), error = $4, finished_at = $5, lease_until = NULL,
              run_id = COALESCE(run_id, $6), run_url = COALESCE(run_url, $7), updated_at = $5
        WHERE id = $1`,
      [id, p.state, p.summary, p.error, p.now, p.runId ?? null, p.runUrl ?? null],
    );
  }

  /** Sets the request's cost; returns the difference to add to the day. */
  async setCost(m: EntityManager, id: string, costUsd: number): Promise<number> {
    const [row] = (await rowsOf(
      m,
      `WITH old AS (SELECT cost_usd FROM spawn_requests WHERE id = $1)
       UPDATE spawn_requests SET cost_usd = $2, updated_at = now() WHERE id = $1
       RETURNING $2::numeric - COALESCE((SELECT cost_usd FROM old), 0) AS delta`,
      [id, costUsd],
    )) as { delta: string }[];
    return Number(row.delta);
  }

  async setSummaryIfMissing(m: EntityManager, id: string, summary: string): Promise<void> {
    await m.query(`UPDATE spawn_requests SET summary = $2, updated_at = now() WHERE id = $1 AND summary IS NULL`, [
      id,
      summary,
    ]);
  }

  /** Active runs silent since `silentSince` (last heartbeat, start or dispatch), locked. */
  async claimTimedOut(m: EntityManager, silentSince: Date, limit: number): Promise<SpawnRequestRow[]> {
    const rows = (await rowsOf(
      m,
      `SELECT ${SELECT_REQUEST} FROM spawn_requests
        WHERE state IN ('dispatched','running')
          AND COALESCE(last_heartbeat_at, started_at, dispatched_at, claimed_at, updated_at) < $1
        ORDER BY updated_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [silentSince, limit],
    )) as Raw[];
    return rows.map(toRequest);
  }

  /** Run ids earlier attempts already own (never adopt one of those as this attempt's run). */
  async knownRunIds(m: EntityManager, excludeRequestId: string): Promise<Set<string>> {
    const rows = (await rowsOf(m, `SELECT run_id FROM spawn_requests WHERE run_id IS NOT NULL AND id <> $1`, [
      excludeRequestId,
    ])) as Raw[];
    return new Set(rows.map((r) => r.run_id as string));
  }

  async listForIssue(m: EntityManager, issueId: string): Promise<SpawnRequestRow[]> {
    const rows = (await rowsOf(
      m,
      `SELECT ${SELECT_REQUEST} FROM spawn_requests WHERE issue_id = $1 ORDER BY attempt DESC, created_at DESC`,
      [issueId],
    )) as Raw[];
    return rows.map(toRequest);
  }

  // ---- cooldown ----------------------------------------------------------------------------

  /**
   * Puts every fingerprint of the issue in cooldown until `until` (never shortens a longer one),
   * wherever it is filed: an issue merged away while its investigation ran has its fingerprints on
   * the survivor, or the issue that one went into since (`original_issue_id` still names it), and
   * those were investigated.
   */
  async setLinksCooldown(m: EntityManager, issueId: string, until: Date): Promise<void> {
    await m.query(
      `WITH RECURSIVE ${survivorsCte('holders', '$1', { includeRoot: true })}
       UPDATE external_issue_links SET cooldown_until = GREATEST(COALESCE(cooldown_until, $2), $2), updated_at = now()
        WHERE issue_id IN (SELECT id FROM holders) AND (issue_id = $1 OR original_issue_id = $1)`,
      [issueId, until],
    );
  }

  // ---- what a dispatch carries -------------------------------------------------------------

  async recentSamples(m: EntityManager, issueId: string, limit: number): Promise<ErrorSample[]> {
    const rows = (await rowsOf(
      m,
      `SELECT occurred_at, fingerprint, level, version, count, message, stack
         FROM error_events WHERE issue_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2`,
      [issueId, limit],
    )) as Raw[];
    return rows.map((r) => ({
      occurredAt: new Date(r.occurred_at as string),
      fingerprint: r.fingerprint as string,
      level: (r.level as string | null) ?? null,
      version: (r.version as string | null) ?? null,
      count: Number(r.count),
      message: r.message as string,
      stack: (r.stack as string | null) ?? null,
    }));
  }

  async fingerprints(m: EntityManager, issueId: string): Promise<string[]> {
    const rows = (await rowsOf(
      m,
      `SELECT external_id FROM external_issue_links WHERE issue_id = $1 ORDER BY link_kind = 'primary' DESC, created_at LIMIT 20`,
      [issueId],
    )) as Raw[];
    return rows.map((r) => r.external_id as string);
  }

  /** The previous attempt: the newest request that reached GitHub, and the newest PR linked to the issue. */
  async previousAttempt(m: EntityManager, issueId: string): Promise<PreviousAttempt | null> {
    const [req] = (await rowsOf(
      m,
      `SELECT attempt, state, summary, error FROM spawn_requests
        WHERE issue_id = $1 AND dispatched_at IS NOT NULL ORDER BY attempt DESC LIMIT 1`,
      [issueId],
    )) as Raw[];
    const [pr] = (await rowsOf(
      m,
      `SELECT pr_number, url, title, state, head_branch, merge_commit_sha FROM issue_prs
        WHERE issue_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`,
      [issueId],
    )) as Raw[];
    if (!req && !pr) return null;
    return {
      attempt: req ? Number(req.attempt) : 0,
      state: (req?.state as string | undefined) ?? null,
      summary: (req?.summary as string | null | undefined) ?? null,
      error: (req?.error as string | null | undefined) ?? null,
      pr: pr
        ? {
            number: Number(pr.pr_number),
            url: (pr.url as string | null) ?? null,
            title: pr.title as string,
            state: pr.state as string,
            headBranch: (pr.head_branch as string | null) ?? null,
            mergeCommitSha: (pr.merge_commit_sha as string | null) ?? null,
          }
        : null,
    };
  }

  /** Whether a PR was linked to the issue since `since` (the attempt's claim). */
  async hasPrSince(m: EntityManager, issueId: string, since: Date | null): Promise<boolean> {
    const rows = (await rowsOf(
      m,
      `SELECT 1 FROM issue_prs WHERE issue_id = $1 AND ($2::timestamptz IS NULL OR created_at >= $2) LIMIT 1`,
      [issueId, since],
    )) as unknown[];
    return rows.length > 0;
  }

  async recordActivity(
    m: EntityManager,
    a: { issueId: string; spawnRequestId: string | null; type: string; message: string; data: unknown },
  ): Promise<boolean> {
    const data = a.data === undefined || a.data === null ? null : JSON.stringify(a.data);
    const rows = (await rowsOf(
      m,
      `INSERT INTO agent_activity (issue_id, spawn_request_id, type, message, data)
       SELECT $1, $2, $3, $4, $5::jsonb
        WHERE NOT EXISTS (
          SELECT 1 FROM agent_activity
           WHERE issue_id = $1 AND spawn_request_id IS NOT DISTINCT FROM $2::uuid AND type = $3 AND message = $4
             AND data IS NOT DISTINCT FROM $5::jsonb)
       RETURNING id`,
      [a.issueId, a.spawnRequestId, a.type, a.message, data],
    )) as unknown[];
    return rows.length > 0;
  }

  // ---- kill switch -------------------------------------------------------------------------

  async readKillSwitch(m: EntityManager): Promise<{ value: boolean; updatedBy: string; updatedAt: Date } | null> {
    const rows = (await rowsOf(m, `SELECT value, updated_by, updated_at FROM runtime_settings WHERE key = $1`, [
      KILL_SWITCH_SETTING,
    ])) as Raw[];
    if (!rows[0]) return null;
    return {
      value: rows[0].value === true,
      updatedBy: rows[0].updated_by as string,
      updatedAt: new Date(rows[0].updated_at as string),
    };
  }

  async writeKillSwitch(m: EntityManager, value: boolean, by: string): Promise<{ previous: boolean | null }> {
    const before = await m.query(`SELECT value FROM runtime_settings WHERE key = $1 FOR UPDATE`, [KILL_SWITCH_SETTING]);
    const previous = (before as Raw[])[0] ? (before as Raw[])[0].value === true : null;
    await writeRuntimeSetting(m, KILL_SWITCH_SETTING, value, by);
    return { previous };
  }

  async writeOutbox(m: EntityManager, eventName: string, payload: Record<string, unknown>): Promise<void> {
    await m.query(`INSERT INTO outbox_events (event_name, payload) VALUES ($1, $2::jsonb)`, [
      eventName,
      JSON.stringify(payload),
    ]);
  }
}

export interface GateIssue {
  identifier: string;
  status: string;
  mergedIntoId: string | null;
  cooldownUntil: Date | null;
  cooldownHours: number | null;
  priority: number;
  /** An issue merged into this one whose investigation is in flight (its identifier): one is enough. */
  absorbedInFlight: string | null;
}

function toBudget(r: Raw): BudgetDayRow {
  return {
    day: r.day as string,
    spawnCount: Number(r.spawn_count),
    maxSpawns: Number(r.max_spawns),
    costUsd: Number(r.cost_usd),
    updatedAt: new Date(r.updated_at as string),
  };
}

import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { DomainError } from '../../shared/errors/domain-error';
import { queryPrepared } from '../../shared/database/prepared-query';
import { currentCorrelationId } from '../../shared/logging/request-context';
import { IssueEntity } from './entities/issue.entity';
import { ActorType } from './entities/issue-history.entity';
import {
  IssueSnapshot,
  IssueStatus,
  Priority,
  SpawnStatus,
  assertTransition,
  escalate,
  formatPriority,
  isIssueStatus,
  parsePriority,
  toSnapshot,
} from './issue-status.contract';
import { IssuesRepository } from './issues.repository';

export interface Actor {
  /** e.g. `admin`, `agent:run-123`, `system:spawn-gate`. */
  name: string;
  type: ActorType;
}

/** Statuses of an issue whose fix is on its way (a PR open or merged, not yet in production). */
const FIX_IN_FLIGHT: readonly IssueStatus[] = ['in_review', 'in_staging'];
/** Statuses of an issue no fix has reached yet. */
const BEFORE_REVIEW: readonly IssueStatus[] = ['triage', 'investigating', 'needs_human'];

/** The label an issue gets when a deployed fix did not stop the error. */
export const FIX_FAILED_LABEL = 'fix-failed';

export const SYSTEM = (component: string): Actor => ({ name: `system:${component}`, type: 'system' });

/** A person acting with the admin key (the admin API). */
export const ADMIN_ACTOR: Actor = { name: 'admin', type: 'user' };

/** A change of an issue's spawn fields (see `IssuesFacade.setSpawnState`); undefined = unchanged. */
export interface SpawnStateChange {
  /** null when no spawn is pending or known any more (a cancelled first request). */
  status: SpawnStatus | null;
  runId?: string | null;
  runUrl?: string | null;
  startedAt?: Date | null;
  completedAt?: Date | null;
  attempts?: number;
  data?: Record<string, unknown>;
}

export interface HistoryEntry {
  issueId: string;
  actor: Actor;
  field: string;
  from?: string | null;
  to?: string | null;
  reason?: string;
  data?: Record<string, unknown>;
}

/**
 * The issues module's door (facade) for other modules that must change an issue inside their own
 * transaction (dedup creating an issue, the spawn gate recording why it held a request back).
 * Every change it makes lands in the append-only history. Callers pass their EntityManager.
 */
@Injectable()
export class IssuesFacade {
  constructor(
    private readonly issues: IssuesRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async recordHistory(manager: EntityManager, ...entries: HistoryEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const correlationId = currentCorrelationId() ?? null;
    const params: unknown[] = [];
    const rows = entries.map((e) => {
      params.push(e.issueId, e.actor.name, e.actor.type, e.field, e.from ?? null, e.to ?? null, e.reason ?? null);
      params.push(e.data ? JSON.stringify(e.data) : null, correlationId);
      const b = params.length - 9;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}::jsonb, $${b + 9})`;
    });
    await manager.query(`${INSERT_HISTORY} VALUES ${rows.join(', ')}`, params);
  }

  /**
   * Moves an issue to a new status after validating the transition, with the row locked.
   * Returns the previous status, or undefined when the issue already had that status (idempotent).
   */
  async transition(
    manager: EntityManager,
    issueId: string,
    to: IssueStatus,
    actor: Actor,
    reason: string,
    data?: Record<string, unknown>,
  ): Promise<IssueStatus | undefined> {
    const issue = await this.issues.lockById(issueId, manager);
    if (!issue) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue with id ${issueId}`);
    if (issue.status === to) return undefined;
    assertTransition(issue.status, to);
    await manager.getRepository(IssueEntity).update({ id: issueId }, { status: to, updatedAt: new Date() });
    await this.recordHistory(manager, { issueId, actor, field: 'status', from: issue.status, to, reason, data });
    return issue.status;
  }

  /**
   * Adds a label (no-op when present), with the row locked; records it in the history.
   * Returns true when the label was added.
   */
  async addLabel(
    manager: EntityManager,
    issueId: string,
    label: string,
    actor: Actor,
    reason: string,
    data?: Record<string, unknown>,
  ): Promise<boolean> {
    const issue = await this.issues.lockById(issueId, manager);
    if (!issue) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue with id ${issueId}`);
    if (issue.labels.includes(label)) return false;
    const labels = [...issue.labels, label];
    await manager.getRepository(IssueEntity).update({ id: issueId }, { labels, updatedAt: new Date() });
    await this.recordHistory(manager, {
      issueId,
      actor,
      field: 'labels',
      from: issue.labels.join(','),
      to: labels.join(','),
      reason,
      data,
    });
    return true;
  }

  /** Sets the priority (1..4, P1 most urgent), with the row locked; records it. Returns the previous one. */
  async setPriority(
    manager: EntityManager,
    issueId: string,
    priority: Priority,
    actor: Actor,
    reason: string,
    data?: Record<string, unknown>,
  ): Promise<number> {
    const issue = await this.issues.lockById(issueId, manager);
    if (!issue) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue with id ${issueId}`);
    if (issue.priority === priority) return issue.priority;
    await manager.getRepository(IssueEntity).update({ id: issueId }, { priority, updatedAt: new Date() });
    await this.recordHistory(manager, {
      issueId,
      actor,
      field: 'priority',
      from: formatPriority(issue.priority),
      to: formatPriority(priority),
      reason,
      data,
    });
    return issue.priority;
  }

  /**
   * A deployed fix did not stop the error (verification): the issue goes back to triage (when its
   * status allows it), gets the `fix-failed` label and one step more priority (never beyond P1).
   * `data` (which window, deployment and PR failed) lands on the status history entry.
   */
  async reopenAfterFailedFix(
    manager: EntityManager,
    issueId: string,
    actor: Actor,
    reason: string,
    data?: Record<string, unknown>,
  ): Promise<{ fromStatus: IssueStatus; fromPriority: number; toPriority: Priority }> {
    const issue = await this.issues.lockById(issueId, manager);
    if (!issue) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue with id ${issueId}`);
    const fromStatus = issue.status;
    if (fromStatus !== 'triage') await this.transition(manager, issueId, 'triage', actor, reason, data);
    // The label and the step name the window too (`data.windowId`), so an undone merge can find
    // exactly the escalation a window caused (`handOverFailedFixes`).
    await this.addLabel(manager, issueId, FIX_FAILED_LABEL, actor, reason, data);
    const toPriority = escalate(issue.priority);
    await this.setPriority(manager, issueId, toPriority, actor, reason, data);
    return { fromStatus, fromPriority: issue.priority, toPriority };
  }

  /**
   * An undone merge gave `toId` back the error whose recurrence failed fixes on `fromId`'s windows
   * (`failures`, oldest first): the escalation those failures made follows the error. `toId` gets
   * the `fix-failed` label and one priority step per failure (never beyond P1); `fromId` loses the
   * label when one of the failures added it and `keepLabel` is false (it has a failed fix of its
   * own error), and gets back the priority it had before the first of them when nobody changed its
   * priority since (its only priority changes since are those failures' steps). Each failure gets
   * a `verification` history entry on both issues naming the window (`data.movedTo` on `fromId`,
   * `data.movedFrom` on `toId`); a failure handed over already is skipped. Nothing is emitted:
   * `fix.failed` was reported once, for the window that failed. Returns the windows handed over.
   */
  async handOverFailedFixes(
    manager: EntityManager,
    input: {
      fromId: string;
      toId: string;
      failures: readonly { windowId: string; decisionReason: string; data: Record<string, unknown> }[];
      keepLabel: boolean;
      actor: Actor;
    },
  ): Promise<string[]> {
    const { actor } = input;
    // Any two issues, locked in id order as every change of two issues does.
    const { merged: from, target: to } = await this.lockPair(manager, input.fromId, input.toId);
    const done = await this.issues.handedOverWindows(from.id, manager);
    const failures = input.failures.filter((f) => !done.has(f.windowId));
    if (failures.length === 0) return [];
    const windows = failures.map((f) => f.windowId).join(', ');
    const entries: Awaited<ReturnType<IssuesRepository['failedFixEntries']>>[] = [];
    for (const f of failures) entries.push(await this.issues.failedFixEntries(from.id, f, manager));
    const labelAdded = entries.some((e) => e.some((x) => x.field === 'labels'));
    const steps = entries
      .flatMap((e) => e.filter((x) => x.field === 'priority').slice(0, 1))
      .sort((a, b) => a.id - b.id);

    const toWhy = `window ${windows} of ${from.identifier} failed on a recurrence of this issue's error while it was merged there: its fix-failed label and priority step follow the error (unmerged from ${from.identifier})`;
    await this.addLabel(manager, to.id, FIX_FAILED_LABEL, actor, toWhy);
    let priority: number = to.priority;
    for (let i = 0; i < failures.length; i++) priority = escalate(priority);
    await this.setPriority(manager, to.id, priority as Priority, actor, toWhy);

    const fromWhy = `window ${windows} failed on a recurrence of ${to.identifier}'s error, unmerged from this issue: its fix-failed label and priority step move to ${to.identifier}`;
    let labelRemoved = false;
    if (labelAdded && !input.keepLabel && from.labels.includes(FIX_FAILED_LABEL)) {
      const labels = from.labels.filter((l) => l !== FIX_FAILED_LABEL);
      await manager.getRepository(IssueEntity).update({ id: from.id }, { labels, updatedAt: new Date() });
      await this.recordHistory(manager, {
        issueId: from.id,
        actor,
        field: 'labels',
        from: from.labels.join(','),
        to: labels.join(','),
        reason: fromWhy,
      });
      labelRemoved = true;
    }
    let priorityRestored: string | null = null;
    const first = steps[0];
    const last = steps.at(-1);
    if (first?.from && last?.to === formatPriority(from.priority)) {
      const since = await this.issues.priorityChangesSince(from.id, first.id, manager);
      const untouched = since.length === steps.length && since.every((id, i) => id === steps[i]!.id);
      if (untouched) {
        await this.setPriority(manager, from.id, parsePriority(first.from), actor, fromWhy);
        priorityRestored = first.from;
      }
    }
    const note = priorityRestored
      ? `; priority back to ${priorityRestored}`
      : steps.length > 0
        ? '; priority kept (changed since the failure)'
        : '';
    await this.recordHistory(
      manager,
      ...failures.flatMap((f) => [
        {
          issueId: from.id,
          actor,
          field: 'verification',
          from: 'failed',
          to: 'failed',
          reason: `${fromWhy}${note}`,
          data: { ...f.data, windowId: f.windowId, movedTo: to.identifier, labelRemoved, priorityRestored },
        },
        {
          issueId: to.id,
          actor,
          field: 'verification',
          from: null,
          to: 'failed',
          reason: toWhy,
          data: { ...f.data, windowId: f.windowId, movedFrom: from.identifier, priority: formatPriority(priority) },
        },
      ]),
    );
    return failures.map((f) => f.windowId);
  }

  /**
   * Keeps the issue's spawn fields (spawn_status, run id/url, started/completed, attempts) in step
   * with the spawn module's request, and records the change in the history (field `spawn_status`,
   * from the previous status to the new one; run and attempt in `data`). Fields left undefined are
   * not touched. Used by the spawn module inside its own transaction.
   */
  async setSpawnState(
    manager: EntityManager,
    issueId: string,
    change: SpawnStateChange,
    actor: Actor,
    reason: string,
  ): Promise<void> {
    const issue = await this.issues.lockById(issueId, manager);
    if (!issue) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue with id ${issueId}`);
    const patch: Partial<IssueEntity> = { spawnStatus: change.status, updatedAt: new Date() };
    if (change.runId !== undefined) patch.spawnRunId = change.runId;
    if (change.runUrl !== undefined) patch.spawnRunUrl = change.runUrl;
    if (change.startedAt !== undefined) patch.spawnStartedAt = change.startedAt;
    if (change.completedAt !== undefined) patch.spawnCompletedAt = change.completedAt;
    if (change.attempts !== undefined) patch.spawnAttempts = change.attempts;
    await manager.getRepository(IssueEntity).update({ id: issueId }, patch);
    const data: Record<string, unknown> = { ...(change.data ?? {}) };
    if (change.runId) data.runId = change.runId;
    if (change.runUrl) data.runUrl = change.runUrl;
    if (change.attempts !== undefined) data.attempt = change.attempts;
    await this.recordHistory(manager, {
      issueId,
      actor,
      field: 'spawn_status',
      from: issue.spawnStatus,
      to: change.status,
      reason,
      data: Object.keys(data).length > 0 ? data : undefined,
    });
  }

  /** A plain snapshot of an issue (never the ORM entity), or null. */
  async findByIdentifier(identifier: string, manager?: EntityManager): Promise<IssueSnapshot | null> {
    const issue = await this.issues.findByIdentifier(identifier, manager);
    return issue ? toSnapshot(issue) : null;
  }

  async findById(id: string, manager?: EntityManager): Promise<IssueSnapshot | null> {
    const issue = await this.issues.findById(id, manager);
    return issue ? toSnapshot(issue) : null;
  }

  /**
   * The live issue that stands for `issueId` now: the issue itself when it is not merged, else the
   * end of its merge chain (A merged into B, B into C: C). What follows a PR link or a deploy acts
   * on it, so a fix linked to an issue merged away moves the issue that holds its fingerprints.
   * Null for an unknown id.
   */
  async liveSurvivor(issueId: string, manager?: EntityManager): Promise<IssueSnapshot | null> {
    const id = await this.issues.survivorIdOf(issueId, manager);
    return id ? this.findById(id, manager) : null;
  }

  /**
   * The ids of the issues merged into `issueId` at any depth of the chain (A into B, B into C: A
   * and B for C). With `liveSurvivor`, every issue that stands for the same live issue: their PR
   * links all move it.
   */
  async absorbedIds(issueId: string, manager?: EntityManager): Promise<string[]> {
    return this.issues.absorbedIdsOf(issueId, manager);
  }

  /**
   * The status the issue had before it last took up a fix (triage, investigating or needs_human),
   * read from its history; null when it never took one up.
   */
  async statusBeforeFix(issueId: string, manager?: EntityManager): Promise<IssueStatus | null> {
    const from = await this.issues.statusBeforeFix(issueId, manager);
    return from !== null && isIssueStatus(from) ? from : null;
  }

  /**
   * Creates an issue for a new fingerprint (dedup): identifier `<ISSUE_PREFIX>-<n>` from
   * issue_number_seq, status triage, priority P4, event count 0 (the caller counts the
   * observations with `recordObservations` in the same transaction). The title must already be
   * scrubbed of secrets. Records a `created` history entry.
   */
  async createIssue(
    manager: EntityManager,
    input: NewIssue,
    actor: Actor,
  ): Promise<{ id: string; identifier: string }> {
    // The issue and its `created` history entry in one statement (the same row `recordHistory` writes).
    const [created] = (await manager.query(
      `WITH created AS (
         INSERT INTO issues (number, identifier, title, status, priority, source, feature, normalized_message,
                             first_seen_at, last_seen_at, event_count)
         SELECT n, $1 || '-' || n, $2, 'triage', 4, $3, $4, $5, $6, $7, 0
         FROM (SELECT nextval('issue_number_seq') AS n) s
         RETURNING id, identifier
       ), history AS (
         ${INSERT_HISTORY} SELECT id, $8, $9, 'created', NULL, identifier, $10, $11::jsonb, $12 FROM created
       )
       SELECT id, identifier FROM created`,
      [
        this.config.ISSUE_PREFIX,
        input.title,
        input.source,
        input.feature,
        input.normalizedMessage,
        input.firstSeenAt,
        input.lastSeenAt,
        actor.name,
        actor.type,
        input.reason ?? 'new fingerprint',
        input.historyData ? JSON.stringify(input.historyData) : null,
        currentCorrelationId() ?? null,
      ],
    )) as { id: string; identifier: string }[];
    return created;
  }

  /**
   * Adds observed occurrences to issues: event_count += count, first/last seen widened to the
   * observations' own times. One statement for the whole batch, rows locked in id order.
   * Returns each issue's event count afterwards, with its status and spawn status as of then.
   */
  async recordObservations(
    manager: EntityManager,
    rows: readonly ObservationCount[],
  ): Promise<Map<string, CountedIssue>> {
    const result = new Map<string, CountedIssue>();
    if (rows.length === 0) return result;
    const sorted = [...rows].sort((a, b) => (a.issueId < b.issueId ? -1 : a.issueId > b.issueId ? 1 : 0));
    const updated = await queryPrepared<CountedIssueRow>(manager, 'issues_count', COUNT_OBSERVATIONS_SQL, [
      sorted.map((r) => r.issueId),
      sorted.map((r) => r.count),
      sorted.map((r) => r.firstSeenAt),
      sorted.map((r) => r.lastSeenAt),
    ]);
    for (const row of updated) result.set(row.id, countedIssue(row));
    return result;
  }

  /**
   * The statement that counts observations on issues, for a caller that counts in ONE statement
   * (dedup's known-fingerprint path): counts issues from the caller's CTE `source`, which must
   * have one row per issue with columns (issue_id uuid, cnt bigint, first_at timestamptz,
   * last_at timestamptz). Same effect as `recordObservations`; returns `CountedIssueRow`s (read
   * them with `countedIssue`).
   */
  countObservationsSql(source: string): string {
    // INSERT ... ON CONFLICT DO UPDATE rather than UPDATE: the proposed row is the issue as read
    // (issues are never deleted, so it is never inserted) and the conflict locks and counts the
    // row's latest version, where a plain UPDATE meeting a row another statement has just counted
    // would re-check it with EvalPlanQual, restarting every subplan of the caller's statement.
    // Every NOT NULL column without a default is copied; rows are taken in id order, so concurrent
    // statements never deadlock on issues.
    return `INSERT INTO issues AS i (id, number, identifier, title, status, priority, labels, source, feature,
                   normalized_message, first_seen_at, last_seen_at, event_count, spawn_attempts, created_at, updated_at)
            SELECT i2.id, i2.number, i2.identifier, i2.title, i2.status, i2.priority, i2.labels, i2.source, i2.feature,
                   i2.normalized_message, s.first_at, s.last_at, s.cnt, i2.spawn_attempts, i2.created_at, now()
              FROM ${source} s JOIN issues i2 ON i2.id = s.issue_id
             ORDER BY i2.id
            ON CONFLICT (id) DO UPDATE
               SET event_count = i.event_count + EXCLUDED.event_count,
                   first_seen_at = LEAST(i.first_seen_at, EXCLUDED.first_seen_at),
                   last_seen_at = GREATEST(i.last_seen_at, EXCLUDED.last_seen_at),
                   updated_at = now()
            RETURNING i.id, i.event_count, i.status, i.spawn_status`;
  }

  /**
   * Marks `mergedId` as merged into `targetId` (dedup's merges, automatic or by a person): both
   * rows locked in id order; both must be live (not merged) and distinct. The merged issue gets
   * `merged_into_id` and moves to closed; its event count is added to the target's and the seen
   * range widened. History on both sides carries the rule and evidence.
   */
  async markMerged(
    manager: EntityManager,
    merge: IssueMergeChange,
  ): Promise<{
    merged: IssueSnapshot;
    target: IssueSnapshot;
    /** The target's status change when it took over the merged issue's fix in flight. */
    carried: { from: IssueStatus; to: IssueStatus } | null;
  }> {
    const { merged, target } = await this.lockPair(manager, merge.mergedId, merge.targetId);
    if (merged.id === target.id) {
      throw new DomainError('conflict', 'ISSUE_MERGE_SELF', `${merged.identifier} cannot be merged into itself`);
    }
    if (merged.mergedIntoId) {
      throw new DomainError(
        'conflict',
        'ISSUE_ALREADY_MERGED',
        `${merged.identifier} is already merged into another issue`,
      );
    }
    if (target.mergedIntoId) {
      throw new DomainError(
        'conflict',
        'ISSUE_MERGE_TARGET_MERGED',
        `${target.identifier} is itself merged into another issue: merge into that one instead`,
      );
    }
    if (merged.status === 'in_production') {
      // Closing it would end the verification of its deployed fix: the target's errors would not
      // be watched, and a recurrence would never count as a failed fix.
      throw new DomainError(
        'conflict',
        'ISSUE_MERGE_FIX_IN_PRODUCTION',
        `${merged.identifier}'s fix is in production and under verification: merge ${target.identifier} into ` +
          `${merged.identifier} instead (its fingerprints join the watch), or merge once the fix is verified`,
      );
    }
    await manager.query(`UPDATE issues SET merged_into_id = $2, updated_at = now() WHERE id = $1`, [
      merged.id,
      target.id,
    ]);
    await manager.query(
      `UPDATE issues SET event_count = event_count + $2, first_seen_at = LEAST(first_seen_at, $3),
              last_seen_at = GREATEST(last_seen_at, $4), updated_at = now() WHERE id = $1`,
      [target.id, merged.eventCount, merged.firstSeenAt, merged.lastSeenAt],
    );
    const data = { rule: merge.rule, evidence: merge.evidence };
    await this.transition(manager, merged.id, 'closed', merge.actor, `merged into ${target.identifier}`, data);
    await this.recordHistory(
      manager,
      {
        issueId: merged.id,
        actor: merge.actor,
        field: 'merged_into',
        from: null,
        to: target.identifier,
        reason: merge.reason,
        data,
      },
      {
        issueId: target.id,
        actor: merge.actor,
        field: 'merged_from',
        from: null,
        to: merged.identifier,
        reason: merge.reason,
        data: { ...data, eventCount: merged.eventCount },
      },
    );
    // The merged issue's fix in flight is the bug's fix: a target that has not reached review yet
    // follows it (its PR's later events and deploy move the target; see docs/lifecycle.md).
    let carried: { from: IssueStatus; to: IssueStatus } | null = null;
    if (FIX_IN_FLIGHT.includes(merged.status) && BEFORE_REVIEW.includes(target.status)) {
      await this.transition(
        manager,
        target.id,
        merged.status,
        merge.actor,
        `${merged.identifier} was merged into this issue while its fix was ${merged.status}: that fix is this bug's fix`,
        { ...data, carriedFrom: merged.identifier },
      );
      carried = { from: target.status, to: merged.status };
    }
    return { merged: toSnapshot(merged), target: toSnapshot(target), carried };
  }

  /**
   * Undoes `markMerged`: clears `merged_into_id`, reopens the merged issue to triage, takes the
   * occurrences of the fingerprints given back off the issues that held them (`takenFrom`: the
   * target, or the issue the target was merged into since; else `movedEventCount` off the target)
   * and sets the merged issue's count to `restoredEventCount`. History on both sides, and on every
   * other issue whose count it lowered (`unmerged`, with the events taken off it).
   */
  async markUnmerged(
    manager: EntityManager,
    unmerge: IssueUnmergeChange,
  ): Promise<{ merged: IssueSnapshot; target: IssueSnapshot }> {
    const { merged, target } = await this.lockPair(manager, unmerge.mergedId, unmerge.targetId);
    if (merged.mergedIntoId !== target.id) {
      throw new DomainError(
        'conflict',
        'ISSUE_NOT_MERGED',
        `${merged.identifier} is not merged into ${target.identifier}`,
      );
    }
    await manager.query(`UPDATE issues SET merged_into_id = NULL, event_count = $2, updated_at = now() WHERE id = $1`, [
      merged.id,
      unmerge.restoredEventCount,
    ]);
    const takenFrom = unmerge.takenFrom ?? [{ issueId: target.id, eventCount: unmerge.movedEventCount }];
    await manager.query(
      `UPDATE issues i SET event_count = GREATEST(i.event_count - x.n, 0), updated_at = now()
         FROM unnest($1::uuid[], $2::bigint[]) AS x(id, n) WHERE i.id = x.id`,
      [takenFrom.map((t) => t.issueId), takenFrom.map((t) => t.eventCount)],
    );
    await this.transition(manager, merged.id, 'triage', unmerge.actor, `unmerged from ${target.identifier}`);
    // An issue the target was merged into since held the events: its count changed, so it gets its
    // own entry (the target's entry below names the merge undone).
    const holders = takenFrom.filter((t) => t.issueId !== target.id && t.eventCount > 0);
    await this.recordHistory(
      manager,
      ...holders.map((h): HistoryEntry => ({
        issueId: h.issueId,
        actor: unmerge.actor,
        field: 'unmerged',
        from: merged.identifier,
        to: null,
        reason: unmerge.reason,
        data: { eventCount: h.eventCount, mergedInto: target.identifier },
      })),
    );
    await this.recordHistory(
      manager,
      {
        issueId: merged.id,
        actor: unmerge.actor,
        field: 'merged_into',
        from: target.identifier,
        to: null,
        reason: unmerge.reason,
      },
      {
        issueId: target.id,
        actor: unmerge.actor,
        field: 'unmerged',
        from: merged.identifier,
        to: null,
        reason: unmerge.reason,
        data: { eventCount: unmerge.movedEventCount },
      },
    );
    return { merged: toSnapshot(merged), target: toSnapshot(target) };
  }

  private async lockPair(
    manager: EntityManager,
    mergedId: string,
    targetId: string,
  ): Promise<{ merged: IssueEntity; target: IssueEntity }> {
    const [first, second] = mergedId < targetId ? [mergedId, targetId] : [targetId, mergedId];
    const a = await this.issues.lockById(first, manager);
    const b = first === second ? a : await this.issues.lockById(second, manager);
    const merged = first === mergedId ? a : b;
    const target = first === mergedId ? b : a;
    if (!merged) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue with id ${mergedId}`);
    if (!target) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue with id ${targetId}`);
    return { merged, target };
  }
}

export interface NewIssue {
  /** Already scrubbed of secrets. */
  title: string;
  normalizedMessage: string;
  source: string;
  feature: string;
  firstSeenAt: Date;
  lastSeenAt: Date;
  reason?: string;
  historyData?: Record<string, unknown>;
}

/**
 * An issue as the statement that counted observations on it left it: its event count, and its
 * status and spawn status at that moment (so listeners of `error.received` can tell, without a
 * query, whether the event can concern them).
 */
export interface CountedIssue {
  eventCount: number;
  status: IssueStatus;
  spawnStatus: SpawnStatus | null;
}

/** A row returned by the counting statements (`recordObservations`, `countObservationsSql`). */
export interface CountedIssueRow {
  id: string;
  event_count: string | number;
  status: string;
  spawn_status: string | null;
}

export function countedIssue(row: CountedIssueRow): CountedIssue {
  return {
    eventCount: Number(row.event_count),
    status: row.status as IssueStatus,
    spawnStatus: row.spawn_status as SpawnStatus | null,
  };
}

export interface ObservationCount {
  issueId: string;
  count: number;
  firstSeenAt: Date;
  lastSeenAt: Date;
}

export interface IssueMergeChange {
  mergedId: string;
  targetId: string;
  actor: Actor;
  rule: string;
  evidence: Record<string, unknown>;
  reason?: string;
}

export interface IssueUnmergeChange {
  mergedId: string;
  targetId: string;
  actor: Actor;
  reason?: string;
  movedEventCount: number;
  /**
   * Which issues held the restored fingerprints, and how many of their events each: taken off
   * those issues (the target, or the issue it was merged into since). Absent: all off the target.
   */
  takenFrom?: readonly { issueId: string; eventCount: number }[];
  restoredEventCount: number;
}

/** The head of every history insert: `recordHistory`'s rows, and the entry `createIssue` writes with its issue. */
const INSERT_HISTORY =
  'INSERT INTO issue_history (issue_id, actor, actor_type, field, from_value, to_value, reason, data, correlation_id)';

/** `recordObservations`' statement (one text, so it is prepared once per connection). */
const COUNT_OBSERVATIONS_SQL = `WITH v AS (
         SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS t(id, cnt, first_at, last_at)
       ), locked AS (
         SELECT i.id FROM issues i JOIN v ON v.id = i.id ORDER BY i.id FOR NO KEY UPDATE OF i
       )
       UPDATE issues i
          SET event_count = i.event_count + v.cnt,
              first_seen_at = LEAST(i.first_seen_at, v.first_at),
              last_seen_at = GREATEST(i.last_seen_at, v.last_at),
              updated_at = now()
         FROM v
        WHERE i.id = v.id AND i.id IN (SELECT id FROM locked)
       RETURNING i.id, i.event_count, i.status, i.spawn_status`;

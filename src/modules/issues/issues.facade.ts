import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { DomainError } from '../../shared/errors/domain-error';
import { currentCorrelationId } from '../../shared/logging/request-context';
import { IssueEntity } from './entities/issue.entity';
import { ActorType } from './entities/issue-history.entity';
import {
  IssueSnapshot,
  IssueStatus,
  Priority,
  assertTransition,
  escalate,
  formatPriority,
  toSnapshot,
} from './issue-status.contract';
import { IssuesRepository } from './issues.repository';

export interface Actor {
  /** e.g. `admin`, `agent:run-123`, `system:spawn-gate`. */
  name: string;
  type: ActorType;
}

/** The label an issue gets when a deployed fix did not stop the error. */
export const FIX_FAILED_LABEL = 'fix-failed';

export const SYSTEM = (component: string): Actor => ({ name: `system:${component}`, type: 'system' });

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
  constructor(private readonly issues: IssuesRepository) {}

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
    await manager.query(
      `INSERT INTO issue_history (issue_id, actor, actor_type, field, from_value, to_value, reason, data, correlation_id)
       VALUES ${rows.join(', ')}`,
      params,
    );
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
  async addLabel(manager: EntityManager, issueId: string, label: string, actor: Actor, reason: string): Promise<boolean> {
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
    });
    return true;
  }

  /** Sets the priority (1..4, P1 most urgent), with the row locked; records it. Returns the previous one. */
  async setPriority(manager: EntityManager, issueId: string, priority: Priority, actor: Actor, reason: string): Promise<number> {
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
    await this.addLabel(manager, issueId, FIX_FAILED_LABEL, actor, reason);
    const toPriority = escalate(issue.priority);
    await this.setPriority(manager, issueId, toPriority, actor, reason);
    return { fromStatus, fromPriority: issue.priority, toPriority };
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
}

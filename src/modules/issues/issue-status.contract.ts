import { DomainError } from '../../shared/errors/domain-error';

export const ISSUE_STATUSES = [
  'triage',
  'investigating',
  'needs_human',
  'in_review',
  'in_staging',
  'in_production',
  'verified',
  'closed',
] as const;
export type IssueStatus = (typeof ISSUE_STATUSES)[number];

export const SPAWN_STATUSES = ['queued', 'running', 'completed', 'failed', 'dry_run'] as const;
export type SpawnStatus = (typeof SPAWN_STATUSES)[number];

/**
 * The one table of allowed status transitions. Every change of status, by a person, an agent or
 * the system, goes through `assertTransition` and lands in the history.
 */
const TRANSITIONS: Record<IssueStatus, readonly IssueStatus[]> = {
  triage: ['investigating', 'needs_human', 'in_review', 'in_staging', 'closed'],
  investigating: ['triage', 'needs_human', 'in_review', 'in_staging', 'closed'],
  needs_human: ['triage', 'investigating', 'in_review', 'in_staging', 'closed'],
  in_review: ['triage', 'investigating', 'needs_human', 'in_staging', 'in_production', 'closed'],
  in_staging: ['triage', 'in_review', 'needs_human', 'in_production', 'closed'],
  in_production: ['triage', 'in_staging', 'verified', 'closed'],
  verified: ['triage', 'closed'],
  closed: ['triage'],
};

export function canTransition(from: IssueStatus, to: IssueStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function allowedTransitions(from: IssueStatus): readonly IssueStatus[] {
  return TRANSITIONS[from];
}

export function assertTransition(from: IssueStatus, to: IssueStatus): void {
  if (!canTransition(from, to)) {
    throw new DomainError(
      'conflict',
      'ISSUE_INVALID_TRANSITION',
      `An issue cannot move from ${from} to ${to}; from ${from} it may move to: ${TRANSITIONS[from].join(', ')}`,
    );
  }
}

export function isIssueStatus(value: string): value is IssueStatus {
  return (ISSUE_STATUSES as readonly string[]).includes(value);
}

/** P1 is the most urgent. Stored as 1..4. */
export type Priority = 1 | 2 | 3 | 4;
export const formatPriority = (p: number): string => `P${p}`;
export function parsePriority(value: string): Priority {
  const m = /^P([1-4])$/.exec(value);
  if (!m)
    throw new DomainError('invalid', 'ISSUE_INVALID_PRIORITY', `priority must be one of P1, P2, P3, P4 (got ${value})`);
  return Number(m[1]) as Priority;
}
/** One step more urgent, never beyond P1. */
export const escalate = (p: number): Priority => Math.max(1, p - 1) as Priority;

/** What other modules see of an issue: plain data, never the ORM entity. */
export interface IssueSnapshot {
  id: string;
  identifier: string;
  title: string;
  description: string | null;
  status: IssueStatus;
  priority: number;
  labels: string[];
  source: string;
  feature: string;
  normalizedMessage: string;
  firstSeenAt: Date;
  lastSeenAt: Date;
  eventCount: number;
  spawnStatus: SpawnStatus | null;
  cooldownUntil: Date | null;
  cooldownHours: number | null;
  mergedIntoId: string | null;
  createdAt: Date;
}

export function toSnapshot(i: IssueSnapshot): IssueSnapshot {
  return {
    id: i.id,
    identifier: i.identifier,
    title: i.title,
    description: i.description,
    status: i.status,
    priority: i.priority,
    labels: [...i.labels],
    source: i.source,
    feature: i.feature,
    normalizedMessage: i.normalizedMessage,
    firstSeenAt: i.firstSeenAt,
    lastSeenAt: i.lastSeenAt,
    eventCount: i.eventCount,
    spawnStatus: i.spawnStatus,
    cooldownUntil: i.cooldownUntil,
    cooldownHours: i.cooldownHours,
    mergedIntoId: i.mergedIntoId,
    createdAt: i.createdAt,
  };
}

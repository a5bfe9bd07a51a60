import { DomainEvent } from './domain-event';

/** An observation was stored against an issue (new or known fingerprint). */
export class ErrorReceived extends DomainEvent {
  constructor(
    readonly issueId: string,
    readonly fingerprint: string,
    /** The issue's event count after this observation. */
    readonly eventCount: number,
    /** The observation's own timestamp (the log line's), not when fixloop received it. */
    readonly observedAt: Date,
    readonly count: number,
    readonly version?: string,
    /**
     * The issue as the counting statement left it: its status and spawn status then. Listeners
     * use it to skip events that cannot concern them without a query; absent means unknown.
     */
    readonly issue?: { status: string; spawnStatus: string | null },
  ) {
    super();
  }
}

/** A new fingerprint became a new issue. */
export class IssueCreated extends DomainEvent {
  constructor(
    readonly issueId: string,
    readonly identifier: string,
    readonly fingerprint: string,
    readonly source: string,
    readonly feature: string,
    /**
     * The issue's event count when the transaction that created it committed (its first
     * observations); absent means unknown. Listeners use it to skip, without a query, what an
     * issue with so few events cannot concern yet (later `error.received` events carry the count).
     */
    readonly eventCount?: number,
  ) {
    super();
  }
}

/** Issues were merged: the merged issue's fingerprints now point at the target. */
export class IssuesMerged extends DomainEvent {
  constructor(
    readonly targetIssueId: string,
    readonly mergedIssueId: string,
    readonly rule: string,
    readonly actor: string,
  ) {
    super();
  }
}

/** A spawn request row was queued for an issue (the row is the durable record; this is a nudge). */
export class SpawnRequested extends DomainEvent {
  constructor(
    readonly issueId: string,
    readonly spawnRequestId: string,
    readonly notBefore: Date,
  ) {
    super();
  }
}

/** An investigation ended (success or failure) and its fingerprints enter cooldown. */
export class InvestigationEnded extends DomainEvent {
  constructor(
    readonly issueId: string,
    readonly spawnRequestId: string,
    readonly outcome: 'completed' | 'failed' | 'timed_out',
    readonly reason?: string,
  ) {
    super();
  }
}

/** An issue moved from one status to another (validated transition, recorded in history). */
export class IssueStatusChanged extends DomainEvent {
  constructor(
    readonly issueId: string,
    readonly from: string,
    readonly to: string,
    readonly actor: string,
    readonly reason?: string,
  ) {
    super();
  }
}

/** A PR was linked to an issue by identifier, embeddings, the LLM judge or a person. */
export class PullRequestLinked extends DomainEvent {
  constructor(
    readonly issueId: string,
    readonly issuePrId: string,
    readonly prNumber: number,
    readonly method: 'identifier' | 'semantic' | 'llm' | 'manual',
  ) {
    super();
  }
}

/** A fix reached production: verification starts watching the issue's fingerprints. */
export class FixDeployed extends DomainEvent {
  constructor(
    readonly issueId: string,
    readonly deploymentId: string,
    readonly deployedAt: Date,
    readonly version?: string,
    readonly sha?: string,
    readonly issuePrId?: string,
  ) {
    super();
  }
}

/** The verification window closed clean. */
export class FixVerified extends DomainEvent {
  constructor(
    readonly issueId: string,
    readonly windowId: string,
  ) {
    super();
  }
}

/** The error recurred from a build that contains the fix: the issue reopened and escalated. */
export class FixFailed extends DomainEvent {
  constructor(
    readonly issueId: string,
    readonly windowId: string,
    readonly priority: number,
  ) {
    super();
  }
}

/** GitHub reported a workflow run (webhook `workflow_run`); the spawn module closes runs by it. */
export class WorkflowRunReported extends DomainEvent {
  constructor(
    readonly runId: string,
    readonly runName: string | null,
    readonly workflowId: string | null,
    readonly status: string,
    readonly conclusion: string | null,
    readonly htmlUrl: string | null,
    readonly updatedAt: Date,
  ) {
    super();
  }
}

/**
 * A deployment was recorded (GitHub `deployment_status` or POST /api/deployments); the deployments
 * module works out which merged PRs it carried. The row is the durable record; this is a nudge.
 */
export class DeploymentRecorded extends DomainEvent {
  constructor(
    readonly deploymentId: string,
    readonly source: string,
    readonly environment: string,
  ) {
    super();
  }
}

/**
 * A linked PR was merged (webhook). The deployments module checks whether a production deploy it
 * already processed carried it (a deploy reported before the merge webhook arrived).
 */
export class PullRequestMerged extends DomainEvent {
  constructor(
    readonly issuePrId: string,
    readonly issueId: string,
    readonly repo: string,
    readonly prNumber: number,
    readonly mergeCommitSha: string | null,
  ) {
    super();
  }
}

/**
 * The catalogue: event name -> payload class. `DomainEventBus.emit` and `@OnDomainEvent` are typed
 * by it, so emitting the wrong payload does not compile.
 */
export interface EventMap {
  'error.received': ErrorReceived;
  'issue.created': IssueCreated;
  'issues.merged': IssuesMerged;
  'spawn.requested': SpawnRequested;
  'investigation.ended': InvestigationEnded;
  'issue.status_changed': IssueStatusChanged;
  'pull_request.linked': PullRequestLinked;
  'fix.deployed': FixDeployed;
  'fix.verified': FixVerified;
  'fix.failed': FixFailed;
  'workflow_run.reported': WorkflowRunReported;
  'deployment.recorded': DeploymentRecorded;
  'pull_request.merged': PullRequestMerged;
}

export type EventName = keyof EventMap;

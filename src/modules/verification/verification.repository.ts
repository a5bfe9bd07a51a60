import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { absorbedCte } from '../../shared/database/merge-chain.sql';
import { GroupingScope, lockScopes } from '../../shared/database/scope-lock';

/** A verification window row (plain data). */
/** A failed window as an undone merge reads it (`VerificationFacade.failedWindows`). */
export interface FailedWindowRow {
  windowId: string;
  /** The issue whose window it is (which got the `fix-failed` label and the priority step). */
  issueId: string;
  deploymentId: string | null;
  /** The window's decision reason: also the reason of the label and priority history entries it wrote. */
  decisionReason: string;
  /** The fingerprint of the recurrence that failed it (null when none was recorded). */
  fingerprint: string | null;
  failedPr: unknown;
  /** That fingerprint is held now by one of the issues asked about. */
  heldByHolders: boolean;
}

export interface VerificationWindow {
  id: string;
  issueId: string;
  deploymentId: string | null;
  issuePrId: string | null;
  fingerprints: string[];
  source: string;
  feature: string;
  normalizedMessage: string;
  deployedAt: Date;
  deployedVersion: string | null;
  deployedSha: string | null;
  endsAt: Date;
  state: 'watching' | 'verified' | 'failed' | 'cancelled';
  recurrenceCount: number;
  oldBuildCount: number;
  lokiRecurrenceCount: number;
  lokiOldBuildCount: number;
  firstRecurrenceAt: Date | null;
  lokiCheckedUntil: Date | null;
  lokiCheckedAt: Date | null;
  lokiLastError: string | null;
  lastCheckedAt: Date | null;
  decidedAt: Date | null;
  decisionReason: string | null;
  recurrenceEvidence: Record<string, unknown> | null;
}

/** What opening a window takes: its identity, what it watches and until when. */
export type NewWindow = Pick<
  VerificationWindow,
  | 'issueId'
  | 'deploymentId'
  | 'issuePrId'
  | 'fingerprints'
  | 'source'
  | 'feature'
  | 'normalizedMessage'
  | 'deployedAt'
  | 'deployedVersion'
  | 'deployedSha'
  | 'endsAt'
>;

/** One fingerprint the issue owns, with the scope and template it was computed from. */
export interface IssueFingerprint {
  fingerprint: string;
  source: string | null;
  feature: string | null;
  normalizedMessage: string | null;
}

export interface DeploymentRef {
  id: string;
  environment: string;
  deployedAt: Date;
  version: string | null;
  sha: string | null;
}

export interface EventTally {
  version: string | null;
  count: number;
  firstAt: Date;
}

export interface MissingWindow {
  issueId: string;
  deploymentId: string | null;
  issuePrId: string | null;
  deployedAt: Date;
  version: string | null;
  sha: string | null;
}

export interface PrRef {
  id: string;
  repoOwner: string;
  repoName: string;
  prNumber: number;
  url: string | null;
  title: string;
  attempt: number;
  mergeCommitSha: string | null;
}

const WINDOW_COLUMNS = `
  id, issue_id AS "issueId", deployment_id AS "deploymentId", issue_pr_id AS "issuePrId", fingerprints,
  source, feature, normalized_message AS "normalizedMessage", deployed_at AS "deployedAt",
  deployed_version AS "deployedVersion", deployed_sha AS "deployedSha", ends_at AS "endsAt", state,
  recurrence_count AS "recurrenceCount", old_build_count AS "oldBuildCount",
  loki_recurrence_count AS "lokiRecurrenceCount", loki_old_build_count AS "lokiOldBuildCount",
  first_recurrence_at AS "firstRecurrenceAt", loki_checked_until AS "lokiCheckedUntil",
  loki_checked_at AS "lokiCheckedAt", loki_last_error AS "lokiLastError", last_checked_at AS "lastCheckedAt", decided_at AS "decidedAt",
  decision_reason AS "decisionReason", recurrence_evidence AS "recurrenceEvidence"`;

/**
 * Verification windows, and the reads verification needs from the tables it watches
 * (error_events, external_issue_links, deployments, issue_prs). Only the verification module uses it.
 */
@Injectable()
export class VerificationRepository {
  constructor(private readonly dataSource: DataSource) {}

  private m(manager?: EntityManager): EntityManager {
    return manager ?? this.dataSource.manager;
  }

  /**
   * Opens a watching window unless the issue already has one watching (unique partial index) or
   * already had a window for this deployment that was decided (verified or failed; a cancelled one
   * does not count: the issue may come back to production). Returns the new id, or null.
   */
  async openWindow(w: NewWindow, manager?: EntityManager): Promise<string | null> {
    const rows = (await this.m(manager).query(
      `INSERT INTO verification_windows
         (issue_id, deployment_id, issue_pr_id, fingerprints, source, feature, normalized_message,
          deployed_at, deployed_version, deployed_sha, ends_at)
       SELECT $1, $2, $3, $4::text[], $5, $6, $7, $8, $9, $10, $11
       WHERE NOT EXISTS (
         SELECT 1 FROM verification_windows
         WHERE issue_id = $1 AND state <> 'cancelled' AND deployment_id IS NOT DISTINCT FROM $2::uuid
           AND ($2::uuid IS NOT NULL OR deployed_at = $8))
       ON CONFLICT (issue_id) WHERE state = 'watching' DO NOTHING
       RETURNING id`,
      [
        w.issueId,
        w.deploymentId,
        w.issuePrId,
        w.fingerprints,
        w.source,
        w.feature,
        w.normalizedMessage,
        w.deployedAt,
        w.deployedVersion,
        w.deployedSha,
        w.endsAt,
      ],
    )) as { id: string }[];
    return rows[0]?.id ?? null;
  }

  /** Of `deploymentIds`, those a verified or failed window of one of `issueIds` was for. */
  async decidedDeployments(
    manager: EntityManager,
    issueIds: readonly string[],
    deploymentIds: readonly string[],
  ): Promise<Set<string>> {
    if (issueIds.length === 0 || deploymentIds.length === 0) return new Set();
    const rows = (await manager.query(
      `SELECT DISTINCT deployment_id FROM verification_windows
        WHERE issue_id = ANY($1::uuid[]) AND deployment_id = ANY($2::uuid[]) AND state IN ('verified', 'failed')`,
      [[...new Set(issueIds)], [...new Set(deploymentIds)]],
    )) as { deployment_id: string }[];
    return new Set(rows.map((r) => r.deployment_id));
  }

  /**
   * The failed windows of these issues, oldest decision first, each saying whether the recurrence
   * that failed it (`recurrence_evidence.fingerprint`) is a fingerprint `holderIds` hold now.
   */
  async failedWindows(
    manager: EntityManager,
    issueIds: readonly string[],
    holderIds: readonly string[],
  ): Promise<FailedWindowRow[]> {
    if (issueIds.length === 0) return [];
    const rows = (await manager.query(
      `SELECT w.id, w.issue_id, w.deployment_id, w.decision_reason, w.recurrence_evidence,
              COALESCE(w.recurrence_evidence->>'fingerprint' IN (
                SELECT external_id FROM external_issue_links WHERE issue_id = ANY($2::uuid[]) AND link_kind <> 'external'
              ), false) AS held
         FROM verification_windows w
        WHERE w.issue_id = ANY($1::uuid[]) AND w.state = 'failed'
        ORDER BY w.decided_at, w.id`,
      [[...new Set(issueIds)], [...new Set(holderIds)]],
    )) as {
      id: string;
      issue_id: string;
      deployment_id: string | null;
      decision_reason: string | null;
      recurrence_evidence: Record<string, unknown> | null;
      held: boolean;
    }[];
    return rows.map((r) => ({
      windowId: r.id,
      issueId: r.issue_id,
      deploymentId: r.deployment_id,
      decisionReason: r.decision_reason ?? '',
      fingerprint: typeof r.recurrence_evidence?.fingerprint === 'string' ? r.recurrence_evidence.fingerprint : null,
      failedPr: r.recurrence_evidence?.failedPr ?? null,
      heldByHolders: r.held,
    }));
  }

  async findWatchingByIssue(issueId: string, manager?: EntityManager): Promise<VerificationWindow | null> {
    const rows = (await this.m(manager).query(
      `SELECT ${WINDOW_COLUMNS} FROM verification_windows WHERE issue_id = $1 AND state = 'watching'`,
      [issueId],
    )) as VerificationWindow[];
    return rows[0] ?? null;
  }

  async findById(id: string, manager?: EntityManager): Promise<VerificationWindow | null> {
    const rows = (await this.m(manager).query(`SELECT ${WINDOW_COLUMNS} FROM verification_windows WHERE id = $1`, [
      id,
    ])) as VerificationWindow[];
    return rows[0] ?? null;
  }

  async listByIssue(issueId: string, manager?: EntityManager): Promise<VerificationWindow[]> {
    return (await this.m(manager).query(
      `SELECT ${WINDOW_COLUMNS} FROM verification_windows WHERE issue_id = $1 ORDER BY created_at, id`,
      [issueId],
    )) as VerificationWindow[];
  }

  /** Locks a watching window for the caller's transaction; null when decided or held by another replica. */
  async lockWatching(id: string, manager: EntityManager): Promise<VerificationWindow | null> {
    const rows = (await manager.query(
      `SELECT ${WINDOW_COLUMNS} FROM verification_windows WHERE id = $1 AND state = 'watching' FOR UPDATE SKIP LOCKED`,
      [id],
    )) as VerificationWindow[];
    return rows[0] ?? null;
  }

  /** Watching windows, least recently checked first. */
  async watchingIds(limit: number): Promise<string[]> {
    const rows = (await this.m().query(
      `SELECT id FROM verification_windows WHERE state = 'watching'
       ORDER BY last_checked_at NULLS FIRST, ends_at LIMIT $1`,
      [limit],
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /** Watching windows that cover an issue or a fingerprint (ErrorReceived fast path). */
  async watchingIdsFor(issueId: string, fingerprint: string): Promise<string[]> {
    const rows = (await this.m().query(
      `SELECT id FROM verification_windows WHERE state = 'watching' AND (issue_id = $1 OR $2 = ANY(fingerprints))`,
      [issueId, fingerprint],
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /** Every fingerprint the issue owns (primary, aliases from merges, manual links). */
  async fingerprintsOfIssue(issueId: string, manager?: EntityManager): Promise<IssueFingerprint[]> {
    return (await this.m(manager).query(
      `SELECT external_id AS fingerprint, scope_source AS source, scope_feature AS feature,
              normalized_message AS "normalizedMessage"
       FROM external_issue_links WHERE issue_id = $1 AND link_kind <> 'external' ORDER BY created_at, id`,
      [issueId],
    )) as IssueFingerprint[];
  }

  /**
   * Which of these fingerprints another issue holds now (an undone merge gave them back to the
   * issue they came from), with that issue's identifier.
   */
  async heldByOtherIssues(
    fingerprints: string[],
    issueId: string,
    manager?: EntityManager,
  ): Promise<{ fingerprint: string; identifier: string }[]> {
    if (fingerprints.length === 0) return [];
    return (await this.m(manager).query(
      `SELECT l.external_id AS fingerprint, i.identifier
         FROM external_issue_links l JOIN issues i ON i.id = l.issue_id
        WHERE l.external_id = ANY($1::text[]) AND l.link_kind <> 'external' AND l.issue_id <> $2`,
      [fingerprints, issueId],
    )) as { fingerprint: string; identifier: string }[];
  }

  /**
   * Shares the scope locks of the fingerprints a window watches until the transaction ends. A merge
   * or its undo holds them exclusively while it moves fingerprints between issues, so a check sees
   * the issue's fingerprints wholly before or wholly after it: never a recurrence of an error that an
   * undo is giving back counted against this window after the undo has handed over its failures.
   */
  async shareScopeLocks(fingerprints: string[], manager: EntityManager): Promise<void> {
    if (fingerprints.length === 0) return;
    const scopes = (await this.scopesOf(fingerprints, manager)).filter(
      (s): s is IssueFingerprint & GroupingScope => s.source !== null && s.feature !== null,
    );
    await lockScopes(manager, scopes, 'shared');
  }

  async scopesOf(fingerprints: string[], manager?: EntityManager): Promise<IssueFingerprint[]> {
    return (await this.m(manager).query(
      `SELECT external_id AS fingerprint, scope_source AS source, scope_feature AS feature,
              normalized_message AS "normalizedMessage"
       FROM external_issue_links WHERE external_id = ANY($1::text[]) AND link_kind <> 'external'`,
      [fingerprints],
    )) as IssueFingerprint[];
  }

  async deployment(id: string, manager?: EntityManager): Promise<DeploymentRef | null> {
    const rows = (await this.m(manager).query(
      `SELECT id, environment, deployed_at AS "deployedAt", version, sha FROM deployments WHERE id = $1`,
      [id],
    )) as DeploymentRef[];
    return rows[0] ?? null;
  }

  /** Production deployments at or after a time: every build they shipped contains the fix. */
  async productionBuildsSince(environment: string, since: Date, manager?: EntityManager): Promise<DeploymentRef[]> {
    return (await this.m(manager).query(
      `SELECT id, environment, deployed_at AS "deployedAt", version, sha FROM deployments
       WHERE environment = $1 AND deployed_at >= $2 ORDER BY deployed_at LIMIT 200`,
      [environment, since],
    )) as DeploymentRef[];
  }

  /**
   * fixloop's own events for the fingerprints, stamped (by the log line) within [from, to],
   * summed per version label. Recounted on every check: idempotent, and blind to the order in
   * which concurrent ingest transactions commit.
   */
  async tallyEvents(fingerprints: string[], from: Date, to: Date, manager?: EntityManager): Promise<EventTally[]> {
    const rows = (await this.m(manager).query(
      `SELECT version, SUM(count)::bigint AS n, MIN(occurred_at) AS "firstAt"
       FROM error_events
       WHERE fingerprint = ANY($1::text[]) AND occurred_at >= $2 AND occurred_at <= $3
       GROUP BY version`,
      [fingerprints, from, to],
    )) as { version: string | null; n: string; firstAt: Date }[];
    return rows.map((r) => ({ version: r.version, count: Number(r.n), firstAt: new Date(r.firstAt) }));
  }

  /** A sample event of a version (for the evidence of a failed fix). */
  async sampleEvent(
    fingerprints: string[],
    version: string | null,
    from: Date,
    to: Date,
    manager?: EntityManager,
  ): Promise<{ id: string; occurredAt: Date; message: string; fingerprint: string } | null> {
    const rows = (await this.m(manager).query(
      `SELECT id::text AS id, occurred_at AS "occurredAt", message, fingerprint FROM error_events
       WHERE fingerprint = ANY($1::text[]) AND version IS NOT DISTINCT FROM $2 AND occurred_at >= $3 AND occurred_at <= $4
       ORDER BY occurred_at LIMIT 1`,
      [fingerprints, version, from, to],
    )) as { id: string; occurredAt: Date; message: string; fingerprint: string }[];
    return rows[0] ?? null;
  }

  async setFingerprints(id: string, fingerprints: string[], manager: EntityManager): Promise<void> {
    await manager.query(`UPDATE verification_windows SET fingerprints = $2::text[], updated_at = now() WHERE id = $1`, [
      id,
      fingerprints,
    ]);
  }

  async updateProgress(
    id: string,
    fields: {
      recurrenceCount: number;
      oldBuildCount: number;
      lokiOldBuildCount: number;
      lokiCheckedUntil: Date | null;
      lokiCheckedAt: Date | null;
      lokiLastError: string | null;
      lastCheckedAt: Date;
    },
    manager: EntityManager,
  ): Promise<void> {
    await manager.query(
      `UPDATE verification_windows SET recurrence_count = $2, old_build_count = $3, loki_old_build_count = $4,
         loki_checked_until = $5, loki_checked_at = $6, loki_last_error = $7, last_checked_at = $8, updated_at = now()
       WHERE id = $1`,
      [
        id,
        fields.recurrenceCount,
        fields.oldBuildCount,
        fields.lokiOldBuildCount,
        fields.lokiCheckedUntil,
        fields.lokiCheckedAt,
        fields.lokiLastError,
        fields.lastCheckedAt,
      ],
    );
  }

  async decide(
    id: string,
    state: 'verified' | 'failed' | 'cancelled',
    reason: string,
    at: Date,
    manager: EntityManager,
    evidence?: {
      recurrenceCount: number;
      lokiRecurrenceCount: number;
      firstRecurrenceAt: Date | null;
      recurrenceEvidence: Record<string, unknown> | null;
    },
  ): Promise<void> {
    await manager.query(
      `UPDATE verification_windows SET state = $2, decision_reason = $3, decided_at = $4, last_checked_at = $4,
         recurrence_count = COALESCE($5, recurrence_count), loki_recurrence_count = COALESCE($6, loki_recurrence_count),
         first_recurrence_at = COALESCE($7, first_recurrence_at),
         recurrence_evidence = COALESCE($8::jsonb, recurrence_evidence), updated_at = now()
       WHERE id = $1`,
      [
        id,
        state,
        reason,
        at,
        evidence?.recurrenceCount ?? null,
        evidence?.lokiRecurrenceCount ?? null,
        evidence?.firstRecurrenceAt ?? null,
        evidence?.recurrenceEvidence ? JSON.stringify(evidence.recurrenceEvidence) : null,
      ],
    );
  }

  async pullRequest(id: string, manager?: EntityManager): Promise<PrRef | null> {
    const rows = (await this.m(manager).query(
      `SELECT id, repo_owner AS "repoOwner", repo_name AS "repoName", pr_number AS "prNumber", url, title, attempt,
              merge_commit_sha AS "mergeCommitSha"
       FROM issue_prs WHERE id = $1`,
      [id],
    )) as PrRef[];
    return rows[0] ?? null;
  }

  /** The issue's most recently merged PR (the fix being deployed), if any. */
  async latestMergedPr(issueId: string, manager?: EntityManager): Promise<PrRef | null> {
    const rows = (await this.m(manager).query(
      `SELECT id, repo_owner AS "repoOwner", repo_name AS "repoName", pr_number AS "prNumber", url, title, attempt,
              merge_commit_sha AS "mergeCommitSha"
       FROM issue_prs WHERE issue_id = $1 AND state = 'merged'
       ORDER BY merged_at DESC NULLS LAST, created_at DESC LIMIT 1`,
      [issueId],
    )) as PrRef[];
    return rows[0] ?? null;
  }

  async insertOutbox(eventName: string, payload: Record<string, unknown>, manager: EntityManager): Promise<void> {
    await manager.query(`INSERT INTO outbox_events (event_name, payload) VALUES ($1, $2::jsonb)`, [
      eventName,
      JSON.stringify(payload),
    ]);
  }

  /**
   * Issues in production that verification is not watching for their latest fix (the FixDeployed
   * event is in-process and can be lost in a crash). The deployment that shipped the fix is found
   * from the most recently merged PR of the issue or of an issue merged into it (A into B, B into C:
   * both count for C; their PRs move C, see docs/lifecycle.md): the earliest production deployment that lists the PR
   * (`deployments.pr_numbers`), whose sha is the merge commit (or a 7+ char prefix of it), or that
   * the lifecycle module recorded on the PR (`issue_prs.deployment_id`).
   * Without one, the window starts when the issue entered `in_production` (its history), with no
   * deployment and no build to compare versions against.
   */
  async inProductionWithoutWindow(environment: string, limit: number): Promise<MissingWindow[]> {
    return (await this.m().query(
      `SELECT i.id AS "issueId", d.id AS "deploymentId", p.id AS "issuePrId",
              COALESCE(d.deployed_at, h.at, i.updated_at) AS "deployedAt", d.version, d.sha
       FROM issues i
       LEFT JOIN LATERAL (
         WITH RECURSIVE ${absorbedCte('family', 'i.id', { includeRoot: true })}
         SELECT * FROM issue_prs p WHERE p.issue_id IN (SELECT id FROM family) AND p.state = 'merged'
         ORDER BY p.merged_at DESC NULLS LAST, p.created_at DESC LIMIT 1) p ON true
       LEFT JOIN LATERAL (
         SELECT d.* FROM deployments d
         WHERE p.id IS NOT NULL AND d.environment = $1
           AND (p.pr_number = ANY(d.pr_numbers)
                OR (p.merge_commit_sha IS NOT NULL AND d.sha IS NOT NULL AND length(d.sha) >= 7
                    AND (p.merge_commit_sha = d.sha OR starts_with(p.merge_commit_sha, d.sha)))
                OR d.id = p.deployment_id)
         ORDER BY d.deployed_at ASC LIMIT 1) d ON true
       LEFT JOIN LATERAL (
         SELECT at FROM issue_history WHERE issue_id = i.id AND field = 'status' AND to_value = 'in_production'
         ORDER BY id DESC LIMIT 1) h ON true
       WHERE i.status = 'in_production' AND i.merged_into_id IS NULL
         AND NOT EXISTS (
           SELECT 1 FROM verification_windows w
           WHERE w.issue_id = i.id AND w.state <> 'cancelled'
             AND (w.state = 'watching'
                  OR (d.id IS NOT NULL AND w.deployment_id = d.id)
                  OR (d.id IS NULL AND w.deployed_at >= COALESCE(h.at, i.updated_at))))
       ORDER BY i.updated_at LIMIT $2`,
      [environment, limit],
    )) as MissingWindow[];
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  AgentActivityView,
  ErrorEventView,
  FingerprintView,
  IssuePrView,
  IssueSpawnRequestView,
} from './dto/issue-detail.views';

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());
const isoReq = (d: Date | string): string => new Date(d).toISOString();
const numOrNull = (v: string | number | null): number | null => (v === null ? null : Number(v));

/**
 * Read-only views for the issue detail page over tables other modules write: fingerprints and
 * merges (dedup), event samples (ingest), agent activity and spawn requests (spawn), PR links
 * (matching). Display only: nothing here writes, and no other module reads through it. Reading
 * them here saves five round trips through five facades for one page; the cost is that a column
 * rename in those tables must be mirrored here (the integration tests cover every view).
 */
@Injectable()
export class IssueViewsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * The fingerprints the issue holds, and those first grouped into it that a merge moved to another
   * issue (`heldBy`): a merged issue still shows how its fingerprints were grouped and where they went.
   */
  async fingerprints(issueId: string): Promise<FingerprintView[]> {
    const rows = (await this.dataSource.query(
      `SELECT l.external_id, l.source, l.link_kind, l.grouping_rule, l.grouping_evidence, l.normalized_message,
              l.event_count, l.first_seen_at, l.last_seen_at,
              CASE WHEN l.original_issue_id <> l.issue_id THEN o.identifier END AS original_identifier,
              CASE WHEN l.issue_id <> $1 THEN h.identifier END AS holder_identifier
         FROM external_issue_links l JOIN issues o ON o.id = l.original_issue_id JOIN issues h ON h.id = l.issue_id
        WHERE l.issue_id = $1 OR l.original_issue_id = $1
        ORDER BY l.first_seen_at, l.id`,
      [issueId],
    )) as {
      external_id: string;
      source: string;
      link_kind: string;
      grouping_rule: string;
      grouping_evidence: Record<string, unknown> | null;
      normalized_message: string | null;
      event_count: string;
      first_seen_at: Date;
      last_seen_at: Date;
      original_identifier: string | null;
      holder_identifier: string | null;
    }[];
    return rows.map((r) => ({
      externalId: r.external_id,
      source: r.source,
      linkKind: r.link_kind,
      groupingRule: r.grouping_rule,
      groupingEvidence: r.grouping_evidence,
      normalizedMessage: r.normalized_message,
      originalIssue: r.original_identifier,
      heldBy: r.holder_identifier,
      eventCount: Number(r.event_count),
      firstSeenAt: isoReq(r.first_seen_at),
      lastSeenAt: isoReq(r.last_seen_at),
    }));
  }

  async recentEvents(issueId: string, limit = 20): Promise<ErrorEventView[]> {
    const rows = (await this.dataSource.query(
      `SELECT id, fingerprint, occurred_at, received_at, count, level, version, labels, message, stack, ingest_kind
         FROM error_events WHERE issue_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2`,
      [issueId, limit],
    )) as {
      id: string;
      fingerprint: string;
      occurred_at: Date;
      received_at: Date;
      count: number;
      level: string | null;
      version: string | null;
      labels: Record<string, unknown>;
      message: string;
      stack: string | null;
      ingest_kind: string;
    }[];
    return rows.map((r) => ({
      id: String(r.id),
      fingerprint: r.fingerprint,
      occurredAt: isoReq(r.occurred_at),
      receivedAt: isoReq(r.received_at),
      count: Number(r.count),
      level: r.level,
      version: r.version,
      labels: r.labels ?? {},
      message: r.message,
      stack: r.stack,
      ingestKind: r.ingest_kind,
    }));
  }

  async agentActivity(issueId: string, limit = 200): Promise<AgentActivityView[]> {
    const rows = (await this.dataSource.query(
      `SELECT * FROM (
         SELECT id, spawn_request_id, type, message, data, at FROM agent_activity WHERE issue_id = $1 ORDER BY id DESC LIMIT $2
       ) newest ORDER BY id`,
      [issueId, limit],
    )) as {
      id: string;
      spawn_request_id: string | null;
      type: string;
      message: string;
      data: Record<string, unknown> | null;
      at: Date;
    }[];
    return rows.map((r) => ({
      id: String(r.id),
      spawnRequestId: r.spawn_request_id,
      type: r.type,
      message: r.message,
      data: r.data,
      at: isoReq(r.at),
    }));
  }

  async pullRequests(issueId: string): Promise<IssuePrView[]> {
    const rows = (await this.dataSource.query(
      `SELECT id, repo_owner, repo_name, pr_number, title, url, head_branch, base_branch, state, merged_at, merge_commit_sha,
              deployed_at, reverted_by_pr, match_method, match_score, match_evidence, created_at
         FROM issue_prs WHERE issue_id = $1 ORDER BY created_at, id`,
      [issueId],
    )) as {
      id: string;
      repo_owner: string;
      repo_name: string;
      pr_number: number;
      title: string;
      url: string | null;
      head_branch: string | null;
      base_branch: string | null;
      state: string;
      merged_at: Date | null;
      merge_commit_sha: string | null;
      deployed_at: Date | null;
      reverted_by_pr: number | null;
      match_method: string;
      match_score: number | null;
      match_evidence: Record<string, unknown> | null;
      created_at: Date;
    }[];
    return rows.map((r) => ({
      id: r.id,
      repo: `${r.repo_owner}/${r.repo_name}`,
      number: Number(r.pr_number),
      title: r.title,
      url: r.url,
      headBranch: r.head_branch,
      baseBranch: r.base_branch,
      state: r.state,
      mergedAt: iso(r.merged_at),
      mergeCommitSha: r.merge_commit_sha,
      deployedAt: iso(r.deployed_at),
      revertedByPr: r.reverted_by_pr,
      matchMethod: r.match_method,
      matchScore: numOrNull(r.match_score),
      matchEvidence: r.match_evidence,
      linkedAt: isoReq(r.created_at),
    }));
  }

  async spawnHistory(issueId: string): Promise<IssueSpawnRequestView[]> {
    const rows = (await this.dataSource.query(
      `SELECT id, state, attempt, requested_by, reason, held_reason, run_id, run_url, dispatched_at, finished_at, cost_usd,
              summary, error, created_at
         FROM spawn_requests WHERE issue_id = $1 ORDER BY created_at, id`,
      [issueId],
    )) as {
      id: string;
      state: string;
      attempt: number;
      requested_by: string;
      reason: string | null;
      held_reason: string | null;
      run_id: string | null;
      run_url: string | null;
      dispatched_at: Date | null;
      finished_at: Date | null;
      cost_usd: string | null;
      summary: string | null;
      error: string | null;
      created_at: Date;
    }[];
    return rows.map((r) => ({
      id: r.id,
      state: r.state,
      attempt: Number(r.attempt),
      requestedBy: r.requested_by,
      reason: r.reason,
      heldReason: r.held_reason,
      runId: r.run_id,
      runUrl: r.run_url,
      dispatchedAt: iso(r.dispatched_at),
      finishedAt: iso(r.finished_at),
      costUsd: numOrNull(r.cost_usd),
      summary: r.summary,
      error: r.error,
      createdAt: isoReq(r.created_at),
    }));
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { MatchStepReport, ProposedLink, PullRequestFacts, UndeployedLink } from './matching.contract';

export interface IssuePrRow {
  id: string;
  issueId: string;
  repoOwner: string;
  repoName: string;
  prNumber: number;
  title: string;
  state: 'open' | 'closed' | 'merged' | 'reverted';
  baseBranch: string | null;
  mergeCommitSha: string | null;
  matchMethod: string;
  deployedAt: Date | null;
}

interface RawIssuePr {
  id: string;
  issue_id: string;
  repo_owner: string;
  repo_name: string;
  pr_number: number;
  title: string;
  state: IssuePrRow['state'];
  base_branch: string | null;
  merge_commit_sha: string | null;
  match_method: string;
  deployed_at: Date | null;
  merged_at?: Date | null;
}

const COLUMNS = `id, issue_id, repo_owner, repo_name, pr_number, title, state, base_branch, merge_commit_sha, match_method, deployed_at, merged_at`;

function toRow(r: RawIssuePr): IssuePrRow {
  return {
    id: r.id,
    issueId: r.issue_id,
    repoOwner: r.repo_owner,
    repoName: r.repo_name,
    prNumber: Number(r.pr_number),
    title: r.title,
    state: r.state,
    baseBranch: r.base_branch,
    mergeCommitSha: r.merge_commit_sha,
    matchMethod: r.match_method,
    deployedAt: r.deployed_at,
  };
}

/** A link that carries a fix (open or merged), as `fixLinksOfIssues` reads it. */
export interface FixLink {
  issuePrId: string;
  issueId: string;
  /** `owner/repo#n` */
  ref: string;
  state: 'open' | 'merged';
  baseBranch: string | null;
  /** Set when a production deploy carried the merged PR. */
  deployedAt: Date | null;
  deploymentId: string | null;
}

/** issue_prs (links between issues and PRs) and pr_match_runs. Only the matching module uses it. */
@Injectable()
export class IssueLinksRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Inserts the link unless it exists; returns the new row's id, or null when it existed. */
  async insertLink(m: EntityManager, pr: PullRequestFacts, link: ProposedLink): Promise<string | null> {
    const rows = (await m.query(
      `INSERT INTO issue_prs (issue_id, repo_owner, repo_name, pr_number, title, body, url, head_branch, base_branch,
                              head_sha, state, merged_at, merge_commit_sha, match_method, match_score, match_evidence)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::jsonb)
       ON CONFLICT (issue_id, repo_owner, repo_name, pr_number) DO NOTHING
       RETURNING id`,
      [
        link.issueId,
        pr.repoOwner,
        pr.repoName,
        pr.number,
        pr.title,
        pr.body,
        pr.url,
        pr.headBranch,
        pr.baseBranch,
        pr.headSha,
        pr.merged ? 'merged' : pr.state,
        pr.mergedAt,
        pr.mergeCommitSha,
        link.method,
        link.score,
        JSON.stringify(link.evidence),
      ],
    )) as { id: string }[];
    return rows[0]?.id ?? null;
  }

  /** Every link of one PR, rows locked for the caller's transaction, oldest first. */
  async lockLinksOfPr(m: EntityManager, owner: string, repo: string, number: number): Promise<IssuePrRow[]> {
    const rows = (await m.query(
      `SELECT ${COLUMNS} FROM issue_prs WHERE repo_owner = $1 AND repo_name = $2 AND pr_number = $3
        ORDER BY created_at, id FOR UPDATE`,
      [owner, repo, number],
    )) as RawIssuePr[];
    return rows.map(toRow);
  }

  async linksOfPr(owner: string, repo: string, number: number): Promise<IssuePrRow[]> {
    const rows = (await this.dataSource.query(
      `SELECT ${COLUMNS} FROM issue_prs WHERE repo_owner = $1 AND repo_name = $2 AND pr_number = $3 ORDER BY created_at, id`,
      [owner, repo, number],
    )) as RawIssuePr[];
    return rows.map(toRow);
  }

  /** Links of a repo's PR found by title (a revert PR without `Reverts #n` in its body). */
  async lockLinksByTitle(m: EntityManager, owner: string, repo: string, title: string): Promise<IssuePrRow[]> {
    const rows = (await m.query(
      `SELECT ${COLUMNS} FROM issue_prs WHERE repo_owner = $1 AND repo_name = $2 AND title = $3 ORDER BY created_at, id FOR UPDATE`,
      [owner, repo, title],
    )) as RawIssuePr[];
    return rows.map(toRow);
  }

  /** Refreshes a link from the PR's current facts and sets its state. */
  async updateFromPr(m: EntityManager, id: string, pr: PullRequestFacts, state: IssuePrRow['state']): Promise<void> {
    await m.query(
      `UPDATE issue_prs
          SET title = $2, body = $3, url = COALESCE($4, url), head_branch = COALESCE($5, head_branch),
              base_branch = COALESCE($6, base_branch), head_sha = COALESCE($7, head_sha), state = $8,
              merged_at = CASE WHEN $8 = 'merged' THEN COALESCE($9, merged_at, now()) WHEN $8 = 'open' THEN NULL ELSE merged_at END,
              merge_commit_sha = CASE WHEN $8 = 'merged' THEN COALESCE($10, merge_commit_sha) ELSE merge_commit_sha END,
              closed_at = CASE WHEN $8 = 'open' THEN NULL WHEN closed_at IS NULL THEN now() ELSE closed_at END,
              updated_at = now()
        WHERE id = $1`,
      [id, pr.title, pr.body, pr.url, pr.headBranch, pr.baseBranch, pr.headSha, state, pr.mergedAt, pr.mergeCommitSha],
    );
  }

  async markReverted(m: EntityManager, id: string, byPr: number): Promise<void> {
    await m.query(`UPDATE issue_prs SET state = 'reverted', reverted_by_pr = $2, updated_at = now() WHERE id = $1`, [
      id,
      byPr,
    ]);
  }

  /** Other links of these issues that still carry a fix (open or merged, not reverted). */
  async countLiveLinksOfIssues(m: EntityManager, issueIds: readonly string[], exceptId: string): Promise<number> {
    const rows = (await m.query(
      `SELECT count(*)::int AS n FROM issue_prs
        WHERE issue_id = ANY($1::uuid[]) AND id <> $2 AND state IN ('open','merged')`,
      [[...new Set(issueIds)], exceptId],
    )) as { n: number }[];
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * The links of these issues that carry a fix (open or merged, not reverted), with what a status
   * is read from: the base branch, and the production deploy that carried a merged one. Oldest
   * first, rows locked (a PR event or deploy locks links before issues too).
   */
  async fixLinksOfIssues(m: EntityManager, issueIds: readonly string[]): Promise<FixLink[]> {
    if (issueIds.length === 0) return [];
    const rows = (await m.query(
      `SELECT id, issue_id, repo_owner, repo_name, pr_number, state, base_branch, deployed_at, deployment_id
         FROM issue_prs WHERE issue_id = ANY($1::uuid[]) AND state IN ('open','merged')
        ORDER BY created_at, id FOR UPDATE`,
      [[...new Set(issueIds)]],
    )) as {
      id: string;
      issue_id: string;
      repo_owner: string;
      repo_name: string;
      pr_number: number;
      state: 'open' | 'merged';
      base_branch: string | null;
      deployed_at: Date | null;
      deployment_id: string | null;
    }[];
    return rows.map((r) => ({
      issuePrId: r.id,
      issueId: r.issue_id,
      ref: `${r.repo_owner}/${r.repo_name}#${Number(r.pr_number)}`,
      state: r.state,
      baseBranch: r.base_branch,
      deployedAt: r.deployed_at === null ? null : new Date(r.deployed_at),
      deploymentId: r.deployment_id,
    }));
  }

  async storePrEmbedding(m: EntityManager, id: string, vectorLiteral: string, model: string): Promise<void> {
    await m.query(`UPDATE issue_prs SET embedding = $2::vector, embedding_model = $3 WHERE id = $1`, [
      id,
      vectorLiteral,
      model,
    ]);
  }

  async insertMatchRun(
    m: EntityManager,
    pr: PullRequestFacts,
    run: {
      textHash: string;
      trigger: string;
      deliveryId: string | null;
      outcome: 'linked' | 'unmatched' | 'revert';
      linkedIssueIds: string[];
      steps: MatchStepReport[];
    },
  ): Promise<string> {
    const rows = (await m.query(
      `INSERT INTO pr_match_runs (repo_owner, repo_name, pr_number, text_hash, trigger, delivery_id, outcome, linked_issue_ids, steps)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::uuid[], $9::jsonb) RETURNING id`,
      [
        pr.repoOwner,
        pr.repoName,
        pr.number,
        run.textHash,
        run.trigger,
        run.deliveryId,
        run.outcome,
        run.linkedIssueIds,
        JSON.stringify(run.steps),
      ],
    )) as { id: string }[];
    return rows[0]!.id;
  }

  /**
   * The latest run of a PR over the same text with no failed step, that read it (not one skipped for an
   * untrusted author): steps 2 and 3 are not repeated for it.
   */
  async latestRunWithText(
    owner: string,
    repo: string,
    number: number,
    textHash: string,
  ): Promise<{ id: string; outcome: string } | null> {
    const rows = (await this.dataSource.query(
      `SELECT id, outcome FROM pr_match_runs WHERE repo_owner = $1 AND repo_name = $2 AND pr_number = $3 AND text_hash = $4
          AND NOT (steps @> '[{"status":"failed"}]'::jsonb)
          AND NOT (steps @> '[{"details":{"untrustedAuthor":true}}]'::jsonb)
        ORDER BY created_at DESC LIMIT 1`,
      [owner, repo, number, textHash],
    )) as { id: string; outcome: string }[];
    return rows[0] ?? null;
  }

  async matchRunsOfPr(
    owner: string,
    repo: string,
    number: number,
  ): Promise<{ outcome: string; steps: MatchStepReport[]; trigger: string }[]> {
    return (await this.dataSource.query(
      `SELECT outcome, steps, trigger FROM pr_match_runs WHERE repo_owner = $1 AND repo_name = $2 AND pr_number = $3 ORDER BY created_at, id`,
      [owner, repo, number],
    )) as { outcome: string; steps: MatchStepReport[]; trigger: string }[];
  }

  /** Merged, not reverted links no deploy has carried yet (the deployment module's candidates). */
  async undeployedMerged(m: EntityManager | undefined, lock: boolean): Promise<UndeployedLink[]> {
    const rows = (await (m ?? this.dataSource.manager).query(
      `SELECT ${COLUMNS} FROM issue_prs WHERE state = 'merged' AND deployed_at IS NULL ORDER BY merged_at NULLS LAST, id
       ${lock ? 'FOR UPDATE' : ''}`,
    )) as RawIssuePr[];
    return rows.map((r) => ({
      issuePrId: r.id,
      issueId: r.issue_id,
      repoOwner: r.repo_owner,
      repoName: r.repo_name,
      prNumber: Number(r.pr_number),
      mergeCommitSha: r.merge_commit_sha,
      baseBranch: r.base_branch,
      mergedAt: r.merged_at ?? null,
    }));
  }

  async markDeployed(m: EntityManager, issuePrIds: string[], deploymentId: string, deployedAt: Date): Promise<void> {
    if (issuePrIds.length === 0) return;
    await m.query(
      `UPDATE issue_prs SET deployed_at = $2, deployment_id = $3, updated_at = now() WHERE id = ANY($1::uuid[]) AND deployed_at IS NULL`,
      [issuePrIds, deployedAt, deploymentId],
    );
  }
}

/** What the matching module needs to know of a pull request (from a GitHub webhook). */
export interface PullRequestFacts {
  repoOwner: string;
  repoName: string;
  number: number;
  title: string;
  body: string | null;
  url: string | null;
  headBranch: string | null;
  baseBranch: string | null;
  headSha: string | null;
  /** GitHub's state: open or closed (merged PRs are closed with merged = true). */
  state: 'open' | 'closed';
  merged: boolean;
  mergedAt: Date | null;
  mergeCommitSha: string | null;
  /** The PR author's login and GitHub `author_association` (OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, ...). */
  author: string | null;
  authorAssociation: string | null;
}

/** The webhook action that delivered the facts (`opened`, `closed`, ...). */
export type PullRequestAction = string;

export type MatchMethod = 'identifier' | 'semantic' | 'llm' | 'manual';
export type MatchStepName = 'identifier' | 'semantic' | 'llm';
export type MatchStepStatus = 'matched' | 'no_match' | 'ambiguous' | 'skipped' | 'failed';

/** What one step saw and decided: stored in pr_match_runs.steps and on linked PRs. */
export interface MatchStepReport {
  step: MatchStepName;
  status: MatchStepStatus;
  reason: string;
  details?: Record<string, unknown>;
}

export interface ProposedLink {
  issueId: string;
  identifier: string;
  method: MatchMethod;
  /** Similarity (semantic), confidence (llm), 1 (identifier). */
  score: number | null;
  evidence: Record<string, unknown>;
}

/** A PR whose title starts `Revert "`: it undoes an earlier PR instead of fixing an issue. */
export interface RevertReference {
  /** From GitHub's default body `Reverts owner/repo#123`. */
  prNumber: number | null;
  /** The reverted PR's title, from `Revert "<title>"`. */
  originalTitle: string;
}

export interface MatchResult {
  textHash: string;
  links: ProposedLink[];
  steps: MatchStepReport[];
  revertOf: RevertReference | null;
}

/** A link between an issue and a merged PR that no production deploy has carried yet. */
export interface UndeployedLink {
  issuePrId: string;
  issueId: string;
  repoOwner: string;
  repoName: string;
  prNumber: number;
  mergeCommitSha: string | null;
  baseBranch: string | null;
  mergedAt: Date | null;
}

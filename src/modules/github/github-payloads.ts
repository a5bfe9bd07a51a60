import { isISO8601 } from 'class-validator';
import { PullRequestFacts } from '../matching/matching.contract';
import { isJsonObject } from '../../shared/json';
import { scrubbedText } from '../../shared/security/scrubbed-text';

/** Narrow readers of the webhook payload fields fixloop uses (GitHub sends far more). */
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (isJsonObject(v) ? v : undefined);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
/**
 * A text field that is stored, logged or sent on (a PR's title and branches, a run's name and URL, a
 * deployment's environment and version): scrubbed of secrets like an error's. What a workflow or a
 * pipeline writes there may quote the production data or the credentials it used.
 */
const text = (v: unknown): string | null => (typeof v === 'string' ? scrubbedText(v) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
/**
 * A commit id (hex, 7 to 64 characters: SHA-1 or SHA-256, as POST /api/deployments takes it), lower
 * case; anything else is unreadable. A 100 kB merge_commit_sha was past what its index holds (500),
 * and a deployment's went into the compare API's URL, failing every processing attempt.
 */
const commitSha = (v: unknown): string | null => {
  const s = str(v);
  return s !== null && /^[0-9a-f]{7,64}$/i.test(s) ? s.toLowerCase() : null;
};
/**
 * An ISO 8601 date-time as GitHub writes them; anything else is unreadable. `new Date` alone took
 * `"5"` (2005) and years PostgreSQL cannot store (-271821: 500) or a deploy's verification window
 * cannot be computed from (+275760: its listener failed after the 200).
 */
const date = (v: unknown): Date | null => {
  if (typeof v !== 'string' || !isISO8601(v, { strict: true })) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
};

export class PayloadError extends Error {}

/** GitHub numbers PRs from 1; fixloop keeps the number in integer columns (issue_prs.pr_number). */
export const MAX_PR_NUMBER = 2_147_483_647;
const isPrNumber = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= MAX_PR_NUMBER;

/**
 * A GitHub object id: a positive whole number (run ids are past 2^31). A missing one was refused
 * without naming it; -1, 1.5 or 1e308 were taken (`owner/repo/1e+308` as a deployment key).
 */
function githubId(v: unknown, field: string): number {
  if (v === undefined || v === null) throw new PayloadError(`${field} is required`);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw new PayloadError(`${field} must be a positive whole number; got ${scrubbedText(JSON.stringify(v), 50)}`);
  }
  return v;
}

/** GitHub's own limits are 39 characters for an owner's login and 100 for a repository name. */
const MAX_REPO_PART = 100;

function repoOf(payload: Obj): { owner: string; name: string } {
  const repo = obj(payload.repository);
  const owner = text(obj(repo?.owner)?.login) ?? text(str(repo?.full_name)?.split('/')[0]) ?? null;
  const name = text(repo?.name);
  if (!owner || !name) throw new PayloadError('repository.owner.login and repository.name are required');
  // Both are indexed (issue_prs, pr_match_runs, deployments): a 100 kB name failed the statement.
  if (owner.length > MAX_REPO_PART) {
    throw new PayloadError(
      `repository.owner.login must be at most ${MAX_REPO_PART} characters (GitHub allows 39); got ${owner.length}`,
    );
  }
  if (name.length > MAX_REPO_PART) {
    throw new PayloadError(`repository.name must be at most ${MAX_REPO_PART} characters; got ${name.length}`);
  }
  return { owner, name };
}

export function readPullRequest(payload: unknown): { action: string; pr: PullRequestFacts } {
  const p = obj(payload);
  const pr = obj(p?.pull_request);
  const action = str(p?.action);
  if (!p || !pr || !action) throw new PayloadError('a pull_request event needs action and pull_request');
  return { action, pr: pullRequestFacts(pr, num(p.number), repoOf(p)) };
}

/**
 * The facts of a pull request as GitHub's REST API returns it (`GET /repos/{owner}/{repo}/pulls/{n}`):
 * the same object as a webhook's `pull_request`, its repository under `base.repo`.
 */
export function readPullRequestResource(resource: unknown): PullRequestFacts {
  const pr = obj(resource);
  if (!pr) throw new PayloadError('a pull request must be an object');
  return pullRequestFacts(pr, null, repoOf({ repository: obj(pr.base)?.repo }));
}

function pullRequestFacts(
  pr: Obj,
  numberFallback: number | null,
  repo: { owner: string; name: string },
): PullRequestFacts {
  const number = num(pr.number) ?? numberFallback;
  const title = text(pr.title);
  if (number === null || title === null)
    throw new PayloadError('pull_request.number and pull_request.title are required');
  // A fraction or a number past the column failed the statement (500); 0 and -1 were stored.
  if (!isPrNumber(number))
    throw new PayloadError(`pull_request.number must be a whole number from 1 to ${MAX_PR_NUMBER}; got ${number}`);
  const merged = pr.merged === true;
  return {
    repoOwner: repo.owner,
    repoName: repo.name,
    number,
    // A PR's text is stored (the link, the history), embedded and sent to the judge: an agent's PR
    // may quote the production data it read, so it is scrubbed of secrets like an error's.
    title,
    body: text(pr.body),
    url: text(pr.html_url),
    headBranch: text(obj(pr.head)?.ref),
    baseBranch: text(obj(pr.base)?.ref),
    headSha: commitSha(obj(pr.head)?.sha),
    state: str(pr.state) === 'closed' ? 'closed' : 'open',
    merged,
    mergedAt: merged ? date(pr.merged_at) : null,
    // Before a merge GitHub's merge_commit_sha is a test merge: only a merged PR's counts.
    mergeCommitSha: merged ? commitSha(pr.merge_commit_sha) : null,
    author: text(obj(pr.user)?.login),
    authorAssociation: text(pr.author_association),
  };
}

export interface WorkflowRunFacts {
  runId: string;
  runName: string | null;
  workflowId: string | null;
  status: string;
  conclusion: string | null;
  htmlUrl: string | null;
  updatedAt: Date;
}

/**
 * `workflow_run.display_title` is the run name (the workflow's `run-name:`, e.g. `fixloop CHIPP-42`);
 * `workflowId` is the workflow file name (`auto-investigate.yml`, from `path`), else its numeric id.
 */
export function readWorkflowRun(payload: unknown): { action: string; run: WorkflowRunFacts } {
  const p = obj(payload);
  const run = obj(p?.workflow_run);
  if (!p || !run) throw new PayloadError('a workflow_run event needs workflow_run (an object)');
  const id = githubId(run.id, 'workflow_run.id');
  const path = text(run.path);
  const file = path ? (path.split('@')[0]!.split('/').pop() ?? null) : null;
  const workflowId = file || (num(run.workflow_id) !== null ? String(num(run.workflow_id)) : null);
  return {
    // the action is stored with the delivery
    action: text(p.action) ?? 'unknown',
    run: {
      runId: String(id),
      runName: text(run.display_title) ?? text(run.name),
      workflowId,
      status: text(run.status) ?? 'unknown',
      conclusion: text(run.conclusion),
      htmlUrl: text(run.html_url),
      updatedAt: date(run.updated_at) ?? new Date(),
    },
  };
}

export interface DeploymentStatusFacts {
  repoOwner: string;
  repoName: string;
  deploymentId: number;
  state: string;
  environment: string;
  sha: string | null;
  version: string | null;
  deployedAt: Date;
}

export function readDeploymentStatus(payload: unknown): DeploymentStatusFacts {
  const p = obj(payload);
  const status = obj(p?.deployment_status);
  const deployment = obj(p?.deployment);
  if (!deployment) throw new PayloadError('a deployment_status event needs deployment (an object)');
  if (!status) throw new PayloadError('a deployment_status event needs deployment_status (an object)');
  const id = githubId(deployment.id, 'deployment.id');
  const repo = repoOf(p!);
  const inner = obj(deployment.payload);
  return {
    repoOwner: repo.owner,
    repoName: repo.name,
    deploymentId: id,
    state: text(status.state) ?? 'unknown',
    environment: text(status.environment) ?? text(deployment.environment) ?? 'unknown',
    sha: commitSha(deployment.sha),
    version: text(inner?.version) ?? text(deployment.ref),
    deployedAt: date(status.created_at) ?? date(status.updated_at) ?? new Date(),
  };
}

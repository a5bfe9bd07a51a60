import { Logger } from '@nestjs/common';
import type { Octokit } from '@octokit/rest';
import { createOctokit } from '../../shared/github/octokit';
import { errorLine } from '../../shared/security/scrubbed-text';
import type { WorkflowDispatchRequest } from './dispatch-inputs';

export interface GitHubClientSettings {
  GITHUB_TOKEN?: string;
  GITHUB_API_URL: string;
  GITHUB_REPO_OWNER?: string;
  GITHUB_REPO_NAME?: string;
  GITHUB_WORKFLOW_ID: string;
  GITHUB_WORKFLOW_REF: string;
  GITHUB_RETRY_BASE_SECONDS: number;
  GITHUB_HTTP_TIMEOUT_SECONDS: number;
}

/** What one dispatch call came to. */
export type DispatchOutcome =
  /** GitHub accepted (200 with run details, or 204 without). */
  | { kind: 'accepted'; runId: string | null; runUrl: string | null; status: number }
  /**
   * Worth retrying: 5xx or a network failure (`mayHaveRun`: GitHub may have created the run anyway,
   * so look it up by name before sending again), or a rate limit (`afterMs` from retry-after).
   */
  | { kind: 'retry'; reason: string; afterMs: number; mayHaveRun: boolean; status: number | null }
  /** A 4xx that retrying will not fix (bad workflow, inputs, permissions): a configuration error. */
  | { kind: 'rejected'; reason: string; status: number };

export interface FoundRun {
  runId: string;
  runUrl: string | null;
  status: string | null;
  conclusion: string | null;
  createdAt: Date;
}

interface HttpError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/**
 * The spawn module's GitHub Actions client (Octokit, `baseUrl: GITHUB_API_URL`). It never retries
 * by itself: it classifies each answer so the dispatcher decides (and records) what happens next.
 */
export class GitHubWorkflowClient {
  private readonly logger = new Logger(GitHubWorkflowClient.name);
  private readonly octokit: Octokit | null;
  /** False once the server refused `return_run_details` (it then answers 204). */
  private runDetails = true;

  constructor(private readonly settings: GitHubClientSettings) {
    this.octokit = this.dryRunReason ? null : createOctokit(settings, this.logger);
  }

  /** Why dispatches are dry runs (no token or no repository configured), or null when they are real. */
  get dryRunReason(): string | null {
    if (!this.settings.GITHUB_TOKEN) return 'GITHUB_TOKEN is not set';
    if (!this.settings.GITHUB_REPO_OWNER || !this.settings.GITHUB_REPO_NAME) {
      return 'GITHUB_REPO_OWNER and GITHUB_REPO_NAME are not both set';
    }
    return null;
  }

  get target(): { owner: string; repo: string; workflowId: string; ref: string } {
    return {
      owner: this.settings.GITHUB_REPO_OWNER ?? '',
      repo: this.settings.GITHUB_REPO_NAME ?? '',
      workflowId: this.settings.GITHUB_WORKFLOW_ID,
      ref: this.settings.GITHUB_WORKFLOW_REF,
    };
  }

  /**
   * Sends one `createWorkflowDispatch` with `return_run_details: true`. A server that does not know
   * that parameter (older GitHub Enterprise Server answers 422 naming it, creating no run) gets the
   * request again without it, and every later one too: it answers 204 and the run is found by name.
   * `retryIndex` sizes the backoff.
   */
  async dispatch(request: WorkflowDispatchRequest, retryIndex: number): Promise<DispatchOutcome> {
    const octokit = this.require();
    const { return_run_details: _details, ...plain } = request;
    try {
      const res = this.runDetails
        ? await octokit.rest.actions.createWorkflowDispatch({ ...request, request: { signal: this.timeout() } })
        : await octokit.rest.actions.createWorkflowDispatch({ ...plain, request: { signal: this.timeout() } });
      const data = (res.data ?? {}) as { workflow_run_id?: number | string; html_url?: string; run_url?: string };
      const status: number = res.status;
      const runId = status === 200 && data.workflow_run_id !== undefined ? String(data.workflow_run_id) : null;
      return { kind: 'accepted', runId, runUrl: runId ? (data.html_url ?? data.run_url ?? null) : null, status };
    } catch (err) {
      const e = err as HttpError;
      if (
        this.runDetails &&
        e.status === 422 &&
        /return_run_details/i.test(JSON.stringify(e.response?.data ?? e.message ?? ''))
      ) {
        this.runDetails = false;
        this.logger.warn({
          msg: 'GitHub does not know return_run_details: dispatching without it, runs found by name',
        });
        return this.dispatch(request, retryIndex);
      }
      return this.classify(e, retryIndex);
    }
  }

  /**
   * The newest `workflow_dispatch` run of the workflow named `runName`, created at or after `since`,
   * whose id is not in `exclude` (runs earlier attempts already own). Null when there is none.
   * Throws when GitHub cannot be asked (the caller must then not send the dispatch again).
   */
  async findRunByName(
    runName: string,
    since: Date,
    exclude: ReadonlySet<string> = new Set(),
  ): Promise<FoundRun | null> {
    const octokit = this.require();
    const sinceIso = new Date(since.getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const res = await octokit.rest.actions.listWorkflowRuns({
      owner: this.target.owner,
      repo: this.target.repo,
      workflow_id: this.target.workflowId,
      event: 'workflow_dispatch',
      created: `>=${sinceIso}`,
      per_page: 100,
      request: { signal: this.timeout() },
    });
    const runs = res.data.workflow_runs
      // `display_title` carries the workflow's `run-name`; `name` is the workflow's own name on GitHub
      // (some servers put the run name there), so either may match.
      .filter((r) => (r.display_title === runName || r.name === runName) && !exclude.has(String(r.id)))
      .filter((r) => Date.parse(r.created_at) >= since.getTime() - 60_000)
      .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id);
    const run = runs[0];
    if (!run) return null;
    return {
      runId: String(run.id),
      runUrl: run.html_url ?? null,
      status: run.status ?? null,
      conclusion: run.conclusion ?? null,
      createdAt: new Date(run.created_at),
    };
  }

  /** Best effort: asks GitHub to cancel a run (a timed-out investigation). Errors are logged, not thrown. */
  async cancelRun(runId: string): Promise<boolean> {
    if (!this.octokit) return false;
    try {
      await this.octokit.rest.actions.cancelWorkflowRun({
        owner: this.target.owner,
        repo: this.target.repo,
        run_id: Number(runId),
        request: { signal: this.timeout() },
      });
      return true;
    } catch (err) {
      this.logger.warn({ msg: 'could not cancel the workflow run', runId, error: (err as Error).message });
      return false;
    }
  }

  private require(): Octokit {
    if (!this.octokit) throw new Error(`GitHub is not configured: ${this.dryRunReason ?? 'unknown'}`);
    return this.octokit;
  }

  private timeout(): AbortSignal {
    return AbortSignal.timeout(Math.round(this.settings.GITHUB_HTTP_TIMEOUT_SECONDS * 1000));
  }

  private backoffMs(retryIndex: number): number {
    return Math.round(this.settings.GITHUB_RETRY_BASE_SECONDS * 1000 * 2 ** retryIndex);
  }

  /** Sorts an error into retry (5xx, network, rate limits) or rejected (other 4xx). */
  classify(err: HttpError, retryIndex: number): DispatchOutcome {
    const status = typeof err.status === 'number' && err.status > 0 ? err.status : null;
    const headers = err.response?.headers ?? {};
    const header = (name: string): string | undefined => {
      const v = headers[name];
      return v === undefined ? undefined : String(v);
    };
    const message = errorMessage(err);
    if (status === 429 || (status === 403 && isRateLimit(message, header))) {
      const retryAfter = Number(header('retry-after'));
      const reset = Number(header('x-ratelimit-reset'));
      let afterMs: number;
      if (Number.isFinite(retryAfter) && retryAfter >= 0 && header('retry-after') !== undefined)
        afterMs = retryAfter * 1000;
      else if (header('x-ratelimit-remaining') === '0' && Number.isFinite(reset))
        afterMs = Math.max(0, reset * 1000 - Date.now());
      else afterMs = Math.max(60_000, this.backoffMs(retryIndex));
      return { kind: 'retry', reason: `GitHub rate limit (${status}): ${message}`, afterMs, mayHaveRun: false, status };
    }
    if (status === null || status >= 500) {
      return {
        kind: 'retry',
        reason: status ? `GitHub answered ${status}: ${message}` : `GitHub unreachable: ${message}`,
        afterMs: this.backoffMs(retryIndex),
        mayHaveRun: true,
        status,
      };
    }
    return { kind: 'rejected', reason: `GitHub refused the dispatch (${status}): ${message}`, status };
  }
}

function isRateLimit(message: string, header: (name: string) => string | undefined): boolean {
  return header('retry-after') !== undefined || header('x-ratelimit-remaining') === '0' || /rate limit/i.test(message);
}

function errorMessage(err: HttpError): string {
  const data = err.response?.data as { message?: unknown } | undefined;
  const fromBody = typeof data?.message === 'string' ? data.message : undefined;
  // GitHub's answer is stored (spawn_requests.error) and logged: scrubbed whole, then cut
  return errorLine(fromBody ?? err.message ?? 'unknown error');
}

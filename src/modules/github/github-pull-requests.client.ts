import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Octokit } from '@octokit/rest';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { storableJson } from '../../shared/database/pg-text';
import { DomainError } from '../../shared/errors/domain-error';
import { createOctokit } from '../../shared/github/octokit';
import { PullRequestFacts } from '../matching/matching.contract';
import { PayloadError, readPullRequestResource } from './github-payloads';
import type { PullRequestReference } from './pull-request-reference';

/**
 * Reads one pull request from GitHub's REST API (`GET /repos/{owner}/{repo}/pulls/{number}`) with
 * GITHUB_TOKEN (a public repository's PRs are readable without one). Null when GitHub answers 404
 * (no such PR, or the token cannot see the repository); anything else that is not a PR is
 * `unavailable` (503) with GitHub's status, since nothing was decided yet and a retry may pass.
 */
@Injectable()
export class GithubPullRequestsClient {
  private readonly logger = new Logger(GithubPullRequestsClient.name);
  private readonly octokit: Octokit;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.octokit = createOctokit(config, this.logger);
  }

  async get(ref: PullRequestReference): Promise<PullRequestFacts | null> {
    let data: unknown;
    try {
      ({ data } = await this.octokit.rest.pulls.get({
        owner: ref.owner,
        repo: ref.repo,
        pull_number: ref.number,
        request: { signal: AbortSignal.timeout(Math.round(this.config.GITHUB_HTTP_TIMEOUT_SECONDS * 1000)) },
      }));
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      if (status === 404) return null;
      const what = typeof status === 'number' ? `HTTP ${status}` : (err as Error).message;
      const hint =
        status === 401 || status === 403 ? 'check GITHUB_TOKEN and its access to the repository' : 'retry later';
      throw new DomainError(
        'unavailable',
        'GITHUB_UNAVAILABLE',
        `GitHub did not return ${ref.owner}/${ref.repo}#${ref.number} (${what}); nothing was linked, ${hint}`,
      );
    }
    try {
      // Stored as the webhook's PR facts are: text PostgreSQL could not store becomes U+FFFD.
      return readPullRequestResource(storableJson(data));
    } catch (err) {
      if (!(err instanceof PayloadError)) throw err;
      throw new DomainError(
        'unavailable',
        'GITHUB_UNEXPECTED_ANSWER',
        `GitHub's answer for ${ref.owner}/${ref.repo}#${ref.number} is not a pull request: ${err.message}`,
      );
    }
  }
}

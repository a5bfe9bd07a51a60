import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Octokit } from '@octokit/rest';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { createOctokit } from '../../shared/github/octokit';

export type Containment = 'contained' | 'not_contained' | 'unknown_commit';

/**
 * Does a deployed commit contain a PR's merge commit? GitHub's compare API
 * `GET /repos/{owner}/{repo}/compare/{merge_sha}...{deploy_sha}`: status `ahead` (the deploy is
 * after the merge) or `identical` means contained; `behind` or `diverged` means not; 404 means
 * GitHub does not know one of the commits. Other errors throw (the deployment is retried).
 */
@Injectable()
export class GithubCompareClient {
  private readonly octokit: Octokit;
  private readonly logger = new Logger(GithubCompareClient.name);

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.octokit = createOctokit(config, this.logger);
  }

  async contains(
    owner: string,
    repo: string,
    mergeSha: string,
    deploySha: string,
  ): Promise<{ containment: Containment; status?: string }> {
    if (mergeSha === deploySha) return { containment: 'contained', status: 'identical' };
    try {
      const res = await this.octokit.rest.repos.compareCommitsWithBasehead({
        owner,
        repo,
        basehead: `${mergeSha}...${deploySha}`,
        per_page: 1,
      });
      const status = res.data.status;
      return { containment: status === 'ahead' || status === 'identical' ? 'contained' : 'not_contained', status };
    } catch (err) {
      if (typeof err === 'object' && err !== null && (err as { status?: number }).status === 404) {
        return { containment: 'unknown_commit', status: 'not_found' };
      }
      throw err;
    }
  }
}

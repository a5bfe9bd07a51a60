import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { InvalidInputError, NotFoundError } from '../../shared/errors/domain-error';
import { scrubbedOptional } from '../../shared/security/scrubbed-text';
import { IssueSearchFacade } from '../issues/issue-search.facade';
import { Actor } from '../issues/issues.facade';
import { MatchingFacade } from '../matching/matching.facade';
import { LinkedPullRequestView } from './dto/link-pull-request.dto';
import { GithubPullRequestsClient } from './github-pull-requests.client';
import { parsePullRequestReference } from './pull-request-reference';

/**
 * A person links a PR to an issue when matching could not: the PR names no identifier and the
 * similarity steps missed it, or its author is not trusted (PR_TRUSTED_AUTHORS,
 * PR_TRUSTED_ASSOCIATIONS). The PR is read from GitHub (its state, branches and merge commit, so
 * the issue moves as the PR stands), then linked in one transaction; events go out after commit.
 * Nothing is written on a bad reference, an unknown issue or PR, or when GitHub does not answer.
 */
@Injectable()
export class PullRequestLinksService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly github: GithubPullRequestsClient,
    private readonly issues: IssueSearchFacade,
    private readonly matching: MatchingFacade,
  ) {}

  /** The reason is stored (the link, the history) scrubbed of secrets. */
  async link(
    identifier: string,
    pullRequest: string,
    actor: Actor,
    rawReason?: string,
  ): Promise<LinkedPullRequestView> {
    const reason = scrubbedOptional(rawReason);
    const ref = parsePullRequestReference(pullRequest, {
      owner: this.config.GITHUB_REPO_OWNER,
      repo: this.config.GITHUB_REPO_NAME,
    });
    if ('error' in ref) throw new InvalidInputError('PR_REFERENCE_INVALID', ref.error);
    // The issue first: an unknown identifier costs GitHub no request.
    if (!(await this.issues.resolveIdentifiers([identifier])).has(identifier)) {
      throw new NotFoundError('ISSUE_NOT_FOUND', `No issue ${identifier}`);
    }
    const pr = await this.github.get(ref);
    if (!pr) {
      throw new NotFoundError(
        'PR_NOT_FOUND',
        `GitHub has no pull request ${ref.owner}/${ref.repo}#${ref.number}, or GITHUB_TOKEN cannot see that repository`,
      );
    }
    const result = await this.dataSource.transaction((m) => this.matching.linkByHand(m, identifier, pr, actor, reason));
    await result.afterCommit();
    const moves = result.moves.map((mv) => ({ from: mv.from, to: mv.to }));
    return {
      issue: result.issue.identifier,
      pullRequest: `${pr.repoOwner}/${pr.repoName}#${pr.number}`,
      url: pr.url,
      state: pr.merged ? 'merged' : 'open',
      method: 'manual',
      status: moves.at(-1)?.to ?? result.issue.status,
      moves,
    };
  }
}

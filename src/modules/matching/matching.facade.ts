import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { IssueLinksRepository } from './issue-links.repository';
import { MatchResult, PullRequestAction, PullRequestFacts, UndeployedLink } from './matching.contract';
import { PrMatcherService } from './pr-matcher.service';
import { PullRequestEventResult, PullRequestTrackerService } from './pull-request-tracker.service';

export type PreparedMatch = (MatchResult & { prEmbedding?: string }) | null;

/** Actions whose PR text may name new issues; others only match a PR that has no link yet. */
const TEXT_ACTIONS = new Set(['opened', 'reopened', 'edited', 'ready_for_review']);

/**
 * The matching module's door. It owns the links between PRs and issues (issue_prs) and the
 * matching runs (pr_match_runs). Used by the github module (a PR event: `prepare` outside the
 * transaction, since steps 2 and 3 may call an embedding service or an LLM, then `applyPullRequestEvent`
 * inside it) and by the deployments module (which merged links a deploy carried).
 */
@Injectable()
export class MatchingFacade {
  constructor(
    private readonly matcher: PrMatcherService,
    private readonly tracker: PullRequestTrackerService,
    private readonly links: IssueLinksRepository,
  ) {}

  /**
   * Runs the matching steps a PR event calls for (reads only), or returns null when none are due:
   * a PR that is already linked is re-read for identifiers only on text changes.
   */
  async prepare(action: PullRequestAction, pr: PullRequestFacts): Promise<PreparedMatch> {
    const existing = await this.links.linksOfPr(pr.repoOwner, pr.repoName, pr.number);
    if (existing.length > 0 && !TEXT_ACTIONS.has(action)) return null;
    return this.matcher.match(pr, { alreadyLinked: existing.length > 0 });
  }

  /** Applies the event in the caller's transaction; call `afterCommit` of the result after commit. */
  applyPullRequestEvent(
    manager: EntityManager,
    action: PullRequestAction,
    pr: PullRequestFacts,
    prepared: PreparedMatch,
    deliveryId: string | null,
  ): Promise<PullRequestEventResult> {
    return this.tracker.apply(manager, action, pr, prepared, deliveryId);
  }

  /** Merged links no production deploy has carried yet; `lock` takes row locks (inside a transaction). */
  undeployedMergedLinks(manager?: EntityManager, lock = false): Promise<UndeployedLink[]> {
    return this.links.undeployedMerged(manager, lock);
  }

  /** Records that a deploy carried these links. */
  markLinksDeployed(
    manager: EntityManager,
    issuePrIds: string[],
    deploymentId: string,
    deployedAt: Date,
  ): Promise<void> {
    return this.links.markDeployed(manager, issuePrIds, deploymentId, deployedAt);
  }
}

import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ConflictError, NotFoundError } from '../../shared/errors/domain-error';
import { IssueSearchFacade } from '../issues/issue-search.facade';
import { IssueSnapshot } from '../issues/issue-status.contract';
import { Actor } from '../issues/issues.facade';
import { parseRevert } from './identifier-matcher';
import { IssueLinksRepository } from './issue-links.repository';
import { MatchResult, PullRequestAction, PullRequestFacts, UndeployedLink } from './matching.contract';
import { PrMatcherService, prTextHash } from './pr-matcher.service';
import { PullRequestEventResult, PullRequestTrackerService } from './pull-request-tracker.service';
import { UnmergedFixService, UnmergedFixes } from './unmerged-fix.service';

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
    private readonly issueSearch: IssueSearchFacade,
    private readonly unmergedFixes: UnmergedFixService,
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

  /**
   * A person links a PR to an issue (method `manual`), in the caller's transaction: the match run
   * and the link record who did it and why, and the issue follows the PR as if matching had linked
   * it (open -> in_review, merged into STAGING_BRANCH -> in_staging, merged elsewhere -> waiting for
   * the production deploy). The author's trust is not asked (PR_TRUSTED_*): the person vouches for
   * the PR, and its later events keep the link's state. An identifier merged into another issue
   * links the surviving issue. Not found: the issue. Conflict: the PR is a revert, was closed
   * without merge, or is already linked to the issue.
   */
  async linkByHand(
    manager: EntityManager,
    identifier: string,
    pr: PullRequestFacts,
    actor: Actor,
    reason?: string,
  ): Promise<PullRequestEventResult & { issue: IssueSnapshot }> {
    const issue = (await this.issueSearch.resolveIdentifiers([identifier], manager)).get(identifier);
    if (!issue) throw new NotFoundError('ISSUE_NOT_FOUND', `No issue ${identifier}`);
    const ref = `${pr.repoOwner}/${pr.repoName}#${pr.number}`;
    if (parseRevert(pr.title, pr.body)) {
      throw new ConflictError('PR_IS_REVERT', `${ref} reverts another PR: it undoes a fix and is not linked as one`);
    }
    if (pr.state === 'closed' && !pr.merged) {
      throw new ConflictError('PR_CLOSED_UNMERGED', `${ref} was closed without merge: it carries no fix to follow`);
    }
    const match: MatchResult = {
      textHash: prTextHash(pr),
      steps: [],
      revertOf: null,
      links: [
        {
          issueId: issue.id,
          identifier: issue.identifier,
          method: 'manual',
          score: null,
          evidence: {
            step: 'manual',
            by: actor.name,
            ...(reason !== undefined ? { reason } : {}),
            ...(identifier !== issue.identifier ? { requested: identifier, mergedInto: issue.identifier } : {}),
          },
        },
      ],
    };
    const result = await this.tracker.apply(manager, 'linked_by_hand', pr, match, null, actor);
    // The link existed already (the insert met it): the caller's transaction rolls back what apply wrote.
    if (result.linked.length === 0) {
      throw new ConflictError('PR_ALREADY_LINKED', `${ref} is already linked to ${issue.identifier}`);
    }
    return { ...result, issue };
  }

  /** Call before an undo locks any issue (see `followFixesAfterUnmerge`): locks the merged issue's PR links. */
  lockLinksBeforeUnmerge(manager: EntityManager, mergedId: string): Promise<void> {
    return this.unmergedFixes.lockLinks(manager, mergedId);
  }

  /**
   * After dedup undid a merge, in its transaction: the reopened issue (live again, in triage) takes
   * the status its own PR links justify (and those of the issues still merged into it): open ->
   * in_review, merged into STAGING_BRANCH -> in_staging, merged elsewhere -> in_review, deployed
   * while the survivor's verification watches it -> in_production (with `fix.deployed`, so its own
   * window opens). The survivor (live end of `formerTargetId`'s chain) gives up a status only those
   * links justified. A window of the survivor that failed on the reopened issue's error hands its
   * `fix-failed` label and priority step over to the reopened issue. Call `afterCommit` of the
   * result after commit. See docs/lifecycle.md.
   */
  followFixesAfterUnmerge(
    manager: EntityManager,
    reopenedId: string,
    formerTargetId: string,
    actor: Actor,
  ): Promise<UnmergedFixes> {
    return this.unmergedFixes.settle(manager, { reopenedId, formerTargetId, actor });
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

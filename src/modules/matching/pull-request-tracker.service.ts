import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { DATABASE_CAPABILITIES, DatabaseCapabilities } from '../../shared/database/database-kind';
import { DomainError } from '../../shared/errors/domain-error';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { IssueStatusChanged, PullRequestLinked, PullRequestMerged } from '../../shared/events/event-catalogue';
import { Actor, IssuesFacade, SYSTEM } from '../issues/issues.facade';
import { IssueStatus, canTransition } from '../issues/issue-status.contract';
import { EMBEDDING_PROVIDER, EmbeddingProvider } from './embeddings/embedding-provider';
import { parseRevert } from './identifier-matcher';
import { IssueLinksRepository, IssuePrRow } from './issue-links.repository';
import { MatchMethod, MatchResult, ProposedLink, PullRequestAction, PullRequestFacts } from './matching.contract';

export interface LinkedPr {
  issueId: string;
  issuePrId: string;
  identifier: string;
  method: MatchMethod;
}

export interface StatusMove {
  issueId: string;
  from: IssueStatus;
  to: IssueStatus;
  reason: string;
}

export interface PullRequestEventResult {
  linked: LinkedPr[];
  moves: StatusMove[];
  /** Links of this PR after the event. */
  links: number;
  reverted: string[];
  /** Emits the domain events; call it after the transaction committed. */
  afterCommit: () => Promise<void>;
}

const ACTOR: Actor = SYSTEM('github');
const BEFORE_REVIEW: readonly IssueStatus[] = ['triage', 'investigating', 'needs_human'];
const AFTER_FIX: readonly IssueStatus[] = ['in_review', 'in_staging', 'in_production', 'verified'];

/**
 * Makes the issue follow its PR, inside the webhook's transaction: records the match run and new
 * links (with their evidence), keeps each link's state, and moves the issue:
 * open/linked -> in_review; merged into STAGING_BRANCH -> in_staging; closed without merge ->
 * triage (when no other PR still carries a fix); reopened -> in_review again; a merged revert PR
 * marks the reverted PR's links `reverted` and sends their issues back to triage.
 * Production (in_production) is the deployments module's move.
 */
@Injectable()
export class PullRequestTrackerService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DATABASE_CAPABILITIES) private readonly capabilities: DatabaseCapabilities,
    @Inject(EMBEDDING_PROVIDER) private readonly embedder: EmbeddingProvider,
    private readonly links: IssueLinksRepository,
    private readonly issues: IssuesFacade,
    private readonly events: DomainEventBus,
  ) {}

  async apply(
    m: EntityManager,
    action: PullRequestAction,
    pr: PullRequestFacts,
    match: (MatchResult & { prEmbedding?: string }) | null,
    deliveryId: string | null,
    actor: Actor = ACTOR,
  ): Promise<PullRequestEventResult> {
    const ref = `${pr.repoOwner}/${pr.repoName}#${pr.number}`;
    const linked: LinkedPr[] = [];
    const moves: StatusMove[] = [];
    const reverted: string[] = [];
    const mergedNow: { issuePrId: string; issueId: string }[] = [];

    if (match) {
      // A PR already linked to an issue since merged away names that issue's identifier, which
      // now resolves to the survivor: that link moves the survivor already, and a second link
      // would outlive an undo of the merge (the survivor would follow another bug's fix). Read
      // under lock, links before issues.
      const throughMerge = match.links.length > 0 ? await this.mergedAwayLinkIdentifiers(m, pr) : new Set<string>();
      const kept = match.links.filter(
        (link) =>
          !(
            link.method === 'identifier' &&
            typeof link.evidence.mentioned === 'string' &&
            throughMerge.has(link.evidence.mentioned.toUpperCase())
          ),
      );
      await this.links.insertMatchRun(m, pr, {
        textHash: match.textHash,
        trigger: `pull_request.${action}`,
        deliveryId,
        outcome: match.revertOf ? 'revert' : match.links.length > 0 ? 'linked' : 'unmatched',
        // the issues this run links; one skipped above is linked already, through the merged-away issue
        linkedIssueIds: kept.map((l) => l.issueId),
        steps: match.steps,
      });
      for (const link of kept) {
        const evidence = { ...link.evidence, steps: match.steps };
        const id = await this.links.insertLink(m, pr, { ...link, evidence });
        if (!id) continue;
        linked.push({ issueId: link.issueId, issuePrId: id, identifier: link.identifier, method: link.method });
        if (match.prEmbedding && this.capabilities.pgvector) {
          await this.links.storePrEmbedding(m, id, match.prEmbedding, this.embedder.model);
        }
        await this.issues.recordHistory(m, {
          issueId: link.issueId,
          actor,
          field: 'pull_request',
          from: null,
          to: ref,
          reason: linkReason(ref, link, actor),
          data: {
            url: pr.url,
            title: pr.title,
            method: link.method,
            score: link.score,
            evidence: link.evidence,
            steps: match.steps,
          },
        });
      }
    }

    const newState: IssuePrRow['state'] = pr.merged ? 'merged' : pr.state === 'closed' ? 'closed' : 'open';
    const rows = await this.links.lockLinksOfPr(m, pr.repoOwner, pr.repoName, pr.number);
    for (const row of rows) {
      const isNew = linked.some((l) => l.issuePrId === row.id);
      const prev: IssuePrRow['state'] | null = isNew ? null : row.state;
      const next = row.state === 'reverted' ? 'reverted' : newState;
      await this.links.updateFromPr(m, row.id, pr, next);
      if (prev !== null && prev !== next) {
        await this.issues.recordHistory(m, {
          issueId: row.issueId,
          actor,
          field: 'pull_request_state',
          from: prev,
          to: next,
          reason: `PR ${ref} ${action}`,
          data: { url: pr.url, pr: pr.number, baseBranch: pr.baseBranch, mergeCommitSha: pr.mergeCommitSha },
        });
      }
      if (prev === next && !(action === 'reopened' || isNew)) continue;
      const data = { pr: pr.number, repo: `${pr.repoOwner}/${pr.repoName}`, url: pr.url, action };
      if (next === 'open') {
        const why = isNew ? `PR ${ref} linked` : action === 'reopened' ? `PR ${ref} reopened` : `PR ${ref} open`;
        await this.move(m, row.issueId, BEFORE_REVIEW, 'in_review', why, data, moves, actor);
      } else if (next === 'merged') {
        mergedNow.push({ issuePrId: row.id, issueId: row.issueId });
        if (pr.baseBranch === this.config.STAGING_BRANCH) {
          await this.move(
            m,
            row.issueId,
            [...BEFORE_REVIEW, 'in_review'],
            'in_staging',
            `PR ${ref} merged into ${pr.baseBranch}`,
            data,
            moves,
            actor,
          );
        } else {
          await this.move(
            m,
            row.issueId,
            BEFORE_REVIEW,
            'in_review',
            `PR ${ref} merged into ${pr.baseBranch ?? 'its base'}`,
            data,
            moves,
            actor,
          );
          await this.issues.recordHistory(m, {
            issueId: row.issueId,
            actor,
            field: 'pull_request',
            to: ref,
            reason: `merged into ${pr.baseBranch ?? 'its base'}, not ${this.config.STAGING_BRANCH}: waiting for a production deploy`,
            data,
          });
        }
      } else if (next === 'closed') {
        // The issue that moves is the link's live survivor: its own links and those of every issue
        // merged into it (this link's issue among them) carry a fix too.
        const survivorId = (await this.issues.liveSurvivor(row.issueId, m))?.id ?? row.issueId;
        const family = [row.issueId, survivorId, ...(await this.issues.absorbedIds(survivorId, m))];
        const others = await this.links.countLiveLinksOfIssues(m, family, row.id);
        if (others === 0) {
          await this.move(
            m,
            row.issueId,
            ['in_review'],
            'triage',
            `PR ${ref} closed without merge`,
            data,
            moves,
            actor,
          );
        } else {
          await this.issues.recordHistory(m, {
            issueId: row.issueId,
            actor,
            field: 'pull_request',
            to: ref,
            reason: `PR ${ref} closed without merge; ${others} other PR(s) still carry a fix`,
            data,
          });
        }
      }
    }

    const revert = match?.revertOf ?? parseRevert(pr.title, pr.body);
    if (revert) {
      const originals = revert.prNumber
        ? await this.links.lockLinksOfPr(m, pr.repoOwner, pr.repoName, revert.prNumber)
        : await this.links.lockLinksByTitle(m, pr.repoOwner, pr.repoName, revert.originalTitle);
      for (const o of originals) {
        const origRef = `${o.repoOwner}/${o.repoName}#${o.prNumber}`;
        const data = { revertPr: pr.number, revertedPr: o.prNumber, url: pr.url };
        if (pr.merged && o.state === 'merged') {
          await this.links.markReverted(m, o.id, pr.number);
          reverted.push(o.id);
          await this.issues.recordHistory(m, {
            issueId: o.issueId,
            actor,
            field: 'pull_request_state',
            from: o.state,
            to: 'reverted',
            reason: `PR ${origRef} reverted by PR ${ref}`,
            data,
          });
          await this.move(
            m,
            o.issueId,
            AFTER_FIX,
            'triage',
            `fix PR ${origRef} reverted by PR ${ref}`,
            data,
            moves,
            actor,
          );
        } else if (!pr.merged && pr.state === 'open' && (action === 'opened' || action === 'reopened')) {
          await this.issues.recordHistory(m, {
            issueId: o.issueId,
            actor,
            field: 'pull_request',
            to: ref,
            reason: `a revert of PR ${origRef} was proposed in PR ${ref}`,
            data,
          });
        }
      }
    }

    return {
      linked,
      moves,
      links: rows.length,
      reverted,
      afterCommit: async () => {
        for (const l of linked)
          await this.events.emit(
            'pull_request.linked',
            new PullRequestLinked(l.issueId, l.issuePrId, pr.number, l.method),
          );
        for (const mv of moves) {
          await this.events.emit(
            'issue.status_changed',
            new IssueStatusChanged(mv.issueId, mv.from, mv.to, actor.name, mv.reason),
          );
        }
        // After the status events: a deploy that already carried this merge moves the issue on from here.
        for (const mg of mergedNow) {
          this.events.publish(
            'pull_request.merged',
            new PullRequestMerged(
              mg.issuePrId,
              mg.issueId,
              `${pr.repoOwner}/${pr.repoName}`,
              pr.number,
              pr.mergeCommitSha,
            ),
          );
        }
      },
    };
  }

  /** Identifiers (upper case) of the issues this PR is linked to that are merged into another issue now. */
  private async mergedAwayLinkIdentifiers(m: EntityManager, pr: PullRequestFacts): Promise<Set<string>> {
    const out = new Set<string>();
    for (const row of await this.links.lockLinksOfPr(m, pr.repoOwner, pr.repoName, pr.number)) {
      const issue = await this.issues.findById(row.issueId, m);
      if (issue?.mergedIntoId) out.add(issue.identifier.toUpperCase());
    }
    return out;
  }

  /**
   * Moves the link's issue to `to` when its current status is one of `from` (and the move is
   * allowed). A link whose issue was merged away moves the issue it was merged into (the end of the
   * chain): that issue holds its fingerprints now, and its history names the merged issue.
   */
  private async move(
    m: EntityManager,
    linkIssueId: string,
    from: readonly IssueStatus[],
    to: IssueStatus,
    reason: string,
    data: Record<string, unknown>,
    moves: StatusMove[],
    actor: Actor,
  ): Promise<void> {
    const issue = await this.issues.liveSurvivor(linkIssueId, m);
    if (!issue || !from.includes(issue.status) || !canTransition(issue.status, to)) return;
    const issueId = issue.id;
    let why = reason;
    let details = data;
    if (issueId !== linkIssueId) {
      const merged = await this.issues.findById(linkIssueId, m);
      const name = merged?.identifier ?? linkIssueId;
      why = `${reason} (linked to ${name}, merged into ${issue.identifier})`;
      details = { ...data, linkedIssue: name };
    }
    try {
      const prev = await this.issues.transition(m, issueId, to, actor, why, details);
      if (prev) moves.push({ issueId, from: prev, to, reason: why });
    } catch (err) {
      // The status changed between the read and the lock: leave the issue where it is.
      if (!(err instanceof DomainError && err.code === 'ISSUE_INVALID_TRANSITION')) throw err;
    }
  }
}

/** The history line of a new link: the matching step and its score, or who linked it by hand and why. */
function linkReason(ref: string, link: ProposedLink, actor: Actor): string {
  if (link.method === 'manual') {
    const why = typeof link.evidence.reason === 'string' ? `: ${link.evidence.reason}` : '';
    return `PR ${ref} linked by hand by ${actor.name}${why}`;
  }
  return `PR ${ref} linked by ${link.method}${link.score !== null ? ` (score ${link.score})` : ''}`;
}

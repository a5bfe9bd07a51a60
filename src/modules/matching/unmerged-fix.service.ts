import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { FixDeployed, IssueStatusChanged } from '../../shared/events/event-catalogue';
import { IssueSnapshot, IssueStatus, canTransition } from '../issues/issue-status.contract';
import { Actor, IssuesFacade } from '../issues/issues.facade';
import { VerificationFacade } from '../verification/verification.facade';
import { FixLink, IssueLinksRepository } from './issue-links.repository';

/** The statuses a PR link justifies, in the order a fix goes through them. */
type FixStatus = 'in_review' | 'in_staging' | 'in_production';
const RANK: Record<FixStatus, number> = { in_review: 1, in_staging: 2, in_production: 3 };
const isFixStatus = (s: IssueStatus): s is FixStatus => s in RANK;

/** What a family's links justify: the furthest status, and the link that got there. */
interface Justified {
  status: FixStatus;
  link: FixLink;
}

interface Move {
  issueId: string;
  from: IssueStatus;
  to: IssueStatus;
  actor: string;
  reason: string;
}

export interface UnmergedFixes {
  /** The status changes made, in order. */
  moves: Move[];
  /** Emits `issue.status_changed` (and `fix.deployed` for a reopened issue put in production); after commit. */
  afterCommit: () => Promise<void>;
}

/**
 * After an undone merge (dedup's unmerge, in its transaction): the PR links never moved, so the
 * issue the undo reopens takes the status its own PRs justify (and those of the issues still
 * merged into it), and the survivor that held its fix gives up a status that only those PRs
 * justified; the escalation of a survivor's window that failed on the reopened issue's error moves
 * to the reopened issue. See docs/lifecycle.md, "PR links on an undo" and "A failed fix's
 * escalation follows the error".
 */
@Injectable()
export class UnmergedFixService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly links: IssueLinksRepository,
    private readonly issues: IssuesFacade,
    private readonly events: DomainEventBus,
    private readonly verification: VerificationFacade,
  ) {}

  /**
   * Locks the fix links of the issue about to be unmerged (and of the issues merged into it), before
   * the undo locks any issue: PR events and deploys lock links before issues, so the undo takes
   * them in the same order, and a PR event waiting on them then moves the reopened issue.
   */
  async lockLinks(m: EntityManager, issueId: string): Promise<void> {
    await this.familyLinks(m, issueId);
  }

  /**
   * `reopenedId` was just unmerged (it is live again, in triage); `formerTargetId` is the issue it
   * had been merged into, whose live survivor held its fingerprints and followed its PRs until now.
   */
  async settle(
    m: EntityManager,
    input: { reopenedId: string; formerTargetId: string; actor: Actor },
  ): Promise<UnmergedFixes> {
    const moves: Move[] = [];
    const deployed: FixDeployed[] = [];
    const reopened = await this.issues.findById(input.reopenedId, m);
    const survivor = await this.issues.liveSurvivor(input.formerTargetId, m);
    if (reopened && survivor && survivor.id !== reopened.id) {
      const reopenedLinks = await this.familyLinks(m, reopened.id);
      const survivorLinks = await this.familyLinks(m, survivor.id);
      // A deployed fix of the reopened issue is in flight only while the survivor's verification
      // watches it (in production); a survivor that moved on (verified, failed back to triage, a
      // person's status) had that deploy decided, and the reopened issue restarts at triage. So
      // had a deploy a window already verified or failed even when the survivor is in production
      // again since (a later fix of its own): judging it again on the reopened issue's window
      // would fail it a second time for a recurrence already reported.
      const decided =
        survivor.status === 'in_production'
          ? await this.verification.decidedDeployments(
              m,
              [...(await this.familyIds(m, reopened.id)), ...(await this.familyIds(m, survivor.id))],
              reopenedLinks.flatMap((l) => (l.deploymentId ? [l.deploymentId] : [])),
            )
          : null;
      const own = this.justify(
        reopenedLinks.filter((l) => !l.deploymentId || !decided?.has(l.deploymentId)),
        decided !== null,
      );
      await this.releaseSurvivor(m, survivor, reopened, reopenedLinks, survivorLinks, own, input.actor, moves);
      if (own) await this.followOwnFix(m, reopened, survivor, own, input.actor, moves, deployed);
      await this.handBackFailedFixes(m, reopened, survivor, input.actor);
    }
    return {
      moves,
      afterCommit: async () => {
        for (const mv of moves) {
          await this.events.emit(
            'issue.status_changed',
            new IssueStatusChanged(mv.issueId, mv.from, mv.to, mv.actor, mv.reason),
          );
        }
        for (const d of deployed) await this.events.emit('fix.deployed', d);
      },
    };
  }

  /** The reopened issue, in triage, moves to what its own PRs justify, one allowed step at a time. */
  private async followOwnFix(
    m: EntityManager,
    reopened: IssueSnapshot,
    survivor: IssueSnapshot,
    own: Justified,
    actor: Actor,
    moves: Move[],
    deployed: FixDeployed[],
  ): Promise<void> {
    const why = `${await this.describe(m, own.link, reopened.id)}: this issue's own fix (unmerged from ${survivor.identifier})`;
    const data = { pr: own.link.ref, issuePrId: own.link.issuePrId, unmergedFrom: survivor.identifier };
    if (own.status !== 'in_production') {
      await this.step(m, reopened.id, own.status, actor, why, data, moves);
      return;
    }
    const before: FixStatus = own.link.baseBranch === this.config.STAGING_BRANCH ? 'in_staging' : 'in_review';
    await this.step(m, reopened.id, before, actor, why, data, moves);
    await this.step(m, reopened.id, 'in_production', actor, why, data, moves);
    if (own.link.deploymentId && own.link.deployedAt) {
      deployed.push(
        new FixDeployed(
          reopened.id,
          own.link.deploymentId,
          own.link.deployedAt,
          undefined,
          undefined,
          own.link.issuePrId,
        ),
      );
    }
  }

  /**
   * The survivor keeps its status unless only the reopened issue's PRs justified it: then it goes
   * back to what its own PRs (and those of the issues still merged into it) justify, else to the
   * status of a bug without a fix (`withoutFix`).
   */
  private async releaseSurvivor(
    m: EntityManager,
    survivor: IssueSnapshot,
    reopened: IssueSnapshot,
    reopenedLinks: FixLink[],
    survivorLinks: FixLink[],
    reopenedFix: Justified | null,
    actor: Actor,
    moves: Move[],
  ): Promise<void> {
    if (!isFixStatus(survivor.status) || !reopenedFix) return;
    const rank = RANK[survivor.status];
    const own = this.justify(survivorLinks, true);
    if (own && RANK[own.status] >= rank) return; // its own fix justifies it
    if (RANK[reopenedFix.status] < rank) return; // neither did the reopened issue's: a person's status
    const to = own?.status ?? (await this.withoutFix(m, survivor));
    const prs = [...new Set(reopenedLinks.map((l) => l.ref))];
    let why = `${reopened.identifier} was unmerged from this issue: its PR ${prs.join(', ')} no longer carr${prs.length > 1 ? 'y' : 'ies'} this issue's fix`;
    if (own) why += `; ${await this.describe(m, own.link, survivor.id)}`;
    const data = { unmerged: reopened.identifier, prs };
    const from = survivor.status;
    if (canTransition(from, to)) {
      await this.step(m, survivor.id, to, actor, why, data, moves);
    } else {
      // e.g. in_production -> in_review: through triage, each step in the history.
      await this.step(m, survivor.id, 'triage', actor, why, data, moves);
      if (to !== 'triage') await this.step(m, survivor.id, to, actor, why, data, moves);
    }
  }

  /**
   * A window of the survivor (or of an issue merged into it) that failed on a recurrence of an
   * error the undo gave back to the reopened issue escalated the wrong issue: its `fix-failed` label
   * and priority step move to the reopened issue (`IssuesFacade.handOverFailedFixes`). A window
   * that failed on the survivor's own error keeps its escalation where it is. No `fix.failed` and
   * no spawn request: that failure was reported and investigated once already.
   */
  private async handBackFailedFixes(
    m: EntityManager,
    reopened: IssueSnapshot,
    survivor: IssueSnapshot,
    actor: Actor,
  ): Promise<void> {
    const windows = await this.verification.failedWindows(
      m,
      await this.familyIds(m, survivor.id),
      await this.familyIds(m, reopened.id),
    );
    for (const issueId of new Set(windows.filter((w) => w.heldByHolders).map((w) => w.issueId))) {
      const own = windows.filter((w) => w.issueId === issueId);
      await this.issues.handOverFailedFixes(m, {
        fromId: issueId,
        toId: reopened.id,
        failures: own
          .filter((w) => w.heldByHolders)
          .map((w) => ({
            windowId: w.windowId,
            decisionReason: w.decisionReason,
            data: { deploymentId: w.deploymentId, failedPr: w.failedPr, fingerprint: w.fingerprint },
          })),
        keepLabel: own.some((w) => !w.heldByHolders),
        actor,
      });
    }
  }

  /**
   * A bug whose fix in flight turned out to be another bug's: investigating while its own
   * investigation runs; needs_human when a person was asked for before it took up the fix;
   * else triage (where the spawn gate queues an issue never investigated).
   */
  private async withoutFix(m: EntityManager, issue: IssueSnapshot): Promise<IssueStatus> {
    if (issue.spawnStatus === 'running') return 'investigating';
    return (await this.issues.statusBeforeFix(issue.id, m)) === 'needs_human' ? 'needs_human' : 'triage';
  }

  /** Links carrying a fix of the issue and of every issue merged into it (any depth). */
  private async familyLinks(m: EntityManager, issueId: string): Promise<FixLink[]> {
    return this.links.fixLinksOfIssues(m, await this.familyIds(m, issueId));
  }

  /** The issue and every issue merged into it (any depth). */
  private async familyIds(m: EntityManager, issueId: string): Promise<string[]> {
    return [issueId, ...(await this.issues.absorbedIds(issueId, m))];
  }

  /**
   * The furthest status the links justify: open -> in_review; merged into STAGING_BRANCH ->
   * in_staging; merged elsewhere -> in_review (waiting for the production deploy); carried by a
   * production deploy -> in_production, when `countDeployed` (else that link justifies nothing).
   */
  private justify(links: readonly FixLink[], countDeployed: boolean): Justified | null {
    let best: Justified | null = null;
    for (const link of links) {
      const status: FixStatus | null =
        link.state === 'open'
          ? 'in_review'
          : link.deployedAt
            ? countDeployed
              ? 'in_production'
              : null
            : link.baseBranch === this.config.STAGING_BRANCH
              ? 'in_staging'
              : 'in_review';
      if (!status) continue;
      const better =
        !best ||
        RANK[status] > RANK[best.status] ||
        (RANK[status] === RANK[best.status] &&
          (link.deployedAt?.getTime() ?? 0) > (best.link.deployedAt?.getTime() ?? 0));
      if (better) best = { status, link };
    }
    return best;
  }

  private async describe(m: EntityManager, link: FixLink, issueId: string): Promise<string> {
    const base = link.baseBranch ?? 'its base';
    const what =
      link.state === 'open'
        ? `PR ${link.ref} is open`
        : link.deployedAt
          ? `PR ${link.ref} reached production on ${link.deployedAt.toISOString()} and is under verification`
          : link.baseBranch === this.config.STAGING_BRANCH
            ? `PR ${link.ref} was merged into ${base}`
            : `PR ${link.ref} was merged into ${base}, waiting for a production deploy`;
    if (link.issueId === issueId) return what;
    const linked = await this.issues.findById(link.issueId, m);
    return `${what} (linked to ${linked?.identifier ?? link.issueId})`;
  }

  /** One validated transition with its history entry (none when the issue is there already). */
  private async step(
    m: EntityManager,
    issueId: string,
    to: IssueStatus,
    actor: Actor,
    reason: string,
    data: Record<string, unknown>,
    moves: Move[],
  ): Promise<void> {
    const from = await this.issues.transition(m, issueId, to, actor, reason, data);
    if (from) moves.push({ issueId, from, to, actor: actor.name, reason });
  }
}

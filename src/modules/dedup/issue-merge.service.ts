import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { retryOnConflict } from '../../shared/database/transaction-retry';
import { DomainError } from '../../shared/errors/domain-error';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { IssueStatusChanged } from '../../shared/events/event-catalogue';
import { scrubbedOptional } from '../../shared/security/scrubbed-text';
import { Actor, IssuesFacade } from '../issues/issues.facade';
import { MatchingFacade } from '../matching/matching.facade';
import { DedupAnnouncer } from './dedup-announcer';
import { DedupRepository } from './dedup.repository';
import { DedupService } from './dedup.service';
import { MergeResultView } from './dto/merge-issue.dto';

export const MANUAL_MERGE_RULE = 'manual';
const MAX_ATTEMPTS = 4;

/**
 * A person's merge and its undo. A merge writes aliases exactly as the grouping engine's merges
 * do (links move to the target with rule `manual`); an undo gives the merged issue its links back
 * from `original_issue_id`, reopens it to triage and marks the `issue_merges` row undone; the
 * reopened issue then follows its own PRs again and the survivor gives up a status only they
 * justified (`MatchingFacade.followFixesAfterUnmerge`).
 * Grouping state is left alone: an automatic merge a person undid is not redone by the engine
 * (the absorbed groups stay merged), and later events of the restored fingerprints follow their
 * links back to the reopened issue.
 */
@Injectable()
export class IssueMergeService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly dedup: DedupService,
    private readonly repo: DedupRepository,
    private readonly issues: IssuesFacade,
    private readonly announcer: DedupAnnouncer,
    private readonly bus: DomainEventBus,
    private readonly matching: MatchingFacade,
  ) {}

  /** A person's reason is stored (the merge, both histories) scrubbed of secrets. */
  async merge(identifier: string, into: string, actor: Actor, rawReason?: string): Promise<MergeResultView> {
    const reason = scrubbedOptional(rawReason);
    const performed = await this.inTransaction(async (m) => {
      const merged = await this.issues.findByIdentifier(identifier, m);
      if (!merged) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue ${identifier}`);
      const target = await this.issues.findByIdentifier(into, m);
      if (!target) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue ${into} to merge into`);
      if (merged.id === target.id)
        throw new DomainError('invalid', 'ISSUE_MERGE_SELF', `${identifier} cannot be merged into itself`);
      await this.repo.lockScopesOf(m, merged.id);
      return this.dedup.mergeIssues(m, {
        mergedId: merged.id,
        targetId: target.id,
        rule: MANUAL_MERGE_RULE,
        evidence: { rule: MANUAL_MERGE_RULE, actor: actor.name, reason: reason ?? null },
        actor,
        reason,
      });
    });
    await this.announcer.announceMerge(performed);
    return { merged: identifier, into, mergeId: performed.mergeId, state: 'merged' };
  }

  async unmerge(identifier: string, actor: Actor, rawReason?: string): Promise<MergeResultView> {
    const reason = scrubbedOptional(rawReason);
    const done = await this.inTransaction(async (m) => {
      const merged = await this.issues.findByIdentifier(identifier, m);
      if (!merged) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue ${identifier}`);
      await this.repo.lockScopesOf(m, merged.id);
      const active = await this.repo.lockActiveMerge(m, merged.id);
      if (!active)
        throw new DomainError('conflict', 'ISSUE_NOT_MERGED', `${identifier} is not merged into another issue`);
      await this.matching.lockLinksBeforeUnmerge(m, merged.id);
      const target = await this.issues.findById(active.targetIssueId, m);
      const restored = await this.repo.restoreLinks(m, merged.id);
      const changed = await this.issues.markUnmerged(m, {
        mergedId: merged.id,
        targetId: active.targetIssueId,
        actor,
        reason,
        movedEventCount: restored.linkEventCount === null ? merged.eventCount : restored.movedEventCount,
        ...(restored.linkEventCount === null ? {} : { takenFrom: restored.takenFrom }),
        restoredEventCount: restored.linkEventCount ?? merged.eventCount,
      });
      await this.repo.markMergeUndone(m, active.id, actor.name);
      // The PR links never moved: the reopened issue follows its own fix again, and the survivor
      // gives up a status only that fix justified.
      const fixes = await this.matching.followFixesAfterUnmerge(m, merged.id, active.targetIssueId, actor);
      return {
        mergeId: active.id,
        into: target?.identifier ?? active.targetIssueId,
        from: changed.merged.status,
        mergedId: merged.id,
        fixes,
      };
    });
    if (done.from !== 'triage') {
      await this.bus.emit(
        'issue.status_changed',
        new IssueStatusChanged(done.mergedId, done.from, 'triage', actor.name, 'unmerged'),
      );
    }
    await done.fixes.afterCommit();
    return { merged: identifier, into: done.into, mergeId: done.mergeId, state: 'unmerged' };
  }

  /** A transaction, run again after a deadlock or serialisation failure (a hot issue's count may meet it). */
  private inTransaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return retryOnConflict(() => this.dataSource.transaction(work), MAX_ATTEMPTS);
  }
}

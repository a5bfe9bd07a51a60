import { Injectable } from '@nestjs/common';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { ErrorReceived, IssueCreated, IssueStatusChanged, IssuesMerged } from '../../shared/events/event-catalogue';
import type { DedupBatchResult, PerformedMerge } from './dedup.contract';

/**
 * Emits what a committed dedup transaction did: `issue.created`, `issues.merged` (with the merged
 * issue's `issue.status_changed` to closed) and one `error.received` per fingerprint and version of
 * the batch. Never called before the commit.
 */
@Injectable()
export class DedupAnnouncer {
  constructor(private readonly bus: DomainEventBus) {}

  async announce(result: DedupBatchResult): Promise<void> {
    if (result.created.length > 0) {
      // Each created issue's count as the batch left it (an issue merged away in the batch has none).
      const counts = new Map<string, number>();
      for (const f of result.filed) counts.set(f.issueId, Math.max(counts.get(f.issueId) ?? 0, f.eventCount));
      for (const c of result.created) {
        await this.bus.emit(
          'issue.created',
          new IssueCreated(c.issueId, c.identifier, c.fingerprint, c.source, c.feature, counts.get(c.issueId)),
        );
      }
    }
    for (const m of result.merges) await this.announceMerge(m);
    // The ingest hot path does not wait for `error.received` listeners (DomainEventBus.publish):
    // what they must not miss is already committed (links, counts, samples), so a request is not
    // held up by another module's transaction per event. Creation and merges are awaited.
    for (const f of result.filed) {
      this.bus.publish(
        'error.received',
        new ErrorReceived(f.issueId, f.fingerprint, f.eventCount, f.observedAt, f.count, f.version, {
          status: f.issueStatus,
          spawnStatus: f.spawnStatus,
        }),
      );
    }
  }

  async announceMerge(m: PerformedMerge): Promise<void> {
    if (m.mergedFromStatus !== 'closed') {
      await this.bus.emit(
        'issue.status_changed',
        new IssueStatusChanged(m.mergedIssueId, m.mergedFromStatus, 'closed', m.actor, 'merged'),
      );
    }
    if (m.targetStatusChange) {
      await this.bus.emit(
        'issue.status_changed',
        new IssueStatusChanged(
          m.targetIssueId,
          m.targetStatusChange.from,
          m.targetStatusChange.to,
          m.actor,
          'took over the fix of the merged issue',
        ),
      );
    }
    await this.bus.emit('issues.merged', new IssuesMerged(m.targetIssueId, m.mergedIssueId, m.rule, m.actor));
  }
}

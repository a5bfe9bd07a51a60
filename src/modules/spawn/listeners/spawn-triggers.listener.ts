import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../../shared/config/config';
import { OnDomainEvent } from '../../../shared/events/domain-event-bus';
import { ErrorReceived, FixFailed, IssueCreated, IssuesMerged } from '../../../shared/events/event-catalogue';
import { SpawnGateService } from '../spawn-gate.service';

/**
 * The fast path into the gate. Thin and idempotent: the worker's sweep queues the same requests
 * when an event was lost, and the unique index keeps one active request per issue.
 */
@Injectable()
export class SpawnTriggersListener {
  constructor(
    private readonly gate: SpawnGateService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @OnDomainEvent('error.received')
  async onErrorReceived(e: ErrorReceived): Promise<void> {
    if (e.eventCount < this.config.MIN_EVENT_COUNT_TO_SPAWN) return;
    // A spawn status is set only together with a request that is not cancelled (the gate writes
    // both in one transaction): such an issue already has its request, so no query is needed.
    // This is what keeps a hot error's events from costing a query each.
    if (e.issue !== undefined && e.issue.spawnStatus !== null) return;
    await this.gate.enqueueEligible({ issueId: e.issueId });
  }

  @OnDomainEvent('issue.created')
  async onIssueCreated(e: IssueCreated): Promise<void> {
    // Filed with fewer events than the gate needs: not eligible yet, and the `error.received` that
    // brings it to the minimum queues it. No query for every new issue.
    if (e.eventCount !== undefined && e.eventCount < this.config.MIN_EVENT_COUNT_TO_SPAWN) return;
    await this.gate.enqueueEligible({ issueId: e.issueId });
  }

  @OnDomainEvent('issues.merged')
  async onIssuesMerged(e: IssuesMerged): Promise<void> {
    await this.gate.cancelForMerge(e.mergedIssueId, e.targetIssueId);
  }

  @OnDomainEvent('fix.failed')
  async onFixFailed(e: FixFailed): Promise<void> {
    await this.gate.requestAfterFailedFix(e.issueId, e.windowId);
  }
}

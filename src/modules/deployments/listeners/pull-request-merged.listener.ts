import { Injectable, Logger } from '@nestjs/common';
import { OnDomainEvent } from '../../../shared/events/domain-event-bus';
import { PullRequestMerged } from '../../../shared/events/event-catalogue';
import { DeploymentsService } from '../deployments.service';

/** A merge that arrives after its production deploy was processed still reaches in_production. */
@Injectable()
export class PullRequestMergedListener {
  private readonly logger = new Logger(PullRequestMergedListener.name);

  constructor(private readonly deployments: DeploymentsService) {}

  @OnDomainEvent('pull_request.merged')
  async handle(event: PullRequestMerged): Promise<void> {
    try {
      await this.deployments.checkLateMerge(event.issuePrId);
    } catch (err) {
      // The next production deploy that contains the merge commit carries it anyway.
      this.logger.warn({ msg: 'late merge check failed', issuePrId: event.issuePrId, err: String(err) });
    }
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { OnDomainEvent } from '../../../shared/events/domain-event-bus';
import { IssueCreated } from '../../../shared/events/event-catalogue';
import { IssueEmbeddingService } from '../issue-embedding.service';

/** A new issue gets its embedding right away; the sweep catches any this misses. */
@Injectable()
export class IssueCreatedListener {
  private readonly logger = new Logger(IssueCreatedListener.name);

  constructor(private readonly embeddings: IssueEmbeddingService) {}

  @OnDomainEvent('issue.created')
  async handle(event: IssueCreated): Promise<void> {
    try {
      await this.embeddings.embedIssues([event.issueId]);
    } catch (err) {
      this.logger.warn({
        msg: 'embedding a new issue failed; the sweep will retry',
        issueId: event.issueId,
        err: String(err),
      });
    }
  }
}

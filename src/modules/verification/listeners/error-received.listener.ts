import { Injectable } from '@nestjs/common';
import { OnDomainEvent } from '../../../shared/events/domain-event-bus';
import { ErrorReceived } from '../../../shared/events/event-catalogue';
import { VerificationService } from '../verification.service';

/**
 * Fast path: an error arrived for an issue or fingerprint under verification, so check that window
 * now rather than at the next scheduled run (which re-reads error_events and so covers a lost event).
 */
@Injectable()
export class ErrorReceivedListener {
  constructor(private readonly verification: VerificationService) {}

  @OnDomainEvent('error.received')
  async handle(event: ErrorReceived): Promise<void> {
    await this.verification.onErrorReceived(event);
  }
}

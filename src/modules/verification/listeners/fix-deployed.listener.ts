import { Injectable } from '@nestjs/common';
import { OnDomainEvent } from '../../../shared/events/domain-event-bus';
import { FixDeployed } from '../../../shared/events/event-catalogue';
import { VerificationService } from '../verification.service';

/** A fix reached production: open its verification window (idempotent; the sweep covers a lost event). */
@Injectable()
export class FixDeployedListener {
  constructor(private readonly verification: VerificationService) {}

  @OnDomainEvent('fix.deployed')
  async handle(event: FixDeployed): Promise<void> {
    await this.verification.openForDeployment(event);
  }
}

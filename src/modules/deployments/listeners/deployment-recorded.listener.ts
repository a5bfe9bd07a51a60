import { Injectable } from '@nestjs/common';
import { OnDomainEvent } from '../../../shared/events/domain-event-bus';
import { DeploymentRecorded } from '../../../shared/events/event-catalogue';
import { DeploymentsService } from '../deployments.service';

/** Processes a new deployment right away; the sweep retries whatever this could not finish. */
@Injectable()
export class DeploymentRecordedListener {
  constructor(private readonly deployments: DeploymentsService) {}

  @OnDomainEvent('deployment.recorded')
  async handle(event: DeploymentRecorded): Promise<void> {
    await this.deployments.process(event.deploymentId);
  }
}

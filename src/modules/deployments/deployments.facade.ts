import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { DeploymentRecorded } from '../../shared/events/event-catalogue';
import { NewDeployment } from './deployments.repository';
import { DeploymentsService } from './deployments.service';

export interface RecordedDeployment {
  deploymentId: string;
  created: boolean;
  /** Nudges processing; call after the caller's transaction committed (fire and forget). */
  afterCommit: () => void;
}

/**
 * The deployments module's door, for the github module: record a GitHub deployment inside the
 * webhook's transaction. Processing (compare calls, issue moves, fix.deployed) runs after commit
 * from the `deployment.recorded` event, and the sweep retries it.
 */
@Injectable()
export class DeploymentsFacade {
  constructor(
    private readonly deployments: DeploymentsService,
    private readonly events: DomainEventBus,
  ) {}

  async recordGithubDeployment(m: EntityManager, d: Omit<NewDeployment, 'source'>): Promise<RecordedDeployment> {
    const { row, created } = await this.deployments.recordInTransaction(m, { ...d, source: 'github' });
    return {
      deploymentId: row.id,
      created,
      afterCommit: () => {
        if (created)
          this.events.publish('deployment.recorded', new DeploymentRecorded(row.id, row.source, row.environment));
      },
    };
  }

  /** Processes outstanding deployments now (what the sweep does); returns how many were looked at. */
  processPending(): Promise<number> {
    return this.deployments.processPending();
  }
}

import { Module } from '@nestjs/common';
import { DeploymentsModule } from '../deployments/deployments.module';
import { MatchingModule } from '../matching/matching.module';
import { GithubWebhookController } from './github-webhook.controller';
import { GithubWebhookService } from './github-webhook.service';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';

/**
 * GitHub's side of the lifecycle: the signed webhook. It verifies, de-duplicates and routes:
 * pull_request to matching (links, issue status), deployment_status to deployments,
 * workflow_run out as the `workflow_run.reported` event (the spawn module closes runs by it).
 */
@Module({
  imports: [MatchingModule, DeploymentsModule],
  controllers: [GithubWebhookController],
  providers: [GithubWebhookService, WebhookDeliveriesRepository],
})
export class GithubModule {}

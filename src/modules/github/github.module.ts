import { Module } from '@nestjs/common';
import { DeploymentsModule } from '../deployments/deployments.module';
import { IssuesModule } from '../issues/issues.module';
import { MatchingModule } from '../matching/matching.module';
import { GithubPullRequestsClient } from './github-pull-requests.client';
import { GithubWebhookController } from './github-webhook.controller';
import { GithubWebhookService } from './github-webhook.service';
import { PullRequestLinksController } from './pull-request-links.controller';
import { PullRequestLinksService } from './pull-request-links.service';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDeliveryRetentionCron } from './webhook-delivery-retention.cron';

/**
 * GitHub's side of the lifecycle: the signed webhook. It verifies, de-duplicates and routes:
 * pull_request to matching (links, issue status), deployment_status to deployments,
 * workflow_run out as the `workflow_run.reported` event (the spawn module closes runs by it).
 * And a person's link of a PR to an issue, with the PR read from GitHub's API.
 */
@Module({
  imports: [MatchingModule, DeploymentsModule, IssuesModule],
  controllers: [GithubWebhookController, PullRequestLinksController],
  providers: [
    GithubWebhookService,
    WebhookDeliveriesRepository,
    WebhookDeliveryRetentionCron,
    GithubPullRequestsClient,
    PullRequestLinksService,
  ],
})
export class GithubModule {}

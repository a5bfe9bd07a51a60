import { Module } from '@nestjs/common';
import { IssuesModule } from '../issues/issues.module';
import { MatchingModule } from '../matching/matching.module';
import { DeploymentsController } from './deployments.controller';
import { DeploymentsCron } from './deployments.cron';
import { DeploymentsFacade } from './deployments.facade';
import { DeploymentsRepository } from './deployments.repository';
import { DeploymentsService } from './deployments.service';
import { GithubCompareClient } from './github-compare.client';
import { DeploymentRecordedListener } from './listeners/deployment-recorded.listener';
import { PullRequestMergedListener } from './listeners/pull-request-merged.listener';

/** Deploy tracking: which merged PRs a deploy carried; issues to in_production; fix.deployed. */
@Module({
  imports: [IssuesModule, MatchingModule],
  controllers: [DeploymentsController],
  providers: [
    DeploymentsRepository,
    DeploymentsService,
    GithubCompareClient,
    DeploymentRecordedListener,
    PullRequestMergedListener,
    DeploymentsCron,
    DeploymentsFacade,
  ],
  exports: [DeploymentsFacade],
})
export class DeploymentsModule {}

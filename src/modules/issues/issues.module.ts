import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IssueHistoryEntity } from './entities/issue-history.entity';
import { IssueEntity } from './entities/issue.entity';
import { IssueSearchFacade } from './issue-search.facade';
import { IssueViewsRepository } from './issue-views.repository';
import { IssuesController } from './issues.controller';
import { IssuesFacade } from './issues.facade';
import { IssuesRepository } from './issues.repository';
import { IssuesService } from './issues.service';

/**
 * The issue tracker: issues, their history, the admin API. Other modules change issues only
 * through IssuesFacade (inside their own transaction) or by events.
 */
@Module({
  imports: [TypeOrmModule.forFeature([IssueEntity, IssueHistoryEntity])],
  controllers: [IssuesController],
  providers: [IssuesRepository, IssueViewsRepository, IssuesService, IssuesFacade, IssueSearchFacade],
  exports: [IssuesFacade, IssueSearchFacade],
})
export class IssuesModule {}

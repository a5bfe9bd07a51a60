import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { IssueEntity } from './entities/issue.entity';
import { IssueHistoryEntity } from './entities/issue-history.entity';
import type { IssueStatus } from './issue-status.contract';

export interface IssueCursor {
  createdAt: Date;
  id: string;
}

export interface IssueListFilter {
  status?: IssueStatus;
  priority?: number;
  source?: string;
  feature?: string;
  label?: string;
  text?: string;
}

/** Issues and their history. Only the issues module uses it. */
@Injectable()
export class IssuesRepository {
  constructor(private readonly dataSource: DataSource) {}

  private repo(manager?: EntityManager) {
    return (manager ?? this.dataSource.manager).getRepository(IssueEntity);
  }

  findByIdentifier(identifier: string, manager?: EntityManager): Promise<IssueEntity | null> {
    return this.repo(manager).findOne({ where: { identifier } });
  }

  findById(id: string, manager?: EntityManager): Promise<IssueEntity | null> {
    return this.repo(manager).findOne({ where: { id } });
  }

  /** Locks the issue row for the rest of the caller's transaction. */
  lockById(id: string, manager: EntityManager): Promise<IssueEntity | null> {
    return this.repo(manager)
      .createQueryBuilder('i')
      .setLock('pessimistic_write')
      .where('i.id = :id', { id })
      .getOne();
  }

  /** Newest first, keyset-paginated on (created_at, id). */
  async listNewestFirst(filter: IssueListFilter, limit: number, after?: IssueCursor): Promise<IssueEntity[]> {
    const qb = this.repo().createQueryBuilder('i');
    if (filter.status) qb.andWhere('i.status = :status', { status: filter.status });
    if (filter.priority) qb.andWhere('i.priority = :priority', { priority: filter.priority });
    if (filter.source) qb.andWhere('i.source = :source', { source: filter.source });
    if (filter.feature) qb.andWhere('i.feature = :feature', { feature: filter.feature });
    if (filter.label) qb.andWhere(':label = ANY(i.labels)', { label: filter.label });
    if (filter.text) {
      qb.andWhere('(i.title ILIKE :text OR i.normalized_message ILIKE :text OR i.identifier ILIKE :text)', {
        text: `%${filter.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
      });
    }
    if (after) {
      qb.andWhere('(i.created_at, i.id) < (:createdAt, :id)', { createdAt: after.createdAt, id: after.id });
    }
    return qb.orderBy('i.created_at', 'DESC').addOrderBy('i.id', 'DESC').limit(limit).getMany();
  }

  historyOf(issueId: string): Promise<IssueHistoryEntity[]> {
    return this.dataSource.getRepository(IssueHistoryEntity).find({ where: { issueId }, order: { id: 'ASC' } });
  }
}

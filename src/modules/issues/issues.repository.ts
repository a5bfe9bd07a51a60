import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { absorbedCte, survivorsCte } from '../../shared/database/merge-chain.sql';
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
    return this.repo(manager).createQueryBuilder('i').setLock('pessimistic_write').where('i.id = :id', { id }).getOne();
  }

  /**
   * The issue at the end of `id`'s merge chain (A merged into B, B into C: C), or `id` itself when
   * it is not merged; null for an unknown id. Merges never form a cycle (a merge's target must be
   * live); the depth bound only guards against corrupt data.
   */
  async survivorIdOf(id: string, manager?: EntityManager): Promise<string | null> {
    const rows = (await (manager ?? this.dataSource.manager).query(
      `WITH RECURSIVE ${survivorsCte('chain', '$1', { includeRoot: true, maxDepth: 64 })}
       SELECT id FROM chain WHERE merged_into_id IS NULL LIMIT 1`,
      [id],
    )) as { id: string }[];
    return rows[0]?.id ?? null;
  }

  /**
   * The issues merged into `id`, directly or along a chain (A into B, B into C: both for C): the
   * issues whose live survivor `id` is when it is live itself.
   */
  async absorbedIdsOf(id: string, manager?: EntityManager): Promise<string[]> {
    const rows = (await (manager ?? this.dataSource.manager).query(
      `WITH RECURSIVE ${absorbedCte('absorbed', '$1')}
       SELECT id FROM absorbed`,
      [id],
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /**
   * The status the issue had before it last took up a fix: the `from` of its latest status change
   * from triage, investigating or needs_human to in_review, in_staging or in_production; null when
   * it never did.
   */
  async statusBeforeFix(id: string, manager?: EntityManager): Promise<string | null> {
    const rows = (await (manager ?? this.dataSource.manager).query(
      `SELECT from_value FROM issue_history
        WHERE issue_id = $1 AND field = 'status'
          AND from_value IN ('triage', 'investigating', 'needs_human')
          AND to_value IN ('in_review', 'in_staging', 'in_production')
        ORDER BY id DESC LIMIT 1`,
      [id],
    )) as { from_value: string }[];
    return rows[0]?.from_value ?? null;
  }

  /**
   * The `labels` and `priority` history entries a failed fix's window wrote on the issue (the
   * verification actor, naming the window), newest first.
   */
  async failedFixEntries(
    id: string,
    failure: { windowId: string; decisionReason: string },
    manager: EntityManager,
  ): Promise<{ id: number; field: 'labels' | 'priority'; from: string | null; to: string | null }[]> {
    // Entries written since they name their window (`data.windowId`) are found by it; older ones,
    // which carry no data, by the window's decision reason, which they share.
    const rows = (await manager.query(
      `SELECT id, field, from_value, to_value FROM issue_history
        WHERE issue_id = $1 AND actor = 'system:verification' AND field IN ('labels', 'priority')
          AND (data->>'windowId' = $2 OR (data IS NULL AND reason = $3))
        ORDER BY id DESC`,
      [id, failure.windowId, failure.decisionReason],
    )) as { id: string; field: 'labels' | 'priority'; from_value: string | null; to_value: string | null }[];
    return rows.map((r) => ({ id: Number(r.id), field: r.field, from: r.from_value, to: r.to_value }));
  }

  /** The ids of the issue's `priority` history entries from `sinceId` on. */
  async priorityChangesSince(id: string, sinceId: number, manager: EntityManager): Promise<number[]> {
    const rows = (await manager.query(
      `SELECT id FROM issue_history WHERE issue_id = $1 AND field = 'priority' AND id >= $2 ORDER BY id`,
      [id, sinceId],
    )) as { id: string }[];
    return rows.map((r) => Number(r.id));
  }

  /** The windows whose failed fix was handed over from this issue already (history `data.movedTo`). */
  async handedOverWindows(id: string, manager: EntityManager): Promise<Set<string>> {
    const rows = (await manager.query(
      `SELECT data->>'windowId' AS window_id FROM issue_history
        WHERE issue_id = $1 AND field = 'verification' AND data ? 'movedTo'`,
      [id],
    )) as { window_id: string }[];
    return new Set(rows.map((r) => r.window_id));
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

  findByIdentifiers(identifiers: string[], manager?: EntityManager): Promise<IssueEntity[]> {
    if (identifiers.length === 0) return Promise.resolve([]);
    return this.repo(manager).find({ where: { identifier: In(identifiers) } });
  }

  findByIds(ids: string[], manager?: EntityManager): Promise<IssueEntity[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.repo(manager).find({ where: { id: In(ids) } });
  }

  // --- embeddings (the `embedding` column exists only where pgvector is installed) ---

  async storeEmbedding(
    manager: EntityManager,
    issueId: string,
    vectorLiteral: string,
    model: string,
  ): Promise<boolean> {
    const rows = (await manager.query(
      `UPDATE issues SET embedding = $1::vector, embedding_model = $2 WHERE id = $3 RETURNING id`,
      [vectorLiteral, model, issueId],
    )) as unknown[];
    return rowCount(rows) > 0;
  }

  /** Issues (not merged away) that have no embedding of this model yet, oldest first. */
  async idsWithoutEmbedding(model: string, limit: number): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `SELECT id FROM issues
        WHERE merged_into_id IS NULL AND (embedding IS NULL OR embedding_model IS DISTINCT FROM $1)
        ORDER BY created_at, id LIMIT $2`,
      [model, limit],
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async embeddingOf(issueId: string): Promise<{ vector: string; model: string } | null> {
    const rows = (await this.dataSource.query(
      `SELECT embedding::text AS vector, embedding_model AS model FROM issues WHERE id = $1 AND embedding IS NOT NULL`,
      [issueId],
    )) as { vector: string; model: string | null }[];
    const r = rows[0];
    return r && r.model ? { vector: r.vector, model: r.model } : null;
  }

  /**
   * Nearest issues by cosine distance (pgvector `<=>`), only among vectors of the same model
   * (dimensions differ between models), not merged away, in the given statuses.
   */
  async nearestByEmbedding(
    vectorLiteral: string,
    model: string,
    statuses: readonly IssueStatus[],
    limit: number,
    excludeIssueId?: string,
  ): Promise<{ id: string; distance: number }[]> {
    const rows = (await this.dataSource.query(
      `SELECT id, (embedding <=> $1::vector) AS distance
         FROM issues
        WHERE embedding IS NOT NULL AND embedding_model = $2 AND merged_into_id IS NULL
          AND status = ANY($3::text[]) AND ($4::uuid IS NULL OR id <> $4::uuid)
        ORDER BY embedding <=> $1::vector, id
        LIMIT $5`,
      [vectorLiteral, model, statuses, excludeIssueId ?? null, limit],
    )) as { id: string; distance: string | number }[];
    return rows.map((r) => ({ id: r.id, distance: Number(r.distance) }));
  }

  /** Most recently seen issues in the given statuses (the LLM judge's candidates without pgvector). */
  async recentInStatuses(statuses: readonly IssueStatus[], limit: number): Promise<IssueEntity[]> {
    return this.repo()
      .createQueryBuilder('i')
      .where('i.status IN (:...statuses)', { statuses: [...statuses] })
      .andWhere('i.merged_into_id IS NULL')
      .orderBy('i.last_seen_at', 'DESC')
      .addOrderBy('i.id', 'DESC')
      .limit(limit)
      .getMany();
  }
}

/** node-postgres via TypeORM returns rows for RETURNING queries (UPDATE gives [rows, count]). */
function rowCount(result: unknown): number {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number')
    return result[1];
  return Array.isArray(result) ? result.length : 0;
}

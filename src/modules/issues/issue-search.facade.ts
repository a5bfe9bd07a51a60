import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { IssueSnapshot, IssueStatus, toSnapshot } from './issue-status.contract';
import { IssuesFacade } from './issues.facade';
import { IssuesRepository } from './issues.repository';

/** Statuses of issues still waiting for a fix: the ones a new PR may be linked to. */
export const AWAITING_FIX_STATUSES: readonly IssueStatus[] = ['triage', 'investigating', 'needs_human', 'in_review'];
/** Statuses of open issues (not verified, not closed). */
export const OPEN_STATUSES: readonly IssueStatus[] = [
  'triage',
  'investigating',
  'needs_human',
  'in_review',
  'in_staging',
  'in_production',
];

export interface SimilarIssue {
  issue: IssueSnapshot;
  /** 1 - cosine distance. */
  similarity: number;
}

/**
 * The issues module's second door, for the matching module: look issues up by identifier, store
 * their embeddings and find the nearest ones (pgvector). Kept apart from IssuesFacade so the
 * state-changing door stays small. The embedding methods need pgvector (the column exists only
 * then); callers check DATABASE_CAPABILITIES.pgvector first.
 */
@Injectable()
export class IssueSearchFacade {
  constructor(
    private readonly issues: IssuesRepository,
    private readonly issuesFacade: IssuesFacade,
  ) {}

  /**
   * Issues by identifier; an identifier merged into another issue resolves to the issue at the end
   * of its merge chain (A into B, B into C: A resolves to C), the one that holds its fingerprints
   * (`IssuesFacade.liveSurvivor`).
   */
  async resolveIdentifiers(identifiers: string[], manager?: EntityManager): Promise<Map<string, IssueSnapshot>> {
    const found = await this.issues.findByIdentifiers(identifiers, manager);
    const result = new Map<string, IssueSnapshot>();
    for (const i of found) {
      const target = i.mergedIntoId ? await this.issuesFacade.liveSurvivor(i.id, manager) : toSnapshot(i);
      if (target) result.set(i.identifier, target);
    }
    return result;
  }

  async findByIds(ids: string[], manager?: EntityManager): Promise<IssueSnapshot[]> {
    return (await this.issues.findByIds(ids, manager)).map((i) => toSnapshot(i));
  }

  /** Writes the issue's embedding and the model that produced it. */
  storeEmbedding(manager: EntityManager, issueId: string, vectorLiteral: string, model: string): Promise<boolean> {
    return this.issues.storeEmbedding(manager, issueId, vectorLiteral, model);
  }

  /** Ids of live issues without an embedding of this model (for the sweep). */
  idsWithoutEmbedding(model: string, limit: number): Promise<string[]> {
    return this.issues.idsWithoutEmbedding(model, limit);
  }

  embeddingOf(issueId: string): Promise<{ vector: string; model: string } | null> {
    return this.issues.embeddingOf(issueId);
  }

  /** Nearest issues (pgvector cosine distance `<=>`) among those with the same embedding model. */
  async nearest(
    vectorLiteral: string,
    model: string,
    statuses: readonly IssueStatus[],
    limit: number,
    excludeIssueId?: string,
  ): Promise<SimilarIssue[]> {
    const hits = await this.issues.nearestByEmbedding(vectorLiteral, model, statuses, limit, excludeIssueId);
    const issues = new Map((await this.issues.findByIds(hits.map((h) => h.id))).map((i) => [i.id, i]));
    return hits.flatMap((h) => {
      const i = issues.get(h.id);
      return i ? [{ issue: toSnapshot(i), similarity: 1 - h.distance }] : [];
    });
  }

  /** The most recently seen issues in these statuses. */
  async recent(statuses: readonly IssueStatus[], limit: number): Promise<IssueSnapshot[]> {
    return (await this.issues.recentInStatuses(statuses, limit)).map((i) => toSnapshot(i));
  }
}

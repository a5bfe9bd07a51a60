import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DATABASE_CAPABILITIES, DatabaseCapabilities } from '../../shared/database/database-kind';
import { DomainError } from '../../shared/errors/domain-error';
import { IssueSearchFacade, OPEN_STATUSES } from '../issues/issue-search.facade';
import { IssueSnapshot, formatPriority } from '../issues/issue-status.contract';
import { EMBEDDING_PROVIDER, EmbeddingProvider, toVectorLiteral } from './embeddings/embedding-provider';

/** What an issue's embedding is made of: its title and message template, with service and feature. */
export function issueText(i: Pick<IssueSnapshot, 'title' | 'normalizedMessage' | 'source' | 'feature'>): string {
  const message = i.normalizedMessage === i.title ? '' : `\n${i.normalizedMessage}`;
  return `${i.title}${message}\n${i.source} ${i.feature}`;
}

export interface SimilarIssueView {
  identifier: string;
  title: string;
  status: string;
  priority: string;
  source: string;
  feature: string;
  similarity: number;
}

/**
 * Embeds issues (on `issue.created`, and a sweep for those an event missed) and answers "which
 * open issues are nearest to this one". Needs pgvector; without it embedding is a no-op and the
 * similarity endpoint explains how to turn it on.
 */
@Injectable()
export class IssueEmbeddingService {
  private readonly logger = new Logger(IssueEmbeddingService.name);

  constructor(
    private readonly dataSource: DataSource,
    @Inject(DATABASE_CAPABILITIES) private readonly capabilities: DatabaseCapabilities,
    @Inject(EMBEDDING_PROVIDER) private readonly embedder: EmbeddingProvider,
    private readonly issues: IssueSearchFacade,
  ) {}

  get enabled(): boolean {
    return this.capabilities.pgvector;
  }

  /** Embeds these issues (idempotent: rewrites the same vector). Returns how many were written. */
  async embedIssues(issueIds: string[]): Promise<number> {
    if (!this.enabled || issueIds.length === 0) return 0;
    const issues = await this.issues.findByIds(issueIds);
    if (issues.length === 0) return 0;
    const vectors = await this.embedder.embed(issues.map((i) => issueText(i)));
    let written = 0;
    await this.dataSource.transaction(async (m) => {
      for (let k = 0; k < issues.length; k++) {
        if (await this.issues.storeEmbedding(m, issues[k]!.id, toVectorLiteral(vectors[k]!), this.embedder.model))
          written++;
      }
    });
    return written;
  }

  /**
   * The sweep: embeds live issues that have no embedding of the current model (events can be lost,
   * the model can change). Safe with several replicas: the write is idempotent, at worst an issue
   * is embedded twice.
   */
  async embedMissing(batchSize = 50): Promise<number> {
    if (!this.enabled) return 0;
    let total = 0;
    for (let round = 0; round < 20; round++) {
      const ids = await this.issues.idsWithoutEmbedding(this.embedder.model, batchSize);
      if (ids.length === 0) break;
      const written = await this.embedIssues(ids);
      total += written;
      if (written === 0 || ids.length < batchSize) break;
    }
    if (total > 0) this.logger.log({ msg: 'embedded issues', count: total, model: this.embedder.model });
    return total;
  }

  /** Nearest open issues to one issue, by cosine similarity of their embeddings. */
  async similarTo(identifier: string, limit: number): Promise<{ model: string; items: SimilarIssueView[] }> {
    if (!this.enabled) {
      throw new DomainError(
        'unavailable',
        'SIMILARITY_DISABLED',
        'Similarity search is off: this database has no pgvector. Install pgvector on the server and run ' +
          '`CREATE EXTENSION vector;` in the fixloop database, then restart fixloop (the columns are added at start).',
      );
    }
    const [issue] = [...(await this.issues.resolveIdentifiers([identifier])).values()];
    if (!issue) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue ${identifier}`);
    let stored = await this.issues.embeddingOf(issue.id);
    if (!stored || stored.model !== this.embedder.model) {
      await this.embedIssues([issue.id]);
      stored = await this.issues.embeddingOf(issue.id);
    }
    if (!stored) throw new DomainError('unavailable', 'SIMILARITY_NOT_EMBEDDED', `${identifier} could not be embedded`);
    const near = await this.issues.nearest(stored.vector, stored.model, OPEN_STATUSES, limit, issue.id);
    return {
      model: stored.model,
      items: near.map((n) => ({
        identifier: n.issue.identifier,
        title: n.issue.title,
        status: n.issue.status,
        priority: formatPriority(n.issue.priority),
        source: n.issue.source,
        feature: n.issue.feature,
        similarity: Math.round(n.similarity * 10000) / 10000,
      })),
    };
  }
}

import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { DATABASE_CAPABILITIES, DatabaseCapabilities } from '../../shared/database/database-kind';
import { scrubbedText } from '../../shared/security/scrubbed-text';
import { AWAITING_FIX_STATUSES, IssueSearchFacade, SimilarIssue } from '../issues/issue-search.facade';
import { IssueSnapshot } from '../issues/issue-status.contract';
import { EMBEDDING_PROVIDER, EmbeddingProvider, toVectorLiteral } from './embeddings/embedding-provider';
import { findIdentifiers, parseRevert } from './identifier-matcher';
import { IssueLinksRepository } from './issue-links.repository';
import { JudgeCandidate, LLM_JUDGE, LlmJudge } from './judge/llm-judge';
import { MatchResult, MatchStepReport, ProposedLink, PullRequestFacts } from './matching.contract';

export interface MatchOptions {
  /** The PR already has links: only step 1 runs (to pick up newly mentioned identifiers). */
  alreadyLinked: boolean;
}

/** The text of a PR that matching reads; its hash says whether a PR's text changed. */
export function prText(pr: Pick<PullRequestFacts, 'title' | 'body'>): string {
  return `${pr.title}\n\n${pr.body ?? ''}`.trim();
}
export function prTextHash(pr: Pick<PullRequestFacts, 'title' | 'body' | 'headBranch'>): string {
  return createHash('sha256')
    .update(`${pr.title}\n${pr.headBranch ?? ''}\n${pr.body ?? ''}`)
    .digest('hex');
}

/**
 * Finds the issues a PR fixes, in three steps, each reported with its evidence:
 * 1. identifier: `<ISSUE_PREFIX>-<n>` in title, branch or body;
 * 2. semantic: the PR's embedding against open issues' embeddings (pgvector), accepted only above
 *    MATCH_SIMILARITY_THRESHOLD and MATCH_MARGIN over the runner-up;
 * 3. LLM judge for what 2 leaves ambiguous (or, without pgvector, over the most recent issues),
 *    linked at MATCH_LLM_MIN_CONFIDENCE or more. Without a provider, step 3 is skipped and says so.
 * Reads only; the caller writes the result in its transaction.
 */
@Injectable()
export class PrMatcherService {
  private readonly logger = new Logger(PrMatcherService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(DATABASE_CAPABILITIES) private readonly capabilities: DatabaseCapabilities,
    @Inject(EMBEDDING_PROVIDER) private readonly embedder: EmbeddingProvider,
    @Optional() @Inject(LLM_JUDGE) private readonly judge: LlmJudge | null,
    private readonly issues: IssueSearchFacade,
    private readonly links: IssueLinksRepository,
  ) {}

  /** Why the PR's author is not trusted (PR_TRUSTED_ASSOCIATIONS, PR_TRUSTED_AUTHORS), or undefined when it is. */
  private untrustedAuthor(pr: PullRequestFacts): string | undefined {
    const login = pr.author?.toLowerCase();
    const association = pr.authorAssociation?.toUpperCase();
    if (login !== undefined && this.config.PR_TRUSTED_AUTHORS.some((a) => a.toLowerCase() === login)) return undefined;
    if (association !== undefined && this.config.PR_TRUSTED_ASSOCIATIONS.some((a) => a.toUpperCase() === association)) {
      return undefined;
    }
    return (
      `the author ${pr.author ?? '(unknown)'} (${pr.authorAssociation ?? 'no association'}) is not trusted ` +
      '(PR_TRUSTED_ASSOCIATIONS, PR_TRUSTED_AUTHORS), so the PR is not matched to issues; once the author is ' +
      'trusted, the next event of the PR matches it'
    );
  }

  async match(pr: PullRequestFacts, options: MatchOptions): Promise<MatchResult & { prEmbedding?: string }> {
    const textHash = prTextHash(pr);
    const steps: MatchStepReport[] = [];
    const revertOf = parseRevert(pr.title, pr.body);
    if (revertOf) {
      const reason = `a revert PR (${revertOf.prNumber ? `reverts #${revertOf.prNumber}` : `reverts "${revertOf.originalTitle}"`}): it undoes a fix, it is not one`;
      for (const step of ['identifier', 'semantic', 'llm'] as const) steps.push({ step, status: 'skipped', reason });
      return { textHash, links: [], steps, revertOf };
    }

    // Only trusted authors' PRs are matched automatically: anyone who can open a PR can name an
    // issue's identifier in it, and a link moves the issue (In Review, and on through the deploy).
    const untrusted = this.untrustedAuthor(pr);
    if (untrusted !== undefined) {
      for (const step of ['identifier', 'semantic', 'llm'] as const) {
        steps.push({ step, status: 'skipped', reason: untrusted, details: { untrustedAuthor: true } });
      }
      return { textHash, links: [], steps, revertOf: null };
    }

    // Step 1: identifiers.
    const hits = findIdentifiers(this.config.ISSUE_PREFIX, { title: pr.title, branch: pr.headBranch, body: pr.body });
    const resolved = await this.issues.resolveIdentifiers(hits.map((h) => h.identifier));
    const links: ProposedLink[] = [];
    const seen = new Set<string>();
    for (const hit of hits) {
      const issue = resolved.get(hit.identifier);
      if (!issue || seen.has(issue.id)) continue;
      seen.add(issue.id);
      links.push({
        issueId: issue.id,
        identifier: issue.identifier,
        method: 'identifier',
        score: 1,
        evidence: {
          step: 'identifier',
          mentioned: hit.identifier,
          foundIn: hit.foundIn,
          ...(issue.identifier !== hit.identifier ? { mergedInto: issue.identifier } : {}),
        },
      });
    }
    const unknown = hits.filter((h) => !resolved.has(h.identifier)).map((h) => h.identifier);
    steps.push(
      links.length > 0
        ? {
            step: 'identifier',
            status: 'matched',
            reason: `mentions ${links.map((l) => l.identifier).join(', ')}`,
            details: { hits, unknown },
          }
        : {
            step: 'identifier',
            status: 'no_match',
            reason:
              hits.length > 0
                ? `mentions ${unknown.join(', ')}, which no issue has`
                : `no ${this.config.ISSUE_PREFIX}-<n> in title, branch or body`,
            details: { hits, unknown },
          },
    );
    if (links.length > 0 || options.alreadyLinked) {
      const reason =
        links.length > 0
          ? 'step 1 linked the PR by identifier'
          : 'the PR is already linked; only identifiers are re-read';
      steps.push({ step: 'semantic', status: 'skipped', reason }, { step: 'llm', status: 'skipped', reason });
      return { textHash, links, steps, revertOf: null };
    }

    const previous = await this.links.latestRunWithText(pr.repoOwner, pr.repoName, pr.number, textHash);
    if (previous) {
      const reason = `the PR's text is unchanged since match run ${previous.id} (${previous.outcome}); not asked again`;
      steps.push({ step: 'semantic', status: 'skipped', reason }, { step: 'llm', status: 'skipped', reason });
      return { textHash, links, steps, revertOf: null };
    }

    // Step 2: semantic.
    let candidates: JudgeCandidate[] = [];
    let prEmbedding: string | undefined;
    const candidateIssues = new Map<string, IssueSnapshot>();
    if (!this.capabilities.pgvector) {
      steps.push({
        step: 'semantic',
        status: 'skipped',
        reason:
          'pgvector is not installed on this database: install it and run CREATE EXTENSION vector, then restart fixloop',
      });
      const recent = await this.issues.recent(AWAITING_FIX_STATUSES, this.config.MATCH_LLM_CANDIDATES);
      for (const i of recent) candidateIssues.set(i.identifier, i);
      candidates = recent.map((i) => toCandidate(i));
    } else {
      try {
        const [vector] = await this.embedder.embed([prText(pr)]);
        prEmbedding = toVectorLiteral(vector!);
        const near = await this.issues.nearest(
          prEmbedding,
          this.embedder.model,
          AWAITING_FIX_STATUSES,
          this.config.MATCH_LLM_CANDIDATES,
        );
        const decided = this.decideSemantic(near);
        steps.push(decided.report);
        if (decided.link) {
          steps.push({ step: 'llm', status: 'skipped', reason: 'step 2 found a clear match' });
          return { textHash, links: [decided.link], steps, revertOf: null, prEmbedding };
        }
        const above = near.filter((n) => n.similarity >= this.config.MATCH_CANDIDATE_FLOOR);
        for (const n of above) candidateIssues.set(n.issue.identifier, n.issue);
        candidates = above.map((n) => toCandidate(n.issue, n.similarity));
        if (candidates.length === 0) {
          steps.push({
            step: 'llm',
            status: 'skipped',
            reason: `no open issue is even loosely similar (floor ${this.config.MATCH_CANDIDATE_FLOOR}): nothing to judge`,
          });
          return { textHash, links: [], steps, revertOf: null, prEmbedding };
        }
      } catch (err) {
        steps.push({
          step: 'semantic',
          status: 'failed',
          reason: `embedding or similarity search failed: ${message(err)}`,
        });
        const recent = await this.issues.recent(AWAITING_FIX_STATUSES, this.config.MATCH_LLM_CANDIDATES);
        for (const i of recent) candidateIssues.set(i.identifier, i);
        candidates = recent.map((i) => toCandidate(i));
      }
    }

    // Step 3: LLM judge.
    steps.push(await this.runJudge(pr, candidates, candidateIssues, links));
    return { textHash, links, steps, revertOf: null, prEmbedding };
  }

  private decideSemantic(near: SimilarIssue[]): { report: MatchStepReport; link?: ProposedLink } {
    const top = near.slice(0, 5).map((n) => ({ identifier: n.issue.identifier, similarity: round(n.similarity) }));
    const details = {
      model: this.embedder.model,
      threshold: this.config.MATCH_SIMILARITY_THRESHOLD,
      margin: this.config.MATCH_MARGIN,
      top,
    };
    const [best, second] = near;
    if (!best)
      return {
        report: { step: 'semantic', status: 'no_match', reason: 'no open issue has an embedding yet', details },
      };
    const gap = second ? best.similarity - second.similarity : best.similarity;
    if (best.similarity >= this.config.MATCH_SIMILARITY_THRESHOLD && gap >= this.config.MATCH_MARGIN) {
      const reason = `${best.issue.identifier} at similarity ${round(best.similarity)}, ${round(gap)} ahead of ${second ? second.issue.identifier : 'no runner-up'}`;
      return {
        report: { step: 'semantic', status: 'matched', reason, details },
        link: {
          issueId: best.issue.id,
          identifier: best.issue.identifier,
          method: 'semantic',
          score: round(best.similarity),
          evidence: { step: 'semantic', ...details, similarity: round(best.similarity), runnerUpGap: round(gap) },
        },
      };
    }
    const reason =
      best.similarity < this.config.MATCH_SIMILARITY_THRESHOLD
        ? `best ${best.issue.identifier} at ${round(best.similarity)} is below the threshold ${this.config.MATCH_SIMILARITY_THRESHOLD}`
        : `best ${best.issue.identifier} at ${round(best.similarity)} leads ${second?.issue.identifier} by only ${round(gap)} (margin ${this.config.MATCH_MARGIN})`;
    return { report: { step: 'semantic', status: 'ambiguous', reason, details } };
  }

  private async runJudge(
    pr: PullRequestFacts,
    candidates: JudgeCandidate[],
    byIdentifier: Map<string, IssueSnapshot>,
    links: ProposedLink[],
  ): Promise<MatchStepReport> {
    if (!this.judge) {
      return {
        step: 'llm',
        status: 'skipped',
        reason: 'no LLM provider configured: set GEMINI_API_KEY, or LLM_BASE_URL and LLM_MODEL (OpenAI-compatible)',
      };
    }
    if (candidates.length === 0) return { step: 'llm', status: 'skipped', reason: 'no open issue to judge against' };
    const shown = candidates.map((c) => c.identifier);
    try {
      const verdict = await this.judge.judge({ title: pr.title, body: pr.body, headBranch: pr.headBranch }, candidates);
      const details = {
        provider: this.judge.name,
        candidates: shown,
        verdict,
        minConfidence: this.config.MATCH_LLM_MIN_CONFIDENCE,
      };
      const chosen = verdict.issueIdentifier ? byIdentifier.get(verdict.issueIdentifier) : undefined;
      if (verdict.issueIdentifier && !chosen) {
        return {
          step: 'llm',
          status: 'no_match',
          reason: `the model named ${verdict.issueIdentifier}, which was not a candidate`,
          details,
        };
      }
      if (!chosen)
        return {
          step: 'llm',
          status: 'no_match',
          reason: `the model found no candidate fixed (${verdict.reasoning})`,
          details,
        };
      if (verdict.confidence < this.config.MATCH_LLM_MIN_CONFIDENCE) {
        return {
          step: 'llm',
          status: 'no_match',
          reason: `the model leaned to ${chosen.identifier} at confidence ${verdict.confidence}, below ${this.config.MATCH_LLM_MIN_CONFIDENCE}`,
          details,
        };
      }
      links.push({
        issueId: chosen.id,
        identifier: chosen.identifier,
        method: 'llm',
        score: verdict.confidence,
        evidence: { step: 'llm', ...details },
      });
      return {
        step: 'llm',
        status: 'matched',
        reason: `${chosen.identifier} at confidence ${verdict.confidence}: ${verdict.reasoning}`,
        details,
      };
    } catch (err) {
      this.logger.warn({
        msg: 'LLM judge failed',
        pr: `${pr.repoOwner}/${pr.repoName}#${pr.number}`,
        err: message(err),
      });
      return {
        step: 'llm',
        status: 'failed',
        reason: `the LLM judge failed: ${message(err)}`,
        details: { provider: this.judge.name, candidates: shown },
      };
    }
  }
}

function toCandidate(i: IssueSnapshot, similarity?: number): JudgeCandidate {
  return {
    identifier: i.identifier,
    title: i.title,
    normalizedMessage: i.normalizedMessage,
    source: i.source,
    feature: i.feature,
    ...(similarity !== undefined ? { similarity } : {}),
  };
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
/**
 * An embedding or LLM provider's error, kept in the run's steps (jsonb): it may quote the provider's
 * answer, so it is storable and scrubbed of secrets.
 */
const message = (err: unknown): string => scrubbedText(err instanceof Error ? err.message : String(err));

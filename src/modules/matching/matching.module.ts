import { Logger, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { IssuesModule } from '../issues/issues.module';
import { VerificationModule } from '../verification/verification.module';
import { EMBEDDING_PROVIDER, EmbeddingProvider } from './embeddings/embedding-provider';
import { HashingEmbeddingProvider } from './embeddings/hashing-embedding.provider';
import { DEFAULT_EMBEDDING_MODEL, OpenAiEmbeddingProvider } from './embeddings/openai-embedding.provider';
import { IssueEmbeddingService } from './issue-embedding.service';
import { IssueLinksRepository } from './issue-links.repository';
import { DEFAULT_GEMINI_MODEL, GeminiJudge } from './judge/gemini-judge.provider';
import { LLM_JUDGE, LlmJudge } from './judge/llm-judge';
import { OpenAiCompatibleJudge } from './judge/openai-judge.provider';
import { IssueCreatedListener } from './listeners/issue-created.listener';
import { MatchingCron } from './matching.cron';
import { MatchingFacade } from './matching.facade';
import { PrMatcherService } from './pr-matcher.service';
import { PullRequestTrackerService } from './pull-request-tracker.service';
import { SimilarityController } from './similarity.controller';
import { UnmergedFixService } from './unmerged-fix.service';

/** The embedding provider: an OpenAI-compatible endpoint when EMBEDDING_BASE_URL is set, else local feature hashing. */
export function embeddingProviderFor(config: AppConfig): EmbeddingProvider {
  const timeoutMs = config.MATCH_HTTP_TIMEOUT_SECONDS * 1000;
  if (config.EMBEDDING_BASE_URL) {
    return new OpenAiEmbeddingProvider(
      config.EMBEDDING_BASE_URL,
      config.EMBEDDING_API_KEY,
      config.EMBEDDING_MODEL ?? DEFAULT_EMBEDDING_MODEL,
      timeoutMs,
    );
  }
  return new HashingEmbeddingProvider();
}

/** The LLM judge: Gemini when GEMINI_API_KEY is set, else OpenAI-compatible when LLM_BASE_URL is set, else none. */
export function llmJudgeFor(config: AppConfig): LlmJudge | null {
  const timeoutMs = config.MATCH_HTTP_TIMEOUT_SECONDS * 1000;
  if (config.GEMINI_API_KEY)
    return new GeminiJudge(
      config.GEMINI_BASE_URL,
      config.GEMINI_API_KEY,
      config.LLM_MODEL ?? DEFAULT_GEMINI_MODEL,
      timeoutMs,
    );
  if (config.LLM_BASE_URL) {
    if (!config.LLM_MODEL) {
      new Logger('MatchingModule').warn('LLM_BASE_URL is set without LLM_MODEL: the LLM judge is off');
      return null;
    }
    return new OpenAiCompatibleJudge(config.LLM_BASE_URL, config.LLM_API_KEY, config.LLM_MODEL, timeoutMs);
  }
  return null;
}

/**
 * PR <-> issue matching (identifier, embeddings, LLM judge), the links it makes (issue_prs) and the
 * issue embeddings behind similarity search.
 */
@Module({
  imports: [IssuesModule, VerificationModule],
  controllers: [SimilarityController],
  providers: [
    { provide: EMBEDDING_PROVIDER, inject: [APP_CONFIG], useFactory: embeddingProviderFor },
    { provide: LLM_JUDGE, inject: [APP_CONFIG], useFactory: llmJudgeFor },
    IssueLinksRepository,
    PrMatcherService,
    PullRequestTrackerService,
    UnmergedFixService,
    IssueEmbeddingService,
    IssueCreatedListener,
    MatchingCron,
    MatchingFacade,
  ],
  exports: [MatchingFacade],
})
export class MatchingModule {}

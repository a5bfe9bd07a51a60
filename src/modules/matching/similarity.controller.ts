import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { RequireScope } from '../../shared/auth/auth-scope';
import { ApiErrorResponses } from '../../shared/errors/api-error-responses';
import { IssueEmbeddingService } from './issue-embedding.service';

export class SimilarQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 50, default: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(50)
  limit = 10;
}

export class SimilarIssueItem {
  @ApiProperty({ example: 'CHIPP-17' }) identifier!: string;
  @ApiProperty() title!: string;
  @ApiProperty() status!: string;
  @ApiProperty({ enum: ['P1', 'P2', 'P3', 'P4'] }) priority!: string;
  @ApiProperty() source!: string;
  @ApiProperty() feature!: string;
  @ApiProperty({ description: 'Cosine similarity, 1 - pgvector cosine distance (<=>); 1 is identical', example: 0.82 })
  similarity!: number;
}

export class SimilarIssuesView {
  @ApiProperty({ description: 'The embedding model compared', example: 'fixloop-hash-v1-384' }) model!: string;
  @ApiProperty({ type: [SimilarIssueItem] }) items!: SimilarIssueItem[];
}

/**
 * Lives in the matching module (which owns embeddings) under the issues path. Without pgvector it
 * answers 503 SIMILARITY_DISABLED (kind `unavailable`: the feature is off on this deployment, not
 * a conflict with the issue), naming `CREATE EXTENSION vector`.
 */
@ApiTags('issues')
@RequireScope('admin')
@ApiErrorResponses(400, 401, 403, 404, 503)
@Controller('api/issues')
export class SimilarityController {
  constructor(private readonly embeddings: IssueEmbeddingService) {}

  @Get(':identifier/similar')
  @ApiOperation({
    summary: 'Nearest open issues to this one by embedding (pgvector cosine distance), with similarity scores',
    description: 'Needs pgvector: without it 503 SIMILARITY_DISABLED with how to enable it (CREATE EXTENSION vector).',
  })
  @ApiOkResponse({ type: SimilarIssuesView })
  similar(@Param('identifier') identifier: string, @Query() query: SimilarQuery): Promise<SimilarIssuesView> {
    return this.embeddings.similarTo(identifier, query.limit);
  }
}

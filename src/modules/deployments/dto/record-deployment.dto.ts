import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { IsDateTime } from '../../../shared/http/dto-validators';

const PG_INT_MAX = 2_147_483_647;

/** A deploy reported by a pipeline that is not a GitHub deployment. */
export class RecordDeploymentDto {
  @ApiProperty({ example: 'production', description: 'Only PRODUCTION_ENVIRONMENT moves issues to in_production' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  environment!: string;

  @ApiPropertyOptional({
    example: '9f1c2ab',
    description: 'Deployed commit; merged PRs whose merge commit it contains are deployed',
  })
  @IsOptional()
  @Matches(/^[0-9a-fA-F]{7,64}$/, { message: 'sha must be a hex commit id (7 to 64 characters)' })
  sha?: string;

  @ApiPropertyOptional({ example: '2026.11.26-3' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  version?: string;

  @ApiPropertyOptional({ type: [Number], example: [128, 131], description: 'PR numbers this deploy carries' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(500)
  @IsInt({ each: true })
  @Min(1, { each: true })
  // The column is a PostgreSQL integer[]: a larger number failed the insert (500).
  @Max(PG_INT_MAX, { each: true })
  prNumbers?: number[];

  @ApiPropertyOptional({ format: 'date-time', description: 'Defaults to now' })
  @IsOptional()
  @IsDateTime()
  deployedAt?: Date;

  @ApiPropertyOptional({
    description:
      'Your pipeline run id; repeats with the same id are recognised. Without it the deploy is keyed by environment, sha, version and PRs',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  externalId?: string;
}

export class DeployedIssueView {
  @ApiProperty({ example: 'CHIPP-42' }) identifier!: string;
  @ApiProperty({ description: 'Status before this deploy' }) from!: string;
  @ApiProperty({ description: 'Whether the issue moved to in_production' }) moved!: boolean;
  @ApiProperty({ type: [Number] }) prs!: number[];
}

export class DeploymentView {
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'false when this deploy had been reported before (idempotent)' }) created!: boolean;
  @ApiProperty({ enum: ['github', 'api'] }) source!: string;
  @ApiProperty() environment!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) sha!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) version!: string | null;
  @ApiProperty({ type: [Number] }) prNumbers!: number[];
  @ApiProperty({ format: 'date-time' }) deployedAt!: string;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) processedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Why processing failed (retried by the sweep)' })
  lastError!: string | null;
  @ApiProperty({ type: [DeployedIssueView] }) deployedIssues!: DeployedIssueView[];
}

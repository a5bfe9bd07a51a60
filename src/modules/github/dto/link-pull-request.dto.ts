import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';

export class LinkPullRequestDto {
  @ApiProperty({
    description:
      'The PR: its URL, owner/repo#123, or #123 in GITHUB_REPO_OWNER/GITHUB_REPO_NAME. fixloop reads it from GitHub.',
    example: 'https://github.com/acme/shop/pull/123',
  })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  pullRequest!: string;

  @ApiPropertyOptional({ description: 'Why (kept in the issue\u2019s history and on the link)', maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  reason?: string;
}

export class LinkedPullRequestView {
  @ApiProperty({
    description: 'The issue the PR is linked to (the surviving one, for a merged identifier)',
    example: 'CHIPP-12',
  })
  issue!: string;
  @ApiProperty({ example: 'acme/shop#123' }) pullRequest!: string;
  @ApiProperty({ nullable: true, type: String }) url!: string | null;
  @ApiProperty({ enum: ['open', 'merged'], description: 'The PR as GitHub reported it' }) state!: 'open' | 'merged';
  @ApiProperty({ enum: ['manual'] }) method!: 'manual';
  @ApiProperty({ description: 'The issue status after the link', example: 'in_review' }) status!: string;
  @ApiProperty({ description: 'Status moves the link made', type: 'array', items: { type: 'object' } })
  moves!: { from: string; to: string }[];
}

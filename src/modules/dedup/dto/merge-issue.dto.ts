import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class MergeIssueDto {
  @ApiProperty({ description: 'Identifier of the issue that absorbs this one', example: 'CHIPP-12' })
  @IsString()
  @Matches(/^[A-Z][A-Z0-9]{0,15}-\d+$/, { message: 'into must be an issue identifier such as CHIPP-12' })
  into!: string;

  @ApiPropertyOptional({ description: 'Why (kept in both issues\u2019 history)', maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  reason?: string;
}

export class UnmergeIssueDto {
  @ApiPropertyOptional({ description: 'Why (kept in both issues\u2019 history)', maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  reason?: string;
}

export class MergeResultView {
  @ApiProperty({ example: 'CHIPP-14' }) merged!: string;
  @ApiProperty({ example: 'CHIPP-12' }) into!: string;
  @ApiProperty({ description: 'The issue_merges row' }) mergeId!: string;
  @ApiProperty({ enum: ['merged', 'unmerged'] }) state!: 'merged' | 'unmerged';
}

import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { ISSUE_STATUSES, IssueStatus } from '../issue-status.contract';

export class ListIssuesQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit = 50;

  @ApiPropertyOptional({ description: 'Opaque cursor from the previous page' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor is not a cursor this API issued' })
  cursor?: string;

  @ApiPropertyOptional({ enum: ISSUE_STATUSES }) @IsOptional() @IsIn(ISSUE_STATUSES) status?: IssueStatus;

  @ApiPropertyOptional({ enum: ['P1', 'P2', 'P3', 'P4'] })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toUpperCase() : value))
  @IsIn(['P1', 'P2', 'P3', 'P4'])
  priority?: string;

  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) source?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) feature?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(100) label?: string;
  @ApiPropertyOptional({ description: 'Substring of the title, template or identifier' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  text?: string;
}

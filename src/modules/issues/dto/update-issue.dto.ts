import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { IsDateTime, IsOmittable } from '../../../shared/http/dto-validators';
import { ISSUE_STATUSES, IssueStatus } from '../issue-status.contract';

/**
 * A person's change to an issue. Every field is optional; every change lands in the history with
 * actor `admin` and the `reason`. Status moves are validated against the allowed transitions.
 * Null clears the nullable cooldown fields and is refused for status, labels and title.
 */
export class UpdateIssueDto {
  @ApiPropertyOptional({ enum: ISSUE_STATUSES }) @IsOmittable() @IsIn(ISSUE_STATUSES) status?: IssueStatus;

  @ApiPropertyOptional({ enum: ['P1', 'P2', 'P3', 'P4'] })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toUpperCase() : value))
  @IsIn(['P1', 'P2', 'P3', 'P4'])
  priority?: string;

  @ApiPropertyOptional({ type: [String], description: 'Replaces the labels' })
  @IsOmittable()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  @MinLength(1, { each: true })
  @MaxLength(100, { each: true })
  @Matches(/^\S(.*\S)?$/, { each: true, message: 'labels must not start or end with spaces' })
  labels?: string[];

  @ApiPropertyOptional() @IsOmittable() @IsString() @MinLength(1) @MaxLength(500) title?: string;

  @ApiPropertyOptional({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'No spawn before this time; null clears it',
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsDateTime()
  cooldownUntil?: Date | null;

  @ApiPropertyOptional({
    nullable: true,
    type: Number,
    description:
      "This issue's cooldown after an investigation (hours), instead of SPAWN_COOLDOWN_HOURS; null clears it",
  })
  @IsOptional()
  @ValidateIf((_, v) => v !== null)
  @IsNumber()
  @Min(0)
  @Max(24 * 365)
  cooldownHours?: number | null;

  @ApiPropertyOptional({ description: 'Why: stored with every history entry of this change' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  reason?: string;
}

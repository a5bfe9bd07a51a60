import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class BudgetQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 366, default: 7, description: 'How many days back, today included' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(366)
  days?: number;
}

export class UpdateBudgetDto {
  @ApiProperty({ minimum: 0, maximum: 10000, description: "Today's maximum number of spawns" })
  @IsInt()
  @Min(0)
  @Max(10000)
  maxSpawns!: number;
}

export class KillSwitchDto {
  @ApiProperty({ description: 'true stops new dispatches from the next gate pass on' }) @IsBoolean() enabled!: boolean;
  @ApiPropertyOptional({ description: 'Who flips it (recorded as updated_by)', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  by?: string;
  @ApiPropertyOptional({ maxLength: 2000 }) @IsOptional() @IsString() @MaxLength(2000) reason?: string;
}

export class ManualSpawnDto {
  @ApiPropertyOptional({ maxLength: 2000, description: 'Why (recorded in the history and sent as context)' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
  @ApiPropertyOptional({
    description: 'Skip the per-fingerprint cooldown for this attempt (kill switch, concurrency and budget still apply)',
  })
  @IsOptional()
  @IsBoolean()
  bypassCooldown?: boolean;
  @ApiPropertyOptional({ maxLength: 200, description: 'Who asks (recorded as the actor)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  by?: string;
}

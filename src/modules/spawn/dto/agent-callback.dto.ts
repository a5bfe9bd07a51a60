import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOmittable } from '../../../shared/http/dto-validators';
import { IsIn, IsNumber, IsObject, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';

export class AgentStatusDto {
  @ApiProperty({ enum: ['running', 'completed', 'failed'] }) @IsIn(['running', 'completed', 'failed']) status!:
    'running' | 'completed' | 'failed';
  @ApiPropertyOptional({ example: '30433642', description: 'GitHub Actions run id' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  runId?: string;
  @ApiPropertyOptional({ example: 'https://github.com/acme/shop/actions/runs/30433642' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  runUrl?: string;
  @ApiPropertyOptional({ description: "The agent's summary (root cause, change, PR URL)", maxLength: 20000 })
  @IsOmittable()
  @IsString()
  @MaxLength(20000)
  summary?: string;
  // The columns are numeric(12,4) (the budget day sums the runs): a larger cost failed the update (500).
  @ApiPropertyOptional({ description: 'What the run cost (USD)', minimum: 0, maximum: 1_000_000 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1_000_000)
  costUsd?: number;
}

export class AgentActivityDto {
  @ApiProperty({ example: 'run_started' }) @IsString() @MinLength(1) @MaxLength(100) type!: string;
  @ApiProperty({ example: 'GitHub Actions run started' }) @IsString() @MinLength(1) @MaxLength(20000) message!: string;
  @ApiPropertyOptional({ type: Object }) @IsOptional() @IsObject() data?: Record<string, unknown>;
}

export class CallbackResultView {
  @ApiProperty({ description: 'False when the callback repeated what fixloop already knew' }) applied!: boolean;
  @ApiPropertyOptional({ nullable: true, type: String }) spawnRequestId!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'The spawn request state after the callback' })
  state!: string | null;
  @ApiProperty({ description: "The issue's status after the callback" }) issueStatus!: string;
}

export class ActivityResultView {
  @ApiProperty({ description: 'False when an identical activity was already recorded (a retried callback)' })
  recorded!: boolean;
  @ApiPropertyOptional({ nullable: true, type: String }) spawnRequestId!: string | null;
}

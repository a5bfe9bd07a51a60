import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class BudgetDayView {
  @ApiProperty({ example: '2026-11-26', description: 'Calendar day in BUDGET_TIMEZONE' }) day!: string;
  @ApiProperty({ description: 'Spawns dispatched (refunds for refused dispatches subtracted)' }) spawnCount!: number;
  @ApiProperty({ description: "The day's budget" }) maxSpawns!: number;
  @ApiProperty() remaining!: number;
  @ApiProperty({ description: 'Agent cost reported by the workflow for spawns counted on this day (USD)' })
  costUsd!: number;
}

export class BudgetView {
  @ApiProperty({ example: 'UTC' }) timezone!: string;
  @ApiProperty({ type: BudgetDayView }) today!: BudgetDayView;
  @ApiProperty({ type: [BudgetDayView], description: 'Today and earlier days that have a row, newest first' })
  days!: BudgetDayView[];
}

export class KillSwitchView {
  @ApiProperty({ description: 'Whether new dispatches are stopped (running investigations continue)' })
  enabled!: boolean;
  @ApiProperty({ description: 'SPAWN_KILL_SWITCH=true forces the switch on whatever the setting says' })
  forcedByEnvironment!: boolean;
  @ApiPropertyOptional({ nullable: true, type: Boolean, description: 'The persisted run-time setting' }) setting!:
    boolean | null;
  @ApiPropertyOptional({ nullable: true, type: String }) updatedBy!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) updatedAt!: string | null;
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { SpawnRequestRow } from '../spawn.repository';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** One spawn request (attempt) as the API shows it, with the exact dispatch request (also for dry runs). */
export class SpawnRequestView {
  @ApiProperty() id!: string;
  @ApiProperty({ example: 'CHIPP-42' }) identifier!: string;
  @ApiProperty({
    enum: ['queued', 'dispatching', 'dispatched', 'running', 'completed', 'failed', 'cancelled', 'dry_run'],
  })
  state!: string;
  @ApiProperty() attempt!: number;
  @ApiProperty({ example: 'system:spawn-gate' }) requestedBy!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) reason!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Why the gate holds it back (queued only)' })
  heldReason!: string | null;
  @ApiProperty() bypassCooldown!: boolean;
  @ApiPropertyOptional({ nullable: true, type: String }) budgetDay!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, example: 'fixloop CHIPP-42' }) runName!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) runId!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) runUrl!: string | null;
  @ApiPropertyOptional({
    nullable: true,
    type: Object,
    description: 'The workflow_dispatch request sent (or, for a dry run, that would have been sent)',
  })
  requestPayload!: Record<string, unknown> | null;
  @ApiPropertyOptional({ nullable: true, type: Object, description: 'Previous attempt (PR, summary) and trigger' })
  context!: Record<string, unknown> | null;
  @ApiPropertyOptional({ nullable: true, type: String }) summary!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) error!: string | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) costUsd!: number | null;
  @ApiProperty() dispatchAttempts!: number;
  @ApiProperty({ format: 'date-time' }) notBefore!: string;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) claimedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) dispatchedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) startedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) lastHeartbeatAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) finishedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) refundedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;

  static of(r: SpawnRequestRow, identifier: string): SpawnRequestView {
    return {
      id: r.id,
      identifier,
      state: r.state,
      attempt: r.attempt,
      requestedBy: r.requestedBy,
      reason: r.reason,
      heldReason: r.heldReason,
      bypassCooldown: r.bypassCooldown,
      budgetDay: r.budgetDay,
      runName: r.runName,
      runId: r.runId,
      runUrl: r.runUrl,
      requestPayload: r.requestPayload as unknown as Record<string, unknown> | null,
      context: r.context as unknown as Record<string, unknown> | null,
      summary: r.summary,
      error: r.error,
      costUsd: r.costUsd,
      dispatchAttempts: r.dispatchAttempts,
      notBefore: r.notBefore.toISOString(),
      claimedAt: iso(r.claimedAt),
      dispatchedAt: iso(r.dispatchedAt),
      startedAt: iso(r.startedAt),
      lastHeartbeatAt: iso(r.lastHeartbeatAt),
      finishedAt: iso(r.finishedAt),
      refundedAt: iso(r.refundedAt),
      createdAt: r.createdAt.toISOString(),
    };
  }
}

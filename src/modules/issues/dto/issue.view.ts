import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ISSUE_STATUSES, SPAWN_STATUSES, formatPriority } from '../issue-status.contract';
import type { IssueEntity } from '../entities/issue.entity';
import {
  AgentActivityView,
  ErrorEventView,
  FingerprintView,
  IssuePrView,
  IssueSpawnRequestView,
} from './issue-detail.views';

/** An issue as the API shows it (camelCase, priority as P1..P4, ISO timestamps). */
export class IssueView {
  @ApiProperty({ example: 'CHIPP-42' }) identifier!: string;
  @ApiProperty() title!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ enum: ISSUE_STATUSES }) status!: string;
  @ApiProperty({ enum: ['P1', 'P2', 'P3', 'P4'] }) priority!: string;
  @ApiProperty({ type: [String] }) labels!: string[];
  @ApiProperty({ example: 'checkout-api' }) source!: string;
  @ApiProperty({ example: 'payments' }) feature!: string;
  @ApiProperty({ description: 'The message template every grouped event shares' }) normalizedMessage!: string;
  @ApiProperty() eventCount!: number;
  @ApiProperty({ format: 'date-time' }) firstSeenAt!: string;
  @ApiProperty({ format: 'date-time' }) lastSeenAt!: string;
  @ApiPropertyOptional({ enum: SPAWN_STATUSES, nullable: true, type: String }) spawnStatus!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) spawnRunUrl!: string | null;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description: 'Identifier of the issue this one was merged into',
  })
  mergedInto!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) cooldownUntil!: string | null;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'Per-issue cooldown override (hours)' })
  cooldownHours!: number | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;

  static of(i: IssueEntity, mergedIntoIdentifier: string | null = null): IssueView {
    return {
      identifier: i.identifier,
      title: i.title,
      description: i.description,
      status: i.status,
      priority: formatPriority(i.priority),
      labels: i.labels,
      source: i.source,
      feature: i.feature,
      normalizedMessage: i.normalizedMessage,
      eventCount: i.eventCount,
      firstSeenAt: i.firstSeenAt.toISOString(),
      lastSeenAt: i.lastSeenAt.toISOString(),
      spawnStatus: i.spawnStatus,
      spawnRunUrl: i.spawnRunUrl,
      mergedInto: mergedIntoIdentifier,
      cooldownUntil: i.cooldownUntil ? i.cooldownUntil.toISOString() : null,
      cooldownHours: i.cooldownHours,
      createdAt: i.createdAt.toISOString(),
      updatedAt: i.updatedAt.toISOString(),
    };
  }
}

export class HistoryEntryView {
  @ApiProperty() actor!: string;
  @ApiProperty({ enum: ['user', 'agent', 'system'] }) actorType!: string;
  @ApiProperty() field!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) from!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) to!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) reason!: string | null;
  @ApiPropertyOptional({ nullable: true, type: Object }) data!: Record<string, unknown> | null;
  @ApiPropertyOptional({ nullable: true, type: String }) correlationId!: string | null;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

/**
 * One issue with everything around it. The fingerprints, events, agent activity, PRs and spawn
 * requests are read-only views the issues repository reads from tables other modules write
 * (dedup, ingest, spawn, matching): display only, never changed from here.
 */
export class IssueDetailView extends IssueView {
  @ApiProperty({ type: [FingerprintView] }) fingerprints!: FingerprintView[];
  @ApiProperty({ type: [ErrorEventView], description: 'The 20 newest event samples' }) recentEvents!: ErrorEventView[];
  @ApiProperty({ type: [AgentActivityView] }) agentActivity!: AgentActivityView[];
  @ApiProperty({ type: [IssuePrView] }) pullRequests!: IssuePrView[];
  @ApiProperty({ type: [IssueSpawnRequestView] }) spawnHistory!: IssueSpawnRequestView[];
  @ApiProperty({ type: [HistoryEntryView], description: 'Append-only audit trail, oldest first' })
  history!: HistoryEntryView[];
}

export class IssuePageView {
  @ApiProperty({ type: [IssueView] }) items!: IssueView[];
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description: 'Pass as `cursor` for the next page; null on the last page',
  })
  nextCursor!: string | null;
}

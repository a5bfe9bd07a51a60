import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** A fingerprint (or external id) the issue owns, and how it came to be grouped there. */
export class FingerprintView {
  @ApiProperty({ description: 'Fingerprint or external id' }) externalId!: string;
  @ApiProperty({ example: 'loki', description: "Where the id comes from: 'loki' for error fingerprints" })
  source!: string;
  @ApiProperty({
    enum: ['primary', 'alias', 'manual', 'external'],
    description:
      "'primary': the fingerprint the issue was opened for; 'alias': a fingerprint grouped onto it (a merge, a learned pattern, a fingerprint upgrade)",
  })
  linkKind!: string;
  @ApiProperty({
    example: 'variable-position',
    description:
      "The grouping rule that put it here: 'exact' (its own fingerprint), 'variable-position' (messages differing in a position that took several values), 'manual' (a person's merge), 'fingerprint-upgrade' (the same message under a newer normaliser)",
  })
  groupingRule!: string;
  @ApiPropertyOptional({ nullable: true, type: Object, description: 'What the rule saw' }) groupingEvidence!: Record<
    string,
    unknown
  > | null;
  @ApiPropertyOptional({ nullable: true, type: String }) normalizedMessage!: string | null;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description: 'Issue it was first grouped into, when that differs',
  })
  originalIssue!: string | null;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description: 'Issue that holds it now, when that is another (this issue was merged into it)',
  })
  heldBy!: string | null;
  @ApiProperty() eventCount!: number;
  @ApiProperty({ format: 'date-time' }) firstSeenAt!: string;
  @ApiProperty({ format: 'date-time' }) lastSeenAt!: string;
}

export class ErrorEventView {
  @ApiProperty() id!: string;
  @ApiProperty() fingerprint!: string;
  @ApiProperty({ format: 'date-time' }) occurredAt!: string;
  @ApiProperty({ format: 'date-time' }) receivedAt!: string;
  @ApiProperty() count!: number;
  @ApiPropertyOptional({ nullable: true, type: String }) level!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) version!: string | null;
  @ApiProperty({ type: Object }) labels!: Record<string, unknown>;
  @ApiProperty({ description: 'Stored after secret scrubbing' }) message!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) stack!: string | null;
  @ApiProperty() ingestKind!: string;
}

export class AgentActivityView {
  @ApiProperty() id!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) spawnRequestId!: string | null;
  @ApiProperty() type!: string;
  @ApiProperty() message!: string;
  @ApiPropertyOptional({ nullable: true, type: Object }) data!: Record<string, unknown> | null;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

export class IssuePrView {
  @ApiProperty() id!: string;
  @ApiProperty({ example: 'acme/shop' }) repo!: string;
  @ApiProperty() number!: number;
  @ApiProperty() title!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) url!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) headBranch!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) baseBranch!: string | null;
  @ApiProperty({ enum: ['open', 'closed', 'merged', 'reverted'] }) state!: string;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) mergedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) mergeCommitSha!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) deployedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) revertedByPr!: number | null;
  @ApiProperty({ enum: ['identifier', 'semantic', 'llm', 'manual'] }) matchMethod!: string;
  @ApiPropertyOptional({ nullable: true, type: Number }) matchScore!: number | null;
  @ApiPropertyOptional({ nullable: true, type: Object, description: 'Every matching step with what it saw' })
  matchEvidence!: Record<string, unknown> | null;
  @ApiProperty({ format: 'date-time' }) linkedAt!: string;
}

export class IssueSpawnRequestView {
  @ApiProperty() id!: string;
  @ApiProperty() state!: string;
  @ApiProperty() attempt!: number;
  @ApiProperty() requestedBy!: string;
  @ApiPropertyOptional({ nullable: true, type: String }) reason!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Why the gate held it back' }) heldReason!:
    string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) runId!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) runUrl!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) dispatchedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, format: 'date-time' }) finishedAt!: string | null;
  @ApiPropertyOptional({ nullable: true, type: Number, description: 'USD' }) costUsd!: number | null;
  @ApiPropertyOptional({ nullable: true, type: String }) summary!: string | null;
  @ApiPropertyOptional({ nullable: true, type: String }) error!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { IssueStatus, SpawnStatus } from '../issue-status.contract';

const bigintAsNumber = {
  to: (v: number): number => v,
  from: (v: string | null): number => (v === null ? 0 : Number(v)),
};

@Entity('issues')
export class IssueEntity {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column({ type: 'bigint', transformer: bigintAsNumber, insert: false }) number!: number;
  @Column({ type: 'text' }) identifier!: string;
  @Column({ type: 'text' }) title!: string;
  @Column({ type: 'text', nullable: true }) description!: string | null;
  @Column({ type: 'text' }) status!: IssueStatus;
  @Column({ type: 'smallint' }) priority!: number;
  @Column({ type: 'text', array: true }) labels!: string[];
  @Column({ type: 'text' }) source!: string;
  @Column({ type: 'text' }) feature!: string;
  @Column({ type: 'text', name: 'normalized_message' }) normalizedMessage!: string;
  @Column({ type: 'timestamptz', name: 'first_seen_at' }) firstSeenAt!: Date;
  @Column({ type: 'timestamptz', name: 'last_seen_at' }) lastSeenAt!: Date;
  @Column({ type: 'bigint', name: 'event_count', transformer: bigintAsNumber }) eventCount!: number;
  @Column({ type: 'text', name: 'embedding_model', nullable: true }) embeddingModel!: string | null;
  @Column({ type: 'text', name: 'spawn_status', nullable: true }) spawnStatus!: SpawnStatus | null;
  @Column({ type: 'text', name: 'spawn_run_id', nullable: true }) spawnRunId!: string | null;
  @Column({ type: 'text', name: 'spawn_run_url', nullable: true }) spawnRunUrl!: string | null;
  @Column({ type: 'timestamptz', name: 'spawn_started_at', nullable: true }) spawnStartedAt!: Date | null;
  @Column({ type: 'timestamptz', name: 'spawn_completed_at', nullable: true }) spawnCompletedAt!: Date | null;
  @Column({ type: 'integer', name: 'spawn_attempts' }) spawnAttempts!: number;
  @Column({ type: 'timestamptz', name: 'cooldown_until', nullable: true }) cooldownUntil!: Date | null;
  @Column({ type: 'double precision', name: 'cooldown_hours', nullable: true }) cooldownHours!: number | null;
  @Column({ type: 'uuid', name: 'merged_into_id', nullable: true }) mergedIntoId!: string | null;
  @Column({ type: 'timestamptz', name: 'created_at' }) createdAt!: Date;
  @Column({ type: 'timestamptz', name: 'updated_at' }) updatedAt!: Date;
}

import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type ActorType = 'user' | 'agent' | 'system';

/** Append-only: a database trigger refuses UPDATE and DELETE. */
@Entity('issue_history')
export class IssueHistoryEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint' }) id!: string;
  @Column({ type: 'uuid', name: 'issue_id' }) issueId!: string;
  @Column({ type: 'text' }) actor!: string;
  @Column({ type: 'text', name: 'actor_type' }) actorType!: ActorType;
  @Column({ type: 'text' }) field!: string;
  @Column({ type: 'text', name: 'from_value', nullable: true }) fromValue!: string | null;
  @Column({ type: 'text', name: 'to_value', nullable: true }) toValue!: string | null;
  @Column({ type: 'text', nullable: true }) reason!: string | null;
  @Column({ type: 'jsonb', nullable: true }) data!: Record<string, unknown> | null;
  @Column({ type: 'text', name: 'correlation_id', nullable: true }) correlationId!: string | null;
  @Column({ type: 'timestamptz' }) at!: Date;
}

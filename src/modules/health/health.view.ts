import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class HealthView {
  @ApiProperty({ enum: ['ok', 'degraded'] }) status!: 'ok' | 'degraded';
  @ApiProperty({ enum: ['up', 'down'] }) database!: 'up' | 'down';
  @ApiProperty({ enum: ['pglite', 'postgres'] }) databaseKind!: 'pglite' | 'postgres';
  @ApiProperty({ description: 'pgvector installed: embeddings and similarity search on' }) pgvector!: boolean;
  @ApiPropertyOptional({ description: 'Why a capability is off and how to turn it on' }) pgvectorHint?: string;
  @ApiProperty({ description: 'No new investigations are dispatched while true' }) killSwitch!: boolean;
  @ApiProperty() version!: string;
}

import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface DeploymentRow {
  id: string;
  source: string;
  externalId: string;
  environment: string;
  sha: string | null;
  version: string | null;
  prNumbers: number[];
  deployedAt: Date;
  receivedAt: Date;
  processedAt: Date | null;
  processAttempts: number;
  lastError: string | null;
  result: Record<string, unknown> | null;
}

export interface NewDeployment {
  source: 'github' | 'api';
  externalId: string;
  environment: string;
  sha: string | null;
  version: string | null;
  prNumbers: number[];
  deployedAt: Date;
}

interface Raw {
  id: string;
  source: string;
  external_id: string;
  environment: string;
  sha: string | null;
  version: string | null;
  pr_numbers: number[];
  deployed_at: Date;
  received_at: Date;
  processed_at: Date | null;
  process_attempts: number;
  last_error: string | null;
  result: Record<string, unknown> | null;
}

const toRow = (r: Raw): DeploymentRow => ({
  id: r.id,
  source: r.source,
  externalId: r.external_id,
  environment: r.environment,
  sha: r.sha,
  version: r.version,
  prNumbers: (r.pr_numbers ?? []).map(Number),
  deployedAt: r.deployed_at,
  receivedAt: r.received_at,
  processedAt: r.processed_at,
  processAttempts: Number(r.process_attempts),
  lastError: r.last_error,
  result: r.result,
});

/** The deployments table. Only the deployments module uses it. */
@Injectable()
export class DeploymentsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Inserts unless (source, external_id) exists; returns the row and whether it is new. */
  async insertOrGet(m: EntityManager, d: NewDeployment): Promise<{ row: DeploymentRow; created: boolean }> {
    const inserted = (await m.query(
      `INSERT INTO deployments (source, external_id, environment, sha, version, pr_numbers, deployed_at)
       VALUES ($1, $2, $3, $4, $5, $6::int[], $7)
       ON CONFLICT (source, external_id) DO NOTHING RETURNING *`,
      [d.source, d.externalId, d.environment, d.sha, d.version, d.prNumbers, d.deployedAt],
    )) as Raw[];
    if (inserted[0]) return { row: toRow(inserted[0]), created: true };
    const existing = (await m.query(`SELECT * FROM deployments WHERE source = $1 AND external_id = $2`, [
      d.source,
      d.externalId,
    ])) as Raw[];
    return { row: toRow(existing[0]!), created: false };
  }

  async findById(id: string, m?: EntityManager): Promise<DeploymentRow | null> {
    const rows = (await (m ?? this.dataSource.manager).query(`SELECT * FROM deployments WHERE id = $1`, [id])) as Raw[];
    return rows[0] ? toRow(rows[0]) : null;
  }

  /** Claims an unprocessed deployment for this transaction (another replica skips it). */
  async claimUnprocessed(m: EntityManager, id: string): Promise<DeploymentRow | null> {
    const rows = (await m.query(
      `SELECT * FROM deployments WHERE id = $1 AND processed_at IS NULL FOR UPDATE SKIP LOCKED`,
      [id],
    )) as Raw[];
    return rows[0] ? toRow(rows[0]) : null;
  }

  async markProcessed(m: EntityManager, id: string, result: Record<string, unknown>): Promise<void> {
    await m.query(
      `UPDATE deployments SET processed_at = now(), process_attempts = process_attempts + 1, last_error = NULL, result = $2::jsonb
        WHERE id = $1`,
      [id, JSON.stringify(result)],
    );
  }

  /** `error` is the caller's to make storable and scrubbed (`scrubbedText`, at most MAX_ERROR_LENGTH). */
  async recordFailure(id: string, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE deployments SET process_attempts = process_attempts + 1, last_error = $2 WHERE id = $1 AND processed_at IS NULL`,
      [id, error],
    );
  }

  /** Unprocessed deployments, oldest first, that have not exhausted their attempts. */
  async pendingIds(maxAttempts: number, limit: number): Promise<string[]> {
    const rows = (await this.dataSource.query(
      `SELECT id FROM deployments WHERE processed_at IS NULL AND process_attempts < $1 ORDER BY received_at, id LIMIT $2`,
      [maxAttempts, limit],
    )) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /** Processed deployments to an environment reported since a time, newest first (late-merge checks). */
  async recentProcessed(environment: string, since: Date, limit: number): Promise<DeploymentRow[]> {
    const rows = (await this.dataSource.query(
      `SELECT * FROM deployments WHERE environment = $1 AND processed_at IS NOT NULL AND received_at >= $2
        ORDER BY received_at DESC, id DESC LIMIT $3`,
      [environment, since, limit],
    )) as Raw[];
    return rows.map(toRow);
  }

  /** Appends what a late check found to a processed deployment's result. */
  async appendLate(m: EntityManager, id: string, late: Record<string, unknown>): Promise<void> {
    await m.query(
      `UPDATE deployments SET result = jsonb_set(COALESCE(result, '{}'::jsonb), '{late}',
              COALESCE(result->'late', '[]'::jsonb) || jsonb_build_array($2::jsonb))
        WHERE id = $1`,
      [id, JSON.stringify(late)],
    );
  }
}

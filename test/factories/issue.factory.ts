import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

export interface IssueSeed {
  title?: string;
  status?: string;
  priority?: number;
  labels?: string[];
  source?: string;
  feature?: string;
  normalizedMessage?: string;
  eventCount?: number;
  createdAt?: Date;
  prefix?: string;
}

/** Inserts an issue row directly (test data only), returning its id and identifier. */
export async function seedIssue(ds: DataSource, seed: IssueSeed = {}): Promise<{ id: string; identifier: string }> {
  const id = randomUUID();
  const createdAt = seed.createdAt ?? new Date();
  const message = seed.normalizedMessage ?? `Something failed ${id.slice(0, 8)}`;
  const [{ number }] = (await ds.query(`SELECT nextval('issue_number_seq') AS number`)) as { number: string }[];
  const identifier = `${seed.prefix ?? 'CHIPP'}-${number}`;
  await ds.query(
    `INSERT INTO issues (id, number, identifier, title, status, priority, labels, source, feature, normalized_message,
                         first_seen_at, last_seen_at, event_count, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $11, $11)`,
    [
      id,
      number,
      identifier,
      seed.title ?? message,
      seed.status ?? 'triage',
      seed.priority ?? 4,
      seed.labels ?? [],
      seed.source ?? 'checkout-api',
      seed.feature ?? 'payments',
      message,
      createdAt,
      seed.eventCount ?? 1,
    ],
  );
  return { id, identifier };
}

import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { deleteExpired } from '../../shared/database/delete-expired';

export interface NoticeRow {
  kind: string;
  status: string;
  alertname: string | null;
  fingerprint: string | null;
  labels: Record<string, string>;
  startsAt: Date | null;
  endsAt: Date | null;
}

/** Delivery keys and alert notices. Runs in the caller's transaction; only the ingest module uses it. */
@Injectable()
export class IngestRepository {
  /**
   * Records delivery keys; returns those not seen before. A concurrent transaction holding the
   * same key makes this wait for its outcome (the unique key), so a key is counted once.
   */
  async claimDeliveries(manager: EntityManager, keys: readonly string[], kind: string): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows = (await manager.query(
      `INSERT INTO ingest_deliveries (delivery_key, kind)
       SELECT k, $2 FROM unnest($1::text[]) AS k
       ON CONFLICT (delivery_key) DO NOTHING
       RETURNING delivery_key`,
      [keys, kind],
    )) as { delivery_key: string }[];
    return new Set(rows.map((r) => r.delivery_key));
  }

  /** Alerts recorded without becoming occurrences: resolved notifications, Grafana's synthetic alerts. */
  async insertNotices(manager: EntityManager, notices: readonly NoticeRow[]): Promise<void> {
    if (notices.length === 0) return;
    await manager.query(
      `INSERT INTO alert_notices (kind, status, alertname, fingerprint, labels, starts_at, ends_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[], $7::timestamptz[])`,
      [
        notices.map((n) => n.kind),
        notices.map((n) => n.status),
        notices.map((n) => n.alertname),
        notices.map((n) => n.fingerprint),
        notices.map((n) => JSON.stringify(n.labels)),
        notices.map((n) => n.startsAt),
        notices.map((n) => n.endsAt),
      ],
    );
  }

  /**
   * Deletes up to `limit` delivery keys recorded more than `olderThanHours` ago (the oldest first);
   * returns how many (`deleteExpired`: replicas share the work).
   */
  pruneDeliveries(manager: EntityManager, olderThanHours: number, limit: number): Promise<number> {
    return deleteExpired(manager, { table: 'ingest_deliveries', key: 'delivery_key' }, olderThanHours * 3600, limit);
  }

  /** Deletes up to `limit` alert notices received more than `olderThanDays` ago; returns how many. */
  pruneNotices(manager: EntityManager, olderThanDays: number, limit: number): Promise<number> {
    return deleteExpired(manager, { table: 'alert_notices', key: 'id' }, olderThanDays * 86_400, limit);
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { deleteExpired } from '../../shared/database/delete-expired';

/** One GitHub delivery: its X-GitHub-Delivery and the SHA-256 (hex) of its signed body. */
export interface DeliveryKey {
  deliveryId: string;
  bodySha256: string;
}

/**
 * webhook_deliveries: a delivery is processed once, recognised by its delivery id (GitHub's
 * redelivery) or by its signed body (the same bytes sent again under another id: the signature does
 * not cover the id). Only the github module uses it.
 */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(private readonly dataSource: DataSource) {}

  async seen(key: DeliveryKey): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `SELECT 1 FROM webhook_deliveries WHERE provider = 'github' AND (delivery_id = $1 OR body_sha256 = $2) LIMIT 1`,
      [key.deliveryId, key.bodySha256],
    )) as unknown[];
    return rows.length > 0;
  }

  /**
   * Claims the delivery in the caller's transaction; false when its id or its body was processed
   * before (either unique key: a concurrent claim of the same id or body waits for that
   * transaction's outcome).
   */
  async claim(m: EntityManager, key: DeliveryKey, event: string, action: string | null): Promise<boolean> {
    const rows = (await m.query(
      `INSERT INTO webhook_deliveries (provider, delivery_id, body_sha256, event, action) VALUES ('github', $1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING delivery_id`,
      [key.deliveryId, key.bodySha256, event, action],
    )) as unknown[];
    return rows.length > 0;
  }

  /**
   * Deletes up to `limit` delivery ids received more than `olderThanDays` ago (the oldest first);
   * returns how many (`deleteExpired`: replicas share the work).
   */
  prune(olderThanDays: number, limit: number): Promise<number> {
    return deleteExpired(
      this.dataSource,
      { table: 'webhook_deliveries', key: 'provider, delivery_id' },
      olderThanDays * 86_400,
      limit,
    );
  }
}

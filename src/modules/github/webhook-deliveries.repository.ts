import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { deleteExpired } from '../../shared/database/delete-expired';

/** webhook_deliveries: a delivery id is processed once. Only the github module uses it. */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(private readonly dataSource: DataSource) {}

  async seen(deliveryId: string): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `SELECT 1 FROM webhook_deliveries WHERE provider = 'github' AND delivery_id = $1`,
      [deliveryId],
    )) as unknown[];
    return rows.length > 0;
  }

  /** Claims the delivery in the caller's transaction; false when it was processed before. */
  async claim(m: EntityManager, deliveryId: string, event: string, action: string | null): Promise<boolean> {
    const rows = (await m.query(
      `INSERT INTO webhook_deliveries (provider, delivery_id, event, action) VALUES ('github', $1, $2, $3)
       ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING delivery_id`,
      [deliveryId, event, action],
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

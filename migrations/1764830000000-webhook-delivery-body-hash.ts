import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * X-Hub-Signature-256 covers a GitHub delivery's body, not its X-GitHub-Delivery header: a captured
 * signed body could be sent again under a new delivery id and processed again (an old `opened`
 * after the PR was closed took its issue back to review). Each delivery now records the SHA-256 of
 * its signed body, unique per provider, so a body is processed once whatever id it comes with.
 * Rows written before have none (NULL: not unique-checked) and are gone after
 * GITHUB_DELIVERY_RETENTION_DAYS. The table holds that many days of deliveries: a plain index build.
 */
export class WebhookDeliveryBodyHash1764830000000 implements MigrationInterface {
  name = 'WebhookDeliveryBodyHash1764830000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhook_deliveries ADD COLUMN body_sha256 text`);
    await q.query(
      `CREATE UNIQUE INDEX webhook_deliveries_body_sha256_key ON webhook_deliveries (provider, body_sha256)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS webhook_deliveries_body_sha256_key`);
    await q.query(`ALTER TABLE webhook_deliveries DROP COLUMN IF EXISTS body_sha256`);
  }
}

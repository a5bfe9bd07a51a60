import { EventEmitter2 } from '@nestjs/event-emitter';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { WebhookDeliveryBodyHash1764830000000 } from '../../../migrations/1764830000000-webhook-delivery-body-hash';
import { WorkflowRunReported } from '../../../src/shared/events/event-catalogue';
import { seedIssue } from '../../factories/issue.factory';
import { sharedPath } from '../../support/shared-dir';
import { replayMigration } from '../../support/migration-replay';
import { useTestApp } from '../../support/test-app';
import { deliver, exampleFixture, packageExample, prPayload } from './webhook-support';

/** Webhook payloads: deep fixture JSON, read and mutated by path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/** The secret Cogni-DAO/cogni-git-review published for its captures (fixtures/github/pull_request/AGENTS.md). */
const COGNI_SECRET = '402786017574bd28f9d8f7a18648939751c47fe09077d56e10f0444f14fbb73b';

/**
 * X-Hub-Signature-256 covers the body, not X-GitHub-Delivery: whoever holds one signed delivery
 * (a proxy's log, a leaked capture) can send it again under any delivery id. A body is therefore
 * processed once, whatever id it comes with (webhook_deliveries.body_sha256), and a delivery id
 * GitHub would never send is refused before anything is written.
 */
describe('GitHub webhook: a signed body replayed under a new X-GitHub-Delivery', () => {
  const t = useTestApp({ GITHUB_WEBHOOK_SECRET: COGNI_SECRET }, { truncateEachTest: true });

  const send = (event: string, body: unknown, deliveryId: string) =>
    deliver(t.http, event, body, { deliveryId, secret: COGNI_SECRET });

  /** Everything a PR event can change: the issue, its history, the PR's link and match runs, the deliveries. */
  async function world(issueId: string, prNumber: number) {
    const q = async (sql: string, params: unknown[]) => (await t.dataSource.query(sql, params)) as unknown[];
    return {
      issue: await q(`SELECT status, updated_at FROM issues WHERE id = $1`, [issueId]),
      history: await q(
        `SELECT field, from_value, to_value, reason FROM issue_history WHERE issue_id = $1 ORDER BY id`,
        [issueId],
      ),
      links: await q(`SELECT state, updated_at FROM issue_prs WHERE pr_number = $1`, [prNumber]),
      matchRuns: await q(`SELECT id FROM pr_match_runs WHERE pr_number = $1`, [prNumber]),
      deliveries: await q(`SELECT delivery_id FROM webhook_deliveries ORDER BY delivery_id`, []),
    };
  }

  it('a captured pull_request (real bytes, real signature) is not matched again', async () => {
    const raw = readFileSync(
      sharedPath('fixtures', 'github', 'captured-deliveries-cogni', 'pull_request.opened.raw-body.json'),
    );
    const headers = JSON.parse(
      readFileSync(
        sharedPath('fixtures', 'github', 'captured-deliveries-cogni', 'pull_request.opened.github-headers.json'),
        'utf8',
      ),
    ) as Record<string, string>;
    const replay = (deliveryId: string) => {
      const req = request(t.app.getHttpServer()).post('/api/github/webhook');
      for (const [k, v] of Object.entries(headers)) req.set(k, v);
      return req.set('X-GitHub-Delivery', deliveryId).send(raw.toString('utf8'));
    };
    await replay(headers['x-github-delivery']!).expect(200);
    const replayed = await replay('0b5e1f4c-0000-11f1-8000-000000000001').expect(200);
    expect(replayed.body).toEqual({ status: 'duplicate', deliveryId: '0b5e1f4c-0000-11f1-8000-000000000001' });
    expect(await t.dataSource.query(`SELECT delivery_id FROM pr_match_runs`)).toEqual([
      { delivery_id: headers['x-github-delivery'] },
    ]);
    expect(await t.dataSource.query(`SELECT delivery_id FROM webhook_deliveries`)).toEqual([
      { delivery_id: headers['x-github-delivery'] },
    ]);
  });

  it('an old "opened" replayed after the PR was closed does not take the issue back to review', async () => {
    const issue = await seedIssue(t.dataSource, { title: 'Refund rounding wrong' });
    const title = `Fix refund rounding (${issue.identifier})`;
    const opened = JSON.stringify(prPayload({ number: 601, title, head: 'fix/refund' }));
    await send('pull_request', opened, 'open-601').expect(200);
    await send(
      'pull_request',
      prPayload({ action: 'closed', number: 601, title, head: 'fix/refund' }),
      'close-601',
    ).expect(200);
    const before = await world(issue.id, 601);
    expect(before.issue).toEqual([expect.objectContaining({ status: 'triage' })]);

    const replayed = await send('pull_request', opened, 'open-601-again').expect(200);
    expect(replayed.body).toEqual({ status: 'duplicate', deliveryId: 'open-601-again' });
    expect(await world(issue.id, 601)).toEqual(before);
  });

  it('two deliveries of one body under different ids at once: one is processed, the other is a duplicate', async () => {
    const issue = await seedIssue(t.dataSource, { title: 'Invoice PDF blank' });
    const opened = JSON.stringify(prPayload({ number: 602, title: `Fix invoice PDF (${issue.identifier})` }));
    const answers = await Promise.all([
      send('pull_request', opened, 'race-602-a').expect(200),
      send('pull_request', opened, 'race-602-b').expect(200),
    ]);
    expect(answers.map((a) => a.body.status as string).sort()).toEqual(['duplicate', 'processed']);
    const after = await world(issue.id, 602);
    expect(after.matchRuns).toHaveLength(1);
    expect(after.links).toHaveLength(1);
    expect(after.deliveries).toHaveLength(1);
    expect(after.history.filter((h) => (h as { field: string }).field === 'pull_request')).toHaveLength(1);
  });

  it('a replayed workflow_run is not reported again, a replayed deployment_status is not recorded again', async () => {
    const run = JSON.stringify(exampleFixture('workflow_run.completed.success.examples-1.json'));
    const seen: WorkflowRunReported[] = [];
    const emitter = t.app.get(EventEmitter2);
    const listener = (e: WorkflowRunReported) => void seen.push(e);
    emitter.on('workflow_run.reported', listener);
    try {
      await send('workflow_run', run, 'run-1').expect(200);
      const again = await send('workflow_run', run, 'run-1-again').expect(200);
      expect(again.body).toEqual({ status: 'duplicate', deliveryId: 'run-1-again' });
      expect(seen).toHaveLength(1);
    } finally {
      emitter.off('workflow_run.reported', listener);
    }

    const deployment = packageExample<Record<string, Loose>>('deployment_status', 0);
    deployment.deployment.id = 9601;
    deployment.deployment.environment = 'production';
    deployment.deployment_status.environment = 'production';
    deployment.deployment_status.state = 'success';
    const body = JSON.stringify(deployment);
    const first = await send('deployment_status', body, 'deploy-9601').expect(200);
    expect(first.body).toMatchObject({ status: 'processed', created: true });
    const replayed = await send('deployment_status', body, 'deploy-9601-again').expect(200);
    expect(replayed.body).toEqual({ status: 'duplicate', deliveryId: 'deploy-9601-again' });
    expect(await t.dataSource.query(`SELECT delivery_id FROM webhook_deliveries ORDER BY delivery_id`)).toEqual([
      { delivery_id: 'deploy-9601' },
      { delivery_id: 'run-1' },
    ]);
  });

  it('refuses a delivery id GitHub never sends (too long, control or non-ASCII characters) with a 400 naming it, writing nothing', async () => {
    const issue = await seedIssue(t.dataSource, { title: 'Search times out' });
    const opened = prPayload({ number: 603, title: `Fix search timeout (${issue.identifier})` });
    // Sent as UTF-8 and read by Node as Latin-1: 'café' arrives as 5 characters.
    for (const [deliveryId, length] of [
      ['a'.repeat(129), 129],
      ['abc\tdef', 7],
      ['abc def', 7],
      ['caf\u00e9', 5],
      ['id, other-id', 12],
    ] as const) {
      const res = await send('pull_request', opened, deliveryId).expect(400);
      expect(res.body).toEqual({
        error: 'GITHUB_DELIVERY_INVALID',
        message: `X-GitHub-Delivery must be 1 to 128 letters, digits, '-', '_', '.' or ':' (GitHub sends a GUID); the one sent is not (${length} characters)`,
        correlationId: expect.any(String),
      });
    }
    expect(await world(issue.id, 603)).toMatchObject({ history: [], links: [], matchRuns: [], deliveries: [] });
    // A GUID, and the longest id taken, are processed.
    await send('pull_request', opened, 'a'.repeat(128)).expect(200);
  });
  it('migrating a table that has deliveries: old rows keep no hash, their redelivery is still a duplicate, new bodies are claimed once', async () => {
    const issue = await seedIssue(t.dataSource, { title: 'Export stalls' });
    const title = `Fix export stall (${issue.identifier})`;
    const opened = JSON.stringify(prPayload({ number: 604, title }));
    const ping = JSON.stringify(exampleFixture('ping.examples-0.json'));
    await replayMigration(t.dataSource, new WebhookDeliveryBodyHash1764830000000(), (runner) =>
      runner.query(
        `INSERT INTO webhook_deliveries (provider, delivery_id, event, action)
         VALUES ('github', 'old-1', 'pull_request', 'opened'), ('github', 'old-2', 'ping', NULL)`,
      ),
    );
    expect(
      await t.dataSource.query(`SELECT delivery_id, body_sha256 FROM webhook_deliveries ORDER BY delivery_id`),
    ).toEqual([
      { delivery_id: 'old-1', body_sha256: null },
      { delivery_id: 'old-2', body_sha256: null },
    ]);
    // GitHub redelivers a delivery handled before the upgrade: same id, recognised, 2xx.
    expect((await send('pull_request', opened, 'old-1').expect(200)).body).toEqual({
      status: 'duplicate',
      deliveryId: 'old-1',
    });
    expect((await world(issue.id, 604)).links).toEqual([]);
    // New deliveries: processed once, their body's replay is a duplicate; two NULL rows coexist.
    expect((await send('pull_request', opened, 'new-1').expect(200)).body.status).toBe('processed');
    expect((await send('pull_request', opened, 'new-1-replayed').expect(200)).body.status).toBe('duplicate');
    // A ping's body can repeat legitimately (the same hook pinged twice): each is answered pong.
    expect((await send('ping', ping, 'ping-1').expect(200)).body.status).toBe('pong');
    expect((await send('ping', ping, 'ping-2').expect(200)).body.status).toBe('pong');
    expect((await world(issue.id, 604)).links).toHaveLength(1);
  });
});

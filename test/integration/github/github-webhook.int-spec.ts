import { EventEmitter2 } from '@nestjs/event-emitter';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { WorkflowRunReported } from '../../../src/shared/events/event-catalogue';
import { seedIssue } from '../../factories/issue.factory';
import { sharedPath } from '../../support/shared-dir';
import { TestApp, startTestApp, testDbKind, useTestApp } from '../../support/test-app';
import { deliver, exampleFixture, packageExample, prPayload, signature256 } from './webhook-support';

/** Webhook payloads: deep fixture JSON, read and mutated by path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/** The secret Cogni-DAO/cogni-git-review published for its captures (fixtures/github/pull_request/AGENTS.md). */
const COGNI_SECRET = '402786017574bd28f9d8f7a18648939751c47fe09077d56e10f0444f14fbb73b';
const cogni = (name: string) => ({
  raw: readFileSync(sharedPath('fixtures', 'github', 'captured-deliveries-cogni', `${name}.raw-body.json`)),
  headers: JSON.parse(
    readFileSync(sharedPath('fixtures', 'github', 'captured-deliveries-cogni', `${name}.github-headers.json`), 'utf8'),
  ) as Record<string, string>,
});

async function count(t: TestApp, table: string): Promise<number> {
  const [{ n }] = (await t.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`)) as { n: number }[];
  return n;
}

describe('GitHub webhook: signature, idempotency, routing', () => {
  describe('with the Cogni captures (real deliveries, real signatures)', () => {
    const t = useTestApp({ GITHUB_WEBHOOK_SECRET: COGNI_SECRET, ISSUE_PREFIX: 'CHIPP' });

    /**
     * Sends the exact captured bytes with the captured headers (content-length included, so a
     * changed byte count would be refused by the server). The bodies are UTF-8: sent as a string,
     * superagent writes the same bytes (a Buffer would be serialised as JSON).
     */
    const replay = (name: string, mutate?: (raw: Buffer) => Buffer) => {
      const { raw, headers } = cogni(name);
      const bytes = mutate ? mutate(raw) : raw;
      const req = request(t.app.getHttpServer()).post('/api/github/webhook');
      for (const [k, v] of Object.entries(headers)) req.set(k, v);
      expect(Buffer.byteLength(bytes.toString('utf8'))).toBe(Number(headers['content-length']));
      return req.send(bytes.toString('utf8'));
    };

    it('accepts the captured pull_request.opened byte-exact and records the PR match run once', async () => {
      const first = await replay('pull_request.opened').expect(200);
      expect(first.body).toMatchObject({
        status: 'processed',
        event: 'pull_request',
        action: 'opened',
        pr: 'derekg1729/test-repo#315',
      });
      const runs = (await t.dataSource.query(
        `SELECT outcome, steps, delivery_id FROM pr_match_runs WHERE pr_number = 315`,
      )) as {
        outcome: string;
        steps: { step: string; status: string; reason: string }[];
        delivery_id: string;
      }[];
      expect(runs).toHaveLength(1);
      expect(runs[0]!.delivery_id).toBe('f73f08d0-a995-11f0-8d11-0b9d0ae424e4');
      expect(runs[0]!.outcome).toBe('unmatched');
      expect(runs[0]!.steps.map((s) => s.step)).toEqual(['identifier', 'semantic', 'llm']);
      // Redelivery of the same delivery id: recognised, nothing written again.
      const again = await replay('pull_request.opened').expect(200);
      expect(again.body).toEqual({ status: 'duplicate', deliveryId: 'f73f08d0-a995-11f0-8d11-0b9d0ae424e4' });
      expect(await count(t, 'pr_match_runs')).toBe(1);
      expect(await count(t, `webhook_deliveries WHERE delivery_id = 'f73f08d0-a995-11f0-8d11-0b9d0ae424e4'`)).toBe(1);
    });

    it('accepts the captured synchronize and workflow_run, and emits workflow_run.reported after commit', async () => {
      await replay('pull_request.synchronize').expect(200);
      const seen: WorkflowRunReported[] = [];
      const emitter = t.app.get(EventEmitter2);
      const listener = (e: WorkflowRunReported) => void seen.push(e);
      emitter.on('workflow_run.reported', listener);
      try {
        const res = await replay('workflow_run.in_progress').expect(200);
        expect(res.body).toMatchObject({ status: 'processed', event: 'workflow_run', action: 'in_progress' });
        const payload = JSON.parse(cogni('workflow_run.in_progress').raw.toString('utf8')) as {
          workflow_run: Record<string, unknown>;
        };
        expect(seen).toHaveLength(1);
        expect(seen[0]).toMatchObject({
          runId: String(payload.workflow_run.id),
          runName: payload.workflow_run.display_title,
          status: 'in_progress',
          conclusion: null,
          htmlUrl: payload.workflow_run.html_url,
        });
        const delivered = (await t.dataSource.query(
          `SELECT event, action FROM webhook_deliveries WHERE event = 'workflow_run'`,
        )) as unknown[];
        expect(delivered).toEqual([{ event: 'workflow_run', action: 'in_progress' }]);
        await replay('workflow_run.in_progress').expect(200);
        expect(seen).toHaveLength(1);
      } finally {
        emitter.off('workflow_run.reported', listener);
      }
    });

    it('answers events it does not handle (check_run, check_suite) with 202 and writes nothing', async () => {
      const before = await count(t, 'webhook_deliveries');
      const res = await replay('check_run.completed').expect(202);
      expect(res.body).toMatchObject({ status: 'ignored', event: 'check_run' });
      await replay('check_suite.completed').expect(202);
      expect(await count(t, 'webhook_deliveries')).toBe(before);
    });

    it('refuses a captured body changed by one byte (401) and writes nothing', async () => {
      const before = await count(t, 'webhook_deliveries');
      const res = await replay('pull_request.synchronize', (raw) => {
        const copy = Buffer.from(raw);
        const at = copy.indexOf('"Test PR body"');
        copy[at + 1] = 0x74; // "test PR body": same length, one byte changed
        return copy;
      }).expect(401);
      expect(res.body).toMatchObject({ error: 'GITHUB_SIGNATURE_INVALID', correlationId: expect.any(String) });
      // Re-serialised JSON (same content, different bytes) is refused too.
      const { raw, headers } = cogni('pull_request.synchronize');
      const reserialised = JSON.stringify(JSON.parse(raw.toString('utf8')), null, 1);
      expect(reserialised).not.toBe(raw.toString('utf8'));
      await request(t.app.getHttpServer())
        .post('/api/github/webhook')
        .set('Content-Type', 'application/json')
        .set('X-GitHub-Event', 'pull_request')
        .set('X-GitHub-Delivery', 'reserialised-1')
        .set('X-Hub-Signature-256', headers['x-hub-signature-256']!)
        .send(reserialised)
        .expect(401);
      expect(await count(t, 'webhook_deliveries')).toBe(before);
    });
  });

  describe('with a test secret', () => {
    const t = useTestApp();

    it('answers ping with pong', async () => {
      const ping = exampleFixture('ping.examples-0.json');
      const res = await deliver(t.http, 'ping', ping).expect(200);
      expect(res.body).toMatchObject({ status: 'pong', zen: (ping as { zen: string }).zen });
    });

    it('refuses a missing signature, a wrong secret and no API key substitutes for it (401), writing nothing', async () => {
      const body = prPayload({ title: 'Fix CHIPP-1' });
      const before = await count(t, 'webhook_deliveries');
      const missing = await deliver(t.http, 'pull_request', body, { signature: null }).expect(401);
      expect(missing.body.error).toBe('GITHUB_SIGNATURE_MISSING');
      const wrong = await deliver(t.http, 'pull_request', body, { secret: 'not-the-secret' }).expect(401);
      expect(wrong.body.error).toBe('GITHUB_SIGNATURE_INVALID');
      await deliver(t.http, 'pull_request', body, { signature: 'sha256=abc' }).expect(401);
      expect(await count(t, 'webhook_deliveries')).toBe(before);
      expect(await count(t, 'issue_prs')).toBe(0);
    });

    it('passes every octokit example in the shared fixtures through (2xx)', async () => {
      for (const name of [
        'ping.examples-0.json',
        'pull_request.closed.examples-3.json',
        'pull_request.closed.examples-4.json',
        'pull_request.opened.examples-0.json',
        'pull_request.opened.examples-12.json',
        'pull_request.opened.examples-13.json',
        'pull_request.opened.examples-14.json',
        'pull_request.synchronize.examples-22.json',
        'workflow_dispatch.examples-0.json',
        'workflow_job.completed.failure.examples-1.json',
        'workflow_run.completed.null.examples-0.json',
        'workflow_run.completed.success.examples-1.json',
        'workflow_run.completed.success.examples-2.json',
        'workflow_run.requested.action_required.examples-4.json',
        'workflow_run.requested.null.examples-3.json',
      ]) {
        const event = name.split('.')[0]!;
        const res = await deliver(t.http, event, exampleFixture(name));
        expect({ name, status: res.status }).toEqual({
          name,
          status: ['ping', 'pull_request', 'workflow_run'].includes(event) ? 200 : 202,
        });
      }
    });

    it('links a PR by identifier from the webhook and moves the issue to in_review', async () => {
      const issue = await seedIssue(t.dataSource, { title: 'Cart total crashes' });
      const res = await deliver(
        t.http,
        'pull_request',
        prPayload({ number: 501, title: `Fix cart total (${issue.identifier})`, head: 'fix/cart' }),
      ).expect(200);
      expect(res.body.linked).toEqual([{ identifier: issue.identifier, method: 'identifier' }]);
      const [row] = (await t.dataSource.query(`SELECT status FROM issues WHERE id = $1`, [issue.id])) as {
        status: string;
      }[];
      expect(row!.status).toBe('in_review');
    });

    it('stores NUL and unpaired surrogates of a PR and a deployment as U+FFFD, answering 200', async () => {
      const issue = await seedIssue(t.dataSource, { title: 'Upload name crashes' });
      const pr = await deliver(
        t.http,
        'pull_request',
        prPayload({
          number: 502,
          title: `Strip NUL from names\u0000 (${issue.identifier})`,
          head: 'fix/nul\u0000name',
          body: 'A lone \ud800 surrogate',
        }),
      ).expect(200);
      expect(pr.body.linked).toEqual([{ identifier: issue.identifier, method: 'identifier' }]);
      const [row] = (await t.dataSource.query(
        `SELECT title, head_branch, body, match_evidence FROM issue_prs WHERE pr_number = 502`,
      )) as { title: string; head_branch: string; body: string; match_evidence: Record<string, unknown> }[];
      expect(row).toMatchObject({
        title: `Strip NUL from names\ufffd (${issue.identifier})`,
        head_branch: 'fix/nul\ufffdname',
        body: 'A lone \ufffd surrogate',
      });

      const deployment = packageExample<Record<string, Loose>>('deployment_status', 0);
      deployment.deployment.id = 9502;
      deployment.deployment.environment = 'production';
      deployment.deployment.payload = { version: 'v1.2.3\u0000-\udc00' };
      deployment.deployment_status.environment = 'production';
      deployment.deployment_status.state = 'success';
      const deployed = await deliver(t.http, 'deployment_status', deployment).expect(200);
      expect(deployed.body).toMatchObject({ status: 'processed', created: true });
      const [stored] = (await t.dataSource.query(`SELECT version FROM deployments WHERE id = $1`, [
        deployed.body.deploymentId,
      ])) as { version: string }[];
      expect(stored!.version).toBe('v1.2.3\ufffd-\ufffd');
    });

    it('takes a commit id that is not hex of 7 to 64 characters as unknown (a 100 kB one answered 500)', async () => {
      const long = Array.from({ length: 1600 }, (_, i) => signature256(String(i)).slice(7))
        .join('')
        .slice(0, 100_000);
      const issue = await seedIssue(t.dataSource, { title: 'Checkout total wrong' });
      await deliver(
        t.http,
        'pull_request',
        prPayload({ number: 503, title: `Fix total (${issue.identifier})`, head: 'fix/total' }),
      ).expect(200);
      const merged = await deliver(
        t.http,
        'pull_request',
        prPayload({
          action: 'closed',
          number: 503,
          title: `Fix total (${issue.identifier})`,
          merged: true,
          mergeCommitSha: long,
        }),
      ).expect(200);
      expect(merged.body).toMatchObject({ status: 'processed', action: 'closed' });
      const [link] = (await t.dataSource.query(
        `SELECT state, merge_commit_sha FROM issue_prs WHERE pr_number = 503`,
      )) as { state: string; merge_commit_sha: string | null }[];
      expect(link).toEqual({ state: 'merged', merge_commit_sha: null });

      const deployment = packageExample<Record<string, Loose>>('deployment_status', 0);
      deployment.deployment.id = 9503;
      deployment.deployment.sha = long;
      const deployed = await deliver(t.http, 'deployment_status', deployment).expect(200);
      const [stored] = (await t.dataSource.query(`SELECT sha FROM deployments WHERE id = $1`, [
        deployed.body.deploymentId,
      ])) as { sha: string | null }[];
      expect(stored!.sha).toBeNull();
    });

    it('takes a date outside what PostgreSQL and the verification window hold as unknown (500, or a failed listener)', async () => {
      const deployment = packageExample<Record<string, Loose>>('deployment_status', 0);
      deployment.deployment.id = 9504;
      deployment.deployment_status.created_at = '-271821-04-20T00:00:00Z';
      deployment.deployment_status.updated_at = '2026-11-26T08:00:00Z';
      const deployed = await deliver(t.http, 'deployment_status', deployment).expect(200);
      const [stored] = (await t.dataSource.query(`SELECT deployed_at FROM deployments WHERE id = $1`, [
        deployed.body.deploymentId,
      ])) as { deployed_at: Date }[];
      expect(stored!.deployed_at).toEqual(new Date('2026-11-26T08:00:00Z'));
    });

    it('answers 400 for a signed body that is not JSON or lacks the pull request', async () => {
      const notJson = 'not json';
      await t.http
        .post('/api/github/webhook')
        .set('Content-Type', 'application/json')
        .set('X-GitHub-Event', 'pull_request')
        .set('X-GitHub-Delivery', 'bad-json-1')
        .set('X-Hub-Signature-256', signature256(notJson))
        .send(notJson)
        .expect(400);
      const res = await deliver(t.http, 'pull_request', { action: 'opened' }).expect(400);
      expect(res.body.error).toBe('GITHUB_INVALID_PAYLOAD');
      // A PR number past the integer column, or a fraction, failed the statement (500).
      for (const number of [2_147_483_648, 1.5]) {
        const refused = await deliver(t.http, 'pull_request', prPayload({ number })).expect(400);
        expect(refused.body.message).toBe(
          `pull_request.number must be a whole number from 1 to 2147483647; got ${number}`,
        );
      }
      // A 100 kB repository name (that does not compress) is past what an index entry holds (500).
      const long = Array.from({ length: 1600 }, (_, i) => signature256(String(i)).slice(7)).join('');
      const refused = await deliver(t.http, 'pull_request', prPayload({ repo: long.slice(0, 100_000) })).expect(400);
      expect(refused.body.message).toBe('repository.name must be at most 100 characters; got 100000');
      // An id that GitHub never sends was taken (a deployment keyed owner/repo/-1) or refused without naming it.
      const deployment = packageExample<Record<string, Loose>>('deployment_status', 0);
      deployment.deployment.id = -1;
      const badId = await deliver(t.http, 'deployment_status', deployment).expect(400);
      expect(badId.body.message).toBe('deployment.id must be a positive whole number; got -1');
      delete deployment.deployment.id;
      const noId = await deliver(t.http, 'deployment_status', deployment).expect(400);
      expect(noId.body.message).toBe('deployment.id is required');
      // JSON that is not an object: a ping of null read `zen` of null (500).
      for (const [event, body] of [
        ['ping', null],
        ['ping', []],
        ['pull_request', 'text'],
        ['check_run', 123],
      ] as const) {
        const refused = await deliver(t.http, event, JSON.stringify(body)).expect(400);
        expect(refused.body).toMatchObject({
          error: 'GITHUB_INVALID_PAYLOAD',
          message: 'The body must be a JSON object, as GitHub sends',
          correlationId: expect.any(String),
        });
      }
    });
  });

  it('is never unauthenticated: without GITHUB_WEBHOOK_SECRET a server deployment refuses to start, the embedded one generates a secret', async () => {
    if (testDbKind() === 'postgres') {
      await expect(startTestApp({ GITHUB_WEBHOOK_SECRET: '' })).rejects.toThrow(/GITHUB_WEBHOOK_SECRET is required/);
      return;
    }
    const t = await startTestApp({ GITHUB_WEBHOOK_SECRET: '' });
    try {
      expect(t.config.GITHUB_WEBHOOK_SECRET).toEqual(expect.any(String));
      await deliver(t.http, 'ping', { zen: 'x' }).expect(401);
    } finally {
      await t.close();
    }
  });
});

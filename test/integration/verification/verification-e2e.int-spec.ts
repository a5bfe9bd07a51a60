import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { VerificationService } from '../../../src/modules/verification/verification.service';
import { sharedPath } from '../../support/shared-dir';
import { TEST_KEYS, adminAuth, useTestApp } from '../../support/test-app';
import { HOUR, MINUTE, after, errorSender, historyOf, issueRow, outboxFor, windowsOf } from './verification-seed';

/**
 * The whole loop through the HTTP API: an error arrives (POST /api/events), an issue opens, a PR
 * naming it is opened and merged (signed GitHub webhooks), the deploy is reported
 * (POST /api/deployments), and verification decides.
 */
/** Polls `probe` until it returns true or the deadline passes. */
async function eventually(probe: () => Promise<boolean>, deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Fix verification end to end through the HTTP API', () => {
  const t = useTestApp({
    FIX_VERIFICATION_HOURS: '48',
    VERIFICATION_GRACE_MINUTES: '10',
    GITHUB_REPO_OWNER: 'Codertocat',
    GITHUB_REPO_NAME: 'Hello-World',
  });
  let verification: VerificationService;
  let prNumber = 500;

  beforeAll(() => {
    verification = t.app.get(VerificationService);
  });

  interface PrPayload {
    number: number;
    pull_request: Record<string, unknown>;
  }
  const example = (name: string): PrPayload =>
    JSON.parse(readFileSync(sharedPath('fixtures', 'github', 'octokit-webhooks-examples', name), 'utf8')) as PrPayload;

  async function webhook(event: string, payload: unknown): Promise<void> {
    const raw = JSON.stringify(payload);
    const signature = `sha256=${createHmac('sha256', TEST_KEYS.GITHUB_WEBHOOK_SECRET).update(raw).digest('hex')}`;
    const res = await t.http
      .post('/api/github/webhook')
      .set('Content-Type', 'application/json')
      .set('X-GitHub-Event', event)
      .set('X-GitHub-Delivery', randomUUID())
      .set('X-Hub-Signature-256', signature)
      .send(raw);
    if (![200, 202].includes(res.status))
      throw new Error(`webhook ${event}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  const sendError = errorSender(t);

  /** Error -> issue (P3) -> PR opened and merged -> production deploy of version 1.4.2. */
  async function shipFix(): Promise<{
    issueId: string;
    identifier: string;
    source: string;
    deployedAt: Date;
    message: string;
  }> {
    const source = `checkout-${randomUUID().slice(0, 8)}`;
    const message = `Payment 8412 declined by gateway for customer cus_9f8a7b6c5d (${source})`;
    await sendError(source, message, new Date(Date.now() - 3 * HOUR), '1.4.1');
    const list = await t.http.get(`/api/issues?source=${source}`).set(adminAuth).expect(200);
    expect(list.body.items).toHaveLength(1);
    const { identifier } = list.body.items[0] as { identifier: string };
    await t.http.patch(`/api/issues/${identifier}`).set(adminAuth).send({ priority: 'P3' }).expect(200);

    const number = ++prNumber;
    const opened = example('pull_request.opened.examples-0.json');
    opened.number = number;
    Object.assign(opened.pull_request, {
      number,
      title: `${identifier}: retry the payment gateway`,
      body: `Fixes ${identifier}`,
    });
    await webhook('pull_request', opened);

    const mergeSha = createHmac('sha1', 'x').update(identifier).digest('hex');
    const closed = example('pull_request.closed.examples-3.json');
    closed.number = number;
    Object.assign(closed.pull_request, {
      number,
      title: `${identifier}: retry the payment gateway`,
      body: `Fixes ${identifier}`,
      merged: true,
      merged_at: new Date(Date.now() - 2 * HOUR).toISOString(),
      merge_commit_sha: mergeSha,
    });
    await webhook('pull_request', closed);

    const deployedAt = new Date(Date.now() - HOUR);
    const dep = await t.http
      .post('/api/deployments')
      .set(adminAuth)
      .send({
        environment: 'production',
        sha: mergeSha,
        version: '1.4.2',
        prNumbers: [number],
        deployedAt: deployedAt.toISOString(),
      })
      .expect(200);
    expect(dep.body.deployedIssues).toEqual(
      expect.arrayContaining([expect.objectContaining({ identifier, moved: true })]),
    );
    const issue = await t.http.get(`/api/issues/${identifier}`).set(adminAuth).expect(200);
    expect(issue.body.status).toBe('in_production');
    const issueId = (issue.body as { id?: string }).id ?? (await idOf(identifier));
    return { issueId, identifier, source, deployedAt, message };
  }

  async function idOf(identifier: string): Promise<string> {
    const [row] = (await t.dataSource.query(`SELECT id FROM issues WHERE identifier = $1`, [identifier])) as {
      id: string;
    }[];
    return row.id;
  }

  it('(a) nothing recurs: the window ends clean and the issue is verified', async () => {
    const s = await shipFix();
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w).toMatchObject({ state: 'watching', deployed_version: '1.4.2' });
    await verification.runDueChecks(after(s.deployedAt, 48 * HOUR + 11 * MINUTE));
    expect(await issueRow(t.dataSource, s.issueId)).toMatchObject({ status: 'verified', priority: 3 });
    expect(await outboxFor(t.dataSource, 'fix.verified', s.issueId)).toHaveLength(1);
    const issue = await t.http.get(`/api/issues/${s.identifier}`).set(adminAuth).expect(200);
    expect(issue.body.status).toBe('verified');
  });

  it('(b) the error recurs from the new build: reopened, P3 -> P2, fix-failed', async () => {
    const s = await shipFix();
    await sendError(s.source, s.message, after(s.deployedAt, 30 * MINUTE), '1.4.2');
    // The error.received fast path decides without the scheduled check.
    await eventually(async () => (await issueRow(t.dataSource, s.issueId)).status === 'triage');
    const issue = await t.http.get(`/api/issues/${s.identifier}`).set(adminAuth).expect(200);
    expect(issue.body).toMatchObject({
      status: 'triage',
      priority: 'P2',
      labels: expect.arrayContaining(['fix-failed']),
    });
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w.state).toBe('failed');
    expect(w.recurrence_evidence).toMatchObject({
      version: '1.4.2',
      failedPr: { repo: 'Codertocat/Hello-World', prNumber },
    });
    expect(await outboxFor(t.dataSource, 'fix.failed', s.issueId)).toHaveLength(1);
    expect(
      (await historyOf(t.dataSource, s.issueId)).some((h) => h.field === 'verification' && h.to_value === 'failed'),
    ).toBe(true);
  });

  it('(c) the error recurs only from an older build: still verified', async () => {
    const s = await shipFix();
    await sendError(s.source, s.message, after(s.deployedAt, 30 * MINUTE), '1.4.1');
    await verification.runDueChecks();
    expect((await issueRow(t.dataSource, s.issueId)).status).toBe('in_production');
    await verification.runDueChecks(after(s.deployedAt, 49 * HOUR));
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w).toMatchObject({ state: 'verified', old_build_count: 1 });
    expect((await issueRow(t.dataSource, s.issueId)).status).toBe('verified');
  });
});

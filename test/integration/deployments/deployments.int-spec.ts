import { EventEmitter2 } from '@nestjs/event-emitter';
import { DeploymentsFacade } from '../../../src/modules/deployments/deployments.facade';
import { FixDeployed } from '../../../src/shared/events/event-catalogue';
import { seedIssue } from '../../factories/issue.factory';
import { FakeGithubCompare } from '../../support/fake-github-compare';
import { adminAuth, agentAuth, ingestAuth, useTestApp } from '../../support/test-app';
import { deliver, packageExample, prPayload } from '../github/webhook-support';

/** Webhook and LLM payloads: deep fixture JSON, read and mutated by path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const sha = (c: string): string => c.repeat(40);

async function until<T>(probe: () => Promise<T | undefined | null | false>, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('Deploy tracking: in_production and fix.deployed', () => {
  let github: FakeGithubCompare;
  const deployed: FixDeployed[] = [];
  const onDeployed = (e: FixDeployed) => void deployed.push(e);

  beforeAll(async () => {
    github = await new FakeGithubCompare().start();
  });
  const t = useTestApp(() => ({
    GITHUB_API_URL: github.url,
    GITHUB_TOKEN: 'ghp_test_token',
    PRODUCTION_ENVIRONMENT: 'production',
    GITHUB_HTTP_TIMEOUT_SECONDS: '1',
  }));
  beforeAll(() => {
    t.app.get(EventEmitter2).on('fix.deployed', onDeployed);
  });
  afterAll(async () => {
    await github.stop();
  });

  const status = async (id: string): Promise<string> =>
    ((await t.dataSource.query(`SELECT status FROM issues WHERE id = $1`, [id])) as { status: string }[])[0]!.status;

  /** An issue whose fix PR #n was merged into staging with merge commit `merge`. */
  async function stagedFix(n: number, merge: string): Promise<{ id: string; identifier: string }> {
    const issue = await seedIssue(t.dataSource);
    await deliver(
      t.http,
      'pull_request',
      prPayload({
        number: n,
        title: `Fix ${issue.identifier}`,
        base: 'staging',
        action: 'closed',
        merged: true,
        mergeCommitSha: merge,
      }),
    ).expect(200);
    expect(await status(issue.id)).toBe('in_staging');
    return issue;
  }

  /** GitHub's deployment_status example (success, production), for our deploy sha and id. */
  function deploymentStatus(deploySha: string, deploymentId: number, environment = 'production', state = 'success') {
    const p = packageExample<Record<string, Loose>>('deployment_status', 0);
    p.deployment.sha = deploySha;
    p.deployment.id = deploymentId;
    p.deployment.environment = environment;
    p.deployment_status.environment = environment;
    p.deployment_status.state = state;
    return p;
  }

  it('a GitHub production deployment whose sha contains the merge commit (compare API: ahead) moves the issue to in_production', async () => {
    const issue = await stagedFix(401, sha('1'));
    const other = await stagedFix(402, sha('2'));
    github.descends(sha('d'), sha('1')).commit(sha('2'));
    const res = await deliver(t.http, 'deployment_status', deploymentStatus(sha('d'), 9001), {
      deliveryId: 'deploy-9001',
    }).expect(200);
    expect(res.body).toMatchObject({ status: 'processed', event: 'deployment_status', created: true });
    await until(async () => (await status(issue.id)) === 'in_production', 'in_production');
    const event = await until(async () => deployed.find((e) => e.issueId === issue.id), 'fix.deployed');
    const [link] = (await t.dataSource.query(
      `SELECT id, deployed_at, deployment_id FROM issue_prs WHERE pr_number = 401`,
    )) as {
      id: string;
      deployed_at: Date;
      deployment_id: string;
    }[];
    expect(event).toMatchObject({
      deploymentId: res.body.deploymentId,
      sha: sha('d'),
      issuePrId: link!.id,
      deployedAt: expect.any(Date),
    });
    expect(link!.deployment_id).toBe(res.body.deploymentId);
    expect(await status(other.id)).toBe('in_staging');
    const compareCalls = github.requests.map((r) => r.url);
    expect(compareCalls).toContainEqual(`/repos/Codertocat/Hello-World/compare/${sha('1')}...${sha('d')}?per_page=1`);
    expect(github.requests[0]!.headers.authorization).toBe('token ghp_test_token');
    const [dep] = (await t.dataSource.query(
      `SELECT source, external_id, environment, processed_at, result FROM deployments WHERE id = $1`,
      [res.body.deploymentId],
    )) as { source: string; external_id: string; environment: string; processed_at: Date | null; result: Loose }[];
    expect(dep).toMatchObject({
      source: 'github',
      external_id: 'Codertocat/Hello-World/9001',
      environment: 'production',
      processed_at: expect.any(Date),
    });
    expect(dep!.result.checked).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ pr: 401, compare: 'ahead', result: 'contained' }),
        expect.objectContaining({ pr: 402, result: 'not_contained' }),
      ]),
    );
    const statusEntry = (
      (await t.dataSource.query(
        `SELECT actor, reason FROM issue_history WHERE issue_id = $1 AND to_value = 'in_production'`,
        [issue.id],
      )) as {
        actor: string;
        reason: string;
      }[]
    )[0];
    expect(statusEntry).toMatchObject({
      actor: 'system:deployments',
      reason: expect.stringMatching(/Codertocat\/Hello-World#401 reached production/),
    });

    // Redelivery: recognised; another success status of the same deployment (another delivery, another
    // body): one row, no second event. (The same body under another delivery id is a duplicate too.)
    const again = await deliver(t.http, 'deployment_status', deploymentStatus(sha('d'), 9001), {
      deliveryId: 'deploy-9001',
    }).expect(200);
    expect(again.body.status).toBe('duplicate');
    const secondStatus = deploymentStatus(sha('d'), 9001);
    secondStatus.deployment_status.id += 1;
    const second = await deliver(t.http, 'deployment_status', secondStatus, {
      deliveryId: 'deploy-9001-b',
    }).expect(200);
    expect(second.body).toMatchObject({ created: false, deploymentId: res.body.deploymentId });
    expect(deployed.filter((e) => e.issueId === issue.id)).toHaveLength(1);
  });

  it("a GitHub deployment of another repository does not ask about this repository's PRs", async () => {
    const issue = await stagedFix(406, sha('6'));
    github.descends(sha('7'), sha('6'));
    const calls = github.requests.length;
    const p = deploymentStatus(sha('7'), 9010);
    p.repository.name = 'Other-Repo';
    const res = await deliver(t.http, 'deployment_status', p).expect(200);
    await until(async () => {
      const rows = (await t.dataSource.query(`SELECT processed_at FROM deployments WHERE id = $1`, [
        res.body.deploymentId,
      ])) as { processed_at: Date | null }[];
      return rows[0]?.processed_at;
    }, 'processing');
    expect(
      github.requests.slice(calls).filter((r) => r.url.includes('/Hello-World/') && r.url.includes(sha('7'))),
    ).toEqual([]);
    expect(await status(issue.id)).toBe('in_staging');
    // Deployed for real afterwards, so later tests start from a clean slate of undeployed links.
    await deliver(t.http, 'deployment_status', deploymentStatus(sha('7'), 9011)).expect(200);
    await until(async () => (await status(issue.id)) === 'in_production', 'in_production');
  });

  it('ignores deployments that failed or went to another environment (202)', async () => {
    const before = ((await t.dataSource.query(`SELECT count(*)::int AS n FROM deployments`)) as { n: number }[])[0]!.n;
    const staging = await deliver(t.http, 'deployment_status', deploymentStatus(sha('e'), 9002, 'staging')).expect(202);
    expect(staging.body.reason).toMatch(/environment staging is not production/);
    await deliver(t.http, 'deployment_status', deploymentStatus(sha('e'), 9003, 'production', 'failure')).expect(202);
    expect(((await t.dataSource.query(`SELECT count(*)::int AS n FROM deployments`)) as { n: number }[])[0]!.n).toBe(
      before,
    );
  });

  it('keeps a deployment whose compare call failed and finishes it from the retry sweep', async () => {
    const issue = await stagedFix(403, sha('3'));
    github.descends(sha('f'), sha('3')).failNext(502, sha('f'));
    const res = await deliver(t.http, 'deployment_status', deploymentStatus(sha('f'), 9004)).expect(200);
    const failed = await until(async () => {
      const rows = (await t.dataSource.query(
        `SELECT processed_at, last_error, process_attempts FROM deployments WHERE id = $1`,
        [res.body.deploymentId],
      )) as {
        processed_at: Date | null;
        last_error: string | null;
        process_attempts: number;
      }[];
      return rows[0]?.last_error ? rows[0] : undefined;
    }, 'the failed attempt');
    expect(failed).toMatchObject({ processed_at: null, process_attempts: 1 });
    expect(await status(issue.id)).toBe('in_staging');
    await t.app.get(DeploymentsFacade).processPending();
    expect(await status(issue.id)).toBe('in_production');
  });

  it('gives up on a compare call GitHub never answers after GITHUB_HTTP_TIMEOUT_SECONDS, and retries it later', async () => {
    const merge = 'a'.repeat(39) + '1';
    const deployed = 'a'.repeat(39) + '2';
    const issue = await stagedFix(470, merge);
    github.descends(deployed, merge).hangNext(deployed);
    const res = await deliver(t.http, 'deployment_status', deploymentStatus(deployed, 9070)).expect(200);
    const failed = await until(async () => {
      const rows = (await t.dataSource.query(`SELECT processed_at, last_error FROM deployments WHERE id = $1`, [
        res.body.deploymentId,
      ])) as { processed_at: Date | null; last_error: string | null }[];
      return rows[0]?.last_error ? rows[0] : undefined;
    }, 'the timed-out attempt');
    expect(failed.processed_at).toBeNull();
    expect(failed.last_error).toMatch(/^GitHub did not answer GET \/repos\/.+\/compare\/.+ within 1 s$/);
    await t.app.get(DeploymentsFacade).processPending();
    expect(await status(issue.id)).toBe('in_production');
  });

  it('POST /api/deployments: listed PR numbers deploy their issues; repeating the call is idempotent', async () => {
    const issue = await stagedFix(404, sha('4'));
    const body = {
      environment: 'production',
      version: '2026.11.26-1',
      prNumbers: [404],
      deployedAt: '2026-11-26T08:00:00Z',
    };
    const first = await t.http.post('/api/deployments').set(agentAuth).send(body).expect(200);
    expect(first.body).toMatchObject({
      created: true,
      source: 'api',
      environment: 'production',
      version: '2026.11.26-1',
      prNumbers: [404],
      deployedAt: '2026-11-26T08:00:00.000Z',
      processedAt: expect.any(String),
      deployedIssues: [{ identifier: issue.identifier, from: 'in_staging', moved: true, prs: [404] }],
    });
    expect(await status(issue.id)).toBe('in_production');
    const event = deployed.find((e) => e.issueId === issue.id)!;
    expect(event).toMatchObject({
      deploymentId: first.body.id,
      version: '2026.11.26-1',
      deployedAt: new Date('2026-11-26T08:00:00Z'),
    });
    const second = await t.http.post('/api/deployments').set(adminAuth).send(body).expect(200);
    expect(second.body).toMatchObject({ id: first.body.id, created: false });
    expect(deployed.filter((e) => e.issueId === issue.id)).toHaveLength(1);
  });

  it('POST /api/deployments with a sha uses the compare API; a non-production environment moves nothing', async () => {
    const issue = await stagedFix(405, sha('5'));
    github.descends(sha('9'), sha('5'));
    const pre = await t.http
      .post('/api/deployments')
      .set(adminAuth)
      .send({ environment: 'preview', sha: sha('9') })
      .expect(200);
    expect(pre.body.deployedIssues).toEqual([]);
    expect(await status(issue.id)).toBe('in_staging');
    const prod = await t.http
      .post('/api/deployments')
      .set(adminAuth)
      .send({ environment: 'production', sha: sha('9'), externalId: 'pipeline-77' })
      .expect(200);
    expect(prod.body.deployedIssues).toEqual([expect.objectContaining({ identifier: issue.identifier, moved: true })]);
  });

  it('a deploy reported before the merge webhook still carries the PR once the merge arrives (listed or by sha)', async () => {
    const listed = await seedIssue(t.dataSource);
    await deliver(
      t.http,
      'pull_request',
      prPayload({ number: 407, title: `Fix ${listed.identifier}`, base: 'main' }),
    ).expect(200);
    const early = await t.http
      .post('/api/deployments')
      .set(agentAuth)
      .send({ environment: 'production', prNumbers: [407] })
      .expect(200);
    expect(early.body.deployedIssues).toEqual([]);
    await deliver(
      t.http,
      'pull_request',
      prPayload({
        number: 407,
        title: `Fix ${listed.identifier}`,
        base: 'main',
        action: 'closed',
        merged: true,
        mergeCommitSha: sha('8'),
      }),
    ).expect(200);
    await until(async () => (await status(listed.id)) === 'in_production', 'listed PR in_production');
    expect(deployed.find((e) => e.issueId === listed.id)).toMatchObject({ deploymentId: early.body.id });

    const bySha = await seedIssue(t.dataSource);
    github.descends(sha('c'), sha('b'));
    await deliver(
      t.http,
      'pull_request',
      prPayload({ number: 408, title: `Fix ${bySha.identifier}`, base: 'main' }),
    ).expect(200);
    const dep = await deliver(t.http, 'deployment_status', deploymentStatus(sha('c'), 9020)).expect(200);
    await until(async () => {
      const rows = (await t.dataSource.query(`SELECT processed_at FROM deployments WHERE id = $1`, [
        dep.body.deploymentId,
      ])) as { processed_at: Date | null }[];
      return rows[0]?.processed_at;
    }, 'processing');
    expect(await status(bySha.id)).toBe('in_review');
    await deliver(
      t.http,
      'pull_request',
      prPayload({
        number: 408,
        title: `Fix ${bySha.identifier}`,
        base: 'main',
        action: 'closed',
        merged: true,
        mergeCommitSha: sha('b'),
      }),
    ).expect(200);
    await until(async () => (await status(bySha.id)) === 'in_production', 'sha PR in_production');
    const [row] = (await t.dataSource.query(`SELECT result FROM deployments WHERE id = $1`, [
      dep.body.deploymentId,
    ])) as { result: Loose }[];
    expect(row!.result.late).toEqual([
      expect.objectContaining({
        deployedIssues: [expect.objectContaining({ identifier: bySha.identifier, moved: true })],
      }),
    ]);
  });

  it('validates the body and the key: 400, 401, 403', async () => {
    const bad = await t.http
      .post('/api/deployments')
      .set(adminAuth)
      .send({ sha: 'not-a-sha', prNumbers: [0], bogus: 1 })
      .expect(400);
    expect(bad.body.error).toBe('VALIDATION_FAILED');
    expect(bad.body.message).toMatch(/environment/);
    expect(bad.body.message).toMatch(/sha must be a hex commit id/);
    expect(bad.body.message).toMatch(/bogus/);
    // An integer past the column's range (PostgreSQL integer) failed the insert: 500.
    const count = `SELECT count(*)::int AS n FROM deployments`;
    const before = (await t.dataSource.query(count)) as unknown[];
    const huge = await t.http
      .post('/api/deployments')
      .set(adminAuth)
      .send({ environment: 'production', prNumbers: [1e308] })
      .expect(400);
    expect(huge.body.message).toMatch(/prNumbers/);
    expect(await t.dataSource.query(count)).toEqual(before);
    // deployedAt is a date-time: a number, a boolean or a bare "5" was made a date (1970, 2005) and accepted.
    for (const deployedAt of [0, -1, true, '5', 'yesterday']) {
      const res = await t.http
        .post('/api/deployments')
        .set(adminAuth)
        .send({ environment: 'production', deployedAt })
        .expect(400);
      expect(res.body.message).toBe('deployedAt must be an ISO 8601 date-time');
    }
    expect(await t.dataSource.query(count)).toEqual(before);
    await t.http.post('/api/deployments').send({ environment: 'production' }).expect(401);
    await t.http.post('/api/deployments').set(ingestAuth).send({ environment: 'production' }).expect(403);
  });
});

import { EventEmitter2 } from '@nestjs/event-emitter';
import { budgetDay } from '../../../src/modules/spawn/budget-day';
import { DomainEventBus } from '../../../src/shared/events/domain-event-bus';
import { InvestigationEnded, WorkflowRunReported } from '../../../src/shared/events/event-catalogue';
import { TEST_KEYS, adminAuth, agentAuth, ingestAuth } from '../../support/test-app';
import {
  SeededIssue,
  budgetRow,
  historyOf,
  issueRow,
  minutes,
  requestsOf,
  seedSpawnable,
  useSpawnApp,
} from '../../fixtures/spawn/spawn-kit';

describe('workflow callbacks, workflow_run reports and timeouts', () => {
  const { gh, k } = useSpawnApp({ MAX_CONCURRENT_SPAWNS: '5', SPAWN_TIMEOUT_MINUTES: '90' });
  const ended: InvestigationEnded[] = [];

  beforeAll(() => {
    k.t.app.get(EventEmitter2).on('investigation.ended', (e: InvestigationEnded) => ended.push(e));
  });
  beforeEach(() => {
    ended.length = 0;
  });

  const ds = () => k.t.dataSource;
  const status = (identifier: string, body: Record<string, unknown>, auth: Record<string, string> = agentAuth) =>
    k.t.http.post(`/api/agent/issues/${identifier}/status`).set(auth).send(body);
  const historyCount = async (issueId: string): Promise<number> => (await historyOf(ds(), issueId)).length;

  async function dispatched(): Promise<SeededIssue & { runId: string }> {
    const issue = await seedSpawnable(ds());
    await k.worker.tick();
    const [req] = await requestsOf(ds(), issue.id);
    expect(req.state).toBe('dispatched');
    return { ...issue, runId: req.run_id! };
  }

  it('moves the issue to investigating on running, idempotently', async () => {
    const issue = await dispatched();
    const first = await status(issue.identifier, {
      status: 'running',
      runId: issue.runId,
      runUrl: 'https://github.com/acme/shop/actions/runs/1',
      summary: 'Investigation started',
    }).expect(200);
    expect(first.body).toMatchObject({ applied: true, state: 'running', issueStatus: 'investigating' });
    const count = await historyCount(issue.id);
    const again = await status(issue.identifier, {
      status: 'running',
      runId: issue.runId,
      summary: 'Investigation started',
    }).expect(200);
    expect(again.body).toMatchObject({ applied: false, state: 'running', issueStatus: 'investigating' });
    expect(await historyCount(issue.id)).toBe(count);
    const statusHistory = await historyOf(ds(), issue.id, 'status');
    expect(statusHistory).toEqual([expect.objectContaining({ from_value: 'triage', to_value: 'investigating' })]);
  });

  it('completed without a PR: needs_human, cooldown, investigation.ended, cost beside the budget; a repeat changes nothing', async () => {
    const issue = await dispatched();
    await status(issue.identifier, { status: 'running', runId: issue.runId }).expect(200);
    const done = await status(issue.identifier, {
      status: 'completed',
      runId: issue.runId,
      summary: 'Could not reproduce.',
      costUsd: 1.25,
    }).expect(200);
    expect(done.body).toMatchObject({ applied: true, state: 'completed', issueStatus: 'needs_human' });
    const count = await historyCount(issue.id);
    const repeat = await status(issue.identifier, {
      status: 'completed',
      runId: issue.runId,
      summary: 'Could not reproduce.',
      costUsd: 1.25,
    }).expect(200);
    expect(repeat.body).toMatchObject({ applied: false, state: 'completed' });
    expect(await historyCount(issue.id)).toBe(count);

    const [req] = await requestsOf(ds(), issue.id);
    expect(req.state).toBe('completed');
    const [{ cost_usd, summary }] = (await ds().query(`SELECT cost_usd, summary FROM spawn_requests WHERE id = $1`, [
      req.id,
    ])) as { cost_usd: string; summary: string }[];
    expect(Number(cost_usd)).toBe(1.25);
    expect(summary).toBe('Could not reproduce.');
    expect(Number((await budgetRow(ds(), budgetDay(new Date(), 'UTC')))!.cost_usd)).toBe(1.25);
    const budget = await k.t.http.get('/api/spawn/budget').set(adminAuth).expect(200);
    expect(budget.body.today).toMatchObject({ spawnCount: 1, costUsd: 1.25 });

    expect((await historyOf(ds(), issue.id, 'status')).at(-1)).toMatchObject({
      to_value: 'needs_human',
      reason: 'agent finished without opening a PR',
    });
    const row = await issueRow(ds(), issue.id);
    expect(row).toMatchObject({ spawn_status: 'completed' });
    expect(row.spawn_completed_at).not.toBeNull();
    const [link] = (await ds().query(`SELECT cooldown_until FROM external_issue_links WHERE id = $1`, [
      issue.linkId,
    ])) as { cooldown_until: Date }[];
    expect(new Date(link.cooldown_until).getTime()).toBeGreaterThan(Date.now() + minutes(23 * 60));
    expect(ended).toEqual([
      expect.objectContaining({ issueId: issue.id, spawnRequestId: req.id, outcome: 'completed' }),
    ]);
  });

  it('completed with a PR linked since the dispatch leaves the issue to the PR flow', async () => {
    const issue = await dispatched();
    await status(issue.identifier, { status: 'running', runId: issue.runId }).expect(200);
    await ds().query(
      `INSERT INTO issue_prs (issue_id, repo_owner, repo_name, pr_number, title, match_method) VALUES ($1, 'acme', 'shop', 5, 't', 'identifier')`,
      [issue.id],
    );
    const done = await status(issue.identifier, { status: 'completed', runId: issue.runId }).expect(200);
    expect(done.body).toMatchObject({ state: 'completed', issueStatus: 'investigating' });
  });

  it('failed: needs_human with the reason', async () => {
    const issue = await dispatched();
    const res = await status(issue.identifier, {
      status: 'failed',
      summary: 'Claude Code step finished with outcome: failure',
    }).expect(200);
    expect(res.body).toMatchObject({ applied: true, state: 'failed', issueStatus: 'needs_human' });
    expect((await historyOf(ds(), issue.id, 'status')).at(-1)).toMatchObject({
      to_value: 'needs_human',
      reason: 'investigation failed: the agent reported failure: Claude Code step finished with outcome: failure',
    });
    expect(ended[0]).toMatchObject({ outcome: 'failed' });
  });

  it('stores what the agent reports (summary, activity message and data) with secrets scrubbed', async () => {
    const issue = await dispatched();
    await status(issue.identifier, {
      status: 'completed',
      runId: issue.runId,
      summary: 'Found DATABASE_URL=postgres://app:s3cr3t-passw0rd@db:5432/shop in the logs',
    }).expect(200);
    await k.t.http
      .post(`/api/agent/issues/${issue.identifier}/activity`)
      .set(agentAuth)
      .send({ type: 'note', message: 'token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB leaked' })
      .expect(200);
    await k.t.http
      .post(`/api/agent/issues/${issue.identifier}/activity`)
      .set(agentAuth)
      .send({
        type: 'tool_result',
        message: 'read the logs',
        data: {
          runId: issue.runId,
          output: ['connect failed for postgres://app:s3cr3t-passw0rd@db:5432/shop'],
          env: { STRIPE_KEY: 'sk_live_0123456789abcdefghijklmn' },
        },
      })
      .expect(200);
    const [{ data }] = (await ds().query(
      `SELECT data FROM agent_activity WHERE issue_id = $1 AND type = 'tool_result'`,
      [issue.id],
    )) as { data: { runId: string; output: string[]; env: Record<string, string> } }[];
    expect(data.runId).toBe(issue.runId);
    expect(JSON.stringify(data)).not.toMatch(/s3cr3t-passw0rd|sk_live_0123456789/);
    expect(data.output[0]).toContain('[REDACTED:');
    const [{ summary }] = (await ds().query(`SELECT summary FROM spawn_requests WHERE issue_id = $1`, [issue.id])) as {
      summary: string;
    }[];
    const [{ message }] = (await ds().query(`SELECT message FROM agent_activity WHERE issue_id = $1`, [issue.id])) as {
      message: string;
    }[];
    expect(summary).not.toContain('s3cr3t-passw0rd');
    expect(summary).toContain('[REDACTED:');
    expect(message).not.toContain('ghp_0123456789abcdefghijklmnopqrstuvwxyzAB');
  });

  it('records agent activity once per identical callback and counts it as a heartbeat', async () => {
    const issue = await dispatched();
    const body = {
      type: 'run_started',
      message: 'GitHub Actions run started',
      data: { runId: issue.runId, ref: 'staging' },
    };
    const first = await k.t.http
      .post(`/api/agent/issues/${issue.identifier}/activity`)
      .set(agentAuth)
      .send(body)
      .expect(200);
    const [req] = await requestsOf(ds(), issue.id);
    expect(first.body).toEqual({ recorded: true, spawnRequestId: req.id });
    const again = await k.t.http
      .post(`/api/agent/issues/${issue.identifier}/activity`)
      .set(agentAuth)
      .send(body)
      .expect(200);
    expect(again.body.recorded).toBe(false);
    const rows = (await ds().query(
      `SELECT type, message, data, spawn_request_id FROM agent_activity WHERE issue_id = $1`,
      [issue.id],
    )) as unknown[];
    expect(rows).toEqual([
      { type: 'run_started', message: 'GitHub Actions run started', data: body.data, spawn_request_id: req.id },
    ]);
    const [{ last_heartbeat_at }] = (await ds().query(`SELECT last_heartbeat_at FROM spawn_requests WHERE id = $1`, [
      req.id,
    ])) as { last_heartbeat_at: Date | null }[];
    expect(last_heartbeat_at).not.toBeNull();
  });

  it('refuses callbacks without the agent or admin key, for unknown issues, and with bad bodies', async () => {
    const issue = await dispatched();
    await k.t.http.post(`/api/agent/issues/${issue.identifier}/status`).send({ status: 'running' }).expect(401);
    await status(issue.identifier, { status: 'running' }, ingestAuth).expect(403);
    await status(
      issue.identifier,
      { status: 'running' },
      { Authorization: `Bearer ${TEST_KEYS.ADMIN_API_KEY}` },
    ).expect(200);
    await status('CHIPP-999999', { status: 'running' }).expect(404);
    const bad = await status(issue.identifier, { status: 'exploded' }).expect(400);
    expect(bad.body.error).toBe('VALIDATION_FAILED');
    await status(issue.identifier, { status: 'completed', costUsd: -1 }).expect(400);
    // More than numeric(12,4) holds failed the update: 500.
    const costly = await status(issue.identifier, { status: 'completed', costUsd: 1e308 }).expect(400);
    expect(costly.body.message).toMatch(/costUsd/);
    // A null summary was scrubbed as text and answered 500 (before the issue was even looked up).
    const [before] = await requestsOf(ds(), issue.id);
    for (const identifier of [issue.identifier, 'CHIPP-999999']) {
      const res = await status(identifier, { status: 'completed', summary: null }).expect(400);
      expect(res.body.message).toMatch(/summary/);
    }
    expect((await requestsOf(ds(), issue.id))[0]).toEqual(before);
    const never = await seedSpawnable(ds(), { eventCount: 1 });
    const res = await status(never.identifier, { status: 'running' }).expect(409);
    expect(res.body.error).toBe('SPAWN_NO_INVESTIGATION');
  });

  it('closes a run that ended without calling back, matched by run id or by run name', async () => {
    const bus = k.t.app.get(DomainEventBus);
    const byId = await dispatched();
    await bus.emit(
      'workflow_run.reported',
      new WorkflowRunReported(
        byId.runId,
        `fixloop ${byId.identifier}`,
        '161335',
        'completed',
        'failure',
        'https://github.com/acme/shop/actions/runs/1',
        new Date(),
      ),
    );
    expect((await requestsOf(ds(), byId.id))[0]).toMatchObject({
      state: 'failed',
      error: 'workflow run ended (failure) without reporting back to fixloop',
    });
    expect((await issueRow(ds(), byId.id)).status).toBe('needs_human');

    // a 204 server whose run could not be found: the webhook brings the run id, then the end
    const byName = await dispatched();
    await ds().query(`UPDATE spawn_requests SET run_id = NULL WHERE issue_id = $1`, [byName.id]);
    await bus.emit(
      'workflow_run.reported',
      new WorkflowRunReported(
        '777001',
        `fixloop ${byName.identifier}`,
        '161335',
        'in_progress',
        null,
        'https://github.com/acme/shop/actions/runs/777001',
        new Date(),
      ),
    );
    expect((await requestsOf(ds(), byName.id))[0]).toMatchObject({ state: 'dispatched', run_id: '777001' });
    await bus.emit(
      'workflow_run.reported',
      new WorkflowRunReported(
        '777001',
        `fixloop ${byName.identifier}`,
        '161335',
        'completed',
        'success',
        null,
        new Date(),
      ),
    );
    expect((await requestsOf(ds(), byName.id))[0]).toMatchObject({ state: 'completed' });
    // a report after the agent's own callback changes nothing
    const before = await historyCount(byName.id);
    await bus.emit(
      'workflow_run.reported',
      new WorkflowRunReported(
        '777001',
        `fixloop ${byName.identifier}`,
        '161335',
        'completed',
        'success',
        null,
        new Date(),
      ),
    );
    expect(await historyCount(byName.id)).toBe(before);
    expect(ended.map((e) => e.outcome)).toEqual(['failed', 'completed']);
  });

  it('fails a run silent for SPAWN_TIMEOUT_MINUTES, frees its slot and cancels it at GitHub', async () => {
    const issue = await dispatched();
    const [req] = await requestsOf(ds(), issue.id);
    await k.t.http
      .post(`/api/agent/issues/${issue.identifier}/activity`)
      .set(agentAuth)
      .send({ type: 'step', message: 'running tests' })
      .expect(200);
    expect(await k.lifecycle.failTimedOut(new Date(Date.now() + minutes(89)))).toBe(0);
    expect(await k.lifecycle.failTimedOut(new Date(Date.now() + minutes(91)))).toBe(1);
    const [after] = await requestsOf(ds(), issue.id);
    expect(after).toMatchObject({ state: 'failed', error: 'timed out: no callback for 90 minutes' });
    expect((await issueRow(ds(), issue.id)).status).toBe('needs_human');
    expect(gh.timeline.filter((t) => t.kind === 'cancel')).toEqual([
      expect.objectContaining({ runId: Number(req.run_id) }),
    ]);
    expect(ended).toEqual([expect.objectContaining({ outcome: 'timed_out' })]);
    const [{ n }] = (await ds().query(
      `SELECT count(*)::int AS n FROM spawn_requests WHERE state IN ('dispatching','dispatched','running')`,
    )) as { n: number }[];
    expect(n).toBe(0);
    // a late callback from the dead run is accepted but changes nothing
    const late = await status(issue.identifier, { status: 'completed', runId: req.run_id, summary: 'late' }).expect(
      200,
    );
    expect(late.body).toMatchObject({ applied: false, state: 'failed' });
  });
});

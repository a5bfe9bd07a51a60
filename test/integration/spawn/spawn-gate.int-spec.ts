import { SchedulerRegistry } from '@nestjs/schedule';
import { DomainEventBus } from '../../../src/shared/events/domain-event-bus';
import { ErrorReceived, FixFailed, IssueCreated, IssuesMerged } from '../../../src/shared/events/event-catalogue';
import { budgetDay } from '../../../src/modules/spawn/budget-day';
import { adminAuth, agentAuth, ingestAuth, testDbKind } from '../../support/test-app';
import {
  budgetRow,
  historyOf,
  issueRow,
  later,
  minutes,
  requestsOf,
  seedSpawnable,
  useSpawnApp,
  useSpawnKit,
} from '../../fixtures/spawn/spawn-kit';
import { untilRow } from '../../fixtures/ingest-service/ingest-test-helpers';

describe('spawn gate: every control on its own', () => {
  const { gh, k } = useSpawnApp();

  const ds = () => k.t.dataSource;
  /** `times` occurrences of `Cache node <node> unreachable` through the events receiver. */
  const sendCacheErrors = (node: string, times: number) =>
    k.t.http
      .post('/api/events')
      .set(ingestAuth)
      .send({
        events: Array.from({ length: times }, () => ({
          source: 'cache',
          feature: 'nodes',
          message: `Cache node ${node} unreachable`,
        })),
      });

  it('queues an issue only once it has MIN_EVENT_COUNT_TO_SPAWN events, due SPAWN_DELAY_MINUTES after its first event', async () => {
    const first = new Date(Date.now() - minutes(2));
    const issue = await seedSpawnable(ds(), { eventCount: 2, firstSeenAt: first });
    await k.worker.tick(first);
    expect(await requestsOf(ds(), issue.id)).toHaveLength(0);

    await ds().query(`UPDATE issues SET event_count = 3 WHERE id = $1`, [issue.id]);
    await k.worker.tick(later(first, minutes(4)));
    const [queued] = await requestsOf(ds(), issue.id);
    expect(queued).toMatchObject({ state: 'queued', attempt: 1 });
    expect(new Date(queued.not_before).getTime()).toBe(first.getTime() + minutes(5));
    expect(gh.dispatchRequests()).toHaveLength(0);
    expect((await issueRow(ds(), issue.id)).spawn_status).toBe('queued');

    await k.worker.tick(later(first, minutes(5)));
    const [sent] = await requestsOf(ds(), issue.id);
    expect(sent.state).toBe('dispatched');
    expect(gh.dispatchRequests()).toHaveLength(1);
    expect(gh.runsNamed(`fixloop ${issue.identifier}`)).toHaveLength(1);
    // a second sweep or pass queues and sends nothing more
    await k.worker.tick(later(first, minutes(6)));
    expect(await requestsOf(ds(), issue.id)).toHaveLength(1);
    expect(gh.dispatchRequests()).toHaveLength(1);
  });

  it('counts the delay from when the issue was filed when its first event was logged long before', async () => {
    const filed = new Date(Date.now() - minutes(1));
    const issue = await seedSpawnable(ds(), { eventCount: 3, firstSeenAt: new Date(filed.getTime() - minutes(180)) });
    await ds().query(`UPDATE issues SET created_at = $2 WHERE id = $1`, [issue.id, filed]);
    await k.worker.tick(filed);
    const [queued] = await requestsOf(ds(), issue.id);
    expect(new Date(queued.not_before).getTime()).toBe(filed.getTime() + minutes(5));
    await k.worker.tick(later(filed, minutes(4)));
    expect(gh.dispatchRequests()).toHaveLength(0);
  });

  it('queues through the error.received / issue.created fast path and never twice', async () => {
    const issue = await seedSpawnable(ds(), { eventCount: 3 });
    const bus = k.t.app.get(DomainEventBus);
    await Promise.all([
      bus.emit('error.received', new ErrorReceived(issue.id, issue.fingerprint, 3, new Date(), 1)),
      bus.emit(
        'issue.created',
        new IssueCreated(issue.id, issue.identifier, issue.fingerprint, 'checkout-api', 'payments'),
      ),
      k.gate.enqueueEligible(),
    ]);
    expect(await requestsOf(ds(), issue.id)).toHaveLength(1);
  });

  it("takes a new issue's event count from issue.created: filed below MIN_EVENT_COUNT_TO_SPAWN, it waits for error.received", async () => {
    // The database says 3 events; the event says the issue was filed with 2, so the listener does
    // not even look (the error.received that brings it to 3 queues it).
    const issue = await seedSpawnable(ds(), { eventCount: 3 });
    const bus = k.t.app.get(DomainEventBus);
    const created = (eventCount?: number) =>
      new IssueCreated(issue.id, issue.identifier, issue.fingerprint, 'checkout-api', 'payments', eventCount);
    await bus.emit('issue.created', created(2));
    expect(await requestsOf(ds(), issue.id)).toHaveLength(0);
    // Filed with enough events, or with the count unknown: the gate looks, and queues it.
    await bus.emit('issue.created', created(3));
    expect(await requestsOf(ds(), issue.id)).toHaveLength(1);
    const other = await seedSpawnable(ds(), { eventCount: 3 });
    await bus.emit(
      'issue.created',
      new IssueCreated(other.id, other.identifier, other.fingerprint, 'checkout-api', 'payments'),
    );
    expect(await requestsOf(ds(), other.id)).toHaveLength(1);
  });

  it('takes the issue as the counting statement left it: an event saying the issue has a spawn status queues nothing', async () => {
    const issue = await seedSpawnable(ds(), { eventCount: 3 });
    const bus = k.t.app.get(DomainEventBus);
    // The snapshot says a request exists (spawn status set): the listener does not even look.
    await bus.emit(
      'error.received',
      new ErrorReceived(issue.id, issue.fingerprint, 3, new Date(), 1, undefined, {
        status: 'triage',
        spawnStatus: 'queued',
      }),
    );
    expect(await requestsOf(ds(), issue.id)).toHaveLength(0);
    // No spawn status: the fast path queues it.
    await bus.emit(
      'error.received',
      new ErrorReceived(issue.id, issue.fingerprint, 3, new Date(), 1, undefined, {
        status: 'triage',
        spawnStatus: null,
      }),
    );
    expect(await requestsOf(ds(), issue.id)).toHaveLength(1);
  });

  it('holds requests beyond MAX_CONCURRENT_SPAWNS with the reason recorded once, and sends them when a slot frees', async () => {
    const issues = [];
    for (let i = 0; i < 3; i++) issues.push(await seedSpawnable(ds()));
    await k.worker.tick();
    const states = await Promise.all(issues.map(async (i) => (await requestsOf(ds(), i.id))[0]));
    expect(states.filter((s) => s.state === 'dispatched')).toHaveLength(2);
    const held = issues[states.findIndex((s) => s.state === 'queued')];
    const [heldReq] = await requestsOf(ds(), held.id);
    expect(heldReq.held_reason).toBe('concurrency limit reached: 2 of 2 investigations in flight');
    await k.worker.tick();
    await k.worker.tick();
    const holds = await historyOf(ds(), held.id, 'spawn_hold');
    expect(holds).toHaveLength(1);
    expect(holds[0].to_value).toMatch(/concurrency limit/);

    const running = issues.find((i) => i !== held)!;
    await k.t.http
      .post(`/api/agent/issues/${running.identifier}/status`)
      .set(agentAuth)
      .send({ status: 'completed', summary: 'done' })
      .expect(200);
    await k.worker.tick();
    expect((await requestsOf(ds(), held.id))[0].state).toBe('dispatched');
    expect(gh.dispatchRequests()).toHaveLength(3);
  });

  it('counts each dispatch in the day budget and holds the rest until the budget is raised', async () => {
    await k.t.http.patch('/api/spawn/budget').set(adminAuth).send({ maxSpawns: 1 }).expect(200);
    const a = await seedSpawnable(ds(), { priority: 1 });
    const b = await seedSpawnable(ds(), { priority: 2 });
    await k.worker.tick();
    expect((await requestsOf(ds(), a.id))[0].state).toBe('dispatched');
    const [heldB] = await requestsOf(ds(), b.id);
    expect(heldB.state).toBe('queued');
    const today = budgetDay(new Date(), 'UTC');
    expect(heldB.held_reason).toBe(`daily budget used: 1 of 1 spawns on ${today} (UTC)`);
    const budget = await k.t.http.get('/api/spawn/budget?days=3').set(adminAuth).expect(200);
    expect(budget.body.today).toMatchObject({ day: today, spawnCount: 1, maxSpawns: 1, remaining: 0, costUsd: 0 });

    await k.t.http.patch('/api/spawn/budget').set(adminAuth).send({ maxSpawns: -1 }).expect(400);
    await k.t.http.get('/api/spawn/budget?days=0').set(adminAuth).expect(400);
    await k.t.http.get('/api/spawn/budget').set(agentAuth).expect(403);
    await k.t.http.patch('/api/spawn/budget').set(adminAuth).send({ maxSpawns: 5 }).expect(200);
    await k.worker.tick();
    expect((await requestsOf(ds(), b.id))[0]).toMatchObject({ state: 'dispatched', budget_day: today });
    expect(await budgetRow(ds(), today)).toMatchObject({ spawn_count: 2, max_spawns: 5 });
  });

  it('rolls the budget over at midnight in BUDGET_TIMEZONE, keeping the earlier day as history', async () => {
    const evening = new Date('2031-03-10T23:50:00Z');
    await ds().query(`INSERT INTO spawn_budget_days (day, spawn_count, max_spawns) VALUES ('2031-03-10', 4, 4)`);
    const issue = await seedSpawnable(ds(), { firstSeenAt: new Date('2031-03-10T22:00:00Z') });
    await k.worker.tick(evening);
    expect((await requestsOf(ds(), issue.id))[0]).toMatchObject({
      state: 'queued',
      held_reason: 'daily budget used: 4 of 4 spawns on 2031-03-10 (UTC)',
    });
    const rolled = await k.admin.rolloverBudget(new Date('2031-03-11T00:00:01Z'));
    expect(rolled).toEqual({ day: '2031-03-11', opened: true });
    expect(await k.admin.rolloverBudget(new Date('2031-03-11T00:00:02Z'))).toEqual({
      day: '2031-03-11',
      opened: false,
    });
    await k.gate.runGate(new Date('2031-03-11T00:01:00Z'));
    const [req] = await requestsOf(ds(), issue.id);
    expect(req).toMatchObject({ state: 'dispatching', budget_day: '2031-03-11' });
    expect(await budgetRow(ds(), '2031-03-10')).toMatchObject({ spawn_count: 4, max_spawns: 4 });
    expect(await budgetRow(ds(), '2031-03-11')).toMatchObject({ spawn_count: 1, max_spawns: 10 });
    const holds = await historyOf(ds(), issue.id, 'spawn_hold');
    expect(holds.map((h) => h.to_value)).toEqual(['daily budget used: 4 of 4 spawns on 2031-03-10 (UTC)']);
  });

  it('holds a fingerprint in cooldown after its investigation ended, with the per-issue override and explicit cooldown_until', async () => {
    const issue = await seedSpawnable(ds());
    await k.worker.tick();
    await k.t.http
      .post(`/api/agent/issues/${issue.identifier}/status`)
      .set(agentAuth)
      .send({ status: 'completed' })
      .expect(200);
    const [link] = (await ds().query(`SELECT cooldown_until FROM external_issue_links WHERE id = $1`, [
      issue.linkId,
    ])) as { cooldown_until: Date }[];
    const cooldownUntil = new Date(link.cooldown_until);
    expect(cooldownUntil.getTime()).toBeGreaterThan(Date.now() + minutes(23 * 60));

    await k.t.http
      .post(`/api/issues/${issue.identifier}/spawn`)
      .set(adminAuth)
      .send({ reason: 'try again' })
      .expect(202);
    await k.worker.tick();
    let [, second] = await requestsOf(ds(), issue.id);
    expect(second.state).toBe('queued');
    expect(second.held_reason).toBe(`fingerprint in cooldown until ${cooldownUntil.toISOString()}`);

    // per-issue cooldown_hours replaces SPAWN_COOLDOWN_HOURS (and the link's value)
    await ds().query(`UPDATE issues SET cooldown_hours = 1 WHERE id = $1`, [issue.id]);
    await k.worker.tick(later(new Date(), minutes(30)));
    [, second] = await requestsOf(ds(), issue.id);
    expect(second.state).toBe('queued');
    expect(second.held_reason).toMatch(/^fingerprint in cooldown until /);
    // explicit cooldown_until wins over everything
    await ds().query(`UPDATE issues SET cooldown_until = now() - interval '1 minute' WHERE id = $1`, [issue.id]);
    await k.worker.tick();
    [, second] = await requestsOf(ds(), issue.id);
    expect(second.state).toBe('dispatched');
    expect(gh.dispatchRequests()).toHaveLength(2);
  });

  it('lets a cooled-down fingerprint go once SPAWN_COOLDOWN_HOURS have passed', async () => {
    const issue = await seedSpawnable(ds());
    await k.worker.tick();
    await k.t.http
      .post(`/api/agent/issues/${issue.identifier}/status`)
      .set(agentAuth)
      .send({ status: 'failed', summary: 'no idea' })
      .expect(200);
    await k.t.http.post(`/api/issues/${issue.identifier}/spawn`).set(adminAuth).send({}).expect(202);
    await k.worker.tick(later(new Date(), minutes(23 * 60)));
    expect((await requestsOf(ds(), issue.id))[1].state).toBe('queued');
    await k.worker.tick(later(new Date(), minutes(24 * 60 + 1)));
    expect((await requestsOf(ds(), issue.id))[1].state).toBe('dispatched');
  });

  it('stops new dispatches while the kill switch is on; running investigations continue', async () => {
    const running = await seedSpawnable(ds());
    await k.worker.tick();
    expect((await requestsOf(ds(), running.id))[0].state).toBe('dispatched');

    const on = await k.t.http
      .put('/api/spawn/kill-switch')
      .set(adminAuth)
      .send({ enabled: true, by: 'ops@example.com', reason: 'incident' })
      .expect(200);
    expect(on.body).toMatchObject({
      enabled: true,
      forcedByEnvironment: false,
      setting: true,
      updatedBy: 'admin:ops@example.com',
    });
    expect((await k.t.http.get('/health').expect(200)).body.killSwitch).toBe(true);
    const [outbox] = (await ds().query(
      `SELECT event_name, payload FROM outbox_events WHERE event_name = 'kill_switch.changed'`,
    )) as {
      payload: Record<string, unknown>;
    }[];
    expect(outbox.payload).toMatchObject({
      enabled: true,
      previous: null,
      by: 'admin:ops@example.com',
      reason: 'incident',
    });

    const waiting = await seedSpawnable(ds());
    await k.worker.tick();
    await k.worker.tick();
    const [held] = await requestsOf(ds(), waiting.id);
    expect(held).toMatchObject({
      state: 'queued',
      held_reason: 'kill switch is on: no new investigation is dispatched',
    });
    expect(await historyOf(ds(), waiting.id, 'spawn_hold')).toHaveLength(1);
    // the running one still reports
    await k.t.http
      .post(`/api/agent/issues/${running.identifier}/status`)
      .set(agentAuth)
      .send({ status: 'running', runId: (await requestsOf(ds(), running.id))[0].run_id })
      .expect(200);
    expect((await requestsOf(ds(), running.id))[0].state).toBe('running');

    await k.t.http.put('/api/spawn/kill-switch').set(adminAuth).send({ enabled: false }).expect(200);
    expect((await k.t.http.get('/api/spawn/kill-switch').set(adminAuth).expect(200)).body).toMatchObject({
      enabled: false,
      setting: false,
    });
    await k.worker.tick();
    expect((await requestsOf(ds(), waiting.id))[0].state).toBe('dispatched');
  });

  it('cancels the absorbed issue’s queued request on a merge and never starts a second investigation for the target', async () => {
    const target = await seedSpawnable(ds(), { eventCount: 1 });
    const absorbed = await seedSpawnable(ds(), { eventCount: 5, firstSeenAt: new Date() });
    await k.worker.tick();
    expect((await requestsOf(ds(), absorbed.id))[0].state).toBe('queued');
    await ds().query(`UPDATE issues SET merged_into_id = $1, status = 'closed', event_count = 0 WHERE id = $2`, [
      target.id,
      absorbed.id,
    ]);
    await ds().query(`UPDATE issues SET event_count = 6 WHERE id = $1`, [target.id]);
    await k.t.app.get(DomainEventBus).emit('issues.merged', new IssuesMerged(target.id, absorbed.id, 'exact', 'admin'));
    expect((await requestsOf(ds(), absorbed.id))[0]).toMatchObject({ state: 'cancelled' });
    expect((await issueRow(ds(), absorbed.id)).spawn_status).toBeNull();
    expect((await historyOf(ds(), absorbed.id, 'spawn_status')).at(-1)).toMatchObject({
      from_value: 'queued',
      to_value: null,
      reason: `spawn cancelled: issue merged into ${target.identifier}`,
    });
    // the target is now eligible on its own: exactly one investigation for the merged pair
    await k.worker.tick(later(new Date(), minutes(10)));
    expect(await requestsOf(ds(), target.id)).toHaveLength(1);
    expect(gh.dispatchRequests()).toHaveLength(1);
  });

  it('spends one investigation on errors that a real merge joins during the spawn delay', async () => {
    await sendCacheErrors('n7a', 3).expect(202);
    await sendCacheErrors('x9c', 3).expect(202);
    const queued = (await ds().query(
      `SELECT i.identifier, r.state FROM spawn_requests r JOIN issues i ON i.id = r.issue_id ORDER BY i.number`,
    )) as { identifier: string; state: string }[];
    expect(queued.map((r) => r.state)).toEqual(['queued', 'queued']); // both eligible, both waiting for the delay

    await sendCacheErrors('r2d2', 1).expect(202); // the third value: the second issue merges into the first
    const rows = (await ds().query(
      `SELECT i.identifier, i.merged_into_id IS NOT NULL AS merged, r.state
         FROM issues i LEFT JOIN spawn_requests r ON r.issue_id = i.id ORDER BY i.number`,
    )) as { identifier: string; merged: boolean; state: string | null }[];
    expect(rows.map((r) => [r.merged, r.state])).toEqual([
      [false, 'queued'],
      [true, 'cancelled'],
    ]);

    await k.worker.tick(later(new Date(), minutes(6)));
    expect(gh.dispatchRequests()).toHaveLength(1);
    expect(gh.runsNamed(`fixloop ${rows[0].identifier}`)).toHaveLength(1);
  });

  it('cancels a queued target whose absorbed issue is already being investigated (one investigation per merged pair)', async () => {
    const target = await seedSpawnable(ds(), { eventCount: 3, firstSeenAt: new Date() });
    await k.worker.tick(); // queued, due in SPAWN_DELAY_MINUTES
    const absorbed = await seedSpawnable(ds());
    await k.worker.tick();
    expect((await requestsOf(ds(), absorbed.id))[0].state).toBe('dispatched');
    expect((await requestsOf(ds(), target.id))[0].state).toBe('queued');
    await ds().query(`UPDATE issues SET merged_into_id = $1, status = 'closed' WHERE id = $2`, [
      target.id,
      absorbed.id,
    ]);

    await k.worker.tick(later(new Date(), minutes(10)));
    expect((await requestsOf(ds(), target.id))[0]).toMatchObject({
      state: 'cancelled',
      error: `${absorbed.identifier}, merged into this issue, is already being investigated`,
    });
    expect(gh.dispatchRequests()).toHaveLength(1);
  });

  it('starts no second investigation through a chain of merges (A running, A into B, B into C)', async () => {
    const c = await seedSpawnable(ds(), { eventCount: 1 });
    const b = await seedSpawnable(ds(), { eventCount: 1 });
    const a = await seedSpawnable(ds());
    await k.worker.tick();
    expect((await requestsOf(ds(), a.id))[0].state).toBe('dispatched');
    for (const [merged, into] of [
      [a, b],
      [b, c],
    ]) {
      await ds().query(`UPDATE issues SET merged_into_id = $1, status = 'closed' WHERE id = $2`, [into.id, merged.id]);
    }
    await ds().query(`UPDATE issues SET event_count = 9 WHERE id = $1`, [c.id]);
    await k.worker.tick(later(new Date(), minutes(10)));
    expect(await requestsOf(ds(), c.id)).toHaveLength(0);
    expect(gh.dispatchRequests()).toHaveLength(1);
    // and a request queued for C before the chain formed is cancelled at the gate
    await ds().query(
      `INSERT INTO spawn_requests (issue_id, state, not_before, attempt, requested_by, reason)
       VALUES ($1, 'queued', now() - interval '1 minute', 1, 'admin', 'manual')`,
      [c.id],
    );
    await k.worker.tick(later(new Date(), minutes(11)));
    expect((await requestsOf(ds(), c.id))[0]).toMatchObject({
      state: 'cancelled',
      error: `${a.identifier}, merged into this issue, is already being investigated`,
    });
    expect(gh.dispatchRequests()).toHaveLength(1);
  });

  if (testDbKind() === 'postgres') {
    it('never dispatches an issue a merge committed during the gate pass absorbed', async () => {
      const until = (sql: string) => untilRow(ds(), sql);
      await sendCacheErrors('n7a', 3).expect(202);
      await sendCacheErrors('x9c', 3).expect(202);
      // The automatic merge of the second issue is paused at its first history row, its issue locks held.
      const qr = ds().createQueryRunner();
      await qr.connect();
      await qr.startTransaction();
      await qr.query(`LOCK TABLE issue_history IN EXCLUSIVE MODE`);
      const filing = sendCacheErrors('r2d2', 1).then((r) => r);
      await until(
        `SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'issue_history' AND NOT l.granted`,
      );
      const pass = k.worker.tick(later(new Date(), minutes(6)));
      await until(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%r.budget_day%'`, // the gate's claim, waiting for the merge
      );
      await qr.commitTransaction();
      await qr.release();
      const [filed] = await Promise.all([filing, pass]);
      expect(filed.status).toBe(202);
      const rows = (await ds().query(
        `SELECT i.identifier, i.merged_into_id IS NOT NULL AS merged, r.state
           FROM issues i JOIN spawn_requests r ON r.issue_id = i.id ORDER BY i.number`,
      )) as { identifier: string; merged: boolean; state: string }[];
      expect(rows.map((r) => [r.merged, r.state])).toEqual([
        [false, 'dispatched'],
        [true, 'cancelled'],
      ]);
      expect(gh.dispatchRequests()).toHaveLength(1);
    });
  }

  it('does not queue a target whose absorbed issue already has an investigation in flight', async () => {
    const absorbed = await seedSpawnable(ds());
    await k.worker.tick();
    expect((await requestsOf(ds(), absorbed.id))[0].state).toBe('dispatched');
    const target = await seedSpawnable(ds(), { eventCount: 9 });
    await ds().query(`UPDATE issues SET merged_into_id = $1, status = 'closed' WHERE id = $2`, [
      target.id,
      absorbed.id,
    ]);
    await k.t.app.get(DomainEventBus).emit('issues.merged', new IssuesMerged(target.id, absorbed.id, 'exact', 'admin'));
    await k.worker.tick();
    expect(await requestsOf(ds(), target.id)).toHaveLength(0);
    expect(gh.dispatchRequests()).toHaveLength(1);
  });

  it('starts attempt 2 after a failed fix with the previous PR and summary, bypassing the cooldown', async () => {
    const issue = await seedSpawnable(ds());
    await k.worker.tick();
    await k.t.http
      .post(`/api/agent/issues/${issue.identifier}/status`)
      .set(agentAuth)
      .send({ status: 'completed', summary: 'Root cause: null cart total. Fixed in PR #77.' })
      .expect(200);
    await ds().query(
      `INSERT INTO issue_prs (issue_id, repo_owner, repo_name, pr_number, title, url, head_branch, state, match_method, merge_commit_sha)
       VALUES ($1, 'acme', 'shop', 77, $2, 'https://github.com/acme/shop/pull/77', 'fixloop/x', 'merged', 'identifier', 'abc123')`,
      [issue.id, `${issue.identifier}: guard cart total`],
    );
    const windowId = '4b0c2c9e-5d0e-4a43-9a57-3f1c2e6f9a11';
    const bus = k.t.app.get(DomainEventBus);
    await bus.emit('fix.failed', new FixFailed(issue.id, windowId, 3));
    await bus.emit('fix.failed', new FixFailed(issue.id, windowId, 3));
    const reqs = await requestsOf(ds(), issue.id);
    expect(reqs.map((r) => [r.attempt, r.state])).toEqual([
      [1, 'completed'],
      [2, 'queued'],
    ]);
    expect(reqs[1].context).toMatchObject({
      trigger: 'fix_failed',
      windowId,
      previous: {
        attempt: 1,
        summary: 'Root cause: null cart total. Fixed in PR #77.',
        pr: { number: 77, url: 'https://github.com/acme/shop/pull/77' },
      },
    });
    await k.worker.tick();
    const [, second] = await requestsOf(ds(), issue.id);
    expect(second.state).toBe('dispatched');
    const context = second.request_payload!.inputs.error_context;
    expect(context).toContain('## Previous attempt (1)');
    expect(context).toContain('pull request #77 (merged) https://github.com/acme/shop/pull/77');
    expect(context).toContain('Root cause: null cart total. Fixed in PR #77.');
    expect(gh.dispatchRequests()).toHaveLength(2);
  });

  it('queues the retry after a failed fix even when the fix.failed event was lost (sweep of failed verification windows)', async () => {
    const issue = await seedSpawnable(ds());
    await k.worker.tick();
    await k.t.http
      .post(`/api/agent/issues/${issue.identifier}/status`)
      .set(agentAuth)
      .send({ status: 'completed', summary: 'fixed' })
      .expect(200);
    await ds().query(
      `INSERT INTO verification_windows (issue_id, fingerprints, source, feature, normalized_message, deployed_at, ends_at, state, decided_at)
       VALUES ($1, ARRAY[$2], 'checkout-api', 'payments', 'm', now() - interval '2 hours', now(), 'failed', now())`,
      [issue.id, issue.fingerprint],
    );
    await k.worker.tick();
    await k.worker.tick();
    const reqs = await requestsOf(ds(), issue.id);
    expect(reqs.map((r) => [r.attempt, r.state])).toEqual([
      [1, 'completed'],
      [2, 'dispatched'],
    ]);
    expect(reqs[1].context).toMatchObject({ trigger: 'fix_failed', previous: { attempt: 1, summary: 'fixed' } });
  });

  it('ignores a status callback from a run that is not the current attempt’s', async () => {
    const issue = await seedSpawnable(ds());
    await k.worker.tick();
    const [req] = await requestsOf(ds(), issue.id);
    const stale = await k.t.http
      .post(`/api/agent/issues/${issue.identifier}/status`)
      .set(agentAuth)
      .send({ status: 'failed', runId: '1' })
      .expect(200);
    expect(stale.body).toMatchObject({ applied: false, state: 'dispatched' });
    expect((await requestsOf(ds(), issue.id))[0]).toMatchObject({ state: 'dispatched', run_id: req.run_id });
  });

  it('answers the manual spawn API: 202 queued due now, 409 while one is active, 404 for an unknown issue', async () => {
    const issue = await seedSpawnable(ds(), { eventCount: 1 });
    const res = await k.t.http
      .post(`/api/issues/${issue.identifier}/spawn`)
      .set(adminAuth)
      .send({ reason: 'look at this' })
      .expect(202);
    expect(res.body).toMatchObject({
      identifier: issue.identifier,
      state: 'queued',
      attempt: 1,
      requestedBy: 'admin',
      reason: 'look at this',
    });
    const again = await k.t.http.post(`/api/issues/${issue.identifier}/spawn`).set(adminAuth).send({}).expect(409);
    expect(again.body.error).toBe('SPAWN_ALREADY_ACTIVE');
    await k.t.http.post('/api/issues/CHIPP-999999/spawn').set(adminAuth).send({}).expect(404);
    await k.t.http.post(`/api/issues/${issue.identifier}/spawn`).set(agentAuth).send({}).expect(403);
    await k.worker.tick();
    const list = await k.t.http.get(`/api/issues/${issue.identifier}/spawns`).set(adminAuth).expect(200);
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({
      state: 'dispatched',
      runName: `fixloop ${issue.identifier}`,
      runId: expect.any(String),
    });
    expect(list.body[0].requestPayload).toMatchObject({
      owner: 'acme',
      repo: 'shop',
      ref: 'staging',
      return_run_details: true,
    });
  });
});

describe('spawn gate: kill switch forced by the environment', () => {
  const k = useSpawnKit({ SPAWN_KILL_SWITCH: 'true', SPAWN_DELAY_MINUTES: '0', GITHUB_TOKEN: undefined });

  it('stays on whatever the run-time setting says', async () => {
    const off = await k.t.http.put('/api/spawn/kill-switch').set(adminAuth).send({ enabled: false }).expect(200);
    expect(off.body).toMatchObject({ enabled: true, forcedByEnvironment: true, setting: false });
    const issue = await seedSpawnable(k.t.dataSource);
    await k.worker.tick();
    expect((await requestsOf(k.t.dataSource, issue.id))[0]).toMatchObject({
      state: 'queued',
      held_reason: 'kill switch is on: no new investigation is dispatched',
    });
  });
});

describe('spawn schedules (WORKERS_ENABLED=true)', () => {
  const { gh, k } = useSpawnApp({
    WORKERS_ENABLED: 'true',
    WORKER_POLL_SECONDS: '0.1',
    SPAWN_DELAY_MINUTES: '0',
    BUDGET_TIMEZONE: 'Europe/Berlin',
  });

  it('runs the worker every WORKER_POLL_SECONDS and schedules the rollover at midnight in BUDGET_TIMEZONE', async () => {
    const registry = k.t.app.get(SchedulerRegistry);
    expect(registry.getIntervals()).toContain('spawn-worker');
    const next = registry.getCronJob('spawn-budget-rollover').nextDate().setZone('Europe/Berlin');
    expect([next.hour, next.minute, next.second]).toEqual([0, 0, 0]);

    const issue = await seedSpawnable(k.t.dataSource);
    const deadline = Date.now() + 30_000;
    while (gh.runsNamed(`fixloop ${issue.identifier}`).length === 0) {
      if (Date.now() > deadline) throw new Error('the scheduled worker did not dispatch');
      await new Promise((r) => setTimeout(r, 50));
    }
    const until = Date.now() + 30_000;
    while ((await requestsOf(k.t.dataSource, issue.id))[0]?.state !== 'dispatched') {
      if (Date.now() > until) throw new Error('the dispatch was not recorded');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(gh.dispatchRequests()).toHaveLength(1);
  });
});

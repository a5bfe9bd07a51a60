import { budgetDay } from '../../../src/modules/spawn/budget-day';
import { FakeGitHub } from '../../support/fake-github';
import { agentAuth, testDbKind } from '../../support/test-app';
import { SpawnKit, githubEnv, resetData, seedSpawnable, startSpawnApp } from '../../fixtures/spawn/spawn-kit';

const ISSUES = 100;
const MAX_CONCURRENT = 3;
const BUDGET = 12;

/**
 * 100 new issues worked on by the spawn workers of two app instances on one PostgreSQL server
 * (replicas), while runs complete concurrently. The fake GitHub's timeline is the witness: never
 * more than MAX_CONCURRENT_SPAWNS runs open at once, exactly DAILY_SPAWN_BUDGET dispatched that
 * day, no issue dispatched twice. On PGlite (one process owns the database) the same invariants
 * are asserted for a single instance whose passes overlap.
 */
describe(`spawn workers under load (${testDbKind() === 'postgres' ? 'two replicas on one server' : 'one embedded instance'})`, () => {
  const gh = new FakeGitHub();
  const apps: SpawnKit[] = [];

  beforeAll(async () => {
    await gh.start();
    apps.push(await startSpawnApp(env()));
    if (testDbKind() === 'postgres') apps.push(await startSpawnApp(env(), { keepData: true }));
  });
  const env = () =>
    githubEnv(gh, {
      MAX_CONCURRENT_SPAWNS: String(MAX_CONCURRENT),
      DAILY_SPAWN_BUDGET: String(BUDGET),
      SPAWN_DELAY_MINUTES: '0',
      MIN_EVENT_COUNT_TO_SPAWN: '3',
      // small passes, so the replicas' claims interleave instead of one replica locking the whole queue
      SPAWN_GATE_BATCH: '4',
    });
  afterAll(async () => {
    for (const a of apps) await a.t.close();
    await gh.stop();
  });

  it(`dispatches exactly ${BUDGET} of ${ISSUES} issues, never more than ${MAX_CONCURRENT} at once, none twice`, async () => {
    const ds = apps[0].t.dataSource;
    for (let i = 0; i < ISSUES; i++) await seedSpawnable(ds, { eventCount: 3 + (i % 5), priority: 1 + (i % 4) });

    let callbacks = 0;
    /** Finishes what is running: GitHub marks the run completed first, then the workflow calls back (to either replica). */
    const completeOpenRuns = async (): Promise<void> => {
      for (const run of gh.openRuns()) {
        gh.completeRun(run.id);
        const app = apps[callbacks++ % apps.length];
        const identifier = run.inputs.identifier;
        await app.t.http
          .post(`/api/agent/issues/${identifier}/status`)
          .set(agentAuth)
          .send({ status: 'completed', runId: String(run.id), costUsd: 0.5 })
          .expect(200);
      }
    };

    const deadline = Date.now() + 90_000;
    let quietRounds = 0;
    while (quietRounds < 3) {
      if (Date.now() > deadline) throw new Error(`no convergence: ${gh.dispatchRequests().length} dispatched`);
      const before = gh.dispatchRequests().length;
      // every replica's worker and the completions run at the same time; on PGlite two gate passes overlap
      await Promise.all([
        ...apps.map((a) => a.worker.tick()),
        ...(apps.length === 1
          ? [apps[0].gate.runGate().then((r) => Promise.all(r.claimed.map((id) => apps[0].dispatcher.dispatch(id))))]
          : []),
        completeOpenRuns(),
      ]);
      const dispatchedNow = gh.dispatchRequests().length;
      quietRounds = dispatchedNow === before && gh.openRuns().length === 0 ? quietRounds + 1 : 0;
    }

    const sent = gh.dispatchRequests();
    const identifiers = sent.map((r) => (r.body as { inputs: { identifier: string } }).inputs.identifier);
    expect(sent).toHaveLength(BUDGET);
    expect(new Set(identifiers).size).toBe(BUDGET);
    expect(gh.runs.size).toBe(BUDGET);
    expect(gh.maxConcurrentRuns()).toBeLessThanOrEqual(MAX_CONCURRENT);
    expect(gh.maxConcurrentRuns()).toBe(MAX_CONCURRENT);

    const [perIssue] = (await ds.query(
      `SELECT max(n)::int AS max, count(*)::int AS issues FROM (SELECT count(*) AS n FROM spawn_requests GROUP BY issue_id) s`,
    )) as {
      max: number;
      issues: number;
    }[];
    expect(perIssue).toEqual({ max: 1, issues: ISSUES });
    const states = (await ds.query(
      `SELECT state, count(*)::int AS n FROM spawn_requests GROUP BY state ORDER BY state`,
    )) as { state: string; n: number }[];
    expect(states).toEqual([
      { state: 'completed', n: BUDGET },
      { state: 'queued', n: ISSUES - BUDGET },
    ]);
    const day = budgetDay(new Date(), 'UTC');
    const [budget] = (await ds.query(`SELECT spawn_count, max_spawns, cost_usd FROM spawn_budget_days WHERE day = $1`, [
      day,
    ])) as {
      spawn_count: number;
      max_spawns: number;
      cost_usd: string;
    }[];
    expect(budget).toMatchObject({ spawn_count: BUDGET, max_spawns: BUDGET });
    expect(Number(budget.cost_usd)).toBe(BUDGET * 0.5);
    const held = (await ds.query(`SELECT DISTINCT held_reason FROM spawn_requests WHERE state = 'queued'`)) as {
      held_reason: string;
    }[];
    expect(held).toEqual([{ held_reason: `daily budget used: ${BUDGET} of ${BUDGET} spawns on ${day} (UTC)` }]);
    // hold reasons are written when they change, not on every pass
    const [{ most }] = (await ds.query(
      `SELECT max(n)::int AS most FROM (SELECT count(*) AS n FROM issue_history WHERE field = 'spawn_hold' GROUP BY issue_id) s`,
    )) as { most: number }[];
    expect(most).toBeLessThanOrEqual(3);
    // the most urgent issues went first
    const [{ worst }] = (await ds.query(
      `SELECT max(i.priority)::int AS worst FROM spawn_requests r JOIN issues i ON i.id = r.issue_id WHERE r.state = 'completed'`,
    )) as { worst: number }[];
    expect(worst).toBe(1);
  });

  it('loses nothing and sends nothing twice when the instance that committed the attempts dies', async () => {
    const postgres = testDbKind() === 'postgres';
    const victim = postgres ? await startSpawnApp(env(), { keepData: true }) : apps[0];
    const survivor = postgres ? apps[1] : apps[0];
    const ds = survivor.t.dataSource;
    await resetData(ds);
    gh.reset();
    for (let i = 0; i < 5; i++) await seedSpawnable(ds);
    await victim.gate.enqueueEligible();
    const gate = await victim.gate.runGate();
    expect(gate.claimed).toHaveLength(MAX_CONCURRENT);
    // GitHub received the first attempt before the process died; the others were only committed
    const [first] = (await ds.query(`SELECT request_payload FROM spawn_requests WHERE id = $1`, [gate.claimed[0]])) as {
      request_payload: { inputs: Record<string, string> };
    }[];
    gh.createRun(first.request_payload.inputs);
    if (postgres) await victim.t.close();
    await ds.query(`UPDATE spawn_requests SET lease_until = now() - interval '1 second' WHERE state = 'dispatching'`);
    await survivor.worker.tick();
    await survivor.worker.tick();
    expect(gh.runs.size).toBe(MAX_CONCURRENT);
    expect(gh.dispatchRequests()).toHaveLength(MAX_CONCURRENT - 1);
    const states = (await ds.query(
      `SELECT state, count(*)::int AS n FROM spawn_requests GROUP BY state ORDER BY state`,
    )) as {
      state: string;
      n: number;
    }[];
    expect(states).toEqual([
      { state: 'dispatched', n: MAX_CONCURRENT },
      { state: 'queued', n: 5 - MAX_CONCURRENT },
    ]);
  });
});

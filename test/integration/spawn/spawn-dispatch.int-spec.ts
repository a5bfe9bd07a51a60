import { budgetDay } from '../../../src/modules/spawn/budget-day';
import { MAX_DISPATCH_INPUT_CHARS } from '../../../src/modules/spawn/dispatch-inputs';
import { scrubSecrets } from '../../../src/shared/security/secret-scrubber';
import { adminAuth } from '../../support/test-app';
import {
  budgetRow,
  historyOf,
  issueRow,
  requestsOf,
  seedSpawnable,
  useSpawnApp,
  useSpawnKit,
} from '../../fixtures/spawn/spawn-kit';
import { readCorpus } from '../../support/corpora';

describe('spawn dispatch to GitHub Actions', () => {
  const { gh, k } = useSpawnApp({ MAX_CONCURRENT_SPAWNS: '50', DAILY_SPAWN_BUDGET: '100' });
  gh.expectedToken = 'ghp_fixloop_test_token';
  beforeEach(() => {
    gh.clearRoutes();
  });

  const ds = () => k.t.dataSource;
  const today = () => budgetDay(new Date(), 'UTC');

  it('sends the workflow dispatch with run details (200) and keeps the issue spawn fields in step', async () => {
    const issue = await seedSpawnable(ds(), { source: 'checkout-api', feature: 'payments' });
    await k.worker.tick();
    const [sent] = gh.dispatchRequests();
    expect(sent.path).toBe('/repos/acme/shop/actions/workflows/auto-investigate.yml/dispatches');
    expect(sent.body).toMatchObject({
      ref: 'staging',
      return_run_details: true,
      inputs: {
        issue_id: issue.id,
        identifier: issue.identifier,
        title: `${issue.identifier}: production error in checkout-api / payments`,
        source: 'checkout-api',
        feature: 'payments',
        error_context: expect.stringContaining('TypeError: Cannot read properties of undefined'),
      },
    });
    expect(Object.keys((sent.body as { inputs: object }).inputs).sort()).toEqual(
      ['description', 'error_context', 'feature', 'identifier', 'issue_id', 'source', 'title'].sort(),
    );
    const [run] = gh.runsNamed(`fixloop ${issue.identifier}`);
    const [req] = await requestsOf(ds(), issue.id);
    expect(req).toMatchObject({
      state: 'dispatched',
      run_id: String(run.id),
      run_name: `fixloop ${issue.identifier}`,
      budget_day: today(),
    });
    expect(req.request_payload).toEqual({
      owner: 'acme',
      repo: 'shop',
      workflow_id: 'auto-investigate.yml',
      ...(sent.body as object),
    });
    const row = await issueRow(ds(), issue.id);
    expect(row).toMatchObject({
      spawn_status: 'running',
      spawn_run_id: String(run.id),
      spawn_run_url: `https://github.com/acme/shop/actions/runs/${run.id}`,
    });
    expect(row.spawn_started_at).not.toBeNull();
    expect(await budgetRow(ds(), today())).toMatchObject({ spawn_count: 1 });
  });

  it('finds the run by its run name when the server answers 204', async () => {
    gh.scriptDispatch({ status: 204 });
    const issue = await seedSpawnable(ds());
    await k.worker.tick();
    const [run] = gh.runsNamed(`fixloop ${issue.identifier}`);
    expect((await requestsOf(ds(), issue.id))[0]).toMatchObject({ state: 'dispatched', run_id: String(run.id) });
  });

  it('retries a 5xx with backoff, looking the run up by name first so a run GitHub created anyway is adopted', async () => {
    gh.scriptDispatch({ status: 502, createRun: true });
    const a = await seedSpawnable(ds());
    await k.worker.tick();
    expect(gh.dispatchRequests()).toHaveLength(1);
    expect(gh.runsNamed(`fixloop ${a.identifier}`)).toHaveLength(1);
    expect((await requestsOf(ds(), a.id))[0]).toMatchObject({
      state: 'dispatched',
      run_id: String(gh.runsNamed(`fixloop ${a.identifier}`)[0].id),
    });

    gh.reset();
    gh.scriptDispatch({ status: 503 }, { status: 500 });
    const b = await seedSpawnable(ds());
    await k.worker.tick();
    expect(gh.dispatchRequests().map((r) => r.status)).toEqual([503, 500, 200]);
    expect(gh.runsNamed(`fixloop ${b.identifier}`)).toHaveLength(1);
    expect((await requestsOf(ds(), b.id))[0]).toMatchObject({ state: 'dispatched', dispatch_attempts: 3 });
  });

  it('honours retry-after on a secondary rate limit (403)', async () => {
    gh.scriptDispatch({ status: 403, retryAfter: 1 });
    const issue = await seedSpawnable(ds());
    await k.worker.tick();
    const [limited, accepted] = gh.dispatchRequests();
    expect([limited.status, accepted.status]).toEqual([403, 200]);
    expect(accepted.at - limited.at).toBeGreaterThanOrEqual(1000);
    expect((await requestsOf(ds(), issue.id))[0].state).toBe('dispatched');
  });

  it('leaves a retry-after longer than GITHUB_RETRY_MAX_SECONDS to the reconciler, which waits for it', async () => {
    gh.scriptDispatch({ status: 403, retryAfter: 600 });
    const issue = await seedSpawnable(ds());
    await k.worker.tick();
    const [req] = await requestsOf(ds(), issue.id);
    expect(req).toMatchObject({
      state: 'dispatching',
      error: expect.stringMatching(/rate limit \(403\).*reconciler will retry/),
    });
    await k.dispatcher.reconcile(new Date(Date.now() + 5 * 60_000));
    expect(gh.dispatchRequests()).toHaveLength(1);
    await k.dispatcher.reconcile(new Date(Date.now() + 11 * 60_000));
    expect(gh.dispatchRequests().map((r) => r.status)).toEqual([403, 200]);
    expect((await requestsOf(ds(), issue.id))[0].state).toBe('dispatched');
  });

  it('fails a 4xx configuration error with the reason, frees the slot and refunds the budget', async () => {
    gh.scriptDispatch({ status: 422, message: 'Unexpected inputs provided: ["bogus"]' });
    const issue = await seedSpawnable(ds());
    await k.worker.tick();
    expect(gh.dispatchRequests()).toHaveLength(1);
    const [req] = await requestsOf(ds(), issue.id);
    expect(req.state).toBe('failed');
    expect(req.error).toBe('GitHub refused the dispatch (422): Unexpected inputs provided: ["bogus"]');
    expect(await budgetRow(ds(), today())).toMatchObject({ spawn_count: 0 });
    const [{ n }] = (await ds().query(
      `SELECT count(*)::int AS n FROM spawn_requests WHERE state IN ('dispatching','dispatched','running')`,
    )) as { n: number }[];
    expect(n).toBe(0);
    const row = await issueRow(ds(), issue.id);
    expect(row).toMatchObject({ status: 'needs_human', spawn_status: 'failed' });
    const status = await historyOf(ds(), issue.id, 'status');
    expect(status.at(-1)).toMatchObject({
      from_value: 'triage',
      to_value: 'needs_human',
      reason: expect.stringContaining('422'),
    });
    const spawns = await k.t.http.get(`/api/issues/${issue.identifier}/spawns`).set(adminAuth).expect(200);
    expect(spawns.body[0]).toMatchObject({ state: 'failed', refundedAt: expect.any(String), budgetDay: today() });
  });

  it('hands a dispatch that keeps failing to the reconciler, which sends it once GitHub is back', async () => {
    gh.scriptDispatch({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const issue = await seedSpawnable(ds());
    await k.worker.tick();
    let [req] = await requestsOf(ds(), issue.id);
    expect(req.state).toBe('dispatching');
    expect(req.error).toMatch(/GitHub answered 500.*reconciler will retry/);
    expect(gh.dispatchRequests()).toHaveLength(4);
    // not before its lease ends
    await k.dispatcher.reconcile(new Date());
    expect(gh.dispatchRequests()).toHaveLength(4);
    await k.dispatcher.reconcile(new Date(Date.now() + 10 * 60_000));
    [req] = await requestsOf(ds(), issue.id);
    expect(req.state).toBe('dispatched');
    expect(gh.dispatchRequests().map((r) => r.status)).toEqual([500, 500, 500, 500, 200]);
    expect(gh.runsNamed(`fixloop ${issue.identifier}`)).toHaveLength(1);
  });

  describe('a process killed in the middle of a dispatch', () => {
    /** The gate commits the attempt (as the dead process did) but nothing is sent. */
    async function committedAttempt(): Promise<{
      issue: Awaited<ReturnType<typeof seedSpawnable>>;
      payload: { inputs: Record<string, string> };
    }> {
      const issue = await seedSpawnable(ds());
      await k.gate.enqueueEligible();
      const gate = await k.gate.runGate(new Date());
      expect(gate.claimed).toHaveLength(1);
      const [req] = await requestsOf(ds(), issue.id);
      expect(req).toMatchObject({ state: 'dispatching', run_name: `fixloop ${issue.identifier}` });
      return { issue, payload: req.request_payload! };
    }
    const expireLeases = () =>
      ds().query(`UPDATE spawn_requests SET lease_until = now() - interval '1 second' WHERE state = 'dispatching'`);

    it('after GitHub received it: the reconciler finds the run by name and sends nothing', async () => {
      const { issue, payload } = await committedAttempt();
      const run = gh.createRun(payload.inputs);
      // a live lease means a dispatcher is still at work: leave it alone
      await k.dispatcher.reconcile(new Date());
      expect((await requestsOf(ds(), issue.id))[0].state).toBe('dispatching');
      await expireLeases();
      const counts = await k.dispatcher.reconcile(new Date());
      expect(counts.dispatched).toBe(1);
      expect((await requestsOf(ds(), issue.id))[0]).toMatchObject({ state: 'dispatched', run_id: String(run.id) });
      expect(gh.dispatchRequests()).toHaveLength(0);
      await k.worker.tick();
      expect(gh.dispatchRequests()).toHaveLength(0);
      expect(await budgetRow(ds(), today())).toMatchObject({ spawn_count: 1 });
    });

    it('before GitHub received it: the reconciler sends it exactly once', async () => {
      const { issue } = await committedAttempt();
      await expireLeases();
      await k.dispatcher.reconcile(new Date());
      await k.worker.tick();
      await expireLeases();
      await k.dispatcher.reconcile(new Date());
      expect(gh.dispatchRequests()).toHaveLength(1);
      expect(gh.runsNamed(`fixloop ${issue.identifier}`)).toHaveLength(1);
      expect((await requestsOf(ds(), issue.id))[0].state).toBe('dispatched');
      expect(await budgetRow(ds(), today())).toMatchObject({ spawn_count: 1 });
    });

    it('returns an unsent attempt to the queue, budget refunded, when the kill switch went on meanwhile', async () => {
      const { issue } = await committedAttempt();
      expect(await budgetRow(ds(), today())).toMatchObject({ spawn_count: 1 });
      await k.t.http.put('/api/spawn/kill-switch').set(adminAuth).send({ enabled: true }).expect(200);
      await expireLeases();
      const counts = await k.dispatcher.reconcile(new Date());
      expect(counts.requeued).toBe(1);
      expect(gh.dispatchRequests()).toHaveLength(0);
      expect((await requestsOf(ds(), issue.id))[0]).toMatchObject({
        state: 'queued',
        budget_day: null,
        held_reason: 'kill switch is on: no new investigation is dispatched',
      });
      expect(await budgetRow(ds(), today())).toMatchObject({ spawn_count: 0 });
      await k.t.http.put('/api/spawn/kill-switch').set(adminAuth).send({ enabled: false }).expect(200);
      await k.worker.tick();
      expect(gh.dispatchRequests()).toHaveLength(1);
      expect((await requestsOf(ds(), issue.id))[0]).toMatchObject({ state: 'dispatched', held_reason: null });
      expect(await budgetRow(ds(), today())).toMatchObject({ spawn_count: 1 });
    });

    it('sends nothing while GitHub cannot be asked whether the run exists', async () => {
      const { issue } = await committedAttempt();
      gh.route('GET', '/repos/:owner/:repo/actions/workflows/:workflow/runs', (_req, res) => {
        res.statusCode = 503;
        res.end('{"message":"unavailable"}');
      });
      await expireLeases();
      const counts = await k.dispatcher.reconcile(new Date());
      expect(counts.deferred).toBe(1);
      expect(gh.dispatchRequests()).toHaveLength(0);
      const [req] = await requestsOf(ds(), issue.id);
      expect(req).toMatchObject({ state: 'dispatching', error: expect.stringMatching(/run lookup failed/) });
      gh.clearRoutes();
      await k.dispatcher.reconcile(new Date(Date.now() + 10 * 60_000));
      expect(gh.dispatchRequests()).toHaveLength(1);
      expect((await requestsOf(ds(), issue.id))[0].state).toBe('dispatched');
    });
  });

  it('trims error_context deterministically to GitHub’s 65,535-character limit with a visible marker', async () => {
    const big = (i: number): string =>
      `Error ${i}: "quoted" \\ back\nslash ${'é€😀<>&'.repeat(900)} ${'x'.repeat(3000)}`;
    const messages = Array.from({ length: 20 }, (_, i) => big(i));
    const issue = await seedSpawnable(ds(), { messages });
    await k.worker.tick();
    const [sent] = gh.dispatchRequests();
    const inputs = (sent.body as { inputs: Record<string, string> }).inputs;
    expect(JSON.stringify(inputs).length).toBeLessThanOrEqual(MAX_DISPATCH_INPUT_CHARS);
    expect(JSON.stringify(inputs).length).toBeGreaterThan(MAX_DISPATCH_INPUT_CHARS - 200);
    const m = /\n…\[truncated (\d+) chars by fixloop\]$/.exec(inputs.error_context);
    expect(m).not.toBeNull();
    const [req] = await requestsOf(ds(), issue.id);
    expect(req.context).toMatchObject({ truncatedChars: Number(m![1]) });
    expect(inputs.error_context.startsWith(`# fixloop error context: ${issue.identifier} (attempt 1)`)).toBe(true);
    expect(sent.status).toBe(200);
  });

  it('clips a long source or feature input without leaving half an emoji, so the gate pass commits', async () => {
    // 199 characters, then an emoji across the 200-character clip of the source and feature inputs.
    const long = `svc-${'a'.repeat(195)}\u{1F680}-tail`;
    const issue = await seedSpawnable(ds(), { source: long, feature: long });
    const other = await seedSpawnable(ds(), { source: 'checkout-api', feature: 'payments' });
    await k.worker.tick();
    const sent = gh.dispatchRequests().map((r) => (r.body as { inputs: Record<string, string> }).inputs);
    const inputs = sent.find((i) => i.issue_id === issue.id)!;
    expect(inputs.source).toBe(`svc-${'a'.repeat(195)}`); // the emoji the clip would halve is dropped
    expect(inputs.feature).toBe(inputs.source);
    expect(sent.map((i) => i.issue_id).sort()).toEqual([issue.id, other.id].sort());
    expect((await requestsOf(ds(), issue.id))[0].request_payload).toMatchObject({ inputs: { source: inputs.source } });
  });

  it('carries the injection corpus as inert, byte-identical data in error_context only', async () => {
    const corpus = readCorpus<{ text: string }>('injections.jsonl').map((row) => row.text);
    expect(corpus.length).toBeGreaterThan(100);
    const perIssue = 10;
    const seeded: { identifier: string; texts: string[] }[] = [];
    for (let i = 0; i < corpus.length; i += perIssue) {
      const texts = corpus.slice(i, i + perIssue);
      const scrubbed = texts.map((t) => scrubSecrets(t).text);
      const issue = await seedSpawnable(ds(), {
        messages: scrubbed,
        title: scrubbed[0].slice(0, 200) || 'x',
        eventCount: 5,
      });
      seeded.push({ identifier: issue.identifier, texts: scrubbed });
    }
    await k.worker.tick();
    const sent = gh.dispatchRequests();
    expect(sent).toHaveLength(seeded.length);
    let checked = 0;
    for (const s of seeded) {
      const body = sent
        .map((r) => r.body as { ref: string; inputs: Record<string, string> })
        .find((b) => b.inputs.identifier === s.identifier)!;
      const [run] = gh.runsNamed(`fixloop ${s.identifier}`);
      expect(run).toBeDefined();
      expect(body.ref).toBe('staging');
      for (const text of s.texts) {
        expect(body.inputs.error_context).toContain(text);
        if (text.trim().length < 8) continue;
        checked++;
        for (const [name, value] of Object.entries(body.inputs)) {
          if (name !== 'error_context') expect(value.includes(text)).toBe(false);
        }
        expect(run.name.includes(text)).toBe(false);
        expect(body.ref.includes(text)).toBe(false);
      }
      expect(body.inputs.title).toMatch(
        /^[A-Z][A-Z0-9]*-\d+: production error in [A-Za-z0-9._/-]+ \/ [A-Za-z0-9._/-]+$/,
      );
    }
    expect(checked).toBeGreaterThan(100);
  });
});

describe('spawn dry run (no GITHUB_TOKEN)', () => {
  const k = useSpawnKit({
    MAX_CONCURRENT_SPAWNS: '1',
    DAILY_SPAWN_BUDGET: '1',
    SPAWN_DELAY_MINUTES: '0',
    GITHUB_TOKEN: undefined,
  });

  it('records each spawn as a dry run with the exact request it would have sent, visible through the API, using no budget or slot', async () => {
    const issues = [];
    for (let i = 0; i < 3; i++) issues.push(await seedSpawnable(k.t.dataSource));
    await k.worker.tick();
    for (const issue of issues) {
      const spawns = await k.t.http.get(`/api/issues/${issue.identifier}/spawns`).set(adminAuth).expect(200);
      expect(spawns.body).toHaveLength(1);
      expect(spawns.body[0]).toMatchObject({
        state: 'dry_run',
        runName: `fixloop ${issue.identifier}`,
        runId: null,
        budgetDay: null,
        error: 'dry run: GITHUB_TOKEN is not set',
        requestPayload: {
          workflow_id: 'auto-investigate.yml',
          ref: 'staging',
          return_run_details: true,
          inputs: {
            identifier: issue.identifier,
            issue_id: issue.id,
            error_context: expect.stringContaining('## Recent samples'),
          },
        },
      });
      const detail = await k.t.http.get(`/api/issues/${issue.identifier}`).set(adminAuth).expect(200);
      expect(detail.body).toMatchObject({ spawnStatus: 'dry_run', status: 'triage' });
    }
    const budget = await k.t.http.get('/api/spawn/budget').set(adminAuth).expect(200);
    expect(budget.body.today).toMatchObject({ spawnCount: 0, maxSpawns: 1 });
    // dry runs are final: the next passes queue nothing more
    await k.worker.tick();
    const [{ n }] = (await k.t.dataSource.query(`SELECT count(*)::int AS n FROM spawn_requests`)) as { n: number }[];
    expect(n).toBe(3);
  });
});

describe('spawn dispatch to a server without run details (older GitHub Enterprise Server)', () => {
  const { gh, k } = useSpawnApp();

  it('drops return_run_details for a server that refuses it (422 naming it) and finds the run by name', async () => {
    gh.scriptDispatch({ status: 422, message: 'Invalid request.\n\n"return_run_details" is not a permitted key.' });
    const issue = await seedSpawnable(k.t.dataSource);
    await k.worker.tick();
    const sent = gh.dispatchRequests();
    expect(sent.map((r) => [r.status, (r.body as { return_run_details?: boolean }).return_run_details])).toEqual([
      [422, true],
      [204, undefined],
    ]);
    const [run] = gh.runsNamed(`fixloop ${issue.identifier}`);
    expect((await requestsOf(k.t.dataSource, issue.id))[0]).toMatchObject({
      state: 'dispatched',
      run_id: String(run.id),
    });
    expect(await budgetRow(k.t.dataSource, budgetDay(new Date(), 'UTC'))).toMatchObject({ spawn_count: 1 });
  });
});

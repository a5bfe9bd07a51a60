import { budgetDay } from '../../../src/modules/spawn/budget-day';
import { adminAuth, agentAuth } from '../../support/test-app';
import { deliver, prPayload } from '../github/webhook-support';
import {
  budgetRow,
  historyOf,
  issueRow,
  later,
  minutes,
  requestsOf,
  seedSpawnable,
  useSpawnApp,
} from '../../fixtures/spawn/spawn-kit';

/**
 * An on-call engineer merges and unmerges issues while an investigation runs, through the HTTP API;
 * the agent calls back with the identifier it was dispatched for.
 */
describe('spawn gate: merges and undos while an investigation runs', () => {
  const { gh, k } = useSpawnApp();

  const ds = () => k.t.dataSource;
  const merge = (from: string, into: string) =>
    k.t.http.post(`/api/issues/${from}/merge`).set(adminAuth).send({ into, reason: 'same bug' });
  const unmerge = (identifier: string) =>
    k.t.http.post(`/api/issues/${identifier}/unmerge`).set(adminAuth).send({ reason: 'not the same bug' });
  const report = (identifier: string, body: Record<string, unknown>) =>
    k.t.http.post(`/api/agent/issues/${identifier}/status`).set(agentAuth).send(body);
  const active = async (): Promise<number> =>
    (
      (await ds().query(
        `SELECT count(*)::int AS n FROM spawn_requests WHERE state IN ('dispatching','dispatched','running')`,
      )) as { n: number }[]
    )[0]!.n;
  const today = () => budgetDay(new Date(), 'UTC');

  /** A dispatched investigation for `absorbed`, then `absorbed` merged into `survivor` by hand. */
  async function runningThenMerged() {
    const survivor = await seedSpawnable(ds(), { eventCount: 1 });
    const absorbed = await seedSpawnable(ds());
    await k.worker.tick();
    const [req] = await requestsOf(ds(), absorbed.id);
    expect(req).toMatchObject({ state: 'dispatched' });
    await merge(absorbed.identifier, survivor.identifier).expect(200);
    return { survivor, absorbed, runId: req!.run_id! };
  }

  it('keeps the merged issue’s run going: its callbacks land, it holds its slot and budget, and the survivor is not dispatched meanwhile', async () => {
    const { survivor, absorbed, runId } = await runningThenMerged();
    expect((await requestsOf(ds(), absorbed.id))[0]).toMatchObject({ state: 'dispatched' });
    expect(await active()).toBe(1);
    const running = await report(absorbed.identifier, { status: 'running', runId }).expect(200);
    expect(running.body).toMatchObject({ applied: true, state: 'running', issueStatus: 'closed' });
    // the survivor stays in triage (docs/lifecycle.md): it is queued from there once this run ends without a fix
    expect((await issueRow(ds(), survivor.id)).status).toBe('triage');

    // the survivor has the events (1 + 5) but one investigation per bug: nothing new while the run goes on
    await k.worker.tick(later(new Date(), minutes(10)));
    expect(await requestsOf(ds(), survivor.id)).toHaveLength(0);
    expect(gh.dispatchRequests()).toHaveLength(1);
    expect(await budgetRow(ds(), today())).toMatchObject({ spawn_count: 1 });
    expect(await active()).toBe(1);
  });

  it('queues the survivor once the absorbed run ends without a fix, held by the investigated fingerprints’ cooldown, then dispatches it', async () => {
    const { survivor, absorbed, runId } = await runningThenMerged();
    await report(absorbed.identifier, { status: 'running', runId }).expect(200);
    const done = await report(absorbed.identifier, { status: 'completed', runId, summary: 'no fix found' }).expect(200);
    expect(done.body).toMatchObject({ applied: true, state: 'completed', issueStatus: 'closed' });
    expect(await active()).toBe(0);
    // the fingerprints it investigated (now the survivor's aliases) are in cooldown
    const [link] = (await ds().query(`SELECT issue_id, cooldown_until FROM external_issue_links WHERE id = $1`, [
      absorbed.linkId,
    ])) as { issue_id: string; cooldown_until: Date | null }[];
    expect(link!.issue_id).toBe(survivor.id);
    expect(link!.cooldown_until).not.toBeNull();

    const soon = later(new Date(), minutes(10));
    await k.worker.tick(soon);
    const [held] = await requestsOf(ds(), survivor.id);
    expect(held).toMatchObject({ state: 'queued' });
    expect(held!.held_reason).toMatch(/^fingerprint in cooldown until /);
    expect(gh.dispatchRequests()).toHaveLength(1);
    expect(await historyOf(ds(), survivor.id, 'spawn_hold')).toHaveLength(1);

    await k.worker.tick(later(new Date(), minutes(25 * 60)));
    expect((await requestsOf(ds(), survivor.id))[0]).toMatchObject({ state: 'dispatched' });
    expect(gh.dispatchRequests()).toHaveLength(2);
    expect(gh.runsNamed(`fixloop ${survivor.identifier}`)).toHaveLength(1);
  });

  it('does not queue the survivor when the absorbed run ended with a PR (the survivor follows the PR)', async () => {
    const { survivor, absorbed, runId } = await runningThenMerged();
    await report(absorbed.identifier, { status: 'running', runId }).expect(200);
    await deliver(
      k.t.http,
      'pull_request',
      prPayload({ number: 811, title: `Fix ${absorbed.identifier}: guard the cache`, head: 'fix/cache' }),
    ).expect(200);
    expect((await issueRow(ds(), survivor.id)).status).toBe('in_review');
    await report(absorbed.identifier, { status: 'completed', runId }).expect(200);
    await k.worker.tick(later(new Date(), minutes(25 * 60)));
    expect(await requestsOf(ds(), survivor.id)).toHaveLength(0);
    expect(gh.dispatchRequests()).toHaveLength(1);
  });

  it('does not start a survivor’s investigation for a bug merged in with an open PR', async () => {
    const survivor = await seedSpawnable(ds(), { eventCount: 1 });
    const absorbed = await seedSpawnable(ds(), { status: 'in_review' });
    await deliver(
      k.t.http,
      'pull_request',
      prPayload({ number: 812, title: `Fix ${absorbed.identifier}`, head: 'fix/x' }),
    ).expect(200);
    await merge(absorbed.identifier, survivor.identifier).expect(200);
    await k.worker.tick(later(new Date(), minutes(25 * 60)));
    expect(await requestsOf(ds(), survivor.id)).toHaveLength(0);
    expect(gh.dispatchRequests()).toHaveLength(0);
  });

  it('undo while the run goes on: the run stays the reopened issue’s (no second one for it); the survivor is a bug of its own again', async () => {
    const { survivor, absorbed, runId } = await runningThenMerged();
    await report(absorbed.identifier, { status: 'running', runId }).expect(200);
    await unmerge(absorbed.identifier).expect(200);
    expect((await issueRow(ds(), absorbed.id)).status).toBe('triage');
    await k.worker.tick(later(new Date(), minutes(10)));
    expect(await requestsOf(ds(), absorbed.id)).toHaveLength(1);
    // its own fingerprint only (1 event): not eligible
    expect(await requestsOf(ds(), survivor.id)).toHaveLength(0);

    await ds().query(`UPDATE issues SET event_count = 4 WHERE id = $1`, [survivor.id]);
    await k.worker.tick(later(new Date(), minutes(10)));
    expect((await requestsOf(ds(), survivor.id))[0]).toMatchObject({ state: 'dispatched' });
    expect(gh.dispatchRequests()).toHaveLength(2);

    const done = await report(absorbed.identifier, { status: 'completed', runId }).expect(200);
    expect(done.body).toMatchObject({ applied: true, issueStatus: 'needs_human' });
    await k.worker.tick(later(new Date(), minutes(25 * 60)));
    expect(await requestsOf(ds(), absorbed.id)).toHaveLength(1);
    expect(gh.dispatchRequests()).toHaveLength(2);
  });

  it('undo after the run ended: the reopened issue gets no second investigation', async () => {
    const { absorbed, runId } = await runningThenMerged();
    await report(absorbed.identifier, { status: 'completed', runId }).expect(200);
    await unmerge(absorbed.identifier).expect(200);
    await k.worker.tick(later(new Date(), minutes(25 * 60)));
    expect(await requestsOf(ds(), absorbed.id)).toHaveLength(1);
    expect(gh.dispatchRequests()).toHaveLength(1);
  });
});

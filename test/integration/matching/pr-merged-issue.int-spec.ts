import { randomUUID } from 'node:crypto';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { VerificationService } from '../../../src/modules/verification/verification.service';
import { IssueStatusChanged } from '../../../src/shared/events/event-catalogue';
import { TestApp, adminAuth, ingestAuth, useTestApp } from '../../support/test-app';
import {
  Bug,
  FIX_FLOW_ENV,
  HOUR,
  MINUTE,
  after,
  fixFlow,
  issueRow,
  windowsOf,
} from '../verification/verification-seed';

/**
 * A fix linked to an issue that is then merged into another one: the PR's events and its deploy
 * move the issue it was merged into (the survivor), which takes over a fix in flight at the merge.
 * Everything goes through the HTTP API: errors (POST /api/events), signed GitHub webhooks, the
 * merge, the deploy (POST /api/deployments). Undos: pr-unmerged-issue.int-spec.ts.
 */
describe('A PR linked to an issue merged into another one', () => {
  const t = useTestApp(FIX_FLOW_ENV);
  let verification: VerificationService;
  let prNumber = 900;
  const changes: IssueStatusChanged[] = [];
  const onChange = (e: IssueStatusChanged) => void changes.push(e);

  beforeAll(() => {
    verification = t.app.get(VerificationService);
    t.app.get(EventEmitter2).on('issue.status_changed', onChange);
  });

  const { sendError, bug, pr, deploy, untilWindowFails } = fixFlow(t);

  const status = async (id: string): Promise<string> => (await issueRow(t.dataSource, id)).status;
  const historyOf = async (ds: TestApp['dataSource'], id: string) =>
    (await ds.query(
      `SELECT actor, field, from_value, to_value, reason FROM issue_history WHERE issue_id = $1 ORDER BY id`,
      [id],
    )) as { actor: string; field: string; from_value: string | null; to_value: string | null; reason: string }[];
  const merge = (from: Bug, into: Bug) =>
    t.http
      .post(`/api/issues/${from.identifier}/merge`)
      .set(adminAuth)
      .send({ into: into.identifier, reason: 'same bug' });

  it('reproduction: the fix of a merged-away issue is deployed; the survivor reaches production and is watched, and a recurrence of the merged fingerprint reopens it', async () => {
    const a = await bug('cart');
    const b = await bug('checkout');
    const n = ++prNumber;
    await pr(a, { number: n });
    expect(await status(a.id)).toBe('in_review');
    await merge(a, b).expect(200);
    expect(await status(a.id)).toBe('closed');
    expect(await status(b.id)).toBe('in_review');
    await pr(a, { number: n, action: 'closed', merged: true, base: 'main' });

    const deployedAt = new Date(Date.now() - HOUR);
    const dep = await deploy([n], deployedAt);
    expect(dep.body.deployedIssues).toEqual([expect.objectContaining({ identifier: b.identifier, moved: true })]);
    expect(await status(b.id)).toBe('in_production');
    expect(await status(a.id)).toBe('closed');
    const toProduction = (await historyOf(t.dataSource, b.id)).find(
      (h) => h.field === 'status' && h.to_value === 'in_production',
    );
    expect(toProduction!.reason).toMatch(new RegExp(`#${n} reached production .*linked to ${a.identifier}`));

    // The window is the survivor's and watches the merged issue's fingerprint too.
    await verification.runDueChecks();
    const [w] = await windowsOf(t.dataSource, b.id);
    expect(w).toMatchObject({ state: 'watching', deployed_version: '1.4.2' });
    expect(await windowsOf(t.dataSource, a.id)).toEqual([]);

    await sendError(a.source, a.message, after(deployedAt, 30 * MINUTE), '1.4.2');
    // The error.received fast path checks the window at once (and holds it while it does); the
    // scheduled check is run too, until the window is decided.
    await untilWindowFails(b.id);
    expect(await issueRow(t.dataSource, b.id)).toMatchObject({
      status: 'triage',
      labels: expect.arrayContaining(['fix-failed']),
    });
    expect((await windowsOf(t.dataSource, b.id))[0]!.state).toBe('failed');
  });

  it('the sweep opens a lost fix.deployed’s window on the survivor with the deployment and the PR of the issue merged into it, along a chain', async () => {
    const a = await bug('cart');
    const b = await bug('checkout');
    const c = await bug('billing');
    const n = ++prNumber;
    await pr(a, { number: n });
    await merge(a, b).expect(200);
    await merge(b, c).expect(200);
    await pr(a, { number: n, action: 'closed', merged: true, base: 'main' });
    const deployedAt = new Date(Date.now() - HOUR);
    await deploy([n], deployedAt);
    expect(await status(c.id)).toBe('in_production');
    // The process died before fix.deployed reached verification: nobody watches the survivor.
    await t.dataSource.query(`DELETE FROM verification_windows WHERE issue_id = $1`, [c.id]);
    const [link] = (await t.dataSource.query(`SELECT id FROM issue_prs WHERE pr_number = $1`, [n])) as { id: string }[];
    const [deployment] = (await t.dataSource.query(`SELECT id FROM deployments WHERE $1 = ANY(pr_numbers)`, [n])) as {
      id: string;
    }[];

    await verification.runDueChecks();
    const windows = await windowsOf(t.dataSource, c.id);
    expect(windows).toHaveLength(1);
    expect(windows[0]).toMatchObject({
      state: 'watching',
      deployment_id: deployment!.id,
      issue_pr_id: link!.id,
      deployed_version: '1.4.2',
    });
    expect(new Date(windows[0]!.deployed_at).toISOString()).toBe(deployedAt.toISOString());
  });

  it('the survivor follows the PR’s events after the merge: merged into staging, closed without merge, reopened', async () => {
    const a = await bug('cart');
    const b = await bug('checkout');
    const n = ++prNumber;
    await pr(a, { number: n });
    await pr(a, { number: n, action: 'closed' });
    expect(await status(a.id)).toBe('triage');
    await merge(a, b).expect(200);
    expect(await status(b.id)).toBe('triage');

    await pr(a, { number: n, action: 'reopened' });
    expect(await status(b.id)).toBe('in_review');
    expect(await status(a.id)).toBe('closed');
    const moved = (await historyOf(t.dataSource, b.id)).filter((h) => h.field === 'status').at(-1)!;
    expect(moved).toMatchObject({ actor: 'system:github', from_value: 'triage', to_value: 'in_review' });
    expect(moved.reason).toMatch(new RegExp(`reopened \\(linked to ${a.identifier}, merged into ${b.identifier}\\)`));
    expect(changes.filter((c) => c.issueId === b.id).map((c) => c.to)).toEqual(['in_review']);

    await pr(a, { number: n, action: 'closed' });
    expect(await status(b.id)).toBe('triage');
    await pr(a, { number: n, action: 'reopened' });
    await pr(a, { number: n, action: 'closed', merged: true, base: 'staging' });
    expect(await status(b.id)).toBe('in_staging');
    expect(await status(a.id)).toBe('closed');
  });

  it('closing the merged issue’s PR leaves the survivor in review while its own PR carries a fix', async () => {
    const a = await bug('cart');
    const b = await bug('checkout');
    const na = ++prNumber;
    const nb = ++prNumber;
    await pr(a, { number: na });
    await pr(b, { number: nb });
    await merge(a, b).expect(200);
    await pr(a, { number: na, action: 'closed' });
    expect(await status(b.id)).toBe('in_review');
  });

  it('closing the merged issue’s PR leaves the survivor in review while a PR of another issue merged into it carries a fix', async () => {
    const a = await bug('cart');
    const b = await bug('checkout');
    const c = await bug('billing');
    const d = await bug('invoice');
    const na = ++prNumber;
    const nc = ++prNumber;
    await pr(a, { number: na });
    await pr(c, { number: nc });
    await merge(a, b).expect(200);
    await merge(c, d).expect(200);
    await merge(d, b).expect(200);
    expect(await status(b.id)).toBe('in_review');

    await pr(a, { number: na, action: 'closed' });
    expect(await status(b.id)).toBe('in_review');
    expect((await historyOf(t.dataSource, a.id)).at(-1)!.reason).toBe(
      `PR Codertocat/Hello-World#${na} closed without merge; 1 other PR(s) still carry a fix`,
    );
    await pr(c, { number: nc, action: 'closed' });
    expect(await status(b.id)).toBe('triage');
  });

  it('follows a chain of merges to the live issue', async () => {
    const a = await bug('cart');
    const b = await bug('checkout');
    const c = await bug('billing');
    const n = ++prNumber;
    await pr(a, { number: n });
    await pr(a, { number: n, action: 'closed' });
    await merge(a, b).expect(200);
    await merge(b, c).expect(200);
    await pr(a, { number: n, action: 'reopened' });
    expect(await status(c.id)).toBe('in_review');
    expect([await status(a.id), await status(b.id)]).toEqual(['closed', 'closed']);
  });

  it('links a new PR naming an issue merged along a chain to the live issue, not to the closed one between', async () => {
    const a = await bug('cart');
    const b = await bug('checkout');
    const c = await bug('billing');
    await merge(a, b).expect(200);
    await merge(b, c).expect(200);
    const n = ++prNumber;
    await pr(a, { number: n });
    const links = (await t.dataSource.query(`SELECT issue_id FROM issue_prs WHERE pr_number = $1`, [n])) as {
      issue_id: string;
    }[];
    expect(links.map((l) => l.issue_id)).toEqual([c.id]);
    expect(await status(c.id)).toBe('in_review');
  });

  it('carry-over at the merge: a survivor before review takes the merged issue’s fix in flight, with a history entry saying why', async () => {
    const a = await bug('cart');
    const b = await bug('checkout');
    await t.http.patch(`/api/issues/${b.identifier}`).set(adminAuth).send({ status: 'investigating' }).expect(200);
    await pr(a, { number: ++prNumber, action: 'closed', merged: true, base: 'staging' });
    expect(await status(a.id)).toBe('in_staging');
    await merge(a, b).expect(200);
    expect(await status(b.id)).toBe('in_staging');
    const carried = (await historyOf(t.dataSource, b.id)).filter((h) => h.field === 'status').at(-1)!;
    expect(carried).toMatchObject({ actor: 'admin', from_value: 'investigating', to_value: 'in_staging' });
    expect(carried.reason).toBe(
      `${a.identifier} was merged into this issue while its fix was in_staging: that fix is this bug's fix`,
    );
    expect(changes.filter((c) => c.issueId === b.id).map((c) => [c.from, c.to])).toEqual([
      ['triage', 'investigating'],
      ['investigating', 'in_staging'],
    ]);
  });

  it('carry-over leaves a survivor that has its own fix where it is', async () => {
    const a = await bug('cart');
    const b = await bug('checkout');
    await pr(a, { number: ++prNumber, action: 'closed', merged: true, base: 'staging' });
    await pr(b, { number: ++prNumber });
    await merge(a, b).expect(200);
    expect(await status(b.id)).toBe('in_review');
  });

  it('refuses to merge away an issue whose fix is in production under verification (409), writing nothing', async () => {
    const a = await bug('cart');
    const b = await bug('checkout');
    const n = ++prNumber;
    await pr(a, { number: n, action: 'closed', merged: true, base: 'main' });
    await deploy([n], new Date(Date.now() - HOUR));
    expect(await status(a.id)).toBe('in_production');
    const before = await historyOf(t.dataSource, b.id);

    const res = await merge(a, b).expect(409);
    expect(res.body).toMatchObject({
      error: 'ISSUE_MERGE_FIX_IN_PRODUCTION',
      message: expect.stringContaining(`merge ${b.identifier} into ${a.identifier} instead`),
    });
    expect(await status(a.id)).toBe('in_production');
    expect(await historyOf(t.dataSource, b.id)).toEqual(before);
    expect(await t.dataSource.query(`SELECT 1 FROM issue_merges WHERE merged_issue_id = $1`, [a.id])).toEqual([]);

    // The other way round keeps the watch: the survivor's window takes the merged issue's fingerprints.
    await merge(b, a).expect(200);
    expect(await status(a.id)).toBe('in_production');
  });

  describe('automatic merges (the grouping engine, variable-position)', () => {
    /** Two issues of one scope whose messages differ in one value; a third value merges them. */
    async function twoVariants(): Promise<{ source: string; first: Bug; second: Bug; third: () => Promise<void> }> {
      const source = `cache-${randomUUID().slice(0, 8)}`;
      const send = (node: string) =>
        t.http
          .post('/api/events')
          .set(ingestAuth)
          .send({ events: [{ source, feature: 'cache', message: `Cache node ${node} unreachable`, level: 'error' }] })
          .expect(202);
      await send('n7a');
      await send('x9c');
      const rows = (await t.dataSource.query(`SELECT id, identifier FROM issues WHERE source = $1 ORDER BY number`, [
        source,
      ])) as { id: string; identifier: string }[];
      expect(rows).toHaveLength(2);
      const [first, second] = rows.map((r) => ({ ...r, source, message: '' }));
      return { source, first: first!, second: second!, third: () => send('r2d2').then(() => undefined) };
    }
    const mergedInto = async (id: string): Promise<string | null> =>
      (
        (await t.dataSource.query(`SELECT merged_into_id FROM issues WHERE id = $1`, [id])) as {
          merged_into_id: string | null;
        }[]
      )[0]!.merged_into_id;

    it('the survivor takes the absorbed issue’s fix in flight, and the deploy moves it to production', async () => {
      const { first, second, third } = await twoVariants();
      const n = ++prNumber;
      await pr(second, { number: n });
      expect(await status(second.id)).toBe('in_review');
      await third();
      expect(await mergedInto(second.id)).toBe(first.id);
      expect(await status(first.id)).toBe('in_review');
      expect((await historyOf(t.dataSource, first.id)).filter((h) => h.field === 'status').at(-1)).toMatchObject({
        actor: 'system:dedup',
        from_value: 'triage',
        to_value: 'in_review',
      });
      await pr(second, { number: n, action: 'closed', merged: true, base: 'main' });
      await deploy([n], new Date(Date.now() - HOUR));
      expect(await status(first.id)).toBe('in_production');
    });

    it('leaves an absorbed issue whose fix is in production apart, still watched; the event is filed', async () => {
      const { first, second, third } = await twoVariants();
      const n = ++prNumber;
      await pr(second, { number: n, action: 'closed', merged: true, base: 'main' });
      await deploy([n], new Date(Date.now() - HOUR));
      expect(await status(second.id)).toBe('in_production');
      const total = async () =>
        (
          (await t.dataSource.query(`SELECT sum(event_count)::int AS n FROM issues WHERE id = ANY($1::uuid[])`, [
            [first.id, second.id],
          ])) as { n: number }[]
        )[0]!.n;
      const before = await total();
      await third();
      expect(await mergedInto(second.id)).toBeNull();
      expect([await status(first.id), await status(second.id)]).toEqual(['triage', 'in_production']);
      expect(await total()).toBe(before + 1);
      expect((await windowsOf(t.dataSource, second.id))[0]).toMatchObject({ state: 'watching' });
    });
  });
});

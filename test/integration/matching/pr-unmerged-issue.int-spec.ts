import { EventEmitter2 } from '@nestjs/event-emitter';
import { SpawnGateService } from '../../../src/modules/spawn/spawn-gate.service';
import { VerificationService } from '../../../src/modules/verification/verification.service';
import { FixDeployed, FixFailed, IssueStatusChanged } from '../../../src/shared/events/event-catalogue';
import { untilRow } from '../../fixtures/ingest-service/ingest-test-helpers';
import { adminAuth, testDbKind, useTestApp } from '../../support/test-app';
import { deliver, prPayload } from '../github/webhook-support';
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
 * Undoing the merge of an issue whose fix is under way: the reopened issue takes the status its
 * own PR justifies at the undo, whatever stage that PR is in, and the PR's later events and deploy
 * move it (verification then watches it); the survivor gives up a status only that PR justified.
 * Everything goes through the HTTP API: errors, signed GitHub webhooks, merge, undo, deploys.
 */
describe('Undoing the merge of an issue whose PR carries a fix', () => {
  const t = useTestApp(FIX_FLOW_ENV);
  let verification: VerificationService;
  let prNumber = 1900;
  const changes: IssueStatusChanged[] = [];
  const deployedEvents: FixDeployed[] = [];
  const failedEvents: FixFailed[] = [];

  beforeAll(() => {
    verification = t.app.get(VerificationService);
    const emitter = t.app.get(EventEmitter2);
    emitter.on('issue.status_changed', (e: IssueStatusChanged) => void changes.push(e));
    emitter.on('fix.deployed', (e: FixDeployed) => void deployedEvents.push(e));
    emitter.on('fix.failed', (e: FixFailed) => void failedEvents.push(e));
  });

  const { sendError, bug, pr, deploy, untilWindowFails } = fixFlow(t);

  /** The two issues of most scenarios: A (merged away, then unmerged) and B (the survivor). */
  const bugs = async (): Promise<[Bug, Bug]> => [await bug('cart'), await bug('checkout')];

  const status = async (id: string): Promise<string> => (await issueRow(t.dataSource, id)).status;
  const statusHistory = async (id: string) =>
    (await t.dataSource.query(
      `SELECT actor, from_value, to_value, reason FROM issue_history WHERE issue_id = $1 AND field = 'status' ORDER BY id`,
      [id],
    )) as { actor: string; from_value: string | null; to_value: string | null; reason: string }[];
  const fingerprintsOf = async (id: string): Promise<string[]> =>
    (
      (await t.dataSource.query(
        `SELECT external_id FROM external_issue_links WHERE issue_id = $1 AND link_kind <> 'external'`,
        [id],
      )) as { external_id: string }[]
    ).map((r) => r.external_id);
  const merge = (from: Bug, into: Bug) =>
    t.http.post(`/api/issues/${from.identifier}/merge`).set(adminAuth).send({ into: into.identifier }).expect(200);
  const unmerge = (b: Bug) =>
    t.http.post(`/api/issues/${b.identifier}/unmerge`).set(adminAuth).send({ reason: 'not the same bug' }).expect(200);
  const ref = (n: number) => `Codertocat/Hello-World#${n}`;
  /** Opens a new PR naming the bug; its number. */
  const openPr = async (b: Bug, overrides: Parameters<typeof prPayload>[0] = {}): Promise<number> => {
    const n = ++prNumber;
    await pr(b, { number: n, ...overrides });
    return n;
  };
  const mergePr = (b: Bug, n: number, base: 'main' | 'staging') =>
    pr(b, { number: n, action: 'closed', merged: true, base });
  /**
   * Bug A's error recurs 30 minutes after the deploy from the fix build, and the checks run until
   * the window of `watcher` (the issue whose window watches A's fingerprints) has failed it.
   */
  async function recurUntilFailed(a: Bug, deployedAt: Date, watcher: Bug = a): Promise<void> {
    await sendError(a.source, a.message, after(deployedAt, 30 * MINUTE), '1.4.2');
    await untilWindowFails(watcher.id, `the window of ${watcher.identifier} to fail`);
  }
  /** The history entries of an issue about a failed fix's escalation moved by an undo. */
  const handOvers = async (id: string) =>
    (await t.dataSource.query(
      `SELECT actor, from_value, to_value, reason, data FROM issue_history
        WHERE issue_id = $1 AND field = 'verification' AND (data ? 'movedTo' OR data ? 'movedFrom') ORDER BY id`,
      [id],
    )) as { actor: string; from_value: string | null; to_value: string; reason: string; data: unknown }[];
  const spawnRequestsOf = async (id: string) =>
    (await t.dataSource.query(`SELECT id FROM spawn_requests WHERE issue_id = $1`, [id])) as unknown[];
  /** A's fix, merged into main while A is merged into B, ships at `deployedAt`: B is in production for it. */
  async function shipThroughSurvivor(a: Bug, b: Bug, deployedAt: Date): Promise<void> {
    const n = await openPr(a);
    await merge(a, b);
    await mergePr(a, n, 'main');
    await deploy([n], deployedAt);
  }
  const failedOf = (...issues: Bug[]) =>
    failedEvents.filter((f) => issues.some((i) => i.id === f.issueId)).map((f) => f.issueId);

  it('PR merged before the undo, deployed after it: the reopened issue waits for the deploy, reaches production and is watched; the survivor returns to triage', async () => {
    const [a, b] = await bugs();
    const n = await openPr(a);
    await merge(a, b);
    await mergePr(a, n, 'main');
    expect(await status(b.id)).toBe('in_review');

    await unmerge(a);
    expect(await status(a.id)).toBe('in_review');
    expect((await statusHistory(a.id)).slice(-2)).toEqual([
      expect.objectContaining({ actor: 'admin', from_value: 'closed', to_value: 'triage' }),
      {
        actor: 'admin',
        from_value: 'triage',
        to_value: 'in_review',
        reason: `PR ${ref(n)} was merged into main, waiting for a production deploy: this issue's own fix (unmerged from ${b.identifier})`,
      },
    ]);
    // Only A's PR justified B's review: B is a bug without a fix again.
    expect(await status(b.id)).toBe('triage');
    expect((await statusHistory(b.id)).at(-1)).toEqual({
      actor: 'admin',
      from_value: 'in_review',
      to_value: 'triage',
      reason: `${a.identifier} was unmerged from this issue: its PR ${ref(n)} no longer carries this issue's fix`,
    });
    expect(changes.filter((c) => c.issueId === a.id).map((c) => [c.from, c.to])).toEqual([
      ['triage', 'in_review'],
      ['in_review', 'closed'],
      ['closed', 'triage'],
      ['triage', 'in_review'],
    ]);

    const deployedAt = new Date(Date.now() - HOUR);
    const dep = await deploy([n], deployedAt);
    expect(dep.body.deployedIssues).toEqual([expect.objectContaining({ identifier: a.identifier, moved: true })]);
    expect(await status(a.id)).toBe('in_production');
    expect(await status(b.id)).toBe('triage');

    // fix.deployed opened A's window (no sweep run), watching A's fingerprints and not B's.
    const [w] = await windowsOf(t.dataSource, a.id);
    expect(w).toMatchObject({ state: 'watching', deployed_version: '1.4.2' });
    expect(new Date(w!.deployed_at).toISOString()).toBe(deployedAt.toISOString());
    const fingerprints = (w as unknown as { fingerprints: string[] }).fingerprints;
    expect(fingerprints).toEqual(expect.arrayContaining(await fingerprintsOf(a.id)));
    expect(fingerprints).not.toEqual(expect.arrayContaining(await fingerprintsOf(b.id)));
    expect(await windowsOf(t.dataSource, b.id)).toEqual([]);

    // A recurrence of A's error from the fix build fails A's fix.
    await recurUntilFailed(a, deployedAt);
    expect((await windowsOf(t.dataSource, a.id))[0]!.state).toBe('failed');
    expect(await status(b.id)).toBe('triage');
  });

  it('PR merged into staging before the undo: the reopened issue is in staging, and the deploy moves it', async () => {
    const [a, b] = await bugs();
    const n = await openPr(a);
    await merge(a, b);
    await mergePr(a, n, 'staging');
    expect(await status(b.id)).toBe('in_staging');

    await unmerge(a);
    expect(await status(a.id)).toBe('in_staging');
    expect(await status(b.id)).toBe('triage');

    await deploy([n], new Date(Date.now() - HOUR));
    expect(await status(a.id)).toBe('in_production');
    expect((await windowsOf(t.dataSource, a.id))[0]).toMatchObject({ state: 'watching' });
  });

  it('PR open at the undo, merged after it: the reopened issue is in review, then in staging; the survivor stays in triage', async () => {
    const [a, b] = await bugs();
    const n = await openPr(a);
    await merge(a, b);
    expect(await status(b.id)).toBe('in_review');

    await unmerge(a);
    expect(await status(a.id)).toBe('in_review');
    expect((await statusHistory(a.id)).at(-1)!.reason).toBe(
      `PR ${ref(n)} is open: this issue's own fix (unmerged from ${b.identifier})`,
    );
    expect(await status(b.id)).toBe('triage');
    const links = (await t.dataSource.query(`SELECT issue_id FROM issue_prs WHERE pr_number = $1`, [n])) as {
      issue_id: string;
    }[];
    expect(links).toEqual([{ issue_id: a.id }]);

    await mergePr(a, n, 'staging');
    expect(await status(a.id)).toBe('in_staging');
    expect(await status(b.id)).toBe('triage');
  });

  it('a PR edited while its issue is merged away is not linked to the survivor as well: at the undo the survivor gives up the review', async () => {
    const [a, b] = await bugs();
    const n = await openPr(a);
    await merge(a, b);
    const edited = new Date();
    // The agent edits its PR's description: step 1 re-reads the identifier, which resolves to B now.
    await pr(a, { number: n, action: 'edited', body: `Retries the gateway once. Fixes ${a.identifier}.` });
    expect(await t.dataSource.query(`SELECT issue_id FROM issue_prs WHERE pr_number = $1`, [n])).toEqual([
      { issue_id: a.id },
    ]);
    // and the match run's record of what it linked does not name B either
    expect(
      await t.dataSource.query(
        `SELECT outcome, linked_issue_ids FROM pr_match_runs
          WHERE pr_number = $1 AND trigger = 'pull_request.edited' AND created_at >= $2`,
        [n, edited],
      ),
    ).toEqual([{ outcome: 'linked', linked_issue_ids: [] }]);

    await unmerge(a);
    expect([await status(a.id), await status(b.id)]).toEqual(['in_review', 'triage']);
    await mergePr(a, n, 'staging');
    expect([await status(a.id), await status(b.id)]).toEqual(['in_staging', 'triage']);
  });

  it('PR deployed and under verification at the undo: the reopened issue is in production with its own window from that deploy; the survivor leaves production and its window is cancelled', async () => {
    const [a, b] = await bugs();
    const n = await openPr(a);
    await merge(a, b);
    await mergePr(a, n, 'staging');
    const deployedAt = new Date(Date.now() - HOUR);
    await deploy([n], deployedAt);
    expect(await status(b.id)).toBe('in_production');
    expect((await windowsOf(t.dataSource, b.id))[0]).toMatchObject({ state: 'watching' });
    deployedEvents.length = 0;

    await unmerge(a);
    expect(await status(a.id)).toBe('in_production');
    expect((await statusHistory(a.id)).slice(-3).map((h) => [h.from_value, h.to_value])).toEqual([
      ['closed', 'triage'],
      ['triage', 'in_staging'],
      ['in_staging', 'in_production'],
    ]);
    expect((await statusHistory(a.id)).at(-1)!.reason).toBe(
      `PR ${ref(n)} reached production on ${deployedAt.toISOString()} and is under verification: this issue's own fix (unmerged from ${b.identifier})`,
    );
    expect(deployedEvents.map((e) => e.issueId)).toEqual([a.id]);
    const [w] = await windowsOf(t.dataSource, a.id);
    expect(w).toMatchObject({ state: 'watching', deployed_version: '1.4.2' });
    expect(new Date(w!.deployed_at).toISOString()).toBe(deployedAt.toISOString());

    expect(await status(b.id)).toBe('triage');
    await verification.runDueChecks();
    expect((await windowsOf(t.dataSource, b.id))[0]).toMatchObject({ state: 'cancelled' });
    expect((await windowsOf(t.dataSource, a.id))[0]).toMatchObject({ state: 'watching' });

    // A's error after the deploy fails A's fix; B is not touched.
    await recurUntilFailed(a, deployedAt);
    expect(await issueRow(t.dataSource, a.id)).toMatchObject({ labels: expect.arrayContaining(['fix-failed']) });
    expect(await issueRow(t.dataSource, b.id)).toMatchObject({ status: 'triage', labels: [] });
  });

  it('a deploy whose fix verification already failed on the survivor is not judged again: the reopened issue restarts at triage, one fix.failed for one recurrence', async () => {
    const [a, b] = await bugs();
    const firstDeploy = new Date(Date.now() - 5 * HOUR);
    await shipThroughSurvivor(a, b, firstDeploy);
    expect(await status(b.id)).toBe('in_production');
    // A's error recurs from the fix build: the survivor's window fails (label, P4 -> P3, fix.failed).
    await recurUntilFailed(a, firstDeploy, b);
    expect(failedOf(a, b)).toEqual([b.id]);
    // B's own fix ships later and is under verification when the merge is undone.
    const nb = await openPr(b);
    await mergePr(b, nb, 'main');
    await deploy([nb], new Date(Date.now() - HOUR));
    expect(await status(b.id)).toBe('in_production');

    await unmerge(a);
    // A's PR was judged (it failed on B's window): A does not go back to production for it.
    expect(await status(a.id)).toBe('triage');
    expect(await windowsOf(t.dataSource, a.id)).toEqual([]);
    expect(await status(b.id)).toBe('in_production');
    await verification.runDueChecks();
    expect(await status(a.id)).toBe('triage');
    expect(failedOf(a, b)).toEqual([b.id]);
    // The escalation of that failure follows A's error (below): A has it now, B is back at P4.
    expect(await issueRow(t.dataSource, a.id)).toMatchObject({ priority: 3, labels: ['fix-failed'] });
    expect(await issueRow(t.dataSource, b.id)).toMatchObject({ priority: 4, labels: [] });
  });

  it('a survivor whose window failed on the reopened issue’s error hands over the fix-failed label and the priority step; a history entry on both names the window; no second fix.failed or investigation', async () => {
    const [a, b] = await bugs();
    const deployedAt = new Date(Date.now() - HOUR);
    await shipThroughSurvivor(a, b, deployedAt);
    await recurUntilFailed(a, deployedAt, b);
    expect(await issueRow(t.dataSource, b.id)).toEqual({ status: 'triage', priority: 3, labels: ['fix-failed'] });
    const [w] = await windowsOf(t.dataSource, b.id);

    await unmerge(a);
    expect(w!.recurrence_evidence).toMatchObject({ fingerprint: (await fingerprintsOf(a.id))[0] });
    expect(await issueRow(t.dataSource, a.id)).toEqual({ status: 'triage', priority: 3, labels: ['fix-failed'] });
    expect(await issueRow(t.dataSource, b.id)).toEqual({ status: 'triage', priority: 4, labels: [] });
    expect(await handOvers(b.id)).toEqual([
      {
        actor: 'admin',
        from_value: 'failed',
        to_value: 'failed',
        reason: `window ${w!.id} failed on a recurrence of ${a.identifier}'s error, unmerged from this issue: its fix-failed label and priority step move to ${a.identifier}; priority back to P4`,
        data: expect.objectContaining({ windowId: w!.id, movedTo: a.identifier, priorityRestored: 'P4' }),
      },
    ]);
    expect(await handOvers(a.id)).toEqual([
      expect.objectContaining({
        actor: 'admin',
        from_value: null,
        to_value: 'failed',
        data: expect.objectContaining({ windowId: w!.id, movedFrom: b.identifier, priority: 'P3' }),
      }),
    ]);
    // Reported and investigated once, on B: nothing new for A.
    await t.app.get(SpawnGateService).sweepFailedFixes();
    expect(failedOf(a, b)).toEqual([b.id]);
    expect(await spawnRequestsOf(a.id)).toEqual([]);

    // Merged and undone again: the escalation moved once.
    await merge(a, b);
    await unmerge(a);
    expect(await issueRow(t.dataSource, a.id)).toMatchObject({ priority: 3, labels: ['fix-failed'] });
    expect(await issueRow(t.dataSource, b.id)).toMatchObject({ priority: 4, labels: [] });
    expect(await handOvers(b.id)).toHaveLength(1);
  });

  /** A's fix shipped twice through B, and B's window failed on A's error both times: B at P2. */
  async function failedTwiceThroughSurvivor(): Promise<{ a: Bug; b: Bug; windows: string[] }> {
    const [a, b] = await bugs();
    const firstDeploy = new Date(Date.now() - 5 * HOUR);
    await shipThroughSurvivor(a, b, firstDeploy);
    await recurUntilFailed(a, firstDeploy, b);
    // A second fix for A, opened while A is merged: it names A and moves B.
    const second = await openPr(a);
    await mergePr(a, second, 'main');
    const secondDeploy = new Date(Date.now() - HOUR);
    await deploy([second], secondDeploy);
    expect(await status(b.id)).toBe('in_production');
    await recurUntilFailed(a, secondDeploy, b);
    expect(await issueRow(t.dataSource, b.id)).toEqual({ status: 'triage', priority: 2, labels: ['fix-failed'] });
    const windows = (await windowsOf(t.dataSource, b.id)).map((w) => w.id);
    expect(windows).toHaveLength(2);
    return { a, b, windows };
  }
  const windowIdsOf = (entries: { data: unknown }[]) => entries.map((h) => (h.data as { windowId: string }).windowId);

  it.each([
    ['as recorded', false],
    // Entries written before they named their window are found by the window's decision reason.
    ['from entries that do not name their window', true],
  ])(
    'two failures on the reopened issue’s error move two priority steps and the label; the survivor’s priority goes back over both (%s)',
    async (_case, withoutWindowIds) => {
      const { a, b, windows } = await failedTwiceThroughSurvivor();
      if (withoutWindowIds) {
        // issue_history is append-only (a trigger); rows as an older release wrote them are made
        // with the triggers off for this one transaction.
        await t.dataSource.transaction(async (m) => {
          await m.query(`SET LOCAL session_replication_role = replica`);
          await m.query(
            `UPDATE issue_history SET data = NULL
              WHERE issue_id = $1 AND actor = 'system:verification' AND field IN ('labels', 'priority')`,
            [b.id],
          );
        });
      }

      await unmerge(a);
      expect(await issueRow(t.dataSource, a.id)).toEqual({ status: 'triage', priority: 2, labels: ['fix-failed'] });
      expect(await issueRow(t.dataSource, b.id)).toEqual({ status: 'triage', priority: 4, labels: [] });
      const fromB = await handOvers(b.id);
      expect(windowIdsOf(fromB)).toEqual(windows);
      expect(fromB.every((h) => h.reason.endsWith('; priority back to P4'))).toBe(true);
      expect(windowIdsOf(await handOvers(a.id))).toEqual(windows);
      expect(failedOf(a, b)).toEqual([b.id, b.id]);
    },
  );

  it('a survivor whose priority a person changed after the failure keeps it; the label and the step still go to the reopened issue', async () => {
    const [a, b] = await bugs();
    const deployedAt = new Date(Date.now() - HOUR);
    await shipThroughSurvivor(a, b, deployedAt);
    await recurUntilFailed(a, deployedAt, b);
    await t.http.patch(`/api/issues/${b.identifier}`).set(adminAuth).send({ priority: 'P2' }).expect(200);

    await unmerge(a);
    expect(await issueRow(t.dataSource, a.id)).toMatchObject({ priority: 3, labels: ['fix-failed'] });
    expect(await issueRow(t.dataSource, b.id)).toMatchObject({ priority: 2, labels: [] });
    expect((await handOvers(b.id))[0]!.reason).toMatch(/; priority kept \(changed since the failure\)$/);
  });

  it('a failure on the survivor’s own error stays with the survivor (label kept); only the one on the reopened issue’s error moves', async () => {
    const [a, b] = await bugs();
    const nb = await openPr(b);
    await mergePr(b, nb, 'main');
    const firstDeploy = new Date(Date.now() - 5 * HOUR);
    await deploy([nb], firstDeploy);
    await recurUntilFailed(b, firstDeploy);
    expect(await issueRow(t.dataSource, b.id)).toMatchObject({ priority: 3, labels: ['fix-failed'] });

    const secondDeploy = new Date(Date.now() - HOUR);
    await shipThroughSurvivor(a, b, secondDeploy);
    expect(await status(b.id)).toBe('in_production');
    await recurUntilFailed(a, secondDeploy, b);
    expect(await issueRow(t.dataSource, b.id)).toMatchObject({ priority: 2, labels: ['fix-failed'] });
    const [own, onA] = await windowsOf(t.dataSource, b.id);

    await unmerge(a);
    expect(await issueRow(t.dataSource, a.id)).toMatchObject({ priority: 3, labels: ['fix-failed'] });
    expect(await issueRow(t.dataSource, b.id)).toMatchObject({ priority: 3, labels: ['fix-failed'] });
    const moved = (await handOvers(b.id)).map((h) => (h.data as { windowId: string }).windowId);
    expect(moved).toEqual([onA!.id]);
    expect(moved).not.toContain(own!.id);
  });

  it('a survivor whose own fix shipped in the same deploy stays in production, and its window stops watching the fingerprints given back', async () => {
    const [a, b] = await bugs();
    const na = await openPr(a);
    const nb = await openPr(b);
    await merge(a, b);
    await mergePr(a, na, 'main');
    await mergePr(b, nb, 'main');
    const deployedAt = new Date(Date.now() - HOUR);
    await deploy([na, nb], deployedAt);
    expect(await status(b.id)).toBe('in_production');
    const [before] = await windowsOf(t.dataSource, b.id);

    await unmerge(a);
    expect([await status(a.id), await status(b.id)]).toEqual(['in_production', 'in_production']);
    const fingerprintsOfA = await fingerprintsOf(a.id);
    expect(fingerprintsOfA).toHaveLength(1);
    expect((before as unknown as { fingerprints: string[] }).fingerprints).toEqual(
      expect.arrayContaining(fingerprintsOfA),
    );
    expect((await windowsOf(t.dataSource, a.id))[0]).toMatchObject({ state: 'watching' });

    // A's error after the deploy fails A's fix only: B's window no longer watches A's fingerprints.
    await recurUntilFailed(a, deployedAt);
    const [w] = await windowsOf(t.dataSource, b.id);
    expect(w).toMatchObject({ state: 'watching' });
    expect((w as unknown as { fingerprints: string[] }).fingerprints).not.toEqual(
      expect.arrayContaining(fingerprintsOfA),
    );
    expect(await status(b.id)).toBe('in_production');
    const note = (await t.dataSource.query(
      `SELECT reason FROM issue_history WHERE issue_id = $1 AND field = 'verification' AND to_value = 'watching' AND from_value = 'watching'`,
      [b.id],
    )) as { reason: string }[];
    expect(note).toEqual([
      { reason: `no longer watching 1 fingerprint(s) of ${a.identifier}, unmerged from this issue` },
    ]);
  });

  it('a fix verification has decided moves nothing at the undo: the reopened issue follows only its PR still open; the survivor stays verified', async () => {
    const [a, b] = await bugs();
    const n = await openPr(a);
    const followUp = await openPr(a, { title: `${a.identifier}: log the gateway's answer` });
    await merge(a, b);
    await mergePr(a, n, 'main');
    await deploy([n], new Date(Date.now() - 60 * HOUR));
    await verification.runDueChecks();
    expect(await status(b.id)).toBe('verified');

    await unmerge(a);
    expect(await status(a.id)).toBe('in_review');
    expect((await statusHistory(a.id)).at(-1)!.reason).toBe(
      `PR ${ref(followUp)} is open: this issue's own fix (unmerged from ${b.identifier})`,
    );
    expect(await windowsOf(t.dataSource, a.id)).toEqual([]);
    expect(await status(b.id)).toBe('verified');
  });

  it('the survivor keeps what its own PR justifies: from in_staging back to in_review for its own open PR', async () => {
    const [a, b] = await bugs();
    const na = await openPr(a);
    const nb = await openPr(b);
    await merge(a, b);
    await mergePr(a, na, 'staging');
    expect(await status(b.id)).toBe('in_staging');

    await unmerge(a);
    expect(await status(a.id)).toBe('in_staging');
    expect(await status(b.id)).toBe('in_review');
    expect((await statusHistory(b.id)).at(-1)!.reason).toBe(
      `${a.identifier} was unmerged from this issue: its PR ${ref(na)} no longer carries this issue's fix; PR ${ref(nb)} is open`,
    );
  });

  it('the survivor keeps a status its own PR justifies as well', async () => {
    const [a, b] = await bugs();
    await openPr(a);
    await openPr(b);
    await merge(a, b);
    await unmerge(a);
    expect([await status(a.id), await status(b.id)]).toEqual(['in_review', 'in_review']);
    expect((await statusHistory(b.id)).filter((h) => h.reason.includes('unmerged'))).toEqual([]);
  });

  it('the survivor goes back to needs_human when a person had been asked for before it took up the fix', async () => {
    const [a, b] = await bugs();
    await t.http.patch(`/api/issues/${b.identifier}`).set(adminAuth).send({ status: 'needs_human' }).expect(200);
    await openPr(a);
    await merge(a, b);
    expect(await status(b.id)).toBe('in_review');
    await unmerge(a);
    expect(await status(b.id)).toBe('needs_human');
  });

  it('along a chain: the reopened issue takes its fix back from the live end, which returns to triage', async () => {
    const [a, b] = await bugs();
    const c = await bug('billing');
    const n = await openPr(a);
    await merge(a, b);
    await merge(b, c);
    expect(await status(c.id)).toBe('in_review');

    await unmerge(a);
    expect(await status(a.id)).toBe('in_review');
    expect(await status(b.id)).toBe('closed');
    expect(await status(c.id)).toBe('triage');
    await mergePr(a, n, 'staging');
    expect([await status(a.id), await status(c.id)]).toEqual(['in_staging', 'triage']);
  });

  it('an issue still merged into the reopened one brings its PR along', async () => {
    const [a, b] = await bugs();
    const c = await bug('billing');
    const n = await openPr(c);
    await merge(c, a);
    await merge(a, b);
    expect(await status(b.id)).toBe('in_review');

    await unmerge(a);
    expect(await status(a.id)).toBe('in_review');
    expect((await statusHistory(a.id)).at(-1)!.reason).toBe(
      `PR ${ref(n)} is open (linked to ${c.identifier}): this issue's own fix (unmerged from ${b.identifier})`,
    );
    expect(await status(b.id)).toBe('triage');
  });
  if (testDbKind() === 'postgres') {
    /**
     * A's undo, held at a row another connection locks (`holdSql` with `$1` = `holdId`) until
     * `during` has set up what must meet it; `during` returns what is then in flight, awaited after
     * the undo is let go. Returns the undo's status and that result.
     */
    async function whileUndoHeld<T>(
      a: Bug,
      holdSql: string,
      holdId: string,
      during: () => Promise<{ pending: Promise<T> }>,
    ): Promise<[number, T]> {
      const qr = t.dataSource.createQueryRunner();
      await qr.connect();
      await qr.startTransaction();
      try {
        await qr.query(holdSql, [holdId]);
        const undoing = t.http
          .post(`/api/issues/${a.identifier}/unmerge`)
          .set(adminAuth)
          .send({ reason: 'not the same bug' })
          .then((r) => r.status);
        await untilRow(
          t.dataSource,
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        const { pending } = await during();
        await qr.commitTransaction();
        return [await undoing, await pending];
      } finally {
        if (qr.isTransactionActive) await qr.rollbackTransaction();
        await qr.release();
      }
    }

    it('a PR merged while the undo runs waits for the undo (it locked the PR links first) and then moves the reopened issue', async () => {
      const [a, b] = await bugs();
      const n = await openPr(a);
      await merge(a, b);
      expect(await status(b.id)).toBe('in_review');

      // Another connection holds the survivor's row: the undo stops at its first write to B,
      // after it has locked A's PR links (and before it has committed anything).
      const statuses = await whileUndoHeld(a, `SELECT 1 FROM issues WHERE id = $1 FOR UPDATE`, b.id, async () => {
        const merging = deliver(
          t.http,
          'pull_request',
          prPayload({
            title: `Fix ${a.identifier}: retry the gateway`,
            number: n,
            action: 'closed',
            merged: true,
            base: 'staging',
          }),
        ).then((r) => r.status);
        // The PR event waits for the undo on A's PR link, not on an issue (it has read nothing yet).
        await untilRow(
          t.dataSource,
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
              AND query LIKE '%FROM issue_prs WHERE repo_owner%FOR UPDATE%'`,
        );
        return { pending: merging };
      });
      expect(statuses).toEqual([200, 200]);
      expect([await status(a.id), await status(b.id)]).toEqual(['in_staging', 'triage']);
      expect((await statusHistory(b.id)).map((h) => h.to_value)).not.toContain('in_staging');
    });

    it('a window check that meets an undo in progress waits for it (shared scope locks), then stops watching what was given back; the failure follows the error to the reopened issue', async () => {
      const [a, b] = await bugs();
      const deployedAt = new Date(Date.now() - HOUR);
      await shipThroughSurvivor(a, b, deployedAt);
      const [w] = await windowsOf(t.dataSource, b.id);
      expect(w!.state).toBe('watching');

      // Another connection holds A's merge row: the undo stops there, holding its scope locks and
      // having moved nothing yet (ingest does not touch merge rows).
      const holdMerge = `SELECT 1 FROM issue_merges WHERE merged_issue_id = $1 AND undone_at IS NULL FOR UPDATE`;
      const [undone] = await whileUndoHeld(a, holdMerge, a.id, async () => {
        // A's error recurs from the fix build: counted on B (A is still merged there), and B's
        // window is checked at once (error.received). The check waits for the undo.
        const checking = verification.checkWindow(w!.id, new Date(), { withLoki: false });
        await sendError(a.source, a.message, after(deployedAt, 30 * MINUTE), '1.4.2');
        await untilRow(
          t.dataSource,
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
              AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
        );
        expect((await windowsOf(t.dataSource, b.id))[0]!.state).toBe('watching');
        return { pending: checking };
      });
      expect(undone).toBe(200);
      // B's window judged nothing of A's error: B was in production only for A's fix, so it is
      // cancelled. A took its deploy back and its own window fails on the recurrence.
      await untilWindowFails(a.id, `the window of ${a.identifier} to fail`);
      expect((await windowsOf(t.dataSource, b.id)).map((x) => x.state)).toEqual(['cancelled']);
      expect(await issueRow(t.dataSource, a.id)).toEqual({ status: 'triage', priority: 3, labels: ['fix-failed'] });
      expect(await issueRow(t.dataSource, b.id)).toEqual({ status: 'triage', priority: 4, labels: [] });
      expect(failedOf(a, b)).toEqual([a.id]);
      expect(await handOvers(b.id)).toEqual([]);
    });
  }
});

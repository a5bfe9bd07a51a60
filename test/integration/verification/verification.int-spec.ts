import { EventEmitter2 } from '@nestjs/event-emitter';
import { VerificationService } from '../../../src/modules/verification/verification.service';
import { DomainEventBus } from '../../../src/shared/events/domain-event-bus';
import { ErrorReceived, FixDeployed, FixFailed, FixVerified } from '../../../src/shared/events/event-catalogue';
import { useTestApp } from '../../support/test-app';
import {
  HOUR,
  MINUTE,
  addLink,
  after,
  deployed,
  historyOf,
  insertEvent,
  issueRow,
  outboxFor,
  seedShippedIssue,
  windowsOf,
} from './verification-seed';
import { fingerprint, normalizeMessage } from '../../../src/modules/dedup/normalizer.contract';

describe('Fix verification (database path)', () => {
  const t = useTestApp({ FIX_VERIFICATION_HOURS: '48', VERIFICATION_GRACE_MINUTES: '10' });
  let bus: DomainEventBus;
  let verification: VerificationService;
  const failed: FixFailed[] = [];
  const verified: FixVerified[] = [];

  beforeAll(() => {
    bus = t.app.get(DomainEventBus);
    verification = t.app.get(VerificationService);
    const emitter = t.app.get(EventEmitter2);
    emitter.on('fix.failed', (e: FixFailed) => failed.push(e));
    emitter.on('fix.verified', (e: FixVerified) => verified.push(e));
  });

  it('opens one durable window per deploy with every fingerprint of the issue, aliases included', async () => {
    const s = await seedShippedIssue(t.dataSource);
    const aliasTemplate = normalizeMessage('Gateway timeout after 3000 ms for customer cus_abc');
    const aliasFp = fingerprint(s.source, s.feature, aliasTemplate);
    await addLink(t.dataSource, s.issueId, aliasFp, {
      source: s.source,
      feature: s.feature,
      template: aliasTemplate,
      kind: 'alias',
    });

    await bus.emit('fix.deployed', deployed(s));
    await bus.emit('fix.deployed', deployed(s));
    const [w, ...more] = await windowsOf(t.dataSource, s.issueId);
    expect(more).toHaveLength(0);
    expect(w).toMatchObject({
      state: 'watching',
      deployment_id: s.deploymentId,
      issue_pr_id: s.issuePrId,
      deployed_version: '1.4.2',
      deployed_sha: s.sha,
    });
    expect([...w.fingerprints].sort()).toEqual([s.fingerprint, aliasFp].sort());
    expect(new Date(w.ends_at).getTime() - new Date(w.deployed_at).getTime()).toBe(48 * HOUR);
    const opened = (await historyOf(t.dataSource, s.issueId)).filter((h) => h.field === 'verification');
    expect(opened).toMatchObject([{ from_value: null, to_value: 'watching' }]);

    // The same deploy again after the window was decided opens nothing.
    await verification.runDueChecks(after(s.deployedAt, 49 * HOUR));
    await bus.emit('fix.deployed', deployed(s));
    expect((await windowsOf(t.dataSource, s.issueId)).map((x) => x.state)).toEqual(['verified']);
  });

  it('(a) nothing recurs: watching until the window ends, then verified with history, outbox row and event', async () => {
    const s = await seedShippedIssue(t.dataSource);
    await bus.emit('fix.deployed', deployed(s));

    expect((await verification.runDueChecks(after(s.deployedAt, 24 * HOUR))).errors).toBe(0);
    expect((await windowsOf(t.dataSource, s.issueId))[0].state).toBe('watching');
    // Ended, but lines stamped just before the end may still be in flight: wait out the grace.
    await verification.runDueChecks(after(s.deployedAt, 48 * HOUR + 5 * MINUTE));
    expect((await windowsOf(t.dataSource, s.issueId))[0].state).toBe('watching');

    await verification.runDueChecks(after(s.deployedAt, 48 * HOUR + 11 * MINUTE));
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w.state).toBe('verified');
    expect(w.decision_reason).toMatch(/no recurrence/);
    expect(await issueRow(t.dataSource, s.issueId)).toMatchObject({ status: 'verified', priority: 3, labels: [] });
    const history = await historyOf(t.dataSource, s.issueId);
    expect(history).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'status', from_value: 'in_production', to_value: 'verified' }),
        expect.objectContaining({ field: 'verification', from_value: 'watching', to_value: 'verified' }),
      ]),
    );
    expect(await outboxFor(t.dataSource, 'fix.verified', s.issueId)).toMatchObject([
      { payload: { issueId: s.issueId, windowId: w.id, deploymentId: s.deploymentId, issuePrId: s.issuePrId } },
    ]);
    expect(verified.filter((e) => e.issueId === s.issueId)).toMatchObject([{ windowId: w.id }]);
  });

  it('(b) the error recurs from the new build: fix failed, reopened to triage, P3 -> P2, fix-failed, failed PR recorded', async () => {
    const s = await seedShippedIssue(t.dataSource, { priority: 3 });
    await bus.emit('fix.deployed', deployed(s));
    await insertEvent(t.dataSource, s, after(s.deployedAt, 2 * HOUR), {
      version: '1.4.2',
      count: 3,
      message: 'Payment 9 declined',
    });

    const summary = await verification.runDueChecks(after(s.deployedAt, 3 * HOUR));
    expect(summary.failed).toBeGreaterThanOrEqual(1);
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w.state).toBe('failed');
    expect(w.recurrence_count).toBe(3);
    expect(new Date(w.first_recurrence_at as Date).toISOString()).toBe(after(s.deployedAt, 2 * HOUR).toISOString());
    expect(w.recurrence_evidence).toMatchObject({
      via: 'error_events',
      version: '1.4.2',
      build: 'fix_build',
      message: 'Payment 9 declined',
      failedPr: { issuePrId: s.issuePrId, repo: 'acme/shop', prNumber: s.prNumber },
    });
    expect(await issueRow(t.dataSource, s.issueId)).toEqual({ status: 'triage', priority: 2, labels: ['fix-failed'] });
    const history = await historyOf(t.dataSource, s.issueId);
    expect(history).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'status', from_value: 'in_production', to_value: 'triage' }),
        expect.objectContaining({ field: 'priority', from_value: 'P3', to_value: 'P2' }),
        expect.objectContaining({ field: 'labels', to_value: 'fix-failed' }),
        expect.objectContaining({ field: 'verification', from_value: 'watching', to_value: 'failed' }),
      ]),
    );
    const status = history.find((h) => h.field === 'status' && h.to_value === 'triage');
    expect(status?.data).toMatchObject({ windowId: w.id, failedPr: { prNumber: s.prNumber } });
    // The PR stays merged; the window and the history say it failed.
    const [pr] = (await t.dataSource.query(`SELECT state FROM issue_prs WHERE id = $1`, [s.issuePrId])) as {
      state: string;
    }[];
    expect(pr.state).toBe('merged');
    expect(await outboxFor(t.dataSource, 'fix.failed', s.issueId)).toMatchObject([
      { payload: { windowId: w.id, priority: 2, previousPriority: 3, failedPr: { prNumber: s.prNumber } } },
    ]);
    expect(failed.filter((e) => e.issueId === s.issueId)).toMatchObject([{ windowId: w.id, priority: 2 }]);
  });

  it('(c) the error recurs only from an older build: recorded, still verified', async () => {
    const s = await seedShippedIssue(t.dataSource, { version: '1.4.2' });
    await bus.emit('fix.deployed', deployed(s));
    await insertEvent(t.dataSource, s, after(s.deployedAt, 1 * HOUR), { version: '1.4.1', count: 5 });
    await insertEvent(t.dataSource, s, after(s.deployedAt, 30 * HOUR), { version: '0123456789abcdef', count: 2 });

    await verification.runDueChecks(after(s.deployedAt, 2 * HOUR));
    expect((await windowsOf(t.dataSource, s.issueId))[0]).toMatchObject({ state: 'watching', old_build_count: 5 });
    await verification.runDueChecks(after(s.deployedAt, 49 * HOUR));
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w).toMatchObject({ state: 'verified', old_build_count: 7, recurrence_count: 0 });
    expect(w.decision_reason).toMatch(/7 from older builds/);
    expect((await issueRow(t.dataSource, s.issueId)).status).toBe('verified');
  });

  it('counts a later build and a build of a later deployment, and escalates P1 no further', async () => {
    const s = await seedShippedIssue(t.dataSource, { priority: 1, version: '1.4.2' });
    await bus.emit('fix.deployed', deployed(s));
    await insertEvent(t.dataSource, s, after(s.deployedAt, 1 * HOUR), { version: '1.5.0' });
    await verification.runDueChecks(after(s.deployedAt, 2 * HOUR));
    expect(await issueRow(t.dataSource, s.issueId)).toEqual({ status: 'triage', priority: 1, labels: ['fix-failed'] });

    const s2 = await seedShippedIssue(t.dataSource, { version: 'release-a' });
    await bus.emit('fix.deployed', deployed(s2));
    await t.dataSource.query(
      `INSERT INTO deployments (source, external_id, environment, sha, version, deployed_at)
       VALUES ('api', $1, 'production', 'feedbeef1234567', 'release-b', $2)`,
      [`later-${s2.issueId}`, after(s2.deployedAt, HOUR)],
    );
    await insertEvent(t.dataSource, s2, after(s2.deployedAt, 2 * HOUR), { version: 'release-b' });
    await verification.runDueChecks(after(s2.deployedAt, 3 * HOUR));
    expect((await windowsOf(t.dataSource, s2.issueId))[0].state).toBe('failed');
  });

  it('judges by the line timestamp: a line stamped within the grace period after the deploy does not count', async () => {
    const s = await seedShippedIssue(t.dataSource);
    await bus.emit('fix.deployed', deployed(s));
    await insertEvent(t.dataSource, s, after(s.deployedAt, -30 * MINUTE));
    await insertEvent(t.dataSource, s, after(s.deployedAt, 9 * MINUTE));
    await verification.runDueChecks(after(s.deployedAt, 49 * HOUR));
    expect((await windowsOf(t.dataSource, s.issueId))[0].state).toBe('verified');
  });

  it('fails on an alias fingerprint of the issue', async () => {
    const s = await seedShippedIssue(t.dataSource);
    const aliasTemplate = normalizeMessage(`Card 4 declined ${s.issueId.slice(0, 6)}`);
    const aliasFp = fingerprint(s.source, 'checkout', aliasTemplate);
    const aliasLink = await addLink(t.dataSource, s.issueId, aliasFp, {
      source: s.source,
      feature: 'checkout',
      template: aliasTemplate,
      kind: 'alias',
    });
    await bus.emit('fix.deployed', deployed(s));
    await insertEvent(
      t.dataSource,
      { issueId: s.issueId, linkId: aliasLink, fingerprint: aliasFp },
      after(s.deployedAt, HOUR),
    );
    await verification.runDueChecks(after(s.deployedAt, 2 * HOUR));
    expect((await windowsOf(t.dataSource, s.issueId))[0].state).toBe('failed');
  });

  it('error.received fails the fix at once (fast path), from the stored row or from the event alone', async () => {
    const s = await seedShippedIssue(t.dataSource, { deployedAt: new Date(Date.now() - 2 * HOUR) });
    await bus.emit('fix.deployed', deployed(s));
    const at = new Date(Date.now() - 60_000);
    await insertEvent(t.dataSource, s, at, { version: '1.4.2' });
    await bus.emit('error.received', new ErrorReceived(s.issueId, s.fingerprint, 10, at, 1, '1.4.2'));
    expect((await windowsOf(t.dataSource, s.issueId))[0].state).toBe('failed');

    const s2 = await seedShippedIssue(t.dataSource, { deployedAt: new Date(Date.now() - 2 * HOUR) });
    await bus.emit('fix.deployed', deployed(s2));
    await bus.emit('error.received', new ErrorReceived(s2.issueId, s2.fingerprint, 10, at, 2));
    const [w2] = await windowsOf(t.dataSource, s2.issueId);
    expect(w2).toMatchObject({ state: 'failed', recurrence_count: 2 });
    expect(w2.recurrence_evidence).toMatchObject({ via: 'error.received', build: 'unlabelled' });

    // An old build's event through the fast path does not fail the fix.
    const s3 = await seedShippedIssue(t.dataSource, { deployedAt: new Date(Date.now() - 2 * HOUR) });
    await bus.emit('fix.deployed', deployed(s3));
    await bus.emit('error.received', new ErrorReceived(s3.issueId, s3.fingerprint, 10, at, 1, '1.0.0'));
    expect((await windowsOf(t.dataSource, s3.issueId))[0].state).toBe('watching');
  });

  it('error.received takes the issue as counted: an event of an issue that was not in production checks nothing', async () => {
    const s = await seedShippedIssue(t.dataSource, { deployedAt: new Date(Date.now() - 2 * HOUR) });
    await bus.emit('fix.deployed', deployed(s));
    const at = new Date(Date.now() - 60_000);
    const counted = (status: string) =>
      new ErrorReceived(s.issueId, s.fingerprint, 10, at, 1, undefined, { status, spawnStatus: 'completed' });
    await bus.emit('error.received', counted('triage'));
    expect((await windowsOf(t.dataSource, s.issueId))[0].state).toBe('watching');
    await bus.emit('error.received', counted('in_production'));
    expect((await windowsOf(t.dataSource, s.issueId))[0].state).toBe('failed');
  });

  it('sweeps: an issue in production whose FixDeployed was lost gets a window for the deployment that listed its PR', async () => {
    const s = await seedShippedIssue(t.dataSource);
    const summary = await verification.runDueChecks(after(s.deployedAt, HOUR));
    expect(summary.opened).toBeGreaterThanOrEqual(1);
    const [w, ...more] = await windowsOf(t.dataSource, s.issueId);
    expect(more).toHaveLength(0);
    expect(w).toMatchObject({
      state: 'watching',
      deployment_id: s.deploymentId,
      issue_pr_id: s.issuePrId,
      deployed_sha: s.sha,
    });
    expect(new Date(w.deployed_at).toISOString()).toBe(s.deployedAt.toISOString());
    await verification.runDueChecks(after(s.deployedAt, 2 * HOUR));
    expect(await windowsOf(t.dataSource, s.issueId)).toHaveLength(1);
  });

  it('sweeps by the merge sha, by the deployment recorded on the PR, else from the status change', async () => {
    const s = await seedShippedIssue(t.dataSource, { listPr: false });
    await verification.runDueChecks(after(s.deployedAt, HOUR));
    expect((await windowsOf(t.dataSource, s.issueId))[0]).toMatchObject({ deployment_id: s.deploymentId });

    // Neither listed nor the merge sha (a compare API decided): the deployment lifecycle recorded on the PR.
    const r = await seedShippedIssue(t.dataSource, { listPr: false });
    await t.dataSource.query(`UPDATE deployments SET sha = 'fffffff0000000' WHERE id = $1`, [r.deploymentId]);
    await t.dataSource.query(`UPDATE issue_prs SET deployment_id = $2 WHERE id = $1`, [r.issuePrId, r.deploymentId]);
    await verification.runDueChecks(after(r.deployedAt, HOUR));
    expect((await windowsOf(t.dataSource, r.issueId))[0]).toMatchObject({ deployment_id: r.deploymentId });

    // No deployment found at all: the window starts when the issue entered in_production.
    const n = await seedShippedIssue(t.dataSource, { listPr: false });
    await t.dataSource.query(`UPDATE deployments SET sha = 'eeeeeee0000000' WHERE id = $1`, [n.deploymentId]);
    await verification.runDueChecks(after(n.deployedAt, HOUR));
    const [w] = await windowsOf(t.dataSource, n.issueId);
    expect(w).toMatchObject({ deployment_id: null, deployed_version: null, issue_pr_id: n.issuePrId });
    await verification.runDueChecks(after(n.deployedAt, 2 * HOUR));
    expect(await windowsOf(t.dataSource, n.issueId)).toHaveLength(1);
  });

  it('opens nothing for an issue not in production; the sweep opens it once the status lands', async () => {
    const s = await seedShippedIssue(t.dataSource);
    await t.dataSource.query(`UPDATE issues SET status = 'in_staging' WHERE id = $1`, [s.issueId]);
    await bus.emit('fix.deployed', deployed(s));
    expect(await windowsOf(t.dataSource, s.issueId)).toHaveLength(0);
    await t.dataSource.query(`UPDATE issues SET status = 'in_production' WHERE id = $1`, [s.issueId]);
    await verification.runDueChecks(after(s.deployedAt, HOUR));
    expect((await windowsOf(t.dataSource, s.issueId)).map((w) => w.deployment_id)).toEqual([s.deploymentId]);
  });

  it('a newer fix (another PR, another deployment) supersedes the watching window', async () => {
    const s = await seedShippedIssue(t.dataSource);
    await bus.emit('fix.deployed', deployed(s));
    const [pr] = (await t.dataSource.query(
      `INSERT INTO issue_prs (issue_id, repo_owner, repo_name, pr_number, title, state, merged_at, merge_commit_sha, match_method, attempt)
       VALUES ($1, 'acme', 'shop', 9000 + (random() * 999)::int, 'second fix', 'merged', now(), 'abcdef0123456', 'identifier', 2)
       RETURNING id`,
      [s.issueId],
    )) as { id: string }[];
    const [dep] = (await t.dataSource.query(
      `INSERT INTO deployments (source, external_id, environment, sha, version, deployed_at)
       VALUES ('api', $1, 'production', 'abcdef0123456', '1.4.3', $2) RETURNING id`,
      [`second-${s.issueId}`, after(s.deployedAt, HOUR)],
    )) as { id: string }[];
    await bus.emit(
      'fix.deployed',
      new FixDeployed(s.issueId, dep.id, after(s.deployedAt, HOUR), '1.4.3', 'abcdef0123456', pr.id),
    );
    const windows = await windowsOf(t.dataSource, s.issueId);
    expect(windows.map((w) => [w.state, w.deployment_id, w.issue_pr_id])).toEqual([
      ['cancelled', s.deploymentId, s.issuePrId],
      ['watching', dep.id, pr.id],
    ]);
    // A replay of the older fix's event does not undo the newer one.
    await bus.emit('fix.deployed', deployed(s));
    expect((await windowsOf(t.dataSource, s.issueId)).map((w) => w.state)).toEqual(['cancelled', 'watching']);
    // A later deploy of the same PR does not restart the window.
    await bus.emit(
      'fix.deployed',
      new FixDeployed(s.issueId, s.deploymentId, after(s.deployedAt, 2 * HOUR), '1.4.4', undefined, pr.id),
    );
    expect(
      (await windowsOf(t.dataSource, s.issueId)).filter((w) => w.state === 'watching').map((w) => w.deployment_id),
    ).toEqual([dep.id]);
  });

  it('cancels the window when a person moved the issue out of production', async () => {
    const s = await seedShippedIssue(t.dataSource);
    await bus.emit('fix.deployed', deployed(s));
    await t.dataSource.query(`UPDATE issues SET status = 'closed' WHERE id = $1`, [s.issueId]);
    await verification.runDueChecks(after(s.deployedAt, HOUR));
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w.state).toBe('cancelled');
    expect(w.decision_reason).toMatch(/closed/);

    // Back in production for the same deploy: watched again.
    await t.dataSource.query(`UPDATE issues SET status = 'in_production' WHERE id = $1`, [s.issueId]);
    await verification.runDueChecks(after(s.deployedAt, 2 * HOUR));
    expect((await windowsOf(t.dataSource, s.issueId)).map((x) => x.state)).toEqual(['cancelled', 'watching']);
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VerificationService } from '../../../src/modules/verification/verification.service';
import { DomainEventBus } from '../../../src/shared/events/domain-event-bus';
import { TestApp, startTestApp, testDbKind } from '../../support/test-app';
import { HOUR, after, deployed, insertEvent, issueRow, seedShippedIssue, windowsOf } from './verification-seed';

/** A window is a row: a restart between the deploy and the end of the window loses nothing. */
describe('Fix verification across a restart', () => {
  let dir: string | undefined;
  let t: TestApp | undefined;

  const start = (keepData: boolean): Promise<TestApp> =>
    testDbKind() === 'pglite' ? startTestApp({ DATA_DIR: dir }, { keepData }) : startTestApp({}, { keepData });

  beforeAll(() => {
    if (testDbKind() === 'pglite') dir = mkdtempSync(path.join(os.tmpdir(), 'fixloop-verification-'));
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('decides windows opened before the restart, and the sweep opens one whose event was lost', async () => {
    t = await start(false);
    const watched = await seedShippedIssue(t.dataSource);
    await t.app.get(DomainEventBus).emit('fix.deployed', deployed(watched));
    await insertEvent(t.dataSource, watched, after(watched.deployedAt, HOUR), { version: '1.4.2' });
    // Deployed, but the process died before FixDeployed reached verification.
    const lost = await seedShippedIssue(t.dataSource);
    await t.close();

    t = await start(true);
    const verification = t.app.get(VerificationService);
    const summary = await verification.runDueChecks(after(watched.deployedAt, 2 * HOUR));
    expect(summary).toMatchObject({ opened: 1, failed: 1 });
    expect((await issueRow(t.dataSource, watched.issueId)).status).toBe('triage');
    expect((await windowsOf(t.dataSource, lost.issueId))[0]).toMatchObject({
      state: 'watching',
      deployment_id: lost.deploymentId,
    });

    await verification.runDueChecks(after(lost.deployedAt, 49 * HOUR));
    expect((await issueRow(t.dataSource, lost.issueId)).status).toBe('verified');
  });
});

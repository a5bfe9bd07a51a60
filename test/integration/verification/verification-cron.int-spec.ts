import { DomainEventBus } from '../../../src/shared/events/domain-event-bus';
import { useTestApp } from '../../support/test-app';
import { deployed, issueRow, seedShippedIssue, windowsOf } from './verification-seed';

/** Polls `probe` until it returns true or the deadline passes (no fixed sleeps in assertions). */
async function eventually(probe: () => Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await probe())) {
    if (Date.now() > until) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The scheduled job on its own, in real time: a window of FIX_VERIFICATION_HOURS=0.0003 (about a
 * second), no grace, the worker polling every 0.2 s.
 */
describe('Fix verification scheduled job (real time, decimal durations)', () => {
  const t = useTestApp({
    WORKERS_ENABLED: 'true',
    WORKER_POLL_SECONDS: '0.2',
    FIX_VERIFICATION_HOURS: '0.0003',
    VERIFICATION_GRACE_MINUTES: '0',
  });

  it('verifies a clean window by itself once it has ended', async () => {
    const s = await seedShippedIssue(t.dataSource, { deployedAt: new Date() });
    await t.app.get(DomainEventBus).emit('fix.deployed', deployed(s));
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(new Date(w.ends_at).getTime() - new Date(w.deployed_at).getTime()).toBe(1080);
    await eventually(async () => (await issueRow(t.dataSource, s.issueId)).status === 'verified');
    expect((await windowsOf(t.dataSource, s.issueId))[0].state).toBe('verified');
  });
});

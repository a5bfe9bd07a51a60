import { EventEmitter2 } from '@nestjs/event-emitter';
import { VerificationService } from '../../../src/modules/verification/verification.service';
import { DomainEventBus } from '../../../src/shared/events/domain-event-bus';
import { FixFailed, FixVerified } from '../../../src/shared/events/event-catalogue';
import { TestApp, startTestApp, testDbKind } from '../../support/test-app';
import { HOUR, after, deployed, insertEvent, outboxFor, seedShippedIssue, windowsOf } from './verification-seed';

/**
 * Several replicas run the same scheduled check: each window is decided once (one outbox row, one
 * event). On the server two apps share the database; on PGlite (one process owns the database) two
 * runs race inside one app.
 */
describe('Fix verification with several replicas', () => {
  let a: TestApp;
  let b: TestApp;
  const failed: FixFailed[] = [];
  const verified: FixVerified[] = [];

  beforeAll(async () => {
    a = await startTestApp();
    b = testDbKind() === 'postgres' ? await startTestApp({}, { keepData: true }) : a;
    for (const app of new Set([a, b])) {
      const emitter = app.app.get(EventEmitter2);
      emitter.on('fix.failed', (e: FixFailed) => failed.push(e));
      emitter.on('fix.verified', (e: FixVerified) => verified.push(e));
    }
  });
  afterAll(async () => {
    if (b !== a) await b.close();
    await a.close();
  });

  it('decides each window once when two checks run at the same time', async () => {
    const bus = a.app.get(DomainEventBus);
    const recurring = [];
    const clean = [];
    for (let i = 0; i < 4; i++) {
      const s = await seedShippedIssue(a.dataSource);
      await bus.emit('fix.deployed', deployed(s));
      await insertEvent(a.dataSource, s, after(s.deployedAt, HOUR), { version: '1.4.2' });
      recurring.push(s);
      const c = await seedShippedIssue(a.dataSource);
      await bus.emit('fix.deployed', deployed(c));
      clean.push(c);
    }
    const now = after(new Date(), 49 * HOUR);
    const [x, y] = await Promise.all([
      a.app.get(VerificationService).runDueChecks(now),
      b.app.get(VerificationService).runDueChecks(now),
    ]);
    expect(x.errors + y.errors).toBe(0);
    expect(x.failed + y.failed).toBe(4);
    expect(x.verified + y.verified).toBe(4);
    for (const s of recurring) {
      expect((await windowsOf(a.dataSource, s.issueId)).map((w) => w.state)).toEqual(['failed']);
      expect(await outboxFor(a.dataSource, 'fix.failed', s.issueId)).toHaveLength(1);
      expect(failed.filter((e) => e.issueId === s.issueId)).toHaveLength(1);
    }
    for (const s of clean) {
      expect(await outboxFor(a.dataSource, 'fix.verified', s.issueId)).toHaveLength(1);
      expect(verified.filter((e) => e.issueId === s.issueId)).toHaveLength(1);
    }
  });
});

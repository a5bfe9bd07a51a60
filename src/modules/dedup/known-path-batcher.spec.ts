import { DataSource } from 'typeorm';
import type { DedupAnnouncer } from './dedup-announcer';
import type { KnownPathOutcome, ObservationInput } from './dedup.contract';
import type { DedupService, PreparedKnown } from './dedup.service';
import { KnownPathBatcher } from './known-path-batcher';

type RecordKnown = DedupService['recordKnown'];

/** A DedupService whose statements finish when the test says so. */
class FakeDedup {
  readonly calls: (readonly (readonly ObservationInput[])[])[] = [];
  readonly prepared: string[] = [];

  prepareKnown = (observations: readonly ObservationInput[]): PreparedKnown[] => {
    this.prepared.push(...observations.map((o) => o.message));
    return [];
  };

  private readonly pending: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  recordKnown: RecordKnown = (_manager, batch) => {
    const groups = batch.map((b) => b.observations);
    this.calls.push(groups);
    return new Promise((resolve, reject) => {
      this.pending.push({
        resolve: () =>
          resolve({
            outcomes: groups.map((g): KnownPathOutcome => ({
              handled: new Set(g),
              accepted: g.length,
              result: { filed: [], created: [], merges: [] },
            })),
            filed: [],
          }),
        reject,
      });
    });
  };

  finishNext(): void {
    this.pending.shift()?.resolve();
  }

  failNext(err: unknown): void {
    this.pending.shift()?.reject(err);
  }
}

const obs = (message: string): ObservationInput => ({
  kind: 'events',
  source: 's',
  feature: 'f',
  message,
  occurredAt: new Date(0),
  count: 1,
  labels: {},
  deliveryKey: message,
});

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe(KnownPathBatcher.name, () => {
  let dedup: FakeDedup;
  let announced: number;
  let batcher: KnownPathBatcher;

  beforeEach(() => {
    dedup = new FakeDedup();
    announced = 0;
    const announcer = { announce: async () => void announced++ } as unknown as DedupAnnouncer;
    batcher = new KnownPathBatcher(
      dedup as unknown as DedupService,
      { manager: {} } as unknown as DataSource,
      announcer,
    );
  });

  it('sends a lone request at once', async () => {
    const done = batcher.submit([obs('a')]);
    expect(dedup.calls).toHaveLength(1);
    dedup.finishNext();
    await expect(done).resolves.toMatchObject({ accepted: 1 });
    expect(announced).toBe(1);
  });

  it('prepares each request as it arrives, before it waits for a statement', () => {
    void batcher.submit([obs('a')]);
    void batcher.submit([obs('b'), obs('c')]);
    expect(dedup.calls).toHaveLength(1);
    expect(dedup.prepared).toEqual(['a', 'b', 'c']);
  });

  it('counts requests that arrive while a statement runs together in the next statement', async () => {
    const first = batcher.submit([obs('a')]);
    const waiting = [batcher.submit([obs('b')]), batcher.submit([obs('c')]), batcher.submit([obs('d'), obs('e')])];
    expect(dedup.calls.map((c) => c.length)).toEqual([1]);
    dedup.finishNext();
    await first;
    await tick();
    expect(dedup.calls.map((c) => c.length)).toEqual([1, 3]);
    dedup.finishNext();
    const outcomes = await Promise.all(waiting);
    expect(outcomes.map((o) => o.accepted)).toEqual([1, 1, 2]);
  });

  it('starts a second statement at once only for a large request (100 observations or more)', async () => {
    const first = batcher.submit([obs('a')]);
    const large = batcher.submit(Array.from({ length: 100 }, (_, i) => obs(`l${i}`)));
    expect(dedup.calls.map((c) => c.length)).toEqual([1, 1]);
    const waiting = batcher.submit([obs('z')]);
    expect(dedup.calls).toHaveLength(2); // never more than two at once
    dedup.finishNext();
    dedup.finishNext();
    await Promise.all([first, large]);
    await tick();
    expect(dedup.calls).toHaveLength(3);
    dedup.finishNext();
    await expect(waiting).resolves.toMatchObject({ accepted: 1 });
  });

  it('fails every request of a failed statement, and keeps serving the next ones', async () => {
    const a = batcher.submit([obs('a')]);
    const b = batcher.submit([obs('b')]);
    const c = batcher.submit([obs('c')]);
    dedup.failNext(new Error('deadlock detected'));
    await expect(a).rejects.toThrow('deadlock detected');
    await tick();
    dedup.failNext(new Error('connection refused'));
    await expect(b).rejects.toThrow('connection refused');
    await expect(c).rejects.toThrow('connection refused');
    const d = batcher.submit([obs('d')]);
    dedup.finishNext();
    await expect(d).resolves.toMatchObject({ accepted: 1 });
  });

  it('runs each request of a statement the database refused for a value alone, and fails only the one at fault', async () => {
    const a = batcher.submit([obs('a')]);
    const b = batcher.submit([obs('b')]);
    const c = batcher.submit([obs('c')]);
    dedup.finishNext();
    await a;
    await tick();
    expect(dedup.calls.map((call) => call.map((g) => g[0].message))).toEqual([['a'], ['b', 'c']]);
    const refused = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' });
    dedup.failNext(refused);
    await tick();
    expect(dedup.calls.map((call) => call.map((g) => g[0].message))).toEqual([['a'], ['b', 'c'], ['b']]);
    dedup.finishNext();
    await expect(b).resolves.toMatchObject({ accepted: 1 });
    await tick();
    expect(dedup.calls.at(-1)?.map((g) => g[0].message)).toEqual(['c']);
    dedup.failNext(refused);
    await expect(c).rejects.toThrow('invalid byte sequence');
  });

  it('answers an empty request without a statement', async () => {
    await expect(batcher.submit([])).resolves.toMatchObject({ accepted: 0 });
    expect(dedup.calls).toHaveLength(0);
  });
});

import { fingerprint } from '../normalizer/fingerprint';
import { normalizeMessage } from '../normalizer/message-normalizer';
import { InMemoryGroupingStore } from './in-memory-grouping-store';

function file(store: InMemoryGroupingStore, message: string, source = 'api', feature = 'exports') {
  const template = normalizeMessage(message);
  return store.assign(source, feature, fingerprint(source, feature, template), template);
}

const MESSAGES = [
  'Export failed: template /srv/invoice.pdf missing', // 0: group A
  'Export failed: template /srv/receipt.pdf missing', // 1: group B (two values are no evidence)
  'Export failed: template /srv/invoice.pdf missing', // 2: A again
  'Export failed: template /srv/label.pdf missing', // 3: third value: B and C merge into A
  'Export failed: template /srv/receipt.pdf missing', // 4: B's fingerprint now follows its alias, A
  'Export failed: template /srv/packing-slip.pdf missing', // 5: fits the learned pattern, joins A
];

describe(InMemoryGroupingStore.name, () => {
  it('gives each message its group at arrival, and follows merges afterwards', () => {
    const store = new InMemoryGroupingStore();
    const arrivals = MESSAGES.map((m) => file(store, m));
    const [a, b, , c] = arrivals.map((x) => x.fingerprint);

    expect(arrivals.map((x) => x.groupKey)).toEqual([a, b, a, a, a, a]);
    expect(arrivals.map((x) => store.currentGroupOf('api', 'exports', x.fingerprint))).toEqual([a, a, a, a, a, a]);
    expect(arrivals[3].decision?.merges[0].evidence).toEqual({
      rule: 'variable-position',
      position: 3,
      values: ['/srv/invoice.pdf', '/srv/receipt.pdf', '/srv/label.pdf'],
      survivor: a,
      absorbed: [b, c],
    });
    expect(arrivals[4].decision).toBeNull();
    expect(arrivals[5].decision).toMatchObject({ outcome: 'joined', groupKey: a, created: null });
  });

  it('records the merged groups as aliases of the oldest, without changing their fingerprints', () => {
    const store = new InMemoryGroupingStore();
    const fingerprints = MESSAGES.map((m) => file(store, m).fingerprint);
    const [a, b, , c, , d] = fingerprints;
    expect(store.aliasesOf('api', 'exports', a).sort()).toEqual([a, b, c, d].sort());
    expect(store.groups('api', 'exports').map((g) => [g.key, g.mergedInto])).toEqual([
      [a, null],
      [b, a],
      [c, a],
    ]);
    expect(fingerprints[1]).toBe(fingerprint('api', 'exports', 'Export failed: template /srv/receipt.pdf missing'));
  });

  it('keeps scopes apart: evidence in one (source, feature) never merges groups of another', () => {
    const store = new InMemoryGroupingStore();
    file(store, MESSAGES[0], 'api', 'exports');
    file(store, MESSAGES[1], 'api', 'imports');
    const third = file(store, MESSAGES[3], 'worker', 'exports');
    expect(third.decision?.merges).toEqual([]);
    expect(store.groups('api', 'exports')).toHaveLength(1);
    expect(store.currentGroupOf('api', 'imports', third.fingerprint)).toBeUndefined();
  });

  it('answers for unknown scopes and fingerprints', () => {
    const store = new InMemoryGroupingStore();
    expect(store.currentGroupOf('x', 'y', 'z')).toBeUndefined();
    expect(store.groups('x', 'y')).toEqual([]);
    expect(store.aliasesOf('x', 'y', 'z')).toEqual([]);
  });
});

import { seededRandom } from '../../../../test/support/seeded-random';
import { fingerprint } from '../normalizer/fingerprint';
import {
  applyGroupingDecision,
  decideGrouping,
  GroupingDecision,
  GroupState,
  isPlainWord,
  mergesAfterChange,
  patternCovers,
  relearnPattern,
  tokenCount,
} from './grouping-engine';

/** Feeds templates one by one through the pure functions, as the service would; returns the state. */
function feed(templates: readonly string[], start: readonly GroupState[] = []) {
  let groups: GroupState[] = [...start];
  const decisions: GroupingDecision[] = [];
  for (const template of templates) {
    const live = groups.filter((g) => g.mergedInto === null && g.pattern.length === tokenCount(template));
    const decision = decideGrouping({ groups: live, nextSeq: groups.length }, { fingerprint: fp(template), template });
    decisions.push(decision);
    const touched = new Set(applyGroupingDecision(live, decision).map((g) => g.key));
    groups = [...groups.filter((g) => !touched.has(g.key)), ...applyGroupingDecision(live, decision)].sort(
      (a, b) => a.seq - b.seq,
    );
  }
  return { groups, decisions, live: groups.filter((g) => g.mergedInto === null) };
}

const fp = (template: string) => fingerprint('api', 'jobs', template);

describe(decideGrouping.name, () => {
  it('starts a new group keyed by the fingerprint of its first template', () => {
    const { decisions, groups } = feed(['Job * failed on queue emails']);
    expect(decisions[0]).toMatchObject({
      outcome: 'new-group',
      groupKey: fp('Job * failed on queue emails'),
      merges: [],
    });
    expect(groups).toEqual([
      {
        key: fp('Job * failed on queue emails'),
        seq: 0,
        pattern: ['Job', '*', 'failed', 'on', 'queue', 'emails'],
        mergedInto: null,
        evidence: [],
      },
    ]);
  });

  it('does not merge on one message: two values at a position are not evidence', () => {
    const { decisions, live } = feed(['Upload failed for /srv/a/x.png', 'Upload failed for /srv/b/y.png']);
    expect(decisions[1]).toMatchObject({ outcome: 'new-group', merges: [] });
    expect(decisions[1].groupKey).toBe(fp('Upload failed for /srv/b/y.png'));
    expect(live).toHaveLength(2);
  });

  it('merges once a position has taken several distinct values; the oldest survives with the evidence', () => {
    const templates = [
      'Upload failed for /srv/a/x.png',
      'Upload failed for /srv/b/y.png',
      'Upload failed for /srv/c/z.png',
    ];
    const { decisions, live, groups } = feed(templates);
    const merge = decisions[2].merges[0];
    expect(decisions[2].groupKey).toBe(fp(templates[0]));
    expect(merge).toEqual({
      survivor: fp(templates[0]),
      absorbed: [fp(templates[1]), fp(templates[2])],
      pattern: ['Upload', 'failed', 'for', null],
      evidence: {
        rule: 'variable-position',
        position: 3,
        values: ['/srv/a/x.png', '/srv/b/y.png', '/srv/c/z.png'],
        survivor: fp(templates[0]),
        absorbed: [fp(templates[1]), fp(templates[2])],
      },
    });
    expect(live).toHaveLength(1);
    expect(live[0].evidence).toEqual([merge.evidence]);
    // fingerprints never change: the absorbed groups keep their keys and point at the survivor
    expect(groups.filter((g) => g.mergedInto === fp(templates[0])).map((g) => g.key)).toEqual([
      fp(templates[1]),
      fp(templates[2]),
    ]);
  });

  it('files a later template that fits a learned pattern under the surviving group', () => {
    const { decisions } = feed([
      'Upload failed for /srv/a/x.png',
      'Upload failed for /srv/b/y.png',
      'Upload failed for /srv/c/z.png',
      'Upload failed for /srv/d/w.png',
    ]);
    expect(decisions[3]).toEqual({
      fingerprint: fp('Upload failed for /srv/d/w.png'),
      groupKey: fp('Upload failed for /srv/a/x.png'),
      outcome: 'joined',
      created: null,
      merges: [],
    });
  });

  it('asks more evidence of plain words, which are often the event itself (Started/Stopped)', () => {
    const states = ['VM Started', 'VM Stopped', 'VM Paused', 'VM Resumed'];
    expect(feed(states).live).toHaveLength(4);
    const { live, decisions } = feed([...states, 'VM Suspended']);
    expect(live).toHaveLength(1);
    expect(decisions[4].merges[0].evidence.values).toEqual(['Started', 'Stopped', 'Paused', 'Resumed', 'Suspended']);
  });

  it('never merges templates of different lengths, or that differ at two positions', () => {
    expect(feed(['a 1/x b', 'a 2/x b c', 'a 3/x b c d']).live).toHaveLength(3);
    expect(feed(['a 1/x b 1/y', 'a 2/x b 2/y', 'a 3/x b 3/y']).live).toHaveLength(3);
  });

  it('keeps merging as patterns generalise: a learned variable matches any value', () => {
    const { live, decisions } = feed([
      'copy /a to /x',
      'copy /b to /x',
      'copy /c to /x', // position 1 varies: copy <V> to /x
      'copy /d to /y',
      'copy /e to /y',
      'copy /f to /y', // copy <V> to /y; /x and /y at position 3 are only two values
      'copy /g to /z', // fits both except at position 3, which now has three values
    ]);
    expect(decisions[2].merges.map((m) => m.evidence.position)).toEqual([1]);
    expect(decisions[5].merges.map((m) => [m.survivor, m.evidence.position])).toEqual([[fp('copy /d to /y'), 1]]);
    expect(decisions[6].merges.map((m) => m.evidence)).toEqual([
      {
        rule: 'variable-position',
        position: 3,
        values: ['/x', '/y', '/z'],
        survivor: fp('copy /a to /x'),
        absorbed: [fp('copy /d to /y'), fp('copy /g to /z')],
      },
    ]);
    expect(decisions[6].groupKey).toBe(fp('copy /a to /x'));
    expect(live).toEqual([expect.objectContaining({ key: fp('copy /a to /x'), pattern: ['copy', null, 'to', null] })]);
  });

  it('keeps a pattern mostly literal', () => {
    // three values at position 0 of a one-token message, or a second variable in a two-token one
    expect(feed(['/a', '/b', '/c']).live).toHaveLength(3);
    expect(feed(['* * /a', '* * /b', '* * /c']).live).toHaveLength(3);
    const { live } = feed(['#1 /a', '#1 /b', '#1 /c', '#2 /d', '#3 /e']);
    expect(live.map((g) => g.pattern)).toEqual([
      ['#1', null],
      ['#2', '/d'],
      ['#3', '/e'],
    ]);
  });

  it('counts a placeholder wrapped in punctuation as no literal text', () => {
    // `(command *)` is one literal word: a varying first word would leave the pattern without one
    const commands = ['boot', 'halt', 'wait', 'risBoot', 'clusterAddMember', 'bootGenvmunix'];
    expect(feed(commands.map((c) => `${c} (command *)`)).live).toHaveLength(6);
    // with two literal words beside the placeholder, the same evidence merges
    expect(feed(commands.map((c) => `${c} (command *) done`)).live).toHaveLength(1);
  });

  it('counts a position already known to vary as evidence', () => {
    const learned: GroupState = {
      key: 'g0',
      seq: 0,
      pattern: ['open', null, 'failed'],
      mergedInto: null,
      evidence: [],
    };
    const decision = decideGrouping(
      { groups: [learned], nextSeq: 1 },
      { fingerprint: 'f1', template: 'open /tmp/x failed' },
    );
    expect(decision).toMatchObject({ outcome: 'joined', groupKey: 'g0' });
  });

  it('prefers the most specific matching pattern, then the oldest', () => {
    const groups: GroupState[] = [
      { key: 'broad', seq: 0, pattern: [null, 'timed', 'out'], mergedInto: null, evidence: [] },
      { key: 'narrow', seq: 1, pattern: ['request', 'timed', null], mergedInto: null, evidence: [] },
      { key: 'narrowest', seq: 2, pattern: ['request', 'timed', 'out'], mergedInto: null, evidence: [] },
    ];
    expect(decideGrouping({ groups, nextSeq: 3 }, { fingerprint: 'f', template: 'request timed out' }).groupKey).toBe(
      'narrowest',
    );
    expect(
      decideGrouping({ groups: groups.slice(0, 2), nextSeq: 3 }, { fingerprint: 'f', template: 'request timed out' })
        .groupKey,
    ).toBe('broad');
  });

  it('ignores groups that were merged away or have another length', () => {
    const groups: GroupState[] = [
      { key: 'gone', seq: 0, pattern: [null, 'x'], mergedInto: 'other', evidence: [] },
      { key: 'long', seq: 1, pattern: [null, 'x', 'y'], mergedInto: null, evidence: [] },
    ];
    expect(decideGrouping({ groups, nextSeq: 2 }, { fingerprint: 'f', template: 'a x' })).toMatchObject({
      outcome: 'new-group',
      groupKey: 'f',
    });
  });

  it('is pure and works on plain JSON state', () => {
    const { groups } = feed(['read 1/a ok', 'read 2/b ok']);
    const json = JSON.stringify(groups);
    const frozen = JSON.parse(json) as GroupState[];
    Object.freeze(frozen);
    frozen.forEach((g) => Object.freeze(g));
    const arrival = { fingerprint: fp('read 3/c ok'), template: 'read 3/c ok' };
    const first = decideGrouping({ groups: frozen, nextSeq: 2 }, arrival);
    const second = decideGrouping({ groups: frozen, nextSeq: 2 }, arrival);
    expect(second).toEqual(first);
    expect(JSON.parse(JSON.stringify(first))).toEqual(first);
    applyGroupingDecision(frozen, first);
    expect(JSON.stringify(frozen)).toBe(json);
  });
});

describe('decideGrouping: groups skipped before the search', () => {
  // few values per position, some of them placeholders, so that groups share most of a template
  const VALUES = ['a1', 'b2', 'c3', 'x', 'y', '*', 'k=v'];

  it('decides exactly as the search over every live group, on reachable and on arbitrary states', () => {
    const next = seededRandom(20261206);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
    const mutate = (tokens: readonly string[], changes: number): string[] => {
      const out = [...tokens];
      for (let c = 0; c < changes; c++) out[Math.floor(next() * out.length)] = `v${Math.floor(next() * 9)}`;
      return out;
    };
    const template = (n: number, vocabulary: number) =>
      Array.from({ length: n }, () => pick(VALUES.slice(0, vocabulary))).join(' ');
    let compared = 0;
    let skipped = 0;
    let merging = 0;
    for (let trial = 0; trial < 1000; trial++) {
      const n = 2 + Math.floor(next() * 7);
      const vocabulary = 2 + Math.floor(next() * (VALUES.length - 1));
      let groups: GroupState[];
      let arrivals = () => template(n, vocabulary);
      if (trial % 2 === 0) {
        const templates = Array.from({ length: 2 + Math.floor(next() * 30) }, () => template(n, vocabulary));
        groups = feed([...new Set(templates)]).groups;
      } else {
        // variants of one template, a few positions apart, some variables: many peers, many merges
        const base = template(n, vocabulary).split(' ');
        groups = Array.from({ length: 1 + Math.floor(next() * 25) }, (_, seq) => ({
          key: `g${seq}`,
          seq,
          pattern: mutate(base, Math.floor(next() * 3)).map((token) => (next() < 0.1 ? null : token)),
          mergedInto: next() < 0.1 ? 'g0' : null,
          evidence: [],
        }));
        arrivals = () => mutate(base, 1 + Math.floor(next() * 2)).join(' ');
      }
      const known = new Set(groups.map((g) => g.key));
      for (let a = 0; a < 5; a++) {
        const arrival = arrivals();
        if (known.has(fp(arrival))) continue;
        const scope = { groups, nextSeq: groups.length };
        const fast = decideGrouping(scope, { fingerprint: fp(arrival), template: arrival });
        const exhaustive = decideGrouping(scope, { fingerprint: fp(arrival), template: arrival }, undefined, {
          exhaustive: true,
        });
        expect({ trial, arrival, decision: fast }).toEqual({ trial, arrival, decision: exhaustive });
        compared++;
        if (exhaustive.merges.length > 0) merging++;
        const least = Math.ceil(n / 2);
        if (
          groups.some(
            (g) =>
              g.mergedInto === null &&
              g.pattern.filter((t, i) => t === null || t === arrival.split(' ')[i]).length < least,
          )
        ) {
          skipped++;
        }
      }
    }
    // the comparison covers decisions that merge and scopes where groups were skipped
    expect(compared).toBeGreaterThan(2500);
    expect(merging).toBeGreaterThan(150);
    expect(skipped).toBeGreaterThan(1000);
  });
});

describe(applyGroupingDecision.name, () => {
  it('adds the created group, points absorbed groups at the survivor and updates its pattern', () => {
    const { groups } = feed(['get /a', 'get /b', 'get /c']);
    expect(groups.map((g) => [g.key, g.mergedInto, g.pattern])).toEqual([
      [fp('get /a'), null, ['get', null]],
      [fp('get /b'), fp('get /a'), ['get', '/b']],
      [fp('get /c'), fp('get /a'), ['get', '/c']],
    ]);
  });

  it('refuses a decision about groups it was not given', () => {
    const decision = decideGrouping(
      { groups: [{ key: 'x', seq: 0, pattern: ['a', null], mergedInto: null, evidence: [] }], nextSeq: 1 },
      { fingerprint: 'f', template: 'a b' },
    );
    expect(decision.outcome).toBe('joined');
    const merge: GroupingDecision = {
      ...decision,
      merges: [
        {
          survivor: 'missing',
          absorbed: [],
          pattern: [],
          evidence: { rule: 'variable-position', position: 0, values: [], survivor: 'missing', absorbed: [] },
        },
      ],
    };
    expect(() => applyGroupingDecision([], merge)).toThrow('unknown survivor missing');
  });
});

describe('grouping helpers', () => {
  it('counts tokens as the template split on single spaces', () => {
    expect(tokenCount('a')).toBe(1);
    expect(tokenCount('a b * c')).toBe(4);
  });

  it('matches a pattern literally except at its variable positions', () => {
    expect(patternCovers(['a', null, 'c'], ['a', 'zz', 'c'])).toBe(true);
    expect(patternCovers(['a', null, 'c'], ['a', 'zz', 'd'])).toBe(false);
    expect(patternCovers(['a', null], ['a', 'b', 'c'])).toBe(false);
  });

  it('tells plain words from values', () => {
    expect(['Started', 'user=root', '(LOOKING)', 'rpc.statd', 'done.'].every(isPlainWord)).toBe(true);
    expect(['/tmp/x', 'node*', '*', 'a1', 'x@y', 'key=a/b'].some(isPlainWord)).toBe(false);
  });
});

describe(relearnPattern.name, () => {
  const tokens = (template: string) => template.split(' ');

  it('learns the pattern again from the templates the current normaliser makes: variables where members differ', () => {
    // the previous normaliser left `ms` apart from the duration; the current one folds it in
    const previous = tokens('Upstream * took * ms on replica').map((t, i) => (i === 1 ? null : t));
    const templates = [
      'Upstream alpha took * on replica',
      'Upstream bravo took * on replica',
      'Upstream charlie took * on replica',
    ];
    expect(relearnPattern(previous, templates)).toEqual(['Upstream', null, 'took', '*', 'on', 'replica']);
  });

  it('makes the pattern from the token count most members have, the oldest first on a tie', () => {
    expect(relearnPattern(['a', 'b'], ['x y z', 'x q', 'x r'])).toEqual(['x', null]);
    expect(relearnPattern(['a', 'b'], ['x y z', 'x q'])).toEqual(['x', 'y', 'z']);
  });

  it('keeps a variable learned earlier when the length is unchanged, even if the members left agree there', () => {
    expect(relearnPattern(['fetch', null, 'failed', 'for', 'user'], ['fetch orders failed for user'])).toEqual([
      'fetch',
      null,
      'failed',
      'for',
      'user',
    ]);
    // another length: positions cannot be carried over
    expect(relearnPattern(['fetch', null, 'failed'], ['fetch orders failed for user'])).toEqual(
      tokens('fetch orders failed for user'),
    );
  });

  it('falls back to the oldest template when the members would leave the pattern mostly variable', () => {
    expect(relearnPattern(['a', 'b', 'c'], ['one two c', 'three four c', 'five six c'])).toEqual(['one', 'two', 'c']);
  });

  it('has nothing to learn from no templates', () => {
    expect(relearnPattern(['a'], [])).toBeNull();
  });
});

describe(mergesAfterChange.name, () => {
  const group = (
    key: string,
    seq: number,
    pattern: (string | null)[],
    mergedInto: string | null = null,
  ): GroupState => ({
    key,
    seq,
    pattern,
    mergedInto,
    evidence: [],
  });

  it('merges a changed group into a peer that already learned the position it differs at', () => {
    const learned = group('a', 0, ['Upstream', null, 'took', '*']);
    const changed = group('b', 1, ['Upstream', 'foxtrot', 'took', '*']);
    expect(mergesAfterChange([learned, changed], 'b')).toEqual([
      {
        survivor: 'a',
        absorbed: ['b'],
        pattern: ['Upstream', null, 'took', '*'],
        evidence: { rule: 'variable-position', position: 1, values: ['foxtrot'], survivor: 'a', absorbed: ['b'] },
      },
    ]);
  });

  it('asks the same evidence as an arrival: two values are not enough', () => {
    const groups = [group('a', 0, ['x', 'one', 'y']), group('b', 1, ['x', 'two', 'y'])];
    expect(mergesAfterChange(groups, 'b')).toEqual([]);
  });

  it('has nothing to do for a group merged away or unknown', () => {
    const groups = [group('a', 0, ['x', null, 'y']), group('b', 1, ['x', 'two', 'y'], 'a')];
    expect(mergesAfterChange(groups, 'b')).toEqual([]);
    expect(mergesAfterChange(groups, 'zz')).toEqual([]);
  });
});

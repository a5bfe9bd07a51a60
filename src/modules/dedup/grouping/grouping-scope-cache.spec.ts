import type { GroupState } from './grouping-engine';
import { GroupingScopeCache } from './grouping-scope-cache';

const groups = (n: number, prefix = 'g'): GroupState[] =>
  Array.from({ length: n }, (_, i) => ({
    key: `${prefix}${i}`,
    seq: i,
    pattern: ['Cache', 'node', `n${i}`, 'unreachable'],
    mergedInto: null,
    evidence: [],
  }));

describe('GroupingScopeCache', () => {
  it('gives the groups back only at the version they were stored with', () => {
    const cache = new GroupingScopeCache();
    const stored = groups(3);
    cache.set('api', 'cache', 4, '17', stored);
    expect(cache.get('api', 'cache', 4, '17')).toBe(stored);
    expect(cache.get('api', 'cache', 4, '18')).toBeUndefined();
    // a version that moved on drops the entry: going back to the old value finds nothing either
    expect(cache.get('api', 'cache', 4, '17')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps scopes and token counts apart, and never stores or finds a scope without a version', () => {
    const cache = new GroupingScopeCache();
    cache.set('api', 'cache', 4, '1', groups(1));
    expect(cache.get('api', 'cache', 5, '1')).toBeUndefined();
    expect(cache.get('api', 'queue', 4, '1')).toBeUndefined();
    expect(cache.get('api|cache', '', 4, '1')).toBeUndefined();
    expect(cache.get('api', 'cache', 4, null)).toBeUndefined();
    cache.set('web', 'cache', 4, null, groups(2));
    expect(cache.get('web', 'cache', 4, null)).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('replaces an entry stored again, counting its groups once', () => {
    const cache = new GroupingScopeCache();
    cache.set('api', 'cache', 4, '1', groups(3));
    const next = groups(4);
    cache.set('api', 'cache', 4, '2', next);
    expect(cache.size).toBe(4);
    expect(cache.get('api', 'cache', 4, '2')).toBe(next);
    cache.set('api', 'cache', 4, null, groups(2));
    expect(cache.size).toBe(0);
    expect(cache.get('api', 'cache', 4, '2')).toBeUndefined();
  });

  it('holds at most its bound of groups, dropping the least recently used entries first', () => {
    const cache = new GroupingScopeCache(10);
    cache.set('a', 'f', 4, '1', groups(4, 'a'));
    cache.set('b', 'f', 4, '1', groups(4, 'b'));
    expect(cache.get('a', 'f', 4, '1')).toBeDefined(); // `a` is now the most recently used
    cache.set('c', 'f', 4, '1', groups(4, 'c'));
    expect(cache.size).toBe(8);
    expect(cache.get('b', 'f', 4, '1')).toBeUndefined();
    expect(cache.get('a', 'f', 4, '1')).toHaveLength(4);
    expect(cache.get('c', 'f', 4, '1')).toHaveLength(4);
  });

  it('does not keep a scope larger than its bound', () => {
    const cache = new GroupingScopeCache(10);
    cache.set('a', 'f', 4, '1', groups(4));
    cache.set('big', 'f', 4, '1', groups(11));
    expect(cache.get('big', 'f', 4, '1')).toBeUndefined();
    expect(cache.get('a', 'f', 4, '1')).toHaveLength(4);
    expect(cache.size).toBe(4);
  });
});

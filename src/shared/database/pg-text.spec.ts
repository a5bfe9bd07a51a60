import { storableStrings, storableText } from './pg-text';

describe('storableText', () => {
  it('returns text PostgreSQL can store as it is, surrogate pairs (emoji) included', () => {
    for (const text of ['', 'plain', 'naïve café', 'deploy 🚀 failed', '\ud83d\ude00']) {
      expect(storableText(text)).toBe(text);
    }
  });

  it('replaces NUL and unpaired surrogates with U+FFFD, keeping the pairs around them', () => {
    expect(storableText('a\u0000b\u0000')).toBe('a\ufffdb\ufffd');
    expect(storableText('high \ud800 alone')).toBe('high \ufffd alone');
    expect(storableText('low \udc00 alone')).toBe('low \ufffd alone');
    expect(storableText('\udc00\ud83d\ude00\ud800')).toBe('\ufffd\ud83d\ude00\ufffd');
    expect(storableText('\ud800\ud800\udc00')).toBe('\ufffd\ud800\udc00');
  });
});

describe('storableStrings', () => {
  it('returns the same map when every key and value can be stored', () => {
    const labels = { app: 'checkout', msg: 'deploy 🚀 failed' };
    expect(storableStrings(labels)).toBe(labels);
  });

  it('makes keys and values storable in a new map, in the same order', () => {
    const labels = { app: 'checkout', 'bad\u0000key': 'v', trace: 'x\ud800' };
    const out = storableStrings(labels);
    expect(Object.entries(out)).toEqual([
      ['app', 'checkout'],
      ['bad\ufffdkey', 'v'],
      ['trace', 'x\ufffd'],
    ]);
    expect(labels['bad\u0000key']).toBe('v');
  });
});

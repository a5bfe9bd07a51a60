import { clipText, mayHoldUnstorableText, storableJson, storableStrings, storableText } from './pg-text';

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

describe('clipText', () => {
  it('keeps text within the limit whole, made storable', () => {
    expect(clipText('short', 10)).toBe('short');
    expect(clipText('a\u0000b', 3)).toBe('a\ufffdb');
  });

  it('cuts at the limit, dropping a surrogate pair the cut would halve', () => {
    expect(clipText('abcdef', 3)).toBe('abc');
    expect(clipText('ab\ud83d\ude80cd', 3)).toBe('ab'); // the rocket would be cut in half
    expect(clipText('ab\ud83d\ude80cd', 4)).toBe('ab\ud83d\ude80');
    expect(clipText('ab\udc00cd', 3)).toBe('ab\ufffd'); // a lone half in the input is replaced
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

describe('storableJson', () => {
  it('returns the same value when every string and key can be stored', () => {
    const value = { a: ['x', 1, null, { b: 'deploy 🚀' }], c: true };
    expect(storableJson(value)).toBe(value);
  });

  it('makes nested strings and keys storable, leaving other values alone', () => {
    const value = { 'k\u0000': ['ok', 'x\ud800', 3], nested: { deep: 'a\u0000b', n: 1 }, same: { s: 't' } };
    const out = storableJson(value) as Record<string, unknown>;
    expect(out).toEqual({ 'k\ufffd': ['ok', 'x\ufffd', 3], nested: { deep: 'a\ufffdb', n: 1 }, same: { s: 't' } });
    expect(out.same).toBe(value.same);
    expect(value.nested.deep).toBe('a\u0000b');
  });

  it('is needed only for JSON text with a \\u escape or a raw NUL', () => {
    expect(mayHoldUnstorableText('{"a":"plain text, ünïcode 🚀"}')).toBe(false);
    expect(mayHoldUnstorableText('{"a":"\\u0000"}')).toBe(true);
    expect(mayHoldUnstorableText('{"a":"\\ud800"}')).toBe(true);
  });
});

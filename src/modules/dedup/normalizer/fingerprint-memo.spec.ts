import { FingerprintMemo } from './fingerprint-memo';
import { fingerprintMessage } from './fingerprint-message';

const TOKEN = 'ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';

describe('FingerprintMemo', () => {
  it('gives what fingerprintMessage gives, first time and repeated', () => {
    const memo = new FingerprintMemo();
    const inputs: Array<[string, string, string]> = [
      ['api', 'auth', `Login failed with token ${TOKEN}`],
      ['api', 'auth', 'Order 17 not found'],
      ['api', 'billing', 'Order 17 not found'],
      ['api key=' + TOKEN, 'auth', 'Boom'],
      ['a', 'b\u0000c', 'nul \u0000 inside'],
    ];
    for (const [s, f, m] of [...inputs, ...inputs])
      expect(memo.fingerprint(s, f, m)).toEqual(fingerprintMessage(s, f, m));
  });

  it('answers a repeat from memory, keyed apart by scope', () => {
    const memo = new FingerprintMemo();
    const first = memo.fingerprint('api', 'auth', 'Boom');
    expect(memo.fingerprint('api', 'auth', 'Boom')).toBe(first);
    expect(memo.fingerprint('api', 'billing', 'Boom')).not.toBe(first);
    // ["a|b", "c"] and ["a", "b|c"]: the same text joined, two entries
    expect(memo.fingerprint('a|b', 'c', 'x').source).toBe('a|b');
    expect(memo.fingerprint('a', 'b|c', 'x').source).toBe('a');
    expect(memo.size).toBe(4);
  });

  it('never holds the raw text: keys are digests and values are scrubbed', () => {
    const memo = new FingerprintMemo();
    memo.fingerprint('api', 'auth', `Login failed with token ${TOKEN}`);
    const held = JSON.stringify([...memo['entries']]);
    expect(held).not.toContain('ghp_A1b2');
    expect(held).not.toContain('Login failed with token ghp');
  });

  it('stays bounded: it starts again when full and does not keep long messages', () => {
    const memo = new FingerprintMemo(3, 20);
    for (let i = 0; i < 3; i++) memo.fingerprint('s', 'f', `message ${i}`);
    expect(memo.size).toBe(3);
    memo.fingerprint('s', 'f', 'message 3');
    expect(memo.size).toBe(1);
    const long = 'x'.repeat(21);
    expect(memo.fingerprint('s', 'f', long)).toEqual(fingerprintMessage('s', 'f', long));
    expect(memo.size).toBe(1);
  });
});

import { TITLE_MAX_LENGTH, titleFrom } from './dedup.service';
import { fingerprintMessage } from './normalizer/fingerprint-message';

describe('fingerprintMessage', () => {
  it('scrubs secrets before normalising, so the token never reaches the fingerprint or the stored text', () => {
    const a = fingerprintMessage('api', 'auth', 'Login failed with token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8');
    const b = fingerprintMessage('api', 'auth', 'Login failed with token ghp_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2');
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.scrubbed).not.toContain('ghp_A1b2');
    expect(a.normalized).not.toContain('ghp_A1b2');
  });

  it('scrubs the scope too: a secret in a source label is neither stored nor part of the fingerprint', () => {
    const a = fingerprintMessage('api key=ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8', 'auth', 'Boom');
    const b = fingerprintMessage('api key=ghp_Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2', 'auth', 'Boom');
    expect(a.source).not.toContain('ghp_');
    expect(a).toEqual(b);
  });

  it('masks redaction markers as variables: a card-like id and a plain one, users beside a redacted password', () => {
    const same = (x: string, y: string) =>
      expect(fingerprintMessage('s', 'f', x).fingerprint).toBe(fingerprintMessage('s', 'f', y).fingerprint);
    same('order 4111111111111111 not shipped', 'order 4111111111111112 not shipped');
    same(
      'connect postgres://alice:Xq7vR2pL9sT4@db/main refused',
      'connect postgres://bob:Zz8vR2pL9sT5@db/main refused',
    );
    expect(fingerprintMessage('s', 'f', 'connect postgres://alice:Xq7vR2pL9sT4@db/main refused').normalized).toBe(
      'connect postgres://db/main refused',
    );
  });

  it('keeps scopes apart: the same message in another feature is another fingerprint', () => {
    expect(fingerprintMessage('api', 'auth', 'Boom').fingerprint).not.toBe(
      fingerprintMessage('api', 'billing', 'Boom').fingerprint,
    );
  });

  it('gives messages that differ only in numbers one fingerprint', () => {
    expect(fingerprintMessage('s', 'f', 'Order 17 not found').fingerprint).toBe(
      fingerprintMessage('s', 'f', 'Order 18 not found').fingerprint,
    );
  });
});

describe('titleFrom', () => {
  it('collapses whitespace and keeps short messages whole', () => {
    expect(titleFrom('  Payment\n\tfailed   twice ')).toBe('Payment failed twice');
  });

  it(`truncates at ${TITLE_MAX_LENGTH} characters with an ellipsis`, () => {
    const title = titleFrom('x'.repeat(500));
    expect(title).toHaveLength(TITLE_MAX_LENGTH);
    expect(title.endsWith('…')).toBe(true);
  });

  it('drops an emoji the cut would halve, rather than keep half of it', () => {
    const before = 'x'.repeat(TITLE_MAX_LENGTH - 2);
    expect(titleFrom(`${before}🎉 done`)).toBe(`${before}…`);
  });

  it('names an empty message', () => {
    expect(titleFrom('   ')).toBe('(empty message)');
  });
});

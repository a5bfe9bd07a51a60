import * as crypto from 'node:crypto';
import { matchingSecret, missingCredentials, offeredCredential, safeEqual } from './api-key.guard';

jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, timingSafeEqual: jest.fn(actual.timingSafeEqual) };
});

describe('api key credentials', () => {
  it('reads a Bearer token', () => {
    expect(offeredCredential('Bearer abc.def')).toBe('abc.def');
    expect(offeredCredential('bearer   abc')).toBe('abc');
  });

  it('reads the password of Basic auth, whatever the user', () => {
    const header = `Basic ${Buffer.from('grafana:s3cret:with:colons').toString('base64')}`;
    expect(offeredCredential(header)).toBe('s3cret:with:colons');
  });

  it('offers nothing for other schemes or empty values', () => {
    expect(offeredCredential(undefined)).toBeUndefined();
    expect(offeredCredential('Bearer')).toBeUndefined();
    expect(offeredCredential('Token abc')).toBeUndefined();
    expect(offeredCredential('abc')).toBeUndefined();
  });

  it('keeps a Bearer value whole (inner spaces as sent), trimming only around it', () => {
    expect(offeredCredential('  BEARER   s3cr3t:with  two spaces  ')).toBe('s3cr3t:with  two spaces');
  });

  it('offers nothing for Basic auth that is not standard base64 of user:password', () => {
    expect(offeredCredential('Basic !!!notbase64')).toBeUndefined();
    // URL-safe base64 is not what RFC 7617 clients send; Buffer would have decoded it leniently
    expect(offeredCredential('Basic dXNlcjpw-_Fz')).toBeUndefined();
    expect(offeredCredential(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined();
    expect(offeredCredential(`Basic ${Buffer.from('user:').toString('base64')}`)).toBe('');
  });

  it('compares in constant time and exactly', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', 'x')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
    // the configured side's digest is kept: asking again still compares the offered value
    expect(safeEqual('abd', 'abc')).toBe(false);
    expect(safeEqual('abc', 'abc')).toBe(true);
  });

  it('compares fixed-length digests with timingSafeEqual against every secret, with no early exit', () => {
    const spy = crypto.timingSafeEqual as jest.MockedFunction<typeof crypto.timingSafeEqual>;
    const secrets = ['a-short-one', 'a-much-longer-configured-secret-value', 'third'];
    for (const offered of ['a-short-one', 'nope', 'x'.repeat(500), '']) {
      spy.mockClear();
      matchingSecret(offered, secrets);
      // one comparison per secret, whether the first matched or none did, and always of 32-byte digests
      expect(spy).toHaveBeenCalledTimes(secrets.length);
      for (const [a, b] of spy.mock.calls) expect([a.byteLength, b.byteLength]).toEqual([32, 32]);
    }
  });

  it('matches one offered credential against several secrets: the first equal one, or -1', () => {
    const secrets = ['admin-key-0123456789', 'agent-key-0123456789', 'ingest-secret'];
    expect(matchingSecret('agent-key-0123456789', secrets)).toBe(1);
    expect(matchingSecret('ingest-secret', secrets)).toBe(2);
    expect(matchingSecret('ingest-secreT', secrets)).toBe(-1);
    expect(matchingSecret('same', ['other', 'same', 'same'])).toBe(1);
    expect(matchingSecret('x', [])).toBe(-1);
  });

  it('says why an Authorization header offers nothing, never quoting it', () => {
    const how = 'send Authorization: Bearer <key>';
    expect(missingCredentials(undefined, how)).toBe('Missing credentials: send Authorization: Bearer <key>');
    expect(missingCredentials('  ', how)).toBe('Missing credentials: send Authorization: Bearer <key>');
    expect(missingCredentials('Token s3cr3t', how)).toBe(
      'Missing credentials (the Authorization scheme "Token" is not one fixloop reads (Bearer or Basic)): send Authorization: Bearer <key>',
    );
    expect(missingCredentials('Bearer', how)).toContain('the Bearer credentials are empty or malformed');
    expect(missingCredentials('secretword', how)).toContain('the Authorization header has no scheme');
    for (const bare of ['secretword', 's3cr3t', 's3cr3t and more', 'ghp_abc def'])
      expect(missingCredentials(bare, how)).not.toMatch(/secretword|s3cr3t|ghp/);
    expect(missingCredentials('=s3cr3t=', how)).toContain('is not "<scheme> <credentials>"');
  });
});

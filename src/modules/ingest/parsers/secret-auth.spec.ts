import { checkSharedSecret } from './secret-auth';

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

describe(checkSharedSecret.name, () => {
  const secret = 's3cr3t:with colon';

  it('accepts a bearer token equal to the secret, any scheme case', () => {
    expect(checkSharedSecret(`Bearer ${secret}`, secret)).toBe(true);
    expect(checkSharedSecret(`bearer ${secret}`, secret)).toBe(true);
    expect(checkSharedSecret(`  BEARER   ${secret}  `, secret)).toBe(true);
  });

  it('accepts HTTP Basic with the secret as password and any user', () => {
    expect(checkSharedSecret(basic('grafana', secret), secret)).toBe(true);
    expect(checkSharedSecret(basic('', secret), secret)).toBe(true);
    // pino-loki / winston-loki captured header: user:pass
    expect(checkSharedSecret('Basic dXNlcjpwYXNz', 'pass')).toBe(true);
  });

  it('rejects wrong secrets, other schemes and malformed headers', () => {
    expect(checkSharedSecret(undefined, secret)).toBe(false);
    expect(checkSharedSecret('', secret)).toBe(false);
    expect(checkSharedSecret('Bearer', secret)).toBe(false);
    expect(checkSharedSecret(`Bearer ${secret}x`, secret)).toBe(false);
    expect(checkSharedSecret(`Token ${secret}`, secret)).toBe(false);
    expect(checkSharedSecret(secret, secret)).toBe(false);
    expect(checkSharedSecret(basic(secret, 'nope'), secret)).toBe(false);
    expect(checkSharedSecret(`Basic ${Buffer.from(secret).toString('base64')}`, secret)).toBe(false);
    expect(checkSharedSecret('Basic !!!notbase64', secret)).toBe(false);
  });

  it('never accepts anything when the secret is empty', () => {
    expect(checkSharedSecret('Bearer ', '')).toBe(false);
    expect(checkSharedSecret(basic('user', ''), '')).toBe(false);
  });
});

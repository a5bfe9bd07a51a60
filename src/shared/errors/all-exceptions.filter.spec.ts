import { isDatabaseUnavailable } from './all-exceptions.filter';

describe(isDatabaseUnavailable.name, () => {
  it('recognises refused connections, pool timeouts and server shutdowns', () => {
    expect(
      isDatabaseUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(true);
  });

  it('recognises a read-only server, exhausted resources and every connection exception (class 08)', () => {
    for (const code of ['25006', '53100', '53200', '53300', '08P01', '08004']) {
      expect(isDatabaseUnavailable(Object.assign(new Error('refused'), { driverError: { code } }))).toBe(true);
    }
  });

  it('does not treat query errors as an outage', () => {
    expect(isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isDatabaseUnavailable('nope')).toBe(false);
  });
});

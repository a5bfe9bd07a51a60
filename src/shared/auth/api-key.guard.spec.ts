import { offeredCredential, safeEqual } from './api-key.guard';

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
});

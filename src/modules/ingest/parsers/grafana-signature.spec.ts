import { readSharedBytes, readSharedJson } from '../../../../test/fixtures/ingest/shared-fixtures';
import { signGrafanaPayload, verifyGrafanaSignature } from './grafana-signature';

interface Vectors {
  secret: string;
  bodyBytes: number;
  noTimestamp: { value: string };
  withTimestamp: { timestamp: string; value: string };
}

const vectors = readSharedJson<Vectors>('grafana', 'derived', 'COMPUTED-hmac-test-vectors.json');
const rawBody = readSharedBytes('grafana', 'zulip-grafana9-resolved.json');
const secret = vectors.secret;
const signedAt = new Date(Number(vectors.withTimestamp.timestamp) * 1000);

describe(verifyGrafanaSignature.name, () => {
  it('reads the body the vectors were computed over', () => {
    expect(rawBody.length).toBe(vectors.bodyBytes);
  });

  it('accepts the computed signature without a timestamp', () => {
    expect(verifyGrafanaSignature({ rawBody, signature: vectors.noTimestamp.value }, { secret })).toEqual({
      valid: true,
    });
  });

  it('accepts the computed signature over timestamp:body within the tolerance', () => {
    const input = { rawBody, signature: vectors.withTimestamp.value, timestamp: vectors.withTimestamp.timestamp };
    expect(verifyGrafanaSignature(input, { secret, now: signedAt })).toEqual({ valid: true, timestamp: 1767225600 });
    expect(verifyGrafanaSignature(input, { secret, now: new Date(signedAt.getTime() + 300_000) }).valid).toBe(true);
    expect(verifyGrafanaSignature(input, { secret, now: new Date(signedAt.getTime() - 300_000) }).valid).toBe(true);
  });

  it('accepts the body as a string and an upper-case signature', () => {
    const result = verifyGrafanaSignature(
      { rawBody: rawBody.toString('utf8'), signature: vectors.noTimestamp.value.toUpperCase() },
      { secret },
    );
    expect(result.valid).toBe(true);
  });

  it('rejects stale timestamps in both directions', () => {
    const input = { rawBody, signature: vectors.withTimestamp.value, timestamp: vectors.withTimestamp.timestamp };
    const late = verifyGrafanaSignature(input, { secret, now: new Date(signedAt.getTime() + 301_000) });
    const early = verifyGrafanaSignature(input, { secret, now: new Date(signedAt.getTime() - 301_000) });
    expect(late).toEqual({
      valid: false,
      reason: 'stale-timestamp',
      detail: 'timestamp is 301 s old (tolerance 300 s)',
    });
    expect(early).toMatchObject({
      valid: false,
      reason: 'stale-timestamp',
      detail: expect.stringContaining('in the future'),
    });
    expect(
      verifyGrafanaSignature(input, { secret, now: new Date(signedAt.getTime() + 301_000), toleranceSeconds: 600 })
        .valid,
    ).toBe(true);
  });

  it('rejects a signature made without the timestamp when a timestamp is sent, and vice versa', () => {
    expect(
      verifyGrafanaSignature(
        { rawBody, signature: vectors.noTimestamp.value, timestamp: vectors.withTimestamp.timestamp },
        { secret, now: signedAt },
      ),
    ).toMatchObject({ valid: false, reason: 'mismatch' });
    expect(verifyGrafanaSignature({ rawBody, signature: vectors.withTimestamp.value }, { secret })).toMatchObject({
      valid: false,
      reason: 'mismatch',
    });
  });

  it('rejects a changed body, a wrong secret and a missing or malformed header', () => {
    const tampered = Buffer.from(rawBody.toString('utf8').replace('resolved', 'firing'));
    expect(verifyGrafanaSignature({ rawBody: tampered, signature: vectors.noTimestamp.value }, { secret }).valid).toBe(
      false,
    );
    expect(
      verifyGrafanaSignature({ rawBody, signature: vectors.noTimestamp.value }, { secret: 'other' }),
    ).toMatchObject({ reason: 'mismatch' });
    expect(verifyGrafanaSignature({ rawBody, signature: undefined }, { secret })).toMatchObject({
      reason: 'missing-signature',
    });
    expect(
      verifyGrafanaSignature({ rawBody, signature: `sha256=${vectors.noTimestamp.value}` }, { secret }),
    ).toMatchObject({ reason: 'malformed-signature' });
    expect(verifyGrafanaSignature({ rawBody, signature: 'abc' }, { secret })).toMatchObject({
      reason: 'malformed-signature',
    });
    expect(
      verifyGrafanaSignature({ rawBody, signature: vectors.noTimestamp.value, timestamp: '2026-01-01' }, { secret }),
    ).toMatchObject({ reason: 'malformed-timestamp' });
  });

  it('takes header values as Node gives them, refusing repeated headers', () => {
    expect(verifyGrafanaSignature({ rawBody, signature: [vectors.noTimestamp.value] }, { secret }).valid).toBe(true);
    expect(
      verifyGrafanaSignature(
        { rawBody, signature: [vectors.noTimestamp.value, vectors.noTimestamp.value] },
        { secret },
      ),
    ).toMatchObject({ reason: 'malformed-signature' });
    expect(
      verifyGrafanaSignature(
        { rawBody, signature: vectors.withTimestamp.value, timestamp: ['1', '2'] },
        { secret, now: signedAt },
      ),
    ).toMatchObject({ reason: 'malformed-timestamp' });
  });

  it('requires a timestamp when configured to', () => {
    expect(
      verifyGrafanaSignature({ rawBody, signature: vectors.noTimestamp.value }, { secret, requireTimestamp: true }),
    ).toMatchObject({ valid: false, reason: 'missing-timestamp' });
  });

  it('never verifies with an empty secret', () => {
    const signature = signGrafanaPayload('', rawBody);
    expect(verifyGrafanaSignature({ rawBody, signature }, { secret: '' })).toMatchObject({ valid: false });
  });
});

describe(signGrafanaPayload.name, () => {
  it('reproduces the computed test vectors', () => {
    expect(signGrafanaPayload(secret, rawBody)).toBe(vectors.noTimestamp.value);
    expect(signGrafanaPayload(secret, rawBody, vectors.withTimestamp.timestamp)).toBe(vectors.withTimestamp.value);
  });
});

import { createHash } from 'node:crypto';
import { fingerprint } from './fingerprint';
import { normalizeMessage } from './message-normalizer';

describe(fingerprint.name, () => {
  it('is the hex sha256 of source|feature|normalised message', () => {
    const expected = createHash('sha256')
      .update('api|checkout|Stripe API error: card_declined for cus_*')
      .digest('hex');
    expect(fingerprint('api', 'checkout', 'Stripe API error: card_declined for cus_*')).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable across occurrences of one bug', () => {
    const first = fingerprint('api', 'checkout', normalizeMessage('Stripe API error: card_declined for cus_abc123'));
    const second = fingerprint('api', 'checkout', normalizeMessage('Stripe API error: card_declined for cus_zz9'));
    expect(second).toBe(first);
    // pinned: a change to the normaliser or the hash input that moves existing fingerprints fails here
    expect(first).toBe(
      createHash('sha256').update('api|checkout|Stripe API error: card_declined for cus_*').digest('hex'),
    );
  });

  it('differs between scopes and between messages', () => {
    const message = normalizeMessage('Failed to fetch https://api.example.com/v1/thing/12345');
    const base = fingerprint('api', 'sync', message);
    expect(fingerprint('worker', 'sync', message)).not.toBe(base);
    expect(fingerprint('api', 'billing', message)).not.toBe(base);
    expect(fingerprint('api', 'sync', `${message}!`)).not.toBe(base);
  });
});

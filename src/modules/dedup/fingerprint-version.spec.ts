import { hash } from 'node:crypto';
import { fingerprintMessage } from './normalizer/fingerprint-message';
import { FINGERPRINT_VERSION } from './normalizer/fingerprint';

/**
 * A guard on FINGERPRINT_VERSION: the fingerprints of a fixed set of messages, one or more per
 * rule of the scrubber and the normaliser. When this digest changes, stored fingerprints no
 * longer match what the code computes: bump FINGERPRINT_VERSION (so the next start files the new
 * fingerprints as aliases, see FingerprintUpgradeService) and record the new digest here.
 */
const DIGESTS: Record<number, string> = {
  2: '14fb2112a392cda0c32b100fca871b2b0611d33bb146a412120cc2cce940097e',
  3: '308f2b753a4b1e0bebcea20a3af8c81d24f0fa254d73def9a82fcc4719f86a1c',
  4: 'f9810084215ee6195c19b13ca8f89ad15e3ac634943dec300d0c65b9291a739e',
  // From 5 the list has a scope over 200 characters (the digests above are of the list without it).
  5: '5595555598580cde928c4917f7814442a11be259eabe66147f32d227453cb360',
};

const MESSAGES = [
  'Stripe API error: card_declined for cus_abc123',
  'Failed to fetch https://api.example.com/v1/thing/12345',
  'Invite sent to jane.doe+test@example.co.uk twice',
  'connect postgres://app:hunter2@db.example.com:5432/main refused',
  'could not resolve db-primary.eu-west-1.rds.amazonaws.com',
  'proxy cache.example.net:3128 refused',
  'open C:\\Temp\\4f3a9c2b1d\\42.tmp failed',
  'dial tcp 10.1.2.3:5432: i/o timeout',
  'listen [2001:db8::1]:443 failed',
  'peer ::ffff:10.0.0.1 reset the connection',
  'x-request-id 01HQ3Z8K9X2N4M5P6R7S8T9V0W rejected, SHA256WITHRSAENCRYPTION unsupported',
  'loss 3.14e-10 below threshold 1e6',
  'trace 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 dropped',
  'order 550e8400-e29b-41d4-a716-446655440000 not found',
  'segfault at 0x7ffd5e8c0a10 ip 0x00000000004005d6',
  'build 7d9f8b6 failed health check',
  'job started 2024-03-05T14:07:09.123Z and stalled',
  'last seen Mar  5 14:07:09 on node',
  'expires Tue, 05 Mar 2024 14:07:09 GMT',
  'query took 250ms (budget 1.5s, total 1h30m)',
  'took 35 ms, retry in 30 seconds, lifetime <1 sec',
  'charge of $1,250.00 failed, refund 12.50 EUR pending',
  'payload 512KB exceeds limit of 1.5 MB; read 11721005 bytes',
  'sent 1190 bytes (1.16 KB), from 1.2.3.4 (host-a.example.com) or 5.6.7.8 () at noon',
  'client v2.3.1 incompatible with server 1.14.0-rc.2',
  'pod api-7d9f8b6c5-x2k4q OOMKilled on worker17',
  'request Xk29dLq0PzR7 timed out',
  'task task_1445_0020_m_000001 failed on blk_-6952',
  'lookup name=\'Jane Doe\' failed, key="a b", enabled=true',
  'updateClipping isOverlap:false, mask=ffffffff',
  'disconnect from 5.36.59.76.dynamic-dsl-ip.example.om and bx.optimix.asia:443',
  'nodes 10.0.0.1,10.0.0.2,10.0.0.3 down; delete blk_1 blk_2 blk_3 done',
  'auth failed with Authorization: Bearer ghp_16C7e42F292c6912E7710c838347Ae178B4a and password=hunter2',
  'card 4111 1111 1111 1111 declined for AKIAIOSFODNN7EXAMPLE',
  'order 4111111111111111 and order 4111111111111112 not shipped',
  'connect postgres://alice:Xq7vR2pL9sT4@db.example.com:5432/main refused',
  '  two\tspaces   here \n',
];

describe('FINGERPRINT_VERSION', () => {
  it('names the scrubber and normaliser that compute the fingerprints', () => {
    const prints = [
      ...MESSAGES.map((m) => fingerprintMessage('api', 'jobs', m).fingerprint),
      // a scope label holding a secret
      fingerprintMessage('api token=ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'jobs', 'Boom').fingerprint,
      // scope names longer than SCOPE_MAX_LENGTH
      fingerprintMessage(`svc-${'a'.repeat(300)}`, `feature-${'b'.repeat(300)}`, 'Boom').fingerprint,
    ].join('\n');
    expect({ version: FINGERPRINT_VERSION, digest: hash('sha256', prints) }).toEqual({
      version: FINGERPRINT_VERSION,
      digest: DIGESTS[FINGERPRINT_VERSION],
    });
  });
});

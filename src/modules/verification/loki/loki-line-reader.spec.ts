import { fingerprint, normalizeMessage } from '../../dedup/normalizer.contract';
import { INGEST_LOKI_FEATURE_LABELS, INGEST_LOKI_SOURCE_LABELS, readLokiLine } from './loki-line-reader';

const opts = { sourceLabels: INGEST_LOKI_SOURCE_LABELS, featureLabels: INGEST_LOKI_FEATURE_LABELS };

describe(readLokiLine.name, () => {
  it('reads a pino JSON line: message from msg, scope from the first present labels, version from metadata', () => {
    const r = readLokiLine(
      { service_name: 'checkout-api', app: 'ignored', component: 'payments' },
      { version: '1.4.2' },
      JSON.stringify({ level: 50, msg: 'Payment 8412 declined for customer cus_9f8a7b6c5d', pid: 1 }),
      opts,
    );
    const template = normalizeMessage('Payment 8412 declined for customer cus_9f8a7b6c5d');
    expect(r).toEqual({
      source: 'checkout-api',
      feature: 'payments',
      message: 'Payment 8412 declined for customer cus_9f8a7b6c5d',
      normalizedMessage: template,
      fingerprint: fingerprint('checkout-api', 'payments', template),
      version: '1.4.2',
    });
  });

  it('reads a plain line as the message, with the default feature and the nested error message of JSON', () => {
    expect(readLokiLine({ job: 'worker' }, {}, 'Timeout after 30s', opts)).toMatchObject({
      source: 'worker',
      feature: 'default',
      message: 'Timeout after 30s',
    });
    expect(readLokiLine({ app: 'a' }, {}, '{"err":{"message":"boom 42"}}', opts).message).toBe('boom 42');
  });

  it('scrubs secrets before normalising, as ingest does', () => {
    const r = readLokiLine({ app: 'a' }, {}, 'login failed password=hunter2hunter2', opts);
    expect(r.normalizedMessage).not.toContain('hunter2');
  });

  it('prefers stream labels over structured metadata', () => {
    expect(readLokiLine({ app: 'a', feature: 'f1' }, { feature: 'f2', source: 's' }, 'x', opts)).toMatchObject({
      source: 'a',
      feature: 'f1',
    });
  });
});

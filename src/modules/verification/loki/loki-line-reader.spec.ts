import { fingerprint, normalizeMessage } from '../../dedup/normalizer.contract';
import {
  DEFAULT_FEATURE,
  DEFAULT_LOKI_FEATURE_LABELS,
  DEFAULT_LOKI_SOURCE_LABELS,
} from '../../ingest/ingest-label-defaults';
import { fingerprintMessage } from '../../dedup/normalizer.contract';
import { DEFAULT_VERSION_LABELS } from '../../ingest/parsers/label-version';
import { parseLokiPush } from '../../ingest/parsers/loki-push.parser';
import { UNKNOWN_SOURCE } from '../../ingest/parsers/observation';
import {
  INGEST_DEFAULT_FEATURE,
  INGEST_LOKI_FEATURE_LABELS,
  INGEST_LOKI_SOURCE_LABELS,
  INGEST_UNKNOWN_SOURCE,
  INGEST_VERSION_LABELS,
  readLokiLine,
} from './loki-line-reader';

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
      scrubbedMessage: 'Payment 8412 declined for customer cus_9f8a7b6c5d',
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

  it('scrubs secrets before normalising, as ingest does, and gives the scrubbed message and version to store', () => {
    const r = readLokiLine(
      { app: 'a' },
      { version: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789' },
      'login failed password=hunter2hunter2',
      opts,
    );
    expect(r.normalizedMessage).not.toContain('hunter2');
    expect(r.message).toContain('hunter2'); // as ingest reads it, to compare
    expect(r.scrubbedMessage).not.toContain('hunter2');
    expect(r.scrubbedMessage).toContain('[REDACTED:');
    expect(r.version).not.toContain('ghp_');
  });

  it('prefers stream labels over structured metadata', () => {
    expect(readLokiLine({ app: 'a', feature: 'f1' }, { feature: 'f2', source: 's' }, 'x', opts)).toMatchObject({
      source: 'a',
      feature: 'f1',
    });
  });
});

/**
 * The reader mirrors ingest's Loki parser (an internal file of the ingest module, which the
 * module itself may not import; a spec may). If ingest changes how it reads a line, this fails.
 */
describe('readLokiLine parity with ingest', () => {
  it('uses the same default label names', () => {
    expect([...INGEST_LOKI_SOURCE_LABELS]).toEqual([...DEFAULT_LOKI_SOURCE_LABELS]);
    expect([...INGEST_LOKI_FEATURE_LABELS]).toEqual([...DEFAULT_LOKI_FEATURE_LABELS]);
    expect([...INGEST_VERSION_LABELS]).toEqual([...DEFAULT_VERSION_LABELS]);
    expect(INGEST_DEFAULT_FEATURE).toBe(DEFAULT_FEATURE);
    expect(INGEST_UNKNOWN_SOURCE).toBe(UNKNOWN_SOURCE);
  });

  it('reads source, feature, message and version as ingest does', () => {
    const cases: Array<{ stream: Record<string, string>; line: string; meta?: Record<string, string> }> = [
      {
        stream: { app: 'shop', level: 'error' },
        line: 'Timeout after 30s calling 10.0.0.7 token=ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      },
      {
        stream: { service_name: 'api', job: 'x', level: 'error', component: 'db' },
        line: '{"level":50,"msg":"Query 42 failed"}',
      },
      {
        stream: { source: 'a', level: 'error' },
        line: '{"level":"error","err":{"message":"boom"}}',
        meta: { version: '2.0.1' },
      },
      { stream: { level: 'error' }, line: 'no scope at all', meta: { feature: 'billing', commit: 'abc1234' } },
      { stream: { app: 'ingester' }, line: 'level=error caller=flush.go:88 msg="flush failed" err="disk full"' },
    ];
    for (const c of cases) {
      const pushed = parseLokiPush({
        body: {
          streams: [{ stream: c.stream, values: [['1700000000000000000', c.line, ...(c.meta ? [c.meta] : [])]] }],
        },
      });
      const [o] = pushed.observations;
      const r = readLokiLine(c.stream, c.meta ?? {}, c.line, opts);
      expect({ source: r.source, feature: r.feature, message: r.message, version: r.version }).toEqual({
        source: o.source,
        feature: o.feature,
        message: o.message,
        version: o.version,
      });
      // ...and fingerprints it as dedup files it.
      expect(r.fingerprint).toBe(fingerprintMessage(o.source, o.feature, o.message).fingerprint);
    }
  });
});

import { FakeLoki, LokiRequest, streamsAnswer } from '../../../../test/support/fake-loki';
import { fingerprint, normalizeMessage } from '../../dedup/normalizer.contract';
import { LokiClient } from './loki-client';
import { LOKI_PAGE_LIMIT, checkLoki } from './loki-recurrence-check';

const template = normalizeMessage('Payment 1 declined for customer cus_9f8a7b6c5d');
const fp = fingerprint('shop', 'default', template);
const line = (n: number): string => `Payment ${n} declined for customer cus_9f8a7b6c5d`;

describe(checkLoki.name, () => {
  let loki: FakeLoki;
  beforeAll(async () => {
    loki = await FakeLoki.start();
  });
  afterEach(() => loki.reset());
  afterAll(async () => {
    await loki.close();
  });
  const client = (): LokiClient => new LokiClient({ url: loki.url, timeoutMs: 2000, retries: 0 });
  const reader = { sourceLabels: ['app'], featureLabels: ['feature'] };
  const base = { scopes: [{ source: 'shop', templates: [template] }], fingerprints: new Set([fp]) };

  it('tallies old-build lines only in the settled part and reports fix-build lines anywhere', async () => {
    loki.respond(() => ({
      body: streamsAnswer([
        {
          stream: { app: 'shop' },
          values: [
            ['100', line(1), { structuredMetadata: { version: '1.0.0' } }],
            ['200', line(2), { structuredMetadata: { version: '1.0.0' } }],
            ['250', line(3), { structuredMetadata: { version: '2.0.0' } }],
            ['260', 'something else entirely'],
          ],
        },
      ]),
    }));
    const r = await checkLoki(
      client(),
      { ...base, fixBuilds: [{ version: '2.0.0' }], fromNs: 50n, toNs: 300n, settledNs: 150n },
      reader,
    );
    expect(r.oldBuildLines).toBe(1);
    expect(r.recurrences).toMatchObject([{ ns: 250n, version: '2.0.0', fingerprint: fp }]);
    expect(r.coveredUntilNs).toBe(150n);
  });

  it('pages forward from the last line seen, without counting a line twice', async () => {
    const pages: Array<Array<[string, string, Record<string, unknown>]>> = [
      Array.from({ length: LOKI_PAGE_LIMIT }, (_, i) => [
        String(1000 + i),
        line(i),
        { structuredMetadata: { version: '0.1.0' } },
      ]),
      [[String(1000 + LOKI_PAGE_LIMIT - 1), line(LOKI_PAGE_LIMIT - 1), { structuredMetadata: { version: '0.1.0' } }]],
    ];
    const starts: string[] = [];
    loki.respond((req: LokiRequest) => {
      starts.push(req.params.get('start') ?? '');
      return { body: streamsAnswer([{ stream: { app: 'shop' }, values: pages[starts.length - 1] ?? [] }]) };
    });
    const r = await checkLoki(
      client(),
      { ...base, fixBuilds: [{ version: '1.0.0' }], fromNs: 1000n, toNs: 10_000n, settledNs: 10_000n },
      reader,
    );
    expect(starts).toEqual(['1000', String(1000 + LOKI_PAGE_LIMIT - 1)]);
    expect(r.oldBuildLines).toBe(LOKI_PAGE_LIMIT);
    expect(r.recurrences).toEqual([]);
    expect(r.coveredUntilNs).toBe(10_000n);
  });

  it('rejects a metric answer to a log query', async () => {
    loki.respond(() => ({ body: { status: 'success', data: { resultType: 'matrix', result: [] } } }));
    await expect(
      checkLoki(client(), { ...base, fixBuilds: [], fromNs: 1n, toNs: 2n, settledNs: 2n }, reader),
    ).rejects.toThrow(/matrix/);
  });
});

import { gzipSync } from 'node:zlib';
import { compressSync } from 'snappy';
import { encodePushRequest } from '../../../src/modules/ingest/parsers/loki-push.proto-schema';
import { ingestAuth, useTestApp } from '../../support/test-app';
import { WriteWatch, isHouseError, watchWrites, writtenTables } from '../../support/write-watch';

/**
 * Loki push edge inputs compared with what Loki itself answers (FORMATS.md section 3): each is
 * either refused with a 4xx in the house shape naming the problem, writing nothing, or accepted
 * (204) as Loki accepts it.
 */
const PUSH = '/loki/api/v1/push';
const NOW = `${Date.now()}000000`;
const json = (body: unknown): Buffer => Buffer.from(JSON.stringify(body));
const errorStream = (...values: unknown[][]) => ({ stream: { app: 'edge-api', level: 'error' }, values });
const protobuf = (entries: Record<string, unknown>[], labels = '{app="edge-api", level="error"}'): Buffer =>
  compressSync(Buffer.from(encodePushRequest({ streams: [{ labels, entries }] })));
const at = (seconds: number | string, nanos = 0) => ({ seconds, nanos });
/** `bytes` as length-delimited protobuf field `id`. */
const field = (id: number, bytes: number[]): number[] => [(id << 3) | 2, bytes.length, ...bytes];

type Headers = Record<string, string | undefined>;
const JSON_TYPE: Headers = { 'Content-Type': 'application/json' };
const PROTOBUF: Headers = { 'Content-Type': 'application/x-protobuf' };

describe('POST /loki/api/v1/push: edge inputs against what Loki answers', () => {
  const t = useTestApp({}, { truncateEachTest: true });
  let watch: WriteWatch;

  beforeAll(async () => {
    watch = await watchWrites(t);
  });

  function post(headers: Headers, body: Buffer) {
    const req = t.http.post(PUSH).set(ingestAuth);
    for (const [name, value] of Object.entries(headers)) {
      if (value === undefined) req.unset(name);
      else req.set(name, value);
    }
    return req.serialize((b: unknown) => b as string).send(body); // the bytes as they are
  }

  async function messages(): Promise<string[]> {
    const rows = (await t.dataSource.query(`SELECT message FROM error_events ORDER BY message`)) as {
      message: string;
    }[];
    return rows.map((r) => r.message);
  }

  const big = 6 * 1024 * 1024; // past REQUEST_BODY_LIMIT_BYTES (5 MiB) in the tests' config

  it.each<[string, Headers, () => Buffer, number, string, RegExp]>([
    [
      'a gzip body that inflates past REQUEST_BODY_LIMIT_BYTES (a small compressed push)',
      { ...JSON_TYPE, 'Content-Encoding': 'gzip' },
      () => gzipSync(json({ streams: [errorStream([NOW, `Render failed ${'x'.repeat(big)}`])] })),
      413,
      'INGEST_PAYLOAD_TOO_LARGE',
      /body is larger than 5242880 bytes once decompressed/,
    ],
    [
      'a snappy body whose header claims more than REQUEST_BODY_LIMIT_BYTES (refused before allocating)',
      PROTOBUF,
      () => Buffer.from([0x80, 0x80, 0x80, 0x03, 0x00]),
      413,
      'INGEST_PAYLOAD_TOO_LARGE',
      /body is larger than 5242880 bytes once decompressed/,
    ],
    [
      'a protobuf timestamp past year 9999 (was a database error on an Invalid Date)',
      PROTOBUF,
      () =>
        protobuf([
          { timestamp: at(1_700_000_000), line: 'ok' },
          { timestamp: at('9223372036854775807'), line: 'x' },
        ]),
      400,
      'INGEST_INVALID_PAYLOAD',
      /^streams\[0\]\.entries\[1\]\.timestamp is not a valid timestamp .*9999-12-31T23:59:59Z/,
    ],
    [
      'a protobuf line sent with the varint wire type (was stored as an empty line)',
      PROTOBUF,
      () =>
        compressSync(
          Buffer.from(field(1, [...field(1, [...Buffer.from('{level="error"}')]), ...field(2, [0x10, 0x05])])),
        ),
      400,
      'INGEST_INVALID_PAYLOAD',
      /streams\[0\]\.entries\[0\]\.line \(field 2\) has wire type 0, expected 2/,
    ],
    [
      'a truncated protobuf varint',
      PROTOBUF,
      () => compressSync(Buffer.from([0x0a, 0xff])),
      400,
      'INGEST_INVALID_PAYLOAD',
      /not a valid protobuf logproto\.PushRequest: index out of range/,
    ],
    [
      'snappy framed (stream) format',
      PROTOBUF,
      () => Buffer.concat([Buffer.from([0xff, 0x06, 0x00, 0x00]), Buffer.from('sNaPpY'), Buffer.from([1, 2, 3])]),
      400,
      'INGEST_INVALID_PAYLOAD',
      /snappy framed \(stream\) format/,
    ],
    [
      'JSON without a Content-Type (Loki reads protobuf)',
      { 'Content-Type': undefined },
      () => json({ streams: [errorStream([NOW, 'x'])] }),
      400,
      'INGEST_INVALID_PAYLOAD',
      /it looks like JSON: send Content-Type: application\/json/,
    ],
    [
      'snappy-compressed JSON',
      { ...JSON_TYPE, 'Content-Encoding': 'snappy' },
      () => compressSync(json({ streams: [errorStream([NOW, 'x'])] })),
      400,
      'INGEST_INVALID_PAYLOAD',
      /Content-Encoding snappy is for protobuf bodies only/,
    ],
    [
      'a numeric timestamp',
      JSON_TYPE,
      () => json({ streams: [errorStream([1_700_000_000_000_000_000, 'x'])] }),
      400,
      'INGEST_INVALID_PAYLOAD',
      /streams\[0\]\.values\[0\]\[0\] .*Loki rejects numeric timestamps/,
    ],
    [
      'a negative timestamp',
      JSON_TYPE,
      () => json({ streams: [errorStream(['-1', 'x'])] }),
      400,
      'INGEST_INVALID_PAYLOAD',
      /streams\[0\]\.values\[0\]\[0\] must be a string of nanoseconds/,
    ],
    [
      'a timestamp past int64 nanoseconds',
      JSON_TYPE,
      () => json({ streams: [errorStream(['9223372036854775808', 'x'])] }),
      400,
      'INGEST_INVALID_PAYLOAD',
      /streams\[0\]\.values\[0\]\[0\]/,
    ],
    [
      'structured metadata with a number value',
      JSON_TYPE,
      () => json({ streams: [errorStream([NOW, 'x', { attempt: 3 }])] }),
      400,
      'INGEST_INVALID_PAYLOAD',
      /streams\[0\]\.values\[0\]\[2\]\.attempt must be a string \(got number\)/,
    ],
    [
      'a protobuf labels string that is not a selector',
      PROTOBUF,
      () => protobuf([{ timestamp: at(1_700_000_000), line: 'x' }], '{app="edge-api", level=~"error"}'),
      400,
      'INGEST_INVALID_PAYLOAD',
      /streams\[0\]\.labels is not a valid label set: expected "=" after label "level"/,
    ],
    [
      'duplicate label names in a protobuf labels string',
      PROTOBUF,
      () => protobuf([{ timestamp: at(1_700_000_000), line: 'x' }], '{app="a", app="b"}'),
      400,
      'INGEST_INVALID_PAYLOAD',
      /duplicate label name "app"/,
    ],
    [
      'a JSON charset other than UTF-8',
      { 'Content-Type': 'application/json; charset=iso-8859-1' },
      () => json({ streams: [errorStream([NOW, 'x'])] }),
      415,
      'INGEST_UNSUPPORTED_MEDIA_TYPE',
      /charset "iso-8859-1"/,
    ],
  ])('refuses %s, writing nothing', async (_name, headers, body, status, code, message) => {
    const before = await watch.fingerprint();
    const res = await post(headers, body());
    expect([res.status, res.body.error]).toEqual([status, code]);
    expect(isHouseError(res.body)).toBe(true);
    expect(res.body.message).toMatch(message);
    expect(writtenTables(before, await watch.fingerprint())).toBe('');
  });

  it('takes a JSON stream without values (absent or null) as empty, as Loki does, keeping the other streams', async () => {
    const body = json({
      streams: [
        { stream: { app: 'edge-api', level: 'error' } },
        { stream: { app: 'edge-api', level: 'error' }, values: null },
        errorStream([NOW, 'Payment gateway unreachable']),
      ],
    });
    await post(JSON_TYPE, body).expect(204);
    expect(await messages()).toEqual(['Payment gateway unreachable']);
  });

  it.each<[string, Headers, () => Buffer, string[]]>([
    ['an empty streams array', JSON_TYPE, () => json({ streams: [] }), []],
    ['an empty protobuf PushRequest', PROTOBUF, () => compressSync(Buffer.alloc(0)), []],
    ['a protobuf stream without entries', PROTOBUF, () => protobuf([]), []],
    [
      'a Content-Type with a charset and another parameter',
      { 'Content-Type': 'Application/JSON;charset="UTF-8"; boundary=x' },
      () => json({ streams: [errorStream([NOW, 'charset line'])] }),
      ['charset line'],
    ],
    [
      'Content-Encoding: snappy on plain JSON (Loki ignores it)',
      { ...JSON_TYPE, 'Content-Encoding': 'snappy' },
      () => json({ streams: [errorStream([NOW, 'snappy header line'])] }),
      ['snappy header line'],
    ],
    [
      'protobuf fields of unknown numbers (skipped, as Loki skips them)',
      PROTOBUF,
      () =>
        compressSync(
          Buffer.concat([
            Buffer.from(
              encodePushRequest({
                streams: [
                  {
                    labels: '{app="edge-api", level="error"}',
                    entries: [{ timestamp: at(1_700_000_000), line: 'unknown fields line' }],
                  },
                ],
              }),
            ),
            Buffer.from([0x58, 0x01, ...field(12, [0x61])]),
          ]),
        ),
      ['unknown fields line'],
    ],
    [
      'the last protobuf timestamp there is (9999-12-31T23:59:59.999999999Z, counted at arrival)',
      PROTOBUF,
      () => protobuf([{ timestamp: at('253402300799', 999_999_999), line: 'far future line' }]),
      ['far future line'],
    ],
  ])('accepts %s: 204', async (_name, headers, body, stored) => {
    await post(headers, body()).expect(204);
    expect(await messages()).toEqual(stored);
  });
});

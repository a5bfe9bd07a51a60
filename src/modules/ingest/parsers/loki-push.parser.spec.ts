import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';

import { compressSync, uncompressSync } from 'snappy';

import { readSharedBytes, readSharedJson } from '../../../../test/fixtures/ingest/shared-fixtures';
import { DEFAULT_FEATURE } from '../ingest-label-defaults';
import { IngestInputError } from '../ingest.errors';
import { parseLokiPush, type LokiPushOptions, type LokiPushRequest } from './loki-push.parser';
import { decodePushRequest, encodePushRequest } from './loki-push.proto-schema';
import { UNKNOWN_SOURCE } from './observation';

// Fixtures are edited freely, including into invalid shapes, to build test payloads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

interface Captured {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface CapturedHeaders {
  headers: Record<string, string>;
  bodyBytes: number;
}

const push = (...parts: string[]): Buffer => readSharedBytes('loki', 'push', ...parts);
const json = (body: unknown): LokiPushRequest => ({
  body: Buffer.from(JSON.stringify(body)),
  contentType: 'application/json',
});
const protobuf = (request: Record<string, unknown>): LokiPushRequest => ({
  body: compressSync(Buffer.from(encodePushRequest(request))),
  contentType: 'application/x-protobuf',
});
const decodeSnappy = (bytes: Buffer): Buffer => uncompressSync(bytes, { asBuffer: true }) as Buffer;
const stream = (labels: Record<string, string>, ...values: unknown[][]): Json => ({
  streams: [{ stream: labels, values }],
});

function parseError(request: LokiPushRequest, opts?: LokiPushOptions): IngestInputError {
  try {
    parseLokiPush(request, opts);
  } catch (error) {
    if (error instanceof IngestInputError) return error;
    throw error;
  }
  throw new Error('expected an IngestInputError');
}

describe(parseLokiPush.name, () => {
  describe('shared fixtures', () => {
    it('skips the plain line of the basic push test body and keeps it when errorsOnly is off', () => {
      const request = { body: push('loki-push_test-valid-basic.json'), contentType: 'application/json' };

      expect(parseLokiPush(request)).toEqual({ format: 'json', observations: [], skipped: 1, streams: 1 });

      const { observations, skipped } = parseLokiPush(request, { errorsOnly: false });
      expect(skipped).toBe(0);
      expect(observations).toEqual([
        {
          kind: 'loki',
          source: UNKNOWN_SOURCE,
          feature: DEFAULT_FEATURE,
          message: 'fizzbuzz',
          occurredAt: new Date(1570818238000),
          count: 1,
          labels: { foo: 'bar2' },
          deliveryKey: expect.stringMatching(/^loki:[0-9a-f]{64}$/),
          status: 'firing',
        },
      ]);
    });

    it('reads structured metadata as the third element', () => {
      const request = { body: push('loki-push_test-valid-structured-metadata.json'), contentType: 'application/json' };

      const [observation] = parseLokiPush(request, { errorsOnly: false }).observations;
      expect(observation.labels).toEqual({ foo: 'bar2', a: 'a', b: 'b' });

      // A level carried only in structured metadata makes the line count.
      const byMetadata = parseLokiPush(request, { levelLabels: ['b'], errorLevels: ['B'] });
      expect(byMetadata.observations).toHaveLength(1);
      expect(byMetadata.observations[0].level).toBe('b');
    });

    it('rejects an object in line position like Loki does', () => {
      const error = parseError({
        body: push('loki-push_test-INVALID-object-as-line.json'),
        contentType: 'application/json',
      });
      expect(error).toMatchObject({
        code: 'INGEST_INVALID_PAYLOAD',
        message: 'streams[0].values[0][1] must be a string log line (got object)',
        path: 'streams[0].values[0][1]',
      });
    });

    it('parses the pino-loki capture with its request headers', () => {
      const { headers } = readSharedJson<CapturedHeaders>(
        'loki',
        'push',
        'captured',
        'pino-loki-3.0.0.request-headers.json',
      );
      const body = push('captured', 'pino-loki-3.0.0.push.json');
      expect(body.length).toBe(Number(headers['content-length']));

      const result = parseLokiPush({
        body,
        contentType: headers['content-type'],
        contentEncoding: headers['content-encoding'],
      });

      expect(result.format).toBe('json');
      expect(result.observations).toEqual([
        {
          kind: 'loki',
          source: 'checkout-api',
          feature: DEFAULT_FEATURE,
          message: 'Unhandled exception in OrdersController',
          level: 'error',
          occurredAt: new Date(1767225600123),
          count: 1,
          labels: {
            level: 'error',
            hostname: 'web-1',
            app: 'checkout-api',
            env: 'prod',
            trace_id: '0242ac120002',
            user_id: 'u-42',
          },
          deliveryKey: expect.stringMatching(/^loki:[0-9a-f]{64}$/),
          status: 'firing',
        },
      ]);
      // pino-loki sent `err.stack: ""`: no stack.
      expect(result.observations[0].stack).toBeUndefined();
    });

    it('parses the winston-loki JSON-mode capture with its request headers', () => {
      const { headers } = readSharedJson<CapturedHeaders>(
        'loki',
        'push',
        'captured',
        'winston-loki-6.1.7-json.request-headers.json',
      );
      const result = parseLokiPush({
        body: push('captured', 'winston-loki-6.1.7-json.push.json'),
        contentType: headers['content-type'],
      });

      expect(result.observations).toHaveLength(1);
      expect(result.observations[0]).toMatchObject({
        source: 'checkout-api',
        // Not a JSON line (winston-loki appends the meta JSON): the raw line is the message.
        message: 'Unhandled exception in OrdersController {"route":"/api/orders","level":"error"}',
        level: 'error',
        occurredAt: new Date(1795667777161),
        labels: { level: 'error', app: 'checkout-api', env: 'prod', level_hint: 'error', route: '/api/orders' },
      });
    });

    it('parses the generated snappy protobuf and matches its decoded JSON', () => {
      const decoded = readSharedJson<Json>(
        'loki',
        'push',
        'captured',
        'generated-pushrequest-structured-metadata.decoded.json',
      );
      const body = push('captured', 'generated-pushrequest-structured-metadata.snappy.pb');

      const result = parseLokiPush({ body, contentType: 'application/x-protobuf' });

      expect(result.format).toBe('protobuf');
      expect(result.streams).toBe(1);
      const entries = decoded.streams[0].entries as Json[];
      expect(result.observations).toHaveLength(entries.length);
      result.observations.forEach((observation, i) => {
        const entry = entries[i];
        const metadata = Object.fromEntries(
          ((entry.structuredMetadata ?? []) as Json[]).map((pair) => [pair.name, pair.value]),
        );
        expect(observation).toMatchObject({
          kind: 'loki',
          source: 'checkout-api',
          level: 'error',
          occurredAt: new Date(entry.timestamp.seconds * 1000 + entry.timestamp.nanos / 1e6),
          labels: { app: 'checkout-api', env: 'prod', level: 'error', ...metadata },
        });
      });
      expect(result.observations[0].labels.trace_id).toBe('0242ac120002');
      // the lines are logfmt: the message is their msg, with the err when there is one
      expect(result.observations.map((o) => o.message)).toEqual([
        "Unhandled exception in OrdersController: TypeError: Cannot read properties of undefined (reading 'id')",
        'Unhandled exception in OrdersController',
      ]);
    });

    it('decodes the uncompressed fixture to the same message and rejects it unsnappied', () => {
      const decoded = readSharedJson<Json>(
        'loki',
        'push',
        'captured',
        'generated-pushrequest-structured-metadata.decoded.json',
      );
      const uncompressed = push('captured', 'generated-pushrequest-structured-metadata.uncompressed.pb');

      const message = decodePushRequest(uncompressed);
      expect(message.streams[0].labels).toBe(decoded.streams[0].labels);
      expect(message.streams[0].entries.map((e) => [e.timestamp, e.line])).toEqual(
        (decoded.streams[0].entries as Json[]).map((e) => [
          { seconds: String(e.timestamp.seconds), nanos: e.timestamp.nanos },
          e.line,
        ]),
      );

      // Loki always snappy-decodes protobuf bodies.
      expect(parseError({ body: uncompressed }).message).toMatch(/^body is not block-snappy-compressed protobuf/);
      const recompressed = parseLokiPush({ body: compressSync(uncompressed) });
      const original = parseLokiPush({ body: push('captured', 'generated-pushrequest-structured-metadata.snappy.pb') });
      expect(recompressed).toEqual(original);
    });
  });

  describe('real clients against a local listener', () => {
    /** Starts a listener, lets `send` push to it, and resolves with the first request it receives. */
    function captureOnePush(send: (url: string, fail: (error: unknown) => void) => void): Promise<Captured> {
      return new Promise<Captured>((resolve, reject) => {
        const server = createServer((req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (chunk: Buffer) => chunks.push(chunk));
          req.on('end', () => {
            res.statusCode = 204;
            res.end();
            server.close();
            resolve({ headers: req.headers, body: Buffer.concat(chunks) });
          });
        });
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => send(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, reject));
      });
    }

    const parseCaptured = (captured: Captured) =>
      parseLokiPush({
        body: captured.body,
        contentType: captured.headers['content-type'],
        contentEncoding: captured.headers['content-encoding'],
      });

    it('parses what winston-loki sends in its default protobuf mode', async () => {
      const winston = await import('winston');
      const { default: LokiTransport } = await import('winston-loki');
      let transport: InstanceType<typeof LokiTransport> | undefined;
      const captured = await captureOnePush((host, fail) => {
        transport = new LokiTransport({
          host,
          batching: false,
          labels: { app: 'checkout-api', env: 'prod' },
          basicAuth: 'user:pass',
          onConnectionError: fail,
        });
        winston.createLogger({ transports: [transport] }).error('Unhandled exception in OrdersController', {
          route: '/api/orders',
        });
      });
      await transport?.close();

      expect(captured.headers['content-type']).toBe('application/x-protobuf');
      const result = parseCaptured(captured);
      expect(result.format).toBe('protobuf');
      expect(result.observations).toHaveLength(1);
      expect(result.observations[0]).toMatchObject({
        source: 'checkout-api',
        level: 'error',
        labels: { level: 'error', app: 'checkout-api', env: 'prod' },
      });
      expect(result.observations[0].message).toContain('Unhandled exception in OrdersController');
    });

    it('parses what pino-loki sends, with a real Error stack', async () => {
      const { default: pino } = await import('pino');
      const { pinoLoki } = await import('pino-loki');
      const captured = await captureOnePush((host) => {
        const stream = pinoLoki({
          host,
          batching: false,
          labels: { app: 'checkout-api', env: 'prod' },
          basicAuth: { username: 'user', password: 'pass' },
        });
        pino({ base: undefined }, stream).error(
          { err: new TypeError("Cannot read properties of undefined (reading 'id')"), meta: { trace_id: 't-1' } },
          'Unhandled exception in OrdersController',
        );
      });

      expect(captured.headers['content-type']).toBe('application/json');
      const result = parseCaptured(captured);
      expect(result.format).toBe('json');
      expect(result.observations).toHaveLength(1);
      expect(result.observations[0]).toMatchObject({
        source: 'checkout-api',
        message: 'Unhandled exception in OrdersController',
        level: 'error',
        labels: { level: 'error', app: 'checkout-api', env: 'prod', trace_id: 't-1' },
      });
      expect(result.observations[0].stack).toMatch(
        /^TypeError: Cannot read properties of undefined \(reading 'id'\)\n\s+at /,
      );
    });
  });

  describe('which lines are errors', () => {
    const classify = (labels: Record<string, string>, line: string, opts?: LokiPushOptions) =>
      parseLokiPush(json(stream(labels, ['1767225600000000000', line])), opts);

    it('counts pino numeric levels 50 and 60 in JSON lines, naming them', () => {
      expect(classify({ app: 'a' }, '{"level":50,"msg":"boom"}').observations[0]).toMatchObject({
        level: 'error',
        message: 'boom',
      });
      expect(classify({ app: 'a' }, '{"level":60,"msg":"dead"}').observations[0].level).toBe('fatal');
      expect(classify({ app: 'a' }, '{"level":30,"msg":"fine"}')).toMatchObject({ observations: [], skipped: 1 });
      expect(classify({ app: 'a' }, '{"level":50,"msg":"boom"}', { errorLevels: ['error'] }).observations).toHaveLength(
        1,
      );
      expect(classify({ app: 'a' }, '{"level":40,"msg":"careful"}', { errorLevels: ['error'] }).skipped).toBe(1);
    });

    it('matches label and JSON levels case-insensitively, by the configured fields', () => {
      expect(classify({ app: 'a', detected_level: 'ERROR' }, 'x').observations[0].level).toBe('error');
      expect(classify({ app: 'a', severity: 'Critical' }, 'x').observations[0].level).toBe('critical');
      expect(classify({ app: 'a' }, '{"severity":"ERROR","message":"m"}').observations[0].level).toBe('error');
      expect(classify({ app: 'a' }, '{"lvl":"crit"}').observations).toHaveLength(1);
      expect(classify({ app: 'a' }, '{"loglevel":"error"}').skipped).toBe(1);
      expect(classify({ app: 'a' }, '{"loglevel":"error"}', { jsonLevelFields: ['loglevel'] }).skipped).toBe(0);
      expect(classify({ app: 'a', level: 'warn' }, 'x', { errorLevels: ['warn'] }).observations).toHaveLength(1);
    });

    it('counts a JSON error line even when the stream label says info', () => {
      expect(classify({ app: 'a', level: 'info' }, '{"level":"error","msg":"m"}').observations).toHaveLength(1);
    });

    it('skips plain lines without an error label, and malformed JSON', () => {
      expect(classify({ app: 'a' }, 'error: plain text is not classified').skipped).toBe(1);
      expect(classify({ app: 'a' }, 'user=alice failed level=error').skipped).toBe(1); // not all key=value
      expect(classify({ app: 'a' }, '{"level":"error"').skipped).toBe(1);
      expect(classify({ app: 'a' }, '["error"]').skipped).toBe(1);
    });

    it('reads logfmt lines as Loki does: the level field classifies, msg and err make the message', () => {
      const go =
        'ts=2026-12-05T23:01:02.345Z caller=flush.go:88 level=error msg="flush failed" err="write /data/wal: no space left on device"';
      expect(classify({ app: 'ingester' }, go).observations[0]).toMatchObject({
        level: 'error',
        message: 'flush failed: write /data/wal: no space left on device',
      });
      expect(classify({ app: 'a' }, 'level=ERROR msg="quoted \\"inner\\" text"').observations[0].message).toBe(
        'quoted "inner" text',
      );
      expect(classify({ app: 'a' }, 'lvl=crit err=timeout').observations[0].message).toBe('timeout');
      expect(classify({ app: 'a' }, 'level=info msg="fine" took=3ms').skipped).toBe(1);
    });

    it('takes the message and stack from the usual JSON fields', () => {
      const first = (line: string) => classify({ app: 'a', level: 'error' }, line).observations[0];
      expect(first('{"message":"from message"}').message).toBe('from message');
      expect(first('{"msg":"","error":{"message":"from error.message","stack":"E\\n at x"}}')).toMatchObject({
        message: 'from error.message',
        stack: 'E\n at x',
      });
      expect(first('{"err":{"message":"from err.message","stack":"S"},"stack":"top"}')).toMatchObject({
        message: 'from err.message',
        stack: 'S',
      });
      expect(first('{"stack":"top","code":1}')).toMatchObject({ message: '{"stack":"top","code":1}', stack: 'top' });
    });
  });

  describe('labels, source, feature, version', () => {
    it('takes source and feature from stream labels, then structured metadata', () => {
      const body = stream({ service_name: 'orders', level: 'error' }, ['1', 'x', { component: 'db', app: 'ignored' }]);
      expect(parseLokiPush(json(body)).observations[0]).toMatchObject({ source: 'orders', feature: 'db' });

      const fromMetadata = stream({ level: 'error' }, ['1', 'x', { service: 'billing', version: '2.0.1' }]);
      expect(parseLokiPush(json(fromMetadata)).observations[0]).toMatchObject({ source: 'billing', version: '2.0.1' });
    });

    it('lets stream labels win over structured metadata of the same name', () => {
      const body = stream({ app: 'a', level: 'error' }, ['1', 'x', { app: 'b', trace_id: 't' }]);
      expect(parseLokiPush(json(body)).observations[0].labels).toEqual({ app: 'a', level: 'error', trace_id: 't' });
    });

    it('keeps a label or metadata field named __proto__ out of the labels, which stay a plain object', () => {
      // JSON.parse makes `__proto__` an own key; the labels must neither hold it nor take it as a prototype.
      const body = Buffer.from(
        '{"streams":[{"stream":{"app":"a","level":"error","__proto__":"x"},"values":[["1","x",{"__proto__":"y","trace_id":"t"}]]}]}',
      );
      const { labels } = parseLokiPush({ body, contentType: 'application/json' }).observations[0];
      expect(labels).toEqual({ app: 'a', level: 'error', trace_id: 't' });
      expect(Object.getPrototypeOf(labels)).toBe(Object.prototype);
      expect(Object.keys(labels)).not.toContain('__proto__');
    });

    it('uses configured source and feature labels', () => {
      const body = stream({ team: 'pay', svc: 'checkout', level: 'error' }, ['1', 'x']);
      expect(
        parseLokiPush(json(body), { sourceLabels: ['svc'], featureLabels: ['team'] }).observations[0],
      ).toMatchObject({ source: 'checkout', feature: 'pay' });
    });
  });

  describe('delivery keys', () => {
    const entry = { timestamp: { seconds: 1767225600, nanos: 123000000 }, line: 'boom', structuredMetadata: [] };

    it('gives the same entry the same key in JSON and protobuf, whatever the label order', () => {
      const fromJson = parseLokiPush(json(stream({ app: 'a', level: 'error' }, ['1767225600123000000', 'boom'])));
      const fromProto = parseLokiPush(
        protobuf({ streams: [{ labels: '{level="error", app="a"}', entries: [entry] }] }),
      );
      const leadingZeros = parseLokiPush(json(stream({ level: 'error', app: 'a' }, ['01767225600123000000', 'boom'])));

      expect(fromProto.observations[0].deliveryKey).toBe(fromJson.observations[0].deliveryKey);
      expect(leadingZeros.observations[0].deliveryKey).toBe(fromJson.observations[0].deliveryKey);
    });

    it('distinguishes timestamps, lines and streams but not structured metadata', () => {
      const keys = parseLokiPush(
        json({
          streams: [
            {
              stream: { app: 'a', level: 'error' },
              values: [
                ['1767225600123000000', 'boom'],
                ['1767225600123000001', 'boom'],
                ['1767225600123000000', 'boom!'],
              ],
            },
            { stream: { app: 'b', level: 'error' }, values: [['1767225600123000000', 'boom']] },
            { stream: { app: 'a', level: 'error' }, values: [['1767225600123000000', 'boom', { trace_id: 'x' }]] },
          ],
        }),
      ).observations.map((o) => o.deliveryKey);

      expect(new Set(keys.slice(0, 4)).size).toBe(4);
      expect(keys[4]).toBe(keys[0]);
    });
  });

  describe('framing', () => {
    const body = push('captured', 'pino-loki-3.0.0.push.json');

    it('accepts gzip, zlib deflate and raw deflate (as Loki uses) JSON bodies', () => {
      const plain = parseLokiPush({ body, contentType: 'application/json' });
      for (const [encoding, compressed] of [
        ['gzip', gzipSync(body)],
        ['deflate', deflateSync(body)],
        ['deflate', deflateRawSync(body)],
        ['GZIP', gzipSync(body)],
      ] as const) {
        expect(parseLokiPush({ body: compressed, contentType: 'application/json', contentEncoding: encoding })).toEqual(
          plain,
        );
      }
    });

    it('accepts a charset parameter, a string body and an already-parsed body', () => {
      const plain = parseLokiPush({ body, contentType: 'application/json' });
      expect(parseLokiPush({ body, contentType: 'Application/JSON; charset=UTF-8' })).toEqual(plain);
      expect(parseLokiPush({ body: body.toString('utf8'), contentType: 'application/json' })).toEqual(plain);
      expect(parseLokiPush({ body: JSON.parse(body.toString('utf8')) as Json })).toEqual(plain);
    });

    it('accepts Content-Encoding snappy and application/octet-stream for protobuf', () => {
      const pb = push('captured', 'generated-pushrequest-structured-metadata.snappy.pb');
      const plain = parseLokiPush({ body: pb });
      expect(parseLokiPush({ body: pb, contentType: 'application/x-protobuf', contentEncoding: 'snappy' })).toEqual(
        plain,
      );
      expect(parseLokiPush({ body: pb, contentType: 'application/octet-stream' })).toEqual(plain);
      expect(parseLokiPush({ body: gzipSync(pb), contentEncoding: 'gzip' })).toEqual(plain);
    });

    it('rejects other encodings, media types and charsets', () => {
      expect(parseError({ body, contentType: 'application/json', contentEncoding: 'br' })).toMatchObject({
        code: 'INGEST_UNSUPPORTED_ENCODING',
        message: 'Content-Encoding "br" is not supported: use gzip, deflate or none',
      });
      expect(parseError({ body, contentType: 'text/plain' })).toMatchObject({ code: 'INGEST_UNSUPPORTED_MEDIA_TYPE' });
      expect(parseError({ body, contentType: 'application/json; charset=latin1' }).message).toContain(
        'charset "latin1"',
      );
    });

    it('explains a gzip header on an already inflated body, and bad compressed data', () => {
      expect(parseError({ body, contentType: 'application/json', contentEncoding: 'gzip' }).message).toBe(
        'body is not gzip data although Content-Encoding is gzip (was it already inflated?)',
      );
      const truncated = gzipSync(body).subarray(0, 30);
      expect(parseError({ body: truncated, contentType: 'application/json', contentEncoding: 'gzip' }).message).toMatch(
        /^body could not be decompressed as gzip/,
      );
    });

    it('rejects empty bodies, invalid JSON and invalid protobuf', () => {
      expect(parseError({ body: Buffer.alloc(0), contentType: 'application/json' }).message).toBe('body is empty');
      expect(parseError({ body: Buffer.from('{"streams":'), contentType: 'application/json' }).message).toMatch(
        /^body is not valid UTF-8 JSON/,
      );
      expect(parseError({ body: Buffer.from([0xff, 0xfe]), contentType: 'application/json' }).message).toMatch(
        /^body is not valid UTF-8 JSON/,
      );
      expect(parseError({ body: compressSync(Buffer.from([0x0a, 0xff, 0x01])) }).message).toMatch(
        /^body is not a valid protobuf logproto\.PushRequest/,
      );
    });

    it('names snappy framed format, JSON sent as protobuf and snappy-compressed JSON', () => {
      const pb = decodeSnappy(push('captured', 'generated-pushrequest-structured-metadata.snappy.pb'));
      const framed = Buffer.concat([Buffer.from([0xff, 0x06, 0x00, 0x00]), Buffer.from('sNaPpY'), pb]);
      expect(parseError({ body: framed, contentType: 'application/x-protobuf' }).message).toBe(
        'body is snappy framed (stream) format: Loki and fixloop take block snappy (snappy.Encode)',
      );
      expect(parseError({ body }).message).toMatch(
        /^body is not block-snappy-compressed protobuf: .* \(it looks like JSON: send Content-Type: application\/json; without one Loki reads protobuf\)$/,
      );
      expect(
        parseError({ body: compressSync(body), contentType: 'application/json', contentEncoding: 'snappy' }).message,
      ).toMatch(/\(Content-Encoding snappy is for protobuf bodies only: send JSON as it is, gzip or deflate\)$/);
    });

    it('refuses a snappy body declaring more than the cap before allocating it', () => {
      // 6 MiB declared in the length varint, and no data: refused by its header alone
      const declared = Buffer.from([0x80, 0x80, 0x80, 0x03, 0x00]);
      expect(parseError({ body: declared }, { maxDecompressedBytes: 5 * 1024 * 1024 })).toMatchObject({
        code: 'INGEST_PAYLOAD_TOO_LARGE',
        message: 'body is larger than 5242880 bytes once decompressed',
      });
    });

    it('caps the decompressed size', () => {
      const bomb = gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20));
      expect(
        parseError(
          { body: bomb, contentType: 'application/json', contentEncoding: 'gzip' },
          { maxDecompressedBytes: 1024 * 1024 },
        ),
      ).toMatchObject({
        code: 'INGEST_PAYLOAD_TOO_LARGE',
        message: 'body is larger than 1048576 bytes once decompressed',
      });
      const snappyBomb = compressSync(Buffer.alloc(2 * 1024 * 1024));
      expect(parseError({ body: snappyBomb }, { maxDecompressedBytes: 1024 * 1024 }).code).toBe(
        'INGEST_PAYLOAD_TOO_LARGE',
      );
    });
  });

  describe('validation', () => {
    it('rejects numeric and malformed timestamps, naming the path', () => {
      const numeric = parseError(json(stream({ app: 'a' }, [1570818238000000000, 'x'])));
      expect(numeric.message).toBe(
        'streams[0].values[0][0] must be a string of nanoseconds since the Unix epoch (got number 1570818238000000000; Loki rejects numeric timestamps)',
      );
      expect(parseError(json(stream({ app: 'a' }, ['2026-01-01T00:00:00Z', 'x']))).message).toBe(
        'streams[0].values[0][0] must be a string of nanoseconds since the Unix epoch (got "2026-01-01T00:00:00Z")',
      );
      expect(parseError(json(stream({ app: 'a' }, ['99999999999999999999', 'x']))).path).toBe(
        'streams[0].values[0][0]',
      );
    });

    it('rejects malformed streams and entries', () => {
      expect(parseError(json([])).message).toBe('body must be a JSON object (got array)');
      expect(parseError(json({})).message).toBe('streams must be an array of streams (got undefined)');
      expect(parseError(json({ streams: [1] })).message).toBe('streams[0] must be an object (got number)');
      expect(parseError(json({ streams: [{ values: [] }] })).message).toBe(
        'streams[0].stream is required and must be an object of string values (got undefined)',
      );
      expect(parseError(json({ streams: [{ stream: { a: 1 }, values: [] }] })).message).toBe(
        'streams[0].stream.a must be a string (got number)',
      );
      expect(parseError(json({ streams: [{ stream: {}, values: [] }] })).message).toBe(
        'streams[0].stream must have at least one label (Loki rejects streams without labels)',
      );
      expect(parseError(json({ streams: [{ stream: { a: 'b' }, values: {} }] })).message).toBe(
        'streams[0].values must be an array of [timestamp, line] entries (got object)',
      );
      expect(parseError(json(stream({ a: 'b' }, ['1']))).message).toMatch(/^streams\[0\]\.values\[0\] must be \[/);
      expect(parseError(json(stream({ a: 'b' }, ['1', 'x', {}, 'extra']))).message).toContain('(got an array of 4)');
      expect(parseError(json(stream({ a: 'b' }, ['1', 'x', { n: 1 }]))).message).toBe(
        'streams[0].values[0][2].n must be a string (got number)',
      );
      expect(parseError(json(stream({ a: 'b' }, ['1', 'x', 'meta']))).message).toBe(
        'streams[0].values[0][2] must be an object of string values (got string)',
      );
    });

    it('reads a JSON stream without values (absent or null) as an empty stream, as Loki does', () => {
      const line = [`${1_700_000_000n * 1_000_000_000n}`, 'Payment failed'];
      const result = parseLokiPush(
        json({
          streams: [
            { stream: { app: 'a' } },
            { stream: { app: 'b' }, values: null },
            stream({ app: 'c' }, line).streams[0],
          ],
        }),
        { errorsOnly: false },
      );
      expect(result).toMatchObject({ streams: 3, skipped: 0 });
      expect(result.observations.map((o) => [o.source, o.message])).toEqual([['c', 'Payment failed']]);
    });

    it('rejects protobuf timestamps outside google.protobuf.Timestamp (past 9999) or before the epoch', () => {
      const at = (seconds: number | string, nanos = 0) =>
        protobuf({ streams: [{ labels: '{app="a"}', entries: [{ timestamp: { seconds, nanos }, line: 'x' }] }] });
      const last = parseLokiPush(at('253402300799', 999_999_999), { errorsOnly: false }).observations[0];
      expect(last.occurredAt.toISOString()).toBe('9999-12-31T23:59:59.999Z');
      for (const [seconds, nanos] of [
        ['253402300800', 0],
        ['9223372036854775807', 0], // past any Date: was an Invalid Date the database refused
        [-1, 0],
        [1, 1_000_000_000],
        [1, -1],
      ] as const) {
        expect(parseError(at(seconds, nanos))).toMatchObject({
          path: 'streams[0].entries[0].timestamp',
          message: expect.stringContaining('seconds must be 0 to 253402300799 (9999-12-31T23:59:59Z)') as string,
        });
      }
    });

    it('names the wrong wire type of a protobuf field', () => {
      const lineAsVarint = [0x0a, 0x04, 0x12, 0x02, 0x10, 0x05];
      expect(parseError({ body: compressSync(Buffer.from(lineAsVarint)) }).message).toBe(
        'body is not a valid protobuf logproto.PushRequest: streams[0].entries[0].line (field 2) has wire type 0, expected 2 (string)',
      );
    });

    it('rejects bad protobuf label strings, naming the stream', () => {
      const error = parseError(protobuf({ streams: [{ labels: '{app="a"', entries: [] }] }));
      expect(error.path).toBe('streams[0].labels');
      expect(parseError(protobuf({ streams: [{ labels: '{}', entries: [] }] })).message).toContain(
        'at least one label',
      );
    });

    it('cuts a line over the 256 KB limit to fit, saying so, and keeps the other lines of the push', () => {
      const limit = 256 * 1024;
      const parse = (body: Parameters<typeof parseLokiPush>[0]) =>
        parseLokiPush(body, { errorsOnly: false }).observations.map((o) => o.message);
      expect(parse(json(stream({ a: 'b' }, ['1', 'x'.repeat(limit)])))).toEqual(['x'.repeat(limit)]);
      const [short, long] = parse(json(stream({ a: 'b' }, ['1', 'x'], ['2', 'é'.repeat(limit / 2 + 1)])));
      expect(short).toBe('x');
      expect(Buffer.byteLength(long)).toBeLessThanOrEqual(limit);
      expect(long).toMatch(/^(é)+ \[truncated by fixloop: 262146 bytes in all\]$/); // never half a character
      const pbLine = { timestamp: { seconds: 1, nanos: 0 }, line: 'y'.repeat(limit + 1), structuredMetadata: [] };
      const [pb] = parse(protobuf({ streams: [{ labels: '{a="b"}', entries: [pbLine] }] }));
      expect(pb).toMatch(/^y+ \[truncated by fixloop: 262145 bytes in all\]$/);
    });

    it('keeps the first structured metadata entries within the 128-entry and 64 KB limits', () => {
      const entries = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
      const labelsOf = (body: Parameters<typeof parseLokiPush>[0]) =>
        parseLokiPush(body, { errorsOnly: false }).observations[0].labels;
      expect(Object.keys(labelsOf(json(stream({ a: 'b' }, ['1', 'x', entries(128)]))))).toHaveLength(129);
      const over = labelsOf(json(stream({ a: 'b' }, ['1', 'x', entries(129)])));
      expect(over).toMatchObject({ a: 'b', k0: 'v', k127: 'v' });
      expect(over).not.toHaveProperty('k128');
      const pairs = Array.from({ length: 129 }, (_, i) => ({ name: `k${i}`, value: 'v' }));
      const pbEntry = { timestamp: { seconds: 1, nanos: 0 }, line: 'x', structuredMetadata: pairs };
      expect(labelsOf(protobuf({ streams: [{ labels: '{a="b"}', entries: [pbEntry] }] }))).not.toHaveProperty('k128');
      const big = labelsOf(json(stream({ a: 'b' }, ['1', 'x', { level: 'error', big: 'v'.repeat(64 * 1024) }])));
      expect(big).toMatchObject({ level: 'error' });
      expect(big).not.toHaveProperty('big');
    });
  });
});

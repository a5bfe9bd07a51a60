import { readFileSync } from 'node:fs';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { sharedPath } from './shared-dir';

/** One request the fake Loki received. */
export interface LokiRequest {
  method: string;
  path: string;
  params: URLSearchParams;
  headers: IncomingHttpHeaders;
}

export interface LokiReply {
  status?: number;
  body?: unknown;
  /** Wait this long before answering (timeouts). */
  delayMs?: number;
  /** Drop the connection without an answer. */
  destroy?: boolean;
}

export type LokiHandler = (req: LokiRequest) => LokiReply | undefined;

/**
 * A local Loki query API (`GET /loki/api/v1/query_range`) on 127.0.0.1, answering with the real
 * response payloads in ../shared/fixtures/loki/query or with bodies built by the test in the same
 * shape. Requests are recorded; with no handler (or a handler returning undefined) it answers an
 * empty `streams` result, which is what Loki answers when nothing matches.
 */
export class FakeLoki {
  readonly requests: LokiRequest[] = [];
  private handler?: LokiHandler;
  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeLoki> {
    const server = createServer();
    const fake = new FakeLoki(server);
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const record: LokiRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        params: url.searchParams,
        headers: req.headers,
      };
      fake.requests.push(record);
      const reply = (fake.handler?.(record) ?? { body: emptyStreams() }) as LokiReply;
      const send = (): void => {
        if (reply.destroy) {
          req.socket.destroy();
          return;
        }
        const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? emptyStreams());
        res.writeHead(reply.status ?? 200, { 'Content-Type': 'application/json' });
        res.end(body);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  respond(handler: LokiHandler | undefined): void {
    this.handler = handler;
  }

  queryRequests(): LokiRequest[] {
    return this.requests.filter((r) => r.path === '/loki/api/v1/query_range');
  }

  reset(): void {
    this.requests.length = 0;
    this.handler = undefined;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A real Loki answer from ../shared/fixtures/loki/query. */
export function lokiFixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(sharedPath('fixtures', 'loki', 'query', name), 'utf8')) as Record<string, unknown>;
}

/** Loki's answer when nothing matched: `result: []` (FORMATS.md section 4). */
export function emptyStreams(): Record<string, unknown> {
  return { status: 'success', data: { resultType: 'streams', result: [], stats: {} } };
}

/**
 * A `streams` answer in the categorize-labels encoding (the shape of
 * loki-marshal-test-query_range-streams-categorize-labels-structured-metadata.json) with our lines.
 */
export function streamsAnswer(
  streams: Array<{ stream: Record<string, string>; values: Array<[string, string, Record<string, unknown>?]> }>,
): Record<string, unknown> {
  return {
    status: 'success',
    data: {
      resultType: 'streams',
      encodingFlags: ['categorize-labels'],
      result: streams.map((s) => ({ stream: s.stream, values: s.values.map((v) => [v[0], v[1], v[2] ?? {}]) })),
      stats: {},
    },
  };
}

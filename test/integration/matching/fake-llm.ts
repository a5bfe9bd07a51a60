import { readFileSync } from 'node:fs';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';

/** Webhook and LLM payloads: deep fixture JSON, read and mutated by path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

export interface LlmRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Loose;
}

const fixture = (name: string): string =>
  readFileSync(path.resolve(__dirname, '../../fixtures/matching', name), 'utf8');

/**
 * A local LLM endpoint speaking Gemini's generateContent or OpenAI's chat.completions response
 * format (from the fixtures), answering each request with the next queued verdict (or an HTTP error).
 */
export class FakeLlmServer {
  readonly requests: LlmRequest[] = [];
  private readonly queue: ({ verdict: Record<string, unknown> } | { status: number; body?: string })[] = [];
  private server?: Server;

  constructor(private readonly dialect: 'gemini' | 'openai') {}

  answer(verdict: { issueIdentifier: string | null; confidence: number; reasoning: string }): this {
    this.queue.push({ verdict });
    return this;
  }

  /** Answers the next request with `status` and a provider's error JSON, or with `body` as given. */
  fail(status: number, body?: string): this {
    this.queue.push({ status, body });
    return this;
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        this.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: raw ? JSON.parse(raw) : null,
        });
        const next = this.queue.shift();
        if (!next || 'status' in next) {
          res.writeHead(next?.status ?? 500, { 'content-type': 'application/json' });
          res.end(
            next?.body ??
              JSON.stringify({
                error: { code: next?.status ?? 500, message: 'fake server error', status: 'INTERNAL' },
              }),
          );
          return;
        }
        const template = fixture(
          this.dialect === 'gemini' ? 'gemini-generate-content.response.json' : 'openai-chat-completion.response.json',
        );
        // The verdict travels as a JSON string inside the text/content field.
        const body = template.replace('"__VERDICT_JSON__"', JSON.stringify(JSON.stringify(next.verdict)));
        res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

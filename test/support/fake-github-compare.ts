import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A local stand-in for api.github.com's compare endpoint
 * (`GET /repos/{owner}/{repo}/compare/{base}...{head}`), answering with GitHub's response shape:
 * `status` ahead | behind | identical | diverged, `ahead_by`, `behind_by`, `total_commits`,
 * `commits`, `files`. Unknown commits answer 404 like GitHub. Tests declare the commit graph as
 * "head contains base" pairs, or force an HTTP error.
 */
export class FakeGithubCompare {
  readonly requests: RecordedRequest[] = [];
  private readonly contains = new Set<string>();
  private readonly known = new Set<string>();
  private failWith: { status: number; urlIncludes?: string } | null = null;
  private hangOn: string | null = null;
  private readonly hanging: ServerResponse[] = [];
  private server?: Server;

  /** `head` (the deployed commit) contains `base` (a merge commit). */
  descends(head: string, base: string): this {
    this.known.add(head).add(base);
    this.contains.add(`${base}...${head}`);
    return this;
  }

  /** A commit GitHub knows that contains nothing declared. */
  commit(sha: string): this {
    this.known.add(sha);
    return this;
  }

  /** The next request (whose URL includes `urlIncludes`, when given) answers this HTTP error. */
  failNext(status: number, urlIncludes?: string): this {
    this.failWith = { status, urlIncludes };
    return this;
  }

  /** The next request whose URL includes `urlIncludes` is never answered (until `stop`). */
  hangNext(urlIncludes: string): this {
    this.hangOn = urlIncludes;
    return this;
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | undefined;
    if (!a) throw new Error('FakeGithubCompare is not started');
    return `http://127.0.0.1:${a.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.hanging.splice(0)) res.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const send = (status: number, json: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(json));
      };
      if (this.hangOn !== null && (req.url ?? '').includes(this.hangOn)) {
        this.hangOn = null;
        this.hanging.push(res);
        return;
      }
      if (this.failWith && (!this.failWith.urlIncludes || (req.url ?? '').includes(this.failWith.urlIncludes))) {
        const { status } = this.failWith;
        this.failWith = null;
        send(status, { message: 'Server Error', documentation_url: 'https://docs.github.com/rest' });
        return;
      }
      const m = /^\/repos\/([^/]+)\/([^/]+)\/compare\/([^/?]+)(?:\?.*)?$/.exec(req.url ?? '');
      if (req.method !== 'GET' || !m) {
        send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
        return;
      }
      const basehead = decodeURIComponent(m[3]!);
      const [base, head] = basehead.split('...');
      if (!base || !head || !this.known.has(base) || !this.known.has(head)) {
        send(404, {
          message: 'Not Found',
          documentation_url: 'https://docs.github.com/rest/commits/commits#compare-two-commits',
          status: '404',
        });
        return;
      }
      let status: 'ahead' | 'behind' | 'identical' | 'diverged';
      if (base === head) status = 'identical';
      else if (this.contains.has(`${base}...${head}`)) status = 'ahead';
      else if (this.contains.has(`${head}...${base}`)) status = 'behind';
      else status = 'diverged';
      const html = `https://github.com/${m[1]}/${m[2]}/compare/${basehead}`;
      send(200, {
        url: `${this.url}/repos/${m[1]}/${m[2]}/compare/${basehead}`,
        html_url: html,
        permalink_url: html,
        diff_url: `${html}.diff`,
        patch_url: `${html}.patch`,
        base_commit: { sha: base },
        merge_base_commit: { sha: status === 'ahead' || status === 'identical' ? base : head },
        status,
        ahead_by: status === 'ahead' || status === 'diverged' ? 1 : 0,
        behind_by: status === 'behind' || status === 'diverged' ? 1 : 0,
        total_commits: status === 'identical' ? 0 : 1,
        commits: [],
        files: [],
      });
    });
  }
}

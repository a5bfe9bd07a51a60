import { AddressInfo } from 'node:net';
import http, { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A local GitHub REST API (node:http on 127.0.0.1, port 0) speaking the documented wire format for
 * the endpoints fixloop calls. It records every request and a timeline (dispatches, run completions)
 * so tests can check what reached "GitHub" and when.
 *
 * Built in:
 *  - POST /repos/:owner/:repo/actions/workflows/:workflow/dispatches
 *      default 200 `{workflow_run_id, run_url, html_url}` when `return_run_details` is true, else 204;
 *      scripted answers (`scriptDispatch`): 204, 5xx (optionally after creating the run), 403 secondary
 *      rate limit with `retry-after`, 422 validation failure, 404.
 *  - GET  /repos/:owner/:repo/actions/workflows/:workflow/runs  (and /repos/:owner/:repo/actions/runs)
 *      newest first, filtered by `event`, `branch`, `created=>=ISO`.
 *  - GET  /repos/:owner/:repo/actions/runs/:id
 *  - POST /repos/:owner/:repo/actions/runs/:id/cancel  (202)
 *
 * Extend it with `route(method, pattern, handler)`: patterns like `/repos/:owner/:repo/compare/:basehead`;
 * added routes are tried before the built-in ones, so a test can also override a built-in.
 */

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: IncomingMessage['headers'];
  rawBody: string;
  body: unknown;
}

export type FakeHandler = (req: FakeRequest, res: ServerResponse, github: FakeGitHub) => void | Promise<void>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  at: number;
  status?: number;
}

export interface FakeWorkflowRun {
  id: number;
  /** The run name (`run-name`), served as `display_title`. */
  name: string;
  workflowId: string;
  event: 'workflow_dispatch';
  headBranch: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion: string | null;
  inputs: Record<string, string>;
  createdAt: Date;
  updatedAt: Date;
  completedAt?: Date;
}

export type TimelineEntry =
  | { kind: 'dispatch'; at: number; runId: number; name: string }
  | { kind: 'complete'; at: number; runId: number; name: string; conclusion: string }
  | { kind: 'cancel'; at: number; runId: number; name: string };

/** One scripted answer to the next dispatch request. */
export type DispatchScript =
  | { status: 200 }
  | { status: 204 }
  | { status: 500 | 502 | 503; createRun?: boolean }
  | { status: 403; retryAfter?: number; secondaryRateLimit?: true; message?: string }
  | { status: 429; retryAfter?: number }
  | { status: 401 | 404 | 422; message?: string };

interface Route {
  method: string;
  parts: string[];
  handler: FakeHandler;
}

export class FakeGitHub {
  readonly requests: RecordedRequest[] = [];
  readonly timeline: TimelineEntry[] = [];
  readonly runs = new Map<number, FakeWorkflowRun>();
  /** When set, requests must carry `Authorization: token|Bearer <expectedToken>` or get 401. */
  expectedToken?: string;
  /** The workflow's `name:`, which GitHub reports as a run's `name` (the run-name is its `display_title`). */
  workflowName = 'fixloop auto-investigate';
  /** Names the workflow's `run-name` gives a run from its inputs (`fixloop <identifier>`); a run's `display_title`. */
  runName: (inputs: Record<string, string>) => string = (inputs) => `fixloop ${inputs.identifier ?? ''}`;

  private server?: http.Server;
  private nextRunId = 30_000_001;
  private readonly dispatchScript: DispatchScript[] = [];
  private readonly extraRoutes: Route[] = [];
  private readonly builtIn: Route[] = [];
  private readonly htmlBase = 'https://github.com';

  constructor() {
    this.builtIn = [
      this.mk('POST', '/repos/:owner/:repo/actions/workflows/:workflow/dispatches', (q, r) => this.dispatch(q, r)),
      this.mk('GET', '/repos/:owner/:repo/actions/workflows/:workflow/runs', (q, r) => this.listRuns(q, r)),
      this.mk('GET', '/repos/:owner/:repo/actions/runs', (q, r) => this.listRuns(q, r)),
      this.mk('GET', '/repos/:owner/:repo/actions/runs/:id', (q, r) => this.getRun(q, r)),
      this.mk('POST', '/repos/:owner/:repo/actions/runs/:id/cancel', (q, r) => this.cancelRun(q, r)),
    ];
  }

  /** Starts listening; returns the base URL to use as GITHUB_API_URL. */
  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const addr = this.server?.address() as AddressInfo | null;
    if (!addr) throw new Error('FakeGitHub is not started');
    return `http://127.0.0.1:${addr.port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Adds a route (tried before the built-in ones). */
  route(method: string, pattern: string, handler: FakeHandler): this {
    this.extraRoutes.unshift(this.mk(method, pattern, handler));
    return this;
  }

  /** Removes the routes added with `route` (the built-in ones stay). */
  clearRoutes(): this {
    this.extraRoutes.length = 0;
    return this;
  }

  /** Queues answers for the next dispatch requests, in order; afterwards the default (200/204) applies. */
  scriptDispatch(...answers: DispatchScript[]): this {
    this.dispatchScript.push(...answers);
    return this;
  }

  /** Forgets requests, runs, timeline and scripts (routes stay). */
  reset(): void {
    this.requests.length = 0;
    this.timeline.length = 0;
    this.runs.clear();
    this.dispatchScript.length = 0;
  }

  /** Creates a run as a dispatch would (e.g. to simulate "GitHub received it before we crashed"). */
  createRun(
    inputs: Record<string, string>,
    options: { workflowId?: string; ref?: string; createdAt?: Date } = {},
  ): FakeWorkflowRun {
    const now = options.createdAt ?? new Date();
    const run: FakeWorkflowRun = {
      id: this.nextRunId++,
      name: this.runName(inputs),
      workflowId: options.workflowId ?? 'auto-investigate.yml',
      event: 'workflow_dispatch',
      headBranch: options.ref ?? 'staging',
      status: 'queued',
      conclusion: null,
      inputs,
      createdAt: now,
      updatedAt: now,
    };
    this.runs.set(run.id, run);
    this.timeline.push({ kind: 'dispatch', at: now.getTime(), runId: run.id, name: run.name });
    return run;
  }

  /** Marks a run completed (as the workflow finishing would) and records it in the timeline. */
  completeRun(runId: number, conclusion = 'success'): FakeWorkflowRun {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`FakeGitHub has no run ${runId}`);
    if (run.status !== 'completed') {
      run.status = 'completed';
      run.conclusion = conclusion;
      run.completedAt = new Date();
      run.updatedAt = run.completedAt;
      this.timeline.push({ kind: 'complete', at: run.completedAt.getTime(), runId, name: run.name, conclusion });
    }
    return run;
  }

  /** Runs that were dispatched and are not completed. */
  openRuns(): FakeWorkflowRun[] {
    return [...this.runs.values()].filter((r) => r.status !== 'completed');
  }

  runsNamed(name: string): FakeWorkflowRun[] {
    return [...this.runs.values()].filter((r) => r.name === name);
  }

  /** The dispatch requests GitHub accepted or refused, in arrival order (their JSON bodies). */
  dispatchRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/dispatches'));
  }

  /** The most runs that were open at once, from the timeline (dispatch opens, completion/cancel closes). */
  maxConcurrentRuns(): number {
    const events = [...this.timeline].sort((a, b) => a.at - b.at || (a.kind === 'dispatch' ? 1 : -1));
    let open = 0;
    let max = 0;
    for (const e of events) {
      open += e.kind === 'dispatch' ? 1 : -1;
      max = Math.max(max, open);
    }
    return max;
  }

  /** The run's JSON as the REST API returns it. */
  runJson(run: FakeWorkflowRun, owner = 'acme', repo = 'shop'): Record<string, unknown> {
    return {
      id: run.id,
      name: this.workflowName,
      display_title: run.name,
      event: run.event,
      head_branch: run.headBranch,
      status: run.status,
      conclusion: run.conclusion,
      workflow_id: 161335,
      path: `.github/workflows/${run.workflowId}`,
      run_attempt: 1,
      url: `${this.url}/repos/${owner}/${repo}/actions/runs/${run.id}`,
      html_url: `${this.htmlBase}/${owner}/${repo}/actions/runs/${run.id}`,
      created_at: run.createdAt.toISOString(),
      updated_at: run.updatedAt.toISOString(),
      run_started_at: run.createdAt.toISOString(),
    };
  }

  // ------------------------------------------------------------------------------------------

  private mk(method: string, pattern: string, handler: FakeHandler): Route {
    return { method, parts: pattern.split('/').filter(Boolean), handler };
  }

  private match(route: Route, method: string, path: string): Record<string, string> | null {
    if (route.method !== method) return null;
    const parts = path.split('/').filter(Boolean);
    if (parts.length !== route.parts.length) return null;
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const want = route.parts[i];
      if (want.startsWith(':')) params[want.slice(1)] = decodeURIComponent(parts[i]);
      else if (want !== parts[i]) return null;
    }
    return params;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    if (rawBody) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const recorded: RecordedRequest = {
      method,
      path: url.pathname,
      query: url.search,
      headers: req.headers,
      body,
      at: Date.now(),
    };
    this.requests.push(recorded);
    const origEnd = res.end.bind(res);
    res.end = ((...args: Parameters<ServerResponse['end']>) => {
      recorded.status = res.statusCode;
      return origEnd(...args);
    }) as ServerResponse['end'];

    if (this.expectedToken) {
      const auth = req.headers.authorization ?? '';
      if (auth !== `token ${this.expectedToken}` && auth !== `Bearer ${this.expectedToken}`) {
        json(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
        return;
      }
    }
    for (const route of [...this.extraRoutes, ...this.builtIn]) {
      const params = this.match(route, method, url.pathname);
      if (!params) continue;
      try {
        await route.handler(
          { method, path: url.pathname, query: url.searchParams, params, headers: req.headers, rawBody, body },
          res,
          this,
        );
      } catch (err) {
        if (!res.headersSent) json(res, 500, { message: err instanceof Error ? err.message : String(err) });
      }
      return;
    }
    json(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
  }

  private dispatch(req: FakeRequest, res: ServerResponse): void {
    const body = (req.body ?? {}) as { ref?: unknown; inputs?: Record<string, unknown>; return_run_details?: unknown };
    const script = this.dispatchScript.shift();
    const inputs = Object.fromEntries(Object.entries(body.inputs ?? {}).map(([k, v]) => [k, String(v)]));
    if (typeof body.ref !== 'string' || !body.ref) {
      json(res, 422, { message: 'Invalid request.\n\n"ref" wasn\'t supplied.', status: '422' });
      return;
    }
    if (Object.keys(inputs).length > 25 || JSON.stringify(inputs).length > 65_535) {
      json(res, 422, { message: 'inputs are too large.', status: '422' });
      return;
    }
    if (script && script.status !== 200 && script.status !== 204) {
      switch (script.status) {
        case 500:
        case 502:
        case 503:
          if (script.createRun) this.createRun(inputs, { workflowId: req.params.workflow, ref: body.ref });
          json(res, script.status, { message: 'Server Error' });
          return;
        case 403:
          res.setHeader('retry-after', String(script.retryAfter ?? 1));
          json(res, 403, {
            message:
              script.message ??
              'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            documentation_url:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
          });
          return;
        case 429:
          res.setHeader('retry-after', String(script.retryAfter ?? 1));
          json(res, 429, { message: 'Too Many Requests' });
          return;
        default:
          json(res, script.status, {
            message: script.message ?? (script.status === 422 ? 'Unexpected inputs provided: ["bogus"]' : 'Not Found'),
            documentation_url: 'https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event',
            status: String(script.status),
          });
          return;
      }
    }
    const run = this.createRun(inputs, { workflowId: req.params.workflow, ref: body.ref });
    const wantDetails = body.return_run_details === true && script?.status !== 204;
    if (!wantDetails) {
      res.statusCode = 204;
      res.end();
      return;
    }
    json(res, 200, {
      workflow_run_id: run.id,
      run_url: `${this.url}/repos/${req.params.owner}/${req.params.repo}/actions/runs/${run.id}`,
      html_url: `${this.htmlBase}/${req.params.owner}/${req.params.repo}/actions/runs/${run.id}`,
    });
  }

  private listRuns(req: FakeRequest, res: ServerResponse): void {
    let runs = [...this.runs.values()];
    if (req.params.workflow) runs = runs.filter((r) => r.workflowId === req.params.workflow);
    const event = req.query.get('event');
    if (event) runs = runs.filter((r) => r.event === event);
    const branch = req.query.get('branch');
    if (branch) runs = runs.filter((r) => r.headBranch === branch);
    const created = req.query.get('created');
    if (created?.startsWith('>=')) {
      const since = Date.parse(created.slice(2));
      runs = runs.filter((r) => r.createdAt.getTime() >= since);
    }
    runs.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id - a.id);
    const perPage = Number(req.query.get('per_page') ?? 30);
    const page = Number(req.query.get('page') ?? 1);
    const slice = runs.slice((page - 1) * perPage, page * perPage);
    json(res, 200, {
      total_count: runs.length,
      workflow_runs: slice.map((r) => this.runJson(r, req.params.owner, req.params.repo)),
    });
  }

  private getRun(req: FakeRequest, res: ServerResponse): void {
    const run = this.runs.get(Number(req.params.id));
    if (!run) {
      json(res, 404, { message: 'Not Found' });
      return;
    }
    json(res, 200, this.runJson(run, req.params.owner, req.params.repo));
  }

  private cancelRun(req: FakeRequest, res: ServerResponse): void {
    const run = this.runs.get(Number(req.params.id));
    if (!run) {
      json(res, 404, { message: 'Not Found' });
      return;
    }
    if (run.status === 'completed') {
      json(res, 409, { message: 'Cannot cancel a workflow run that is completed.' });
      return;
    }
    run.status = 'completed';
    run.conclusion = 'cancelled';
    run.completedAt = new Date();
    run.updatedAt = run.completedAt;
    this.timeline.push({ kind: 'cancel', at: run.completedAt.getTime(), runId: run.id, name: run.name });
    json(res, 202, {});
  }
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

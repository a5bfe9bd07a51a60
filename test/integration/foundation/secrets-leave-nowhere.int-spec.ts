import { Writable } from 'node:stream';
import { JsonLogger } from '../../../src/shared/logging/json-logger';
import { ServerResponse } from 'node:http';
import { seedIssue } from '../../factories/issue.factory';
import { FakeRequest } from '../../support/fake-github';
import { adminAuth, agentAuth, ingestAuth } from '../../support/test-app';
import { fixtureJson } from '../../fixtures/ingest-service/ingest-test-helpers';
import { deliver, exampleFixture, packageExample, prPayload } from '../github/webhook-support';
import { requestsOf, seedSpawnable, useSpawnApp } from '../../fixtures/spawn/spawn-kit';
import { SecretRow, readCorpus } from '../../support/corpora';

/** The shared corpus of real secret formats, read in place (never copied). */
const CORPUS = readCorpus<SecretRow>('secrets.jsonl.gz')
  // a secret shorter than 12 characters could turn up by chance
  .filter((r) => r.text.length <= 200 && r.secret.length >= 12);
/** Rows a header value can carry as a well-formed id (X-Correlation-Id). */
const HEADER_SAFE = CORPUS.filter((r) => /^[A-Za-z0-9._:-]{1,128}$/.test(r.text));
/** Rows that fit a short field (a label, an activity type), without surrounding spaces. */
const SHORT = CORPUS.filter((r) => r.text.length <= 100 && /^\S(.*\S)?$/s.test(r.text));

const secretsIn = (text: string): string[] =>
  CORPUS.filter((r) => [r.secret, ...(r.other_secrets ?? [])].some((s) => s.length >= 12 && text.includes(s))).map(
    (r) => r.format,
  );

/**
 * Secrets leave fixloop only scrubbed, whichever way they came in and whichever way they go out:
 * the service's own log lines, every column of every table, the outbox, and what it sends GitHub.
 * The app runs with a logger writing to memory at the most verbose level.
 */
describe('secrets sent to any route never rest in the database, the log or a request to GitHub', () => {
  const logLines: string[] = [];
  let n = 0;
  const row = (): string => CORPUS[n++ % CORPUS.length].text;
  const short = (): string => SHORT[n++ % SHORT.length].text;
  const header = (): string => HEADER_SAFE[n++ % HEADER_SAFE.length].text;

  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  const { gh, k } = useSpawnApp({}, { logger: new JsonLogger('json', 'verbose', out) });
  beforeEach(() => {
    logLines.length = 0;
  });

  /** Every row of every table as text, by table. */
  async function dump(): Promise<Record<string, string>> {
    const ds = k.t.dataSource;
    const tables = (
      (await ds.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      )) as { table_name: string }[]
    ).map((r) => r.table_name);
    const text: Record<string, string> = {};
    for (const table of tables) {
      const [{ rows }] = (await ds.query(
        `SELECT coalesce(string_agg(t::text, E'\\n'), '') AS rows FROM "${table}" t`,
      )) as { rows: string }[];
      text[table] = rows;
    }
    return text;
  }

  /** Where each secret of the corpus rests: `<table>: <format>`. */
  const leaksIn = (tables: Record<string, string>): string[] =>
    Object.entries(tables).flatMap(([table, rows]) => secretsIn(rows).map((format) => `${table}: ${format}`));

  it('keeps the corpus out of log lines and correlation ids on the ingest routes, also for refused input', async () => {
    expect(HEADER_SAFE.length).toBeGreaterThan(20);
    const http = k.t.http;
    for (const r of HEADER_SAFE) {
      await http
        .post('/api/events')
        .set(ingestAuth)
        .set('X-Correlation-Id', r.text)
        .send({ events: [{ source: 'billing', feature: 'api', message: `Request failed: ${row()}` }] })
        .expect(202);
    }
    // an alert webhook that says it dropped alerts (a warning naming its receiver)
    const payload = fixtureJson<{ alerts: Record<string, unknown>[] } & Record<string, unknown>>(
      'alertmanager',
      'zulip-alertmanager-firing-2alerts.json',
    );
    for (let i = 0; i < 20; i++) {
      await http
        .post('/api/loki/webhook')
        .set(ingestAuth)
        .set('X-Request-Id', header())
        .send({ ...payload, receiver: row(), groupKey: row(), truncatedAlerts: 3 })
        .expect(200);
    }
    await http
      .post('/loki/api/v1/push')
      .set(ingestAuth)
      .set('X-Correlation-Id', header())
      .set('Content-Type', 'application/json')
      .send({
        streams: [
          {
            stream: { service_name: 'billing', level: 'error' },
            values: [[`${Date.now()}000000`, row(), { trace_id: row() }]],
          },
        ],
      })
      .expect(204);
    // refused input: 4xx that quote the field, the query string, the header
    const refusals = [
      http
        .post(`/api/events?token=${encodeURIComponent(row())}`)
        .set(ingestAuth)
        .set('X-Correlation-Id', header())
        .send({ events: [{ source: 'billing', feature: 'api', message: 'x', [short()]: 1 }] }),
      http
        .post('/api/events')
        .set(ingestAuth)
        .set('X-Correlation-Id', header())
        .send({ events: [{ source: 'billing', feature: 'api', message: 'x', level: `${row()}${'x'.repeat(40)}` }] }),
      http
        .post('/api/loki/webhook')
        .set(ingestAuth)
        .set('X-Correlation-Id', header())
        .send({ ...payload, truncatedAlerts: row() }),
      http
        .get(`/api/issues/${encodeURIComponent(short())}`)
        .set(adminAuth)
        .set('X-Correlation-Id', header()),
    ];
    for (const res of await Promise.all(refusals)) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }

    // ids that only look random (a UUID, a hex request id, a look-alike of the corpus) stay the request's id
    const negatives = readCorpus<{ text: string }>('secrets-negatives.jsonl.gz')
      .map((row) => row.text)
      .filter((text) => /^[A-Za-z0-9._:-]{1,128}$/.test(text));
    for (const id of ['3f2b9c1e-8d4a-4f6b-9a2e-7c5d1b0e9f42', '7f9c2ba4e88f827d616045507605853e', ...negatives]) {
      const res = await http.get('/api/issues/CHIPP-999999').set(adminAuth).set('X-Correlation-Id', id).expect(404);
      expect([res.headers['x-correlation-id'], res.body.correlationId]).toEqual([id, id]);
    }

    const log = logLines.join('');
    expect(log).toContain('dropped 3 alerts');
    expect(secretsIn(log)).toEqual([]);
    const stored = await dump();
    expect(stored.error_events).toContain('Request failed');
    expect(leaksIn(stored)).toEqual([]);
  });

  it('scrubs PR titles and bodies from the GitHub webhook and the API, and the reason of a link made by hand', async () => {
    const http = k.t.http;
    const issue = await seedIssue(k.t.dataSource, { status: 'investigating' });
    for (let i = 0; i < 5; i++) {
      await deliver(
        http,
        'pull_request',
        prPayload({
          number: 700 + i,
          owner: 'acme',
          repo: 'shop',
          title: `Fix ${row()}`,
          body: `Fixes ${issue.identifier}\n\n${row()}`,
        }),
      ).expect((res) => expect(res.status).toBeLessThan(300));
    }
    const pr = prPayload({ number: 801, owner: 'acme', repo: 'shop', title: row(), body: row() })
      .pull_request as Record<string, unknown>;
    pr.html_url = 'https://github.com/acme/shop/pull/801';
    gh.route('GET', '/repos/:owner/:repo/pulls/:number', (_req: FakeRequest, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(pr));
    });
    await http
      .post(`/api/issues/${issue.identifier}/pull-requests`)
      .set(adminAuth)
      .send({ pullRequest: 'acme/shop#801', reason: row() })
      .expect(201);

    const linked = (await k.t.dataSource.query(`SELECT count(*)::int AS n FROM issue_prs`)) as { n: number }[];
    expect(linked[0].n).toBeGreaterThanOrEqual(2);
    expect(secretsIn(logLines.join(''))).toEqual([]);
    const stored = await dump();
    expect(leaksIn(stored)).toEqual([]);
  });

  it('scrubs every stored field of a workflow_run, a deployment_status and a PR, not only the PR text', async () => {
    const http = k.t.http;
    const ds = k.t.dataSource;
    const issue = await seedSpawnable(ds);
    await k.worker.tick();
    const [req] = await requestsOf(ds, issue.id);
    expect(req.state).toBe('dispatched');
    // the run reports in progress (its URL is kept on the request and the issue), then ends without calling back
    const run = (status: string, conclusion: string | null): Record<string, unknown> => {
      const base = exampleFixture<{ workflow_run: Record<string, unknown> } & Record<string, unknown>>(
        'workflow_run.completed.success.examples-1.json',
      );
      return {
        ...base,
        action: status === 'completed' ? 'completed' : row(),
        workflow_run: {
          ...base.workflow_run,
          id: Number(req.run_id),
          display_title: row(),
          path: `.github/workflows/${short()}`,
          status,
          conclusion,
          html_url: `https://github.com/acme/shop/actions/runs/${req.run_id} ${row()}`,
        },
      };
    };
    await deliver(http, 'workflow_run', run('in_progress', null)).expect(200);
    await deliver(http, 'workflow_run', run('completed', row())).expect(200);
    const [ended] = await requestsOf(ds, issue.id);
    expect(ended.state).toBe('failed');
    // a production deploy whose ref and version hold secrets; one whose environment does is ignored
    for (const environment of ['production', short()]) {
      const deployment = packageExample<Record<string, Record<string, unknown>>>('deployment_status', 0);
      deployment.deployment_status.environment = environment;
      deployment.deployment_status.state = 'success';
      deployment.deployment = { ...deployment.deployment, id: 4200 + n, ref: row(), payload: { version: row() } };
      await deliver(http, 'deployment_status', deployment).expect((res) => expect(res.status).toBeLessThan(300));
    }
    // a PR whose branches, URL and author hold secrets
    const fixed = await seedIssue(ds, { status: 'investigating' });
    const pr = prPayload({
      number: 901,
      owner: 'acme',
      repo: 'shop',
      title: 'Fix it',
      body: `Fixes ${fixed.identifier}`,
    });
    const facts = pr.pull_request as Record<string, Record<string, unknown> | string>;
    facts.html_url = `https://github.com/acme/shop/pull/901?${row()}`;
    facts.head = { ...(facts.head as Record<string, unknown>), ref: short() };
    facts.base = { ...(facts.base as Record<string, unknown>), ref: short() };
    await deliver(http, 'pull_request', pr).expect((res) => expect(res.status).toBeLessThan(300));
    // and one from an author who is not trusted: the refusal, naming the author, is kept with the match run
    const untrusted = prPayload({ number: 902, owner: 'acme', repo: 'shop', title: 'Fix', body: fixed.identifier });
    const by = untrusted.pull_request as Record<string, unknown>;
    by.user = { ...(by.user as Record<string, unknown>), login: short() };
    by.author_association = short();
    await deliver(http, 'pull_request', untrusted).expect((res) => expect(res.status).toBeLessThan(300));

    const stored = await dump();
    expect(stored.deployments).not.toBe('');
    expect(stored.issue_prs).toContain('901');
    expect(leaksIn(stored)).toEqual([]);
    expect(secretsIn(logLines.join(''))).toEqual([]);
  });

  it('scrubs what people and the agent write through the admin and agent routes, and what goes to GitHub', async () => {
    const http = k.t.http;
    const ds = k.t.dataSource;
    // a dispatched investigation the agent reports on
    const issue = await seedSpawnable(ds);
    await k.worker.tick();
    const [req] = await requestsOf(ds, issue.id);
    expect(req.state).toBe('dispatched');
    await http
      .post(`/api/agent/issues/${issue.identifier}/status`)
      .set(agentAuth)
      .send({ status: 'running', runId: req.run_id, runUrl: row(), summary: row() })
      .expect(200);
    for (let i = 0; i < 5; i++) {
      await http
        .post(`/api/agent/issues/${issue.identifier}/activity`)
        .set(agentAuth)
        .send({ type: short(), message: row(), data: { runId: req.run_id, output: row(), [short()]: row() } })
        .expect(200);
    }
    await http
      .post(`/api/agent/issues/${issue.identifier}/status`)
      .set(agentAuth)
      .send({ status: 'failed', runId: req.run_id, summary: row() })
      .expect(200);

    // a person edits, merges, spawns by hand, flips the kill switch, records a deploy
    const other = await seedSpawnable(ds, { messages: ['TypeError: x is undefined'] });
    await http
      .patch(`/api/issues/${other.identifier}`)
      .set(adminAuth)
      .send({ title: row(), labels: [short(), short()], reason: row(), priority: 'p2' })
      .expect(200);
    await http
      .post(`/api/issues/${other.identifier}/spawn`)
      .set(adminAuth)
      .send({ reason: row(), by: short(), bypassCooldown: true })
      .expect((res) => expect(res.status).toBeLessThan(300));
    await k.worker.tick();
    const third = await seedSpawnable(ds);
    await http
      .post(`/api/issues/${third.identifier}/merge`)
      .set(adminAuth)
      .send({ into: other.identifier, reason: row() })
      .expect((res) => expect(res.status).toBeLessThan(300));
    await http
      .post(`/api/issues/${third.identifier}/unmerge`)
      .set(adminAuth)
      .send({ reason: row() })
      .expect((res) => expect(res.status).toBeLessThan(300));
    await http
      .put('/api/spawn/kill-switch')
      .set(adminAuth)
      .send({ enabled: true, by: short(), reason: row() })
      .expect(200);
    await http.put('/api/spawn/kill-switch').set(adminAuth).send({ enabled: false, reason: row() }).expect(200);
    // a pipeline run id that holds a secret: kept as its hash, repeats still recognised
    const deploy = { environment: short(), version: short(), externalId: short() };
    const first = await http.post('/api/deployments').set(adminAuth).send(deploy).expect(200);
    const again = await http.post('/api/deployments').set(adminAuth).send(deploy).expect(200);
    expect([first.body.created, again.body.created, again.body.id]).toEqual([true, false, first.body.id]);

    expect(gh.dispatchRequests().length).toBeGreaterThanOrEqual(2);
    const sent = JSON.stringify(gh.requests);
    expect(secretsIn(sent)).toEqual([]);
    const log = logLines.join('');
    expect(secretsIn(log)).toEqual([]);
    const stored = await dump();
    expect(Object.values(stored).join('\n')).toContain('[REDACTED:');
    expect(leaksIn(stored)).toEqual([]);
  });
});

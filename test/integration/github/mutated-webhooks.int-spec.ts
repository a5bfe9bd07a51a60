import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { seedIssue } from '../../factories/issue.factory';
import { FakeGithubCompare } from '../../support/fake-github-compare';
import { sharedPath } from '../../support/shared-dir';
import { TestApp, truncateAll, useTestApp } from '../../support/test-app';
import { WriteWatch, isHouseError, watchWrites, writtenTables } from '../../support/write-watch';
import { deliver, exampleFixture, packageExample } from './webhook-support';

/**
 * The house rule for bad input on the signed GitHub webhook: every fixture of an event fixloop
 * handles (ping, pull_request, workflow_run, deployment_status), correctly signed, with one field
 * the handler reads changed at a time (null, another JSON kind, empty, 100 kB, NUL, a lone
 * surrogate, negative, huge and fractional numbers, odd dates, removed, an empty array or object),
 * and whole bodies that are not an event (not an object, empty, an unknown event or action).
 * Before each case the world the handler acts on is seeded afresh (an issue named in the PR's
 * title and branch, a PR linked to it, a merged one waiting for the deploy whose sha it carries, a
 * dispatched investigation whose run name the workflow run bears), so mutations reach the writes.
 *
 * Every answer is 2xx or 4xx, never 5xx. A 4xx is `{ error, message, correlationId }`, names the
 * field (or, for a whole body, says what is wrong) and writes nothing: a fingerprint of every table
 * (row count and newest writing transaction) is the same before and after. A 2xx `ignored` (202)
 * writes nothing either; a 2xx that processed the delivery committed it whole: its delivery row is
 * there, the work it started after commit (listeners, deploy processing) ended without an error,
 * and a redelivery of the same X-GitHub-Delivery answers `duplicate` (a ping: pong again) and
 * changes nothing. The delivery as received must do what it is for (link, merge, revert, adopt the
 * run, deploy the fix), so that the cases are known to reach the code they mutate.
 * About 2,000 deliveries; some 35 s on PGlite, 30 s on a PostgreSQL server.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Doc = { [key: string]: Json };
type Path = (string | number)[];

/** 100 kB that do not compress (PostgreSQL compresses `'x'.repeat(n)` to nothing, hiding size limits). */
const BIG = Array.from({ length: 1563 }, (_, i) => createHash('sha256').update(String(i)).digest('hex'))
  .join('')
  .slice(0, 100_000);
const MISSING = Symbol('missing');

/** One field's odd values: each is a wrong kind, an edge or an unstorable text for some reader. */
const ODD: [string, Json | typeof MISSING][] = [
  ['missing', MISSING],
  ['null', null],
  ['true', true],
  ['0', 0],
  ['-1', -1],
  ['1.5', 1.5],
  ['2147483648', 2_147_483_648],
  ['1e308', 1e308],
  ['""', ''],
  ['"abc"', 'abc'],
  ['100 kB string', BIG],
  ['string with NUL', 'a\u0000b'],
  ['string with lone surrogate', 'a\ud800b'],
  ['[]', []],
  ['{}', {}],
];
/** For the fixtures checked lightly (the deep ones get every value): a missing field, null, a wrong kind. */
const LIGHT = new Set(['missing', 'null', '{}']);
const LIGHT_ODD = ODD.filter(([label]) => LIGHT.has(label));
/** For fields read as dates (`*_at`). */
const ODD_DATES: [string, Json][] = [
  ['"not a date"', 'not a date'],
  ['"5"', '5'],
  ['year 1', '0001-01-01T00:00:00Z'],
  ['year -271821', '-271821-04-20T00:00:00Z'],
  ['year +275760', '+275760-09-13T00:00:00Z'],
];

const PR_READS = [
  'action',
  'number',
  'repository',
  'repository.owner',
  'repository.owner.login',
  'repository.full_name',
  'repository.name',
  'pull_request',
  'pull_request.number',
  'pull_request.title',
  'pull_request.body',
  'pull_request.html_url',
  'pull_request.head',
  'pull_request.head.ref',
  'pull_request.head.sha',
  'pull_request.base',
  'pull_request.base.ref',
  'pull_request.state',
  'pull_request.merged',
  'pull_request.merged_at',
  'pull_request.merge_commit_sha',
  'pull_request.user',
  'pull_request.user.login',
  'pull_request.author_association',
];
const RUN_READS = [
  'action',
  'workflow_run',
  'workflow_run.id',
  'workflow_run.path',
  'workflow_run.workflow_id',
  'workflow_run.display_title',
  'workflow_run.name',
  'workflow_run.status',
  'workflow_run.conclusion',
  'workflow_run.html_url',
  'workflow_run.updated_at',
];
const DEPLOYMENT_READS = [
  'repository',
  'repository.owner',
  'repository.owner.login',
  'repository.full_name',
  'repository.name',
  'deployment',
  'deployment.id',
  'deployment.sha',
  'deployment.ref',
  'deployment.environment',
  'deployment.payload',
  'deployment.payload.version',
  'deployment_status',
  'deployment_status.state',
  'deployment_status.environment',
  'deployment_status.created_at',
  'deployment_status.updated_at',
];
const PING_READS = ['zen', 'hook_id'];

const cogni = (name: string): Doc =>
  JSON.parse(
    readFileSync(sharedPath('fixtures', 'github', 'captured-deliveries-cogni', `${name}.raw-body.json`), 'utf8'),
  ) as Doc;

interface Seeded {
  identifier: string;
}

/** A fixture as a group of cases: the real payload, what the handler reads, and what it acts on. */
interface Group {
  name: string;
  event: string;
  payload: () => Doc;
  reads: string[];
  /** Every odd value (deep), or a missing field and wrong kinds only (light). */
  depth: 'deep' | 'light';
  /** Seeds the world of one case and points the payload at it; returns the payload. */
  arrange: (t: TestApp, doc: Doc, k: number) => Promise<Doc>;
  /** Further cases: a path and a value. */
  extra?: [string, Path, Json][];
  /** What the delivery as received did to case k's world (so that the cases are known to reach it). */
  reached?: { what: string; sql: string; params: (k: number) => unknown[] };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const sha = (k: number, salt = 'merge'): string => createHash('sha1').update(`${salt}-${k}`).digest('hex');

async function seedLink(
  t: TestApp,
  issueId: string,
  pr: { owner: string; repo: string; number: number; title: string },
  state: 'open' | 'merged',
  mergeSha: string | null = null,
  deployed = false,
): Promise<void> {
  await t.dataSource.query(
    `INSERT INTO issue_prs (issue_id, repo_owner, repo_name, pr_number, title, state, match_method, merged_at,
                            merge_commit_sha, base_branch, deployed_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'identifier', $7, $8, 'main', $9)`,
    [
      issueId,
      pr.owner,
      pr.repo,
      pr.number,
      pr.title,
      state,
      state === 'merged' ? new Date(Date.now() - 3_600_000) : null,
      mergeSha,
      deployed ? new Date(Date.now() - 1_800_000) : null,
    ],
  );
}

/** A PR payload of case k: its own PR number, the seeded issue's identifier in title and branch. */
function pointPr(doc: Loose, k: number, s: Seeded, opts: { merged?: boolean } = {}): Doc {
  const pr = doc.pull_request;
  const number = 10_000 + k;
  doc.number = number;
  pr.number = number;
  pr.html_url = `https://github.com/${doc.repository.owner.login}/${doc.repository.name}/pull/${number}`;
  pr.title = `Fix cart total (${s.identifier})`;
  pr.head.ref = `fix/${s.identifier.toLowerCase()}-cart`;
  if (opts.merged) {
    doc.action = 'closed';
    pr.state = 'closed';
    pr.merged = true;
    pr.merged_at = '2026-11-26T07:00:00Z';
    pr.closed_at = '2026-11-26T07:00:00Z';
    pr.merge_commit_sha = sha(k);
  }
  return doc as Doc;
}

const repoOf = (doc: Loose) => ({ owner: doc.repository.owner.login as string, repo: doc.repository.name as string });

/** opened, synchronize: an issue named in the title and branch; matching links it. */
const prNaming =
  (merged = false) =>
  async (t: TestApp, doc: Doc, k: number): Promise<Doc> => {
    const issue = await seedIssue(t.dataSource, { title: `Cart total crashes ${k}` });
    return pointPr(doc, k, issue, { merged });
  };

/** closed: the PR is linked already (the issue in review); merged or closed without merge. */
const prLinked =
  (merged: boolean) =>
  async (t: TestApp, doc: Doc, k: number): Promise<Doc> => {
    const issue = await seedIssue(t.dataSource, { title: `Cart total crashes ${k}`, status: 'in_review' });
    const out = pointPr(doc, k, issue, { merged }) as Loose;
    if (!merged) {
      out.action = 'closed';
      out.pull_request.state = 'closed';
      out.pull_request.merged = false;
      out.pull_request.merged_at = null;
    }
    await seedLink(t, issue.id, { ...repoOf(out), number: 10_000 + k, title: out.pull_request.title }, 'open');
    return out as Doc;
  };

/** A merged revert of a deployed fix: the fix's issue goes back to triage. */
async function prRevert(t: TestApp, doc: Doc, k: number): Promise<Doc> {
  const issue = await seedIssue(t.dataSource, { title: `Cart total crashes ${k}`, status: 'in_production' });
  const out = pointPr(doc, k, issue, { merged: true }) as Loose;
  const original = 20_000 + k;
  const title = `Fix cart total (${issue.identifier})`;
  await seedLink(t, issue.id, { ...repoOf(out), number: original, title }, 'merged', sha(k, 'fix'), true);
  out.pull_request.title = `Revert "${title}"`;
  out.pull_request.head.ref = `revert-${original}-fix`;
  out.pull_request.body = `Reverts ${out.repository.owner.login}/${out.repository.name}#${original}`;
  return out as Doc;
}

/** A dispatched investigation whose run name the workflow run bears (it adopts or ends the run). */
async function runOfInvestigation(t: TestApp, doc: Doc, k: number): Promise<Doc> {
  const issue = await seedIssue(t.dataSource, { title: `Checkout fails ${k}`, status: 'investigating' });
  const runName = `fixloop ${issue.identifier}`;
  await t.dataSource.query(
    `INSERT INTO spawn_requests (issue_id, state, not_before, attempt, requested_by, run_name, dispatched_at, claimed_at)
     VALUES ($1, 'dispatched', now(), 1, 'system:spawn-gate', $2, now(), now())`,
    [issue.id, runName],
  );
  const run = (doc as Loose).workflow_run;
  run.id = 30_000 + k;
  run.display_title = runName;
  run.html_url = `https://github.com/acme/shop/actions/runs/${run.id}`;
  return doc;
}

/** A merged fix waiting for production; the deployment's sha is its merge commit. */
async function deploymentCarryingFix(t: TestApp, doc: Doc, k: number): Promise<Doc> {
  const d = doc as Loose;
  // Earlier cases' fixes count as deployed: each deployment is compared with its own fix only.
  await t.dataSource.query(`UPDATE issue_prs SET deployed_at = now() WHERE deployed_at IS NULL`);
  const issue = await seedIssue(t.dataSource, { title: `Checkout fails ${k}`, status: 'in_staging' });
  await seedLink(
    t,
    issue.id,
    { ...repoOf(d), number: 40_000 + k, title: `Fix (${issue.identifier})` },
    'merged',
    sha(k, 'deploy'),
  );
  d.deployment.id = 40_000 + k;
  d.deployment.sha = sha(k, 'deploy');
  d.deployment.environment = 'production';
  d.deployment.payload = { version: `v1.2.${k}` };
  d.deployment_status.environment = 'production';
  return doc;
}

const linkIn = (offset: number, state: string, status: string): Group['reached'] => ({
  what: `leave its PR link ${state} and the issue ${status}`,
  sql: `SELECT 1 FROM issue_prs p JOIN issues i ON i.id = p.issue_id WHERE p.pr_number = $1 AND p.state = $2 AND i.status = $3`,
  params: (k) => [offset + k, state, status],
});
const LINKED = linkIn(10_000, 'open', 'in_review');
const MERGED = linkIn(10_000, 'merged', 'in_review');
const CLOSED = linkIn(10_000, 'closed', 'triage');
const REVERTED = linkIn(20_000, 'reverted', 'triage');
const RUN_ADOPTED: Group['reached'] = {
  what: 'give the investigation its run id',
  sql: `SELECT 1 FROM spawn_requests WHERE run_id = $1`,
  params: (k) => [String(30_000 + k)],
};
const DEPLOYED: Group['reached'] = {
  what: 'mark the fix deployed and move its issue to in_production',
  sql: `SELECT 1 FROM issue_prs p JOIN issues i ON i.id = p.issue_id
         WHERE p.pr_number = $1 AND p.deployed_at IS NOT NULL AND i.status = 'in_production'`,
  params: (k) => [40_000 + k],
};

const nothing = async (_t: TestApp, doc: Doc): Promise<Doc> => doc;

const REVERT_EXTRA: [string, Path, Json][] = [
  ['body reverts a PR number past integer', ['pull_request', 'body'], 'Reverts Codertocat/Hello-World#99999999999'],
  ['body reverts #0', ['pull_request', 'body'], 'Reverts #0'],
  ['title reverts an empty title', ['pull_request', 'title'], 'Revert ""'],
];

const octokit = (name: string) => () => exampleFixture<Doc>(name);
const pkg = (event: string, i: number) => () => packageExample<Doc>(event, i);

const GROUPS: Group[] = [
  {
    name: 'ping',
    event: 'ping',
    payload: octokit('ping.examples-0.json'),
    reads: PING_READS,
    depth: 'deep',
    arrange: nothing,
  },
  {
    name: 'pull_request.opened naming an issue (octokit opened-0)',
    event: 'pull_request',
    payload: octokit('pull_request.opened.examples-0.json'),
    reads: PR_READS,
    depth: 'deep',
    arrange: prNaming(),
    reached: LINKED,
  },
  {
    name: 'pull_request.closed, merged, of a linked PR (octokit closed-3)',
    event: 'pull_request',
    payload: octokit('pull_request.closed.examples-3.json'),
    reads: PR_READS,
    depth: 'deep',
    arrange: prLinked(true),
    reached: MERGED,
  },
  {
    name: 'pull_request.closed, merged, reverting a deployed fix (octokit closed-3)',
    event: 'pull_request',
    payload: octokit('pull_request.closed.examples-3.json'),
    // What a revert reads beyond any merged PR (the rest: the group above).
    reads: ['pull_request.title', 'pull_request.body', 'pull_request.merged', 'repository.owner.login'],
    depth: 'deep',
    arrange: prRevert,
    reached: REVERTED,
    extra: REVERT_EXTRA,
  },
  {
    name: 'pull_request.closed without merge of a linked PR (octokit closed-4)',
    event: 'pull_request',
    payload: octokit('pull_request.closed.examples-4.json'),
    reads: PR_READS,
    depth: 'light',
    arrange: prLinked(false),
    reached: CLOSED,
  },
  ...[
    'pull_request.opened.examples-12.json',
    'pull_request.opened.examples-13.json',
    'pull_request.opened.examples-14.json',
    'pull_request.synchronize.examples-22.json',
  ].map((name): Group => ({
    name: `octokit ${name}`,
    event: 'pull_request',
    payload: octokit(name),
    reads: PR_READS,
    depth: 'light',
    arrange: prNaming(),
    reached: LINKED,
  })),
  ...['pull_request.opened', 'pull_request.synchronize'].map((name): Group => ({
    name: `captured ${name} (Cogni)`,
    event: 'pull_request',
    payload: () => cogni(name),
    reads: PR_READS,
    depth: 'light',
    arrange: prNaming(),
    reached: LINKED,
  })),
  {
    name: 'workflow_run.completed of a dispatched investigation (octokit completed-success-1)',
    event: 'workflow_run',
    payload: octokit('workflow_run.completed.success.examples-1.json'),
    reads: RUN_READS,
    depth: 'deep',
    arrange: runOfInvestigation,
    reached: RUN_ADOPTED,
  },
  {
    name: 'workflow_run.in_progress of a dispatched investigation (captured, Cogni)',
    event: 'workflow_run',
    payload: () => cogni('workflow_run.in_progress'),
    reads: RUN_READS,
    depth: 'deep',
    arrange: runOfInvestigation,
    reached: RUN_ADOPTED,
  },
  ...[
    'workflow_run.completed.null.examples-0.json',
    'workflow_run.completed.success.examples-2.json',
    'workflow_run.requested.action_required.examples-4.json',
    'workflow_run.requested.null.examples-3.json',
  ].map((name): Group => ({
    name: `octokit ${name}`,
    event: 'workflow_run',
    payload: octokit(name),
    reads: RUN_READS,
    depth: 'light',
    arrange: runOfInvestigation,
    reached: RUN_ADOPTED,
  })),
  {
    name: 'deployment_status success in production carrying a merged fix (octokit package example 0)',
    event: 'deployment_status',
    payload: pkg('deployment_status', 0),
    reads: DEPLOYMENT_READS,
    depth: 'deep',
    arrange: deploymentCarryingFix,
    reached: DEPLOYED,
  },
  ...[1, 2, 3].map((i): Group => ({
    name: `deployment_status (octokit package example ${i})`,
    event: 'deployment_status',
    payload: pkg('deployment_status', i),
    reads: DEPLOYMENT_READS,
    depth: 'light',
    arrange: deploymentCarryingFix,
    // Example 1 is in_progress: ignored.
    reached: i === 1 ? undefined : DEPLOYED,
  })),
];

function get(doc: Json, path: Path): Json | undefined {
  let at: Json | undefined = doc;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string | number, Json>)[key];
  }
  return at;
}

/** A copy of `doc` with `path` set to `value` (or removed); undefined when its parent is not an object. */
function setAt(doc: Doc, path: Path, value: Json | typeof MISSING): Doc | undefined {
  const copy = structuredClone(doc);
  const parent = get(copy, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) return undefined;
  const key = path[path.length - 1] as string;
  if (value === MISSING) delete parent[key];
  else parent[key] = value;
  return copy;
}

interface Case {
  what: string;
  /** The field a refusal must name; undefined for a whole body. */
  field?: string;
  /** The payload after arrange, or a whole body that replaces it. */
  build: (arranged: Doc) => Json | undefined;
  event?: string;
  /** Sent as this text instead (not JSON). */
  raw?: string;
}

function casesOf(g: Group): Case[] {
  const out: Case[] = [{ what: 'as received', build: (d) => d }];
  for (const dotted of g.reads) {
    const path = dotted.split('.');
    const field = path[path.length - 1]!;
    const dates = g.depth === 'deep' && field.endsWith('_at') ? ODD_DATES : [];
    const values = [...(g.depth === 'deep' ? ODD : LIGHT_ODD), ...dates];
    for (const [label, value] of values) {
      out.push({ what: `${dotted} = ${label}`, field, build: (d) => setAt(d, path, value) });
    }
  }
  for (const [label, path, value] of g.extra ?? []) {
    out.push({ what: label, field: String(path[path.length - 1]), build: (d) => setAt(d, path, value) });
  }
  if (g.depth === 'deep') {
    for (const [label, body] of [
      ['body null', null],
      ['body []', []],
      ['body "text"', 'text'],
      ['body 123', 123],
      ['body {}', {}],
    ] as [string, Json][]) {
      out.push({ what: label, build: () => body });
    }
    out.push({ what: 'body not JSON', build: () => null, raw: '{"action":' });
    out.push({ what: 'unknown action', build: (d) => ({ ...d, action: 'frobnicated' }) });
    out.push({ what: 'unknown event header', event: 'not_an_event', build: (d) => d });
  }
  return out;
}

/** Events fixloop does not handle: 202 writing nothing (400 for a body that is not an object). */
const UNHANDLED: [string, () => Doc][] = [
  ['deployment', pkg('deployment', 0)],
  ['push', pkg('push', 0)],
  ['workflow_job', octokit('workflow_job.completed.failure.examples-1.json')],
  ['workflow_dispatch', octokit('workflow_dispatch.examples-0.json')],
  ['check_run', () => cogni('check_run.completed')],
  ['check_suite', () => cogni('check_suite.completed')],
];

describe('GitHub webhook on mutated real deliveries: never 5xx, a clear 4xx writes nothing, a 2xx is whole and idempotent', () => {
  let github: FakeGithubCompare;
  let watch: WriteWatch;
  let k = 0;

  beforeAll(async () => {
    // The compare API of deploy processing: every commit unknown (404) but the identical ones.
    github = await new FakeGithubCompare().start();
  });
  // Declared before the app's own hooks, so that it runs before the app closes.
  afterAll(() => watch.settled());
  const t = useTestApp(() => ({
    GITHUB_API_URL: github.url,
    GITHUB_TOKEN: 'ghp_test_token',
    GITHUB_HTTP_TIMEOUT_SECONDS: '2',
    PRODUCTION_ENVIRONMENT: 'production',
  }));
  beforeAll(async () => {
    // Work started after commit is waited for before the database is read, and a listener's
    // failure (logged and swallowed by the bus) is caught.
    watch = await watchWrites(t);
  });
  afterAll(async () => {
    await github.stop();
  });

  const settled = (): Promise<void> => watch.settled();
  const fingerprint = (): Promise<string> => watch.fingerprint();

  /** Signed as GitHub signs: over the exact bytes sent (JSON as GitHub serialises it, or raw text). */
  function send(event: string, body: Json, deliveryId: string, raw?: string) {
    return deliver(t.http, event, raw ?? JSON.stringify(body), { deliveryId });
  }

  /** Runs the cases; returns what broke the rules, one line per case. */
  async function run(g: Pick<Group, 'name' | 'event' | 'payload' | 'arrange' | 'reached'>, cases: Case[]) {
    await settled();
    await truncateAll(t.dataSource);
    const failures: string[] = [];
    const original = g.payload();
    for (const c of cases) {
      k += 1;
      const arranged = await g.arrange(t, structuredClone(original), k);
      const body = c.build(arranged);
      if (body === undefined) continue; // the field's parent was itself replaced: not this case
      const event = c.event ?? g.event;
      const deliveryId = randomUUID();
      const before = await fingerprint();
      watch.listenerFailures.length = 0;
      const res = await send(event, body, deliveryId, c.raw);
      const after = await fingerprint();
      const where = `${c.what}`;
      const b = res.body as { error?: unknown; message?: unknown; correlationId?: unknown; status?: unknown };
      for (const f of watch.listenerFailures) failures.push(`${where}: ${res.status}, then a listener failed: ${f}`);
      if (res.status >= 500) {
        failures.push(`${where}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        continue;
      }
      if (res.status >= 400) {
        if (after !== before) failures.push(`${where}: ${res.status} but wrote ${writtenTables(before, after)}`);
        if (!isHouseError(b)) {
          failures.push(`${where}: ${res.status} not in the house shape: ${JSON.stringify(res.body).slice(0, 300)}`);
        } else if (c.field && !new RegExp(`\\b${c.field}\\b`).test(b.message)) {
          failures.push(`${where}: ${res.status} ${b.error} does not name ${c.field}: ${b.message.slice(0, 200)}`);
        }
        continue;
      }
      if (res.status === 202) {
        if (b?.status !== 'ignored') failures.push(`${where}: 202 ${JSON.stringify(res.body).slice(0, 200)}`);
        if (after !== before) failures.push(`${where}: 202 ignored but wrote ${writtenTables(before, after)}`);
      } else {
        if (!['processed', 'pong'].includes(String(b?.status))) {
          failures.push(`${where}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
        }
        failures.push(...(await wholeness(where, event, deliveryId, res.body as Record<string, unknown>)));
      }
      if (c.what === 'as received' && g.reached) {
        const rows = (await t.dataSource.query(g.reached.sql, g.reached.params(k))) as unknown[];
        if (rows.length === 0) failures.push(`as received: ${res.status} but did not ${g.reached.what}`);
      }
      // Redelivery of the same delivery: the same answer for an ignored one or a ping (pong again:
      // GitHub's "Redeliver" of a ping checks the hook), `duplicate` otherwise; nothing changes.
      watch.listenerFailures.length = 0;
      const again = await send(event, body, deliveryId, c.raw);
      const afterAgain = await fingerprint();
      const expected = res.status === 202 ? 'ignored' : event === 'ping' ? 'pong' : 'duplicate';
      if (again.status !== res.status || again.body?.status !== expected) {
        failures.push(`${where}: redelivery answered ${again.status} ${JSON.stringify(again.body).slice(0, 200)}`);
      }
      if (afterAgain !== after) failures.push(`${where}: redelivery wrote ${writtenTables(after, afterAgain)}`);
    }
    return failures;
  }

  /** A processed delivery committed as a whole: its delivery row, and the effects it reports. */
  async function wholeness(where: string, event: string, deliveryId: string, body: Record<string, unknown>) {
    const out: string[] = [];
    const [delivered] = (await t.dataSource.query(
      `SELECT event FROM webhook_deliveries WHERE provider = 'github' AND delivery_id = $1`,
      [deliveryId],
    )) as { event: string }[];
    if (delivered?.event !== event) out.push(`${where}: answered ${String(body.status)} without its delivery row`);
    if (event === 'pull_request' && body.matching !== 'not run') {
      const runs = (await t.dataSource.query(`SELECT 1 FROM pr_match_runs WHERE delivery_id = $1`, [
        deliveryId,
      ])) as unknown[];
      if (runs.length !== 1) out.push(`${where}: matched without its match run (${runs.length})`);
    }
    if (event === 'deployment_status') {
      const [d] = (await t.dataSource.query(`SELECT processed_at, last_error FROM deployments WHERE id = $1`, [
        body.deploymentId,
      ])) as { processed_at: Date | null; last_error: string | null }[];
      if (!d) out.push(`${where}: answered deployment ${String(body.deploymentId)}, which is not stored`);
      else if (!d.processed_at || d.last_error) {
        out.push(`${where}: deployment recorded but not processed: ${String(d.last_error).slice(0, 200)}`);
      }
    }
    return out;
  }

  it.each(GROUPS.map((g) => [g.name, g] as const))('%s', async (_name, g) => {
    expect(await run(g, casesOf(g))).toEqual([]);
  });

  it.each(UNHANDLED)('an event fixloop does not handle: %s', async (event, payload) => {
    const cases: Case[] = [
      { what: 'as received', build: (d) => d },
      { what: 'body null', build: () => null },
      { what: 'body []', build: () => [] },
      { what: 'body {}', build: () => ({}) },
      { what: 'action removed', build: (d) => setAt(d, ['action'], MISSING) },
      { what: 'repository null', build: (d) => setAt(d, ['repository'], null) },
    ];
    expect(await run({ name: event, event, payload, arrange: nothing }, cases)).toEqual([]);
  });
});

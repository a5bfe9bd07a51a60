import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedSpawnable } from '../../fixtures/spawn/spawn-kit';
import { adminAuth, agentAuth, truncateAll, useTestApp } from '../../support/test-app';
import { WriteWatch, isHouseError, watchWrites, writtenTables } from '../../support/write-watch';

/**
 * The house rule for bad input, checked on every operation of the committed OpenAPI document but
 * the ingest receivers (mutated-payloads.int-spec.ts) and the signed GitHub webhook: each path
 * parameter, query parameter and body property (nested ones and array items included) is given
 * wrong kinds of value one at a time, with the credentials of the route's scope, on a seeded issue
 * and on a missing one. Every answer is 2xx or 4xx, never 5xx; a 4xx is `{ error, message,
 * correlationId }` with a message that names what is wrong (the field or parameter, or the value
 * quoted; a refusal the valid input also gets, e.g. 404 for the missing issue, names its own
 * cause), and writes nothing (a fingerprint of every table, contents included, is the same before
 * and after). A body value of another JSON kind than the document declares, an unknown enum value,
 * an unknown property or a missing required one is refused; null for an optional property is taken
 * as leaving it out. The one 5xx allowed is the documented 503 SIMILARITY_DISABLED (no pgvector).
 * About 1,500 requests on one app; an accepted change is undone by seeding again.
 */

interface Schema {
  type?: string;
  format?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  $ref?: string;
  allOf?: Schema[];
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  example?: unknown;
}

interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: Schema;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  security?: Record<string, string[]>[];
}

interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const doc = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'openapi.json'), 'utf8')) as OpenApi;

/** Receivers with their own mutation test, and the webhook whose bodies are signed. */
const SKIPPED = new Set([
  'POST /api/loki/webhook',
  'POST /loki/api/v1/push',
  'POST /api/events',
  'POST /api/github/webhook',
]);

function resolve(schema: Schema): Schema {
  if (schema.$ref) return resolve(doc.components.schemas[schema.$ref.replace('#/components/schemas/', '')]);
  if (schema.allOf) {
    // `allOf: [{ $ref: Object }]` is how @nestjs/swagger documents a number without a declared type.
    const { allOf, ...rest } = schema;
    const merged = allOf.map(resolve).reduce<Schema>((a, b) => ({ ...a, ...b }), {});
    const out = { ...merged, ...rest };
    const numeric = rest.minimum !== undefined || rest.maximum !== undefined;
    if (out.type === 'object' && Object.keys(merged.properties ?? {}).length === 0 && numeric) out.type = 'number';
    return out;
  }
  return schema;
}

interface Seed {
  /** Has an investigation dispatched (run RUN_ID): the agent callbacks' subject. */
  issue: string;
  /** A merge target. */
  other: string;
  /** Nothing running: a spawn's subject. */
  fresh: string;
  /** Merged into `other`: an unmerge's subject. */
  merged: string;
  runId: string;
}

/** The seeded issue a route acts on, so that its valid input gets past the domain's checks. */
function subjectOf(path: string, seed: Seed): string {
  if (path.endsWith('/spawn')) return seed.fresh;
  if (path.endsWith('/unmerge')) return seed.merged;
  return seed.issue;
}

const MISSING = 'CHIPP-999999';
const RUN_ID = '30433642';

/** A valid value for a body property, so that each case changes one thing only. */
function validValue(schema: Schema, name: string, seed: Seed): unknown {
  const s = resolve(schema);
  if (name === 'into') return seed.other;
  if (name === 'runId') return seed.runId;
  if (name === 'status' && s.enum?.includes('investigating')) return 'investigating';
  if (name === 'pullRequest') return '#123';
  if (s.enum) return s.enum[0];
  switch (s.type) {
    case 'string':
      if (s.format === 'date-time') return new Date(Date.now() + 3_600_000).toISOString();
      return typeof s.example === 'string' ? s.example : 'valid text';
    case 'number':
    case 'integer':
      return s.minimum !== undefined ? Math.max(s.minimum, 1) : 1;
    case 'boolean':
      return false;
    case 'array':
      return s.items ? [validValue(s.items, name, seed)] : [];
    case 'object':
      return s.properties ? validBody(s, seed) : { note: 'valid' };
    default:
      return 'valid text';
  }
}

function validBody(schema: Schema, seed: Seed): Record<string, unknown> {
  const s = resolve(schema);
  return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, validValue(v, k, seed)]));
}

// Random hex, which does not compress: a repeated character would fit any index entry and hide its limit.
const BIG = randomBytes(50_000).toString('hex');

/** Wrong kinds of JSON value, whatever the property expects (each is wrong for some type). */
const ODD_JSON: [string, unknown][] = [
  ['null', null],
  ['true', true],
  ['0', 0],
  ['123', 123],
  ['-1', -1],
  ['1.5', 1.5],
  ['1e308', 1e308],
  ['-1e308', -1e308],
  ['"abc"', 'abc'],
  ['"5"', '5'],
  ['""', ''],
  ['100 kB string', BIG],
  ['string with NUL', 'a\u0000b'],
  ['string with lone surrogate', 'a\ud800b'],
  ['[]', []],
  ['["x"]', ['x']],
  ['{}', {}],
  ['{"k":"v"}', { k: 'v' }],
];

function oddValuesFor(schema: Schema): [string, unknown][] {
  const s = resolve(schema);
  const out = [...ODD_JSON];
  if (s.enum) out.push(['unknown enum value', 'not-a-known-value']);
  if (s.format === 'date-time') {
    out.push(['"not a date"', 'not a date'], ['date beyond JS range', '+275760-09-13T00:00:00.001Z']);
  }
  return out;
}

/** Raw URL text (already encoded) for a path or query value. */
const ODD_URL: [string, string][] = [
  ['empty', ''],
  ['"null"', 'null'],
  ['"true"', 'true'],
  ['"abc"', 'abc'],
  ['"123"', '123'],
  ['"-1"', '-1'],
  ['"1.5"', '1.5'],
  ['"1e308"', '1e308'],
  ['100 kB string', BIG],
  ['NUL', 'a%00b'],
  ['lone surrogate', 'a%ED%A0%80b'],
  ['"[]"', '%5B%5D'],
  ['"{}"', '%7B%7D'],
];

interface Case {
  what: string;
  /** What a refusal must name (a field, a parameter); undefined: any message. */
  names?: string[];
  identifier: 'seeded' | 'missing' | string;
  query: string;
  body?: unknown;
  /** The value is of another JSON kind than the document declares: it must be refused (4xx). */
  wrongKind?: boolean;
}

type Json = Record<string, unknown>;

function setAt(body: Json, path: (string | number)[], value: unknown, remove = false): Json {
  const copy = JSON.parse(JSON.stringify(body)) as Json;
  let parent = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (remove) delete parent[last];
  else parent[last] = value;
  return copy;
}

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/**
 * Whether `value` is of another JSON kind than `schema` declares. A null for an optional property
 * counts as leaving it out (the API takes it so), unless the document says nothing else.
 */
function isWrongKind(schema: Schema, value: unknown, optional: boolean): boolean {
  const kind = kindOf(value);
  if (kind === 'null') return !schema.nullable && !optional;
  const expected = schema.type === 'integer' ? 'number' : schema.type;
  return expected !== undefined && kind !== expected;
}

type BodyCase = { what: string; names: string[]; body: unknown; wrongKind: boolean };

/** Body cases: every property (nested ones and array items too) given each odd value, extras, omissions. */
function bodyCases(schema: Schema, base: Json): BodyCase[] {
  const out: BodyCase[] = [];
  const walk = (s: Schema, path: (string | number)[], value: unknown, optional: boolean): void => {
    const r = resolve(s);
    const name = String(path.filter((p) => typeof p === 'string').pop() ?? 'body');
    if (path.length > 0) {
      for (const [label, odd] of oddValuesFor(r)) {
        out.push({
          what: `${path.join('.')} = ${label}`,
          names: [name],
          body: setAt(base, path, odd),
          wrongKind: isWrongKind(r, odd, optional) || label === 'unknown enum value',
        });
      }
    }
    if (r.type === 'array' && r.items && Array.isArray(value)) walk(r.items, [...path, 0], value[0], false);
    if (r.type === 'object' || r.properties) {
      const props = r.properties ?? {};
      for (const [k, v] of Object.entries(props)) walk(v, [...path, k], (value as Json)[k], !r.required?.includes(k));
      const extra = [...path, 'unexpectedField'];
      if (Object.keys(props).length > 0 || path.length === 0) {
        out.push({
          what: `${[...path, 'unexpectedField'].join('.')} added`,
          names: ['unexpectedField'],
          body: path.length === 0 ? { ...base, unexpectedField: 'x' } : setAt(base, extra, 'x'),
          wrongKind: true,
        });
      } else {
        // A free-form object: its values are odd instead.
        for (const [label, odd] of ODD_JSON) {
          out.push({
            what: `${path.join('.')}.k = ${label}`,
            names: [name],
            body: setAt(base, [...path, 'k'], odd),
            wrongKind: false,
          });
        }
      }
      for (const k of r.required ?? []) {
        out.push({
          what: `${[...path, k].join('.')} missing`,
          names: [k],
          body: setAt(base, [...path, k], undefined, true),
          wrongKind: true,
        });
      }
    }
  };
  walk(schema, [], base, false);
  const required = (resolve(schema).required ?? []).length > 0;
  for (const [label, odd] of [
    ['null', null],
    ['[]', []],
    ['"text"', 'text'],
    ['123', 123],
  ] as [string, unknown][]) {
    out.push({ what: `body = ${label}`, names: [], body: odd, wrongKind: odd !== null || required });
  }
  return out;
}

interface Op {
  method: string;
  path: string;
  op: Operation;
  auth: Record<string, string>;
  bodySchema?: Schema;
}

const operations: Op[] = Object.entries(doc.paths).flatMap(([path, methods]) =>
  Object.entries(methods)
    .filter(([method]) => !SKIPPED.has(`${method.toUpperCase()} ${path}`))
    .map(([method, op]) => {
      const scopes = (op.security ?? []).flatMap((s) => Object.keys(s));
      const auth: Record<string, string> = scopes[0] === 'agent-key' ? agentAuth : scopes.length > 0 ? adminAuth : {};
      return {
        method: method.toUpperCase(),
        path,
        op,
        auth,
        bodySchema: op.requestBody?.content['application/json']?.schema,
      };
    }),
);

function casesOf(o: Op, seed: Seed): Case[] {
  const params = o.op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const base = o.bodySchema ? validBody(o.bodySchema, seed) : undefined;
  const identifiers = pathParams.length > 0 ? ['seeded', 'missing'] : ['seeded'];
  const cases: Case[] = [];
  for (const identifier of identifiers) {
    cases.push({ what: 'valid input', identifier, query: '', body: base });
    for (const q of queryParams) {
      const odd = [...ODD_URL];
      if (resolve(q.schema).enum) odd.push(['unknown enum value', 'not-a-known-value']);
      for (const [label, raw] of odd) {
        cases.push({ what: `?${q.name}=${label}`, names: [q.name], identifier, query: `${q.name}=${raw}`, body: base });
      }
      cases.push({
        what: `?${q.name} twice`,
        names: [q.name],
        identifier,
        query: `${q.name}=1&${q.name}=2`,
        body: base,
      });
      cases.push({ what: `?${q.name}[k]=v`, names: [q.name], identifier, query: `${q.name}%5Bk%5D=v`, body: base });
    }
    if (queryParams.length > 0 || o.method === 'GET') {
      cases.push({
        what: '?unexpectedParam=x',
        names: ['unexpectedParam'],
        identifier,
        query: 'unexpectedParam=x',
        body: base,
      });
    }
    if (o.bodySchema && base) {
      for (const c of bodyCases(o.bodySchema, base)) cases.push({ ...c, identifier, query: '' });
    }
  }
  for (const p of pathParams) {
    for (const [label, raw] of ODD_URL) {
      if (raw === '') continue; // another route (or none): not this operation's input
      // A refusal names the parameter or quotes the value (a NUL as U+FFFD, the form it is kept in).
      const quoted = raw.includes('%ED') ? raw : decodeURIComponent(raw).replaceAll('\u0000', '\ufffd');
      cases.push({ what: `{${p.name}} = ${label}`, names: [p.name, quoted], identifier: raw, query: '', body: base });
    }
  }
  return cases;
}

describe('every non-ingest operation of openapi.json on bad input: never 5xx, a clear 4xx, nothing written', () => {
  const t = useTestApp();
  let watch: WriteWatch;

  beforeAll(async () => {
    // Listeners run after the response (published events): they are waited for before the
    // database is read, so that a write is blamed on the request that caused it.
    watch = await watchWrites(t);
  });

  const settled = (): Promise<void> => watch.settled();
  const fingerprint = (): Promise<string> => watch.fingerprint();

  async function reseed(): Promise<Seed> {
    await settled();
    await truncateAll(t.dataSource);
    // The same identifiers after every reseed (CHIPP-1 to CHIPP-4), so that prepared cases stay valid.
    await t.dataSource.query(`SELECT setval('issue_number_seq', 1, false)`);
    const issue = await seedSpawnable(t.dataSource);
    const other = await seedSpawnable(t.dataSource);
    await t.dataSource.query(
      `INSERT INTO spawn_requests (issue_id, state, not_before, attempt, requested_by, run_id, run_url, dispatched_at)
       VALUES ($1, 'dispatched', now(), 1, 'system:spawn-gate', $2, 'https://github.com/acme/shop/actions/runs/${RUN_ID}', now())`,
      [issue.id, RUN_ID],
    );
    const fresh = await seedSpawnable(t.dataSource);
    const merged = await seedSpawnable(t.dataSource);
    await t.http
      .post(`/api/issues/${merged.identifier}/merge`)
      .set(adminAuth)
      .send({ into: other.identifier })
      .expect(200);
    return {
      issue: issue.identifier,
      other: other.identifier,
      fresh: fresh.identifier,
      merged: merged.identifier,
      runId: RUN_ID,
    };
  }

  it.each(operations.map((o) => [`${o.method} ${o.path}`, o] as const))('%s', async (_name, o) => {
    let seed = await reseed();
    let before = await fingerprint();
    const failures: string[] = [];
    const baseline = new Map<string, { status: number; error?: string }>();
    for (const c of casesOf(o, seed)) {
      const id =
        c.identifier === 'seeded' ? subjectOf(o.path, seed) : c.identifier === 'missing' ? MISSING : c.identifier;
      const url = o.path.replace(/\{[^}]+\}/, id) + (c.query ? `?${c.query}` : '');
      let req = t.http[o.method.toLowerCase() as 'get' | 'post' | 'patch' | 'put'](url).set(o.auth);
      if (c.body !== undefined) req = req.set('Content-Type', 'application/json').send(JSON.stringify(c.body));
      const res = await req;
      const where = `${c.what} (${c.identifier === 'seeded' || c.identifier === 'missing' ? c.identifier : 'path'})`;
      if (c.what === 'valid input') baseline.set(c.identifier, { status: res.status, error: res.body?.error });
      const after = await fingerprint();
      const body = res.body as { error?: unknown; message?: unknown; correlationId?: unknown };
      if (c.wrongKind && res.status < 400) failures.push(`${where}: accepted (${res.status})`);
      if (res.status === 503 && body?.error === 'SIMILARITY_DISABLED') {
        // Documented: similarity search is off on a database without pgvector.
      } else if (res.status >= 500) {
        failures.push(`${where}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      } else if (res.status >= 400) {
        if (after !== before) failures.push(`${where}: ${res.status} but wrote ${writtenTables(before, after)}`);
        if (!isHouseError(body)) {
          failures.push(`${where}: ${res.status} not in the house shape: ${JSON.stringify(res.body).slice(0, 300)}`);
        } else if (c.names && c.names.length > 0) {
          const base = baseline.get(c.identifier === 'missing' ? 'missing' : 'seeded');
          const sameAsValid = base?.status === res.status && base.error === body.error;
          const message = body.message.toLowerCase();
          const named = c.names.some((n) => message.includes(n.toLowerCase()));
          if (!sameAsValid && !named && ![413, 414, 431].includes(res.status)) {
            failures.push(
              `${where}: ${res.status} ${body.error} does not name ${c.names[0]}: ${body.message.slice(0, 200)}`,
            );
          }
        }
      }
      if (after !== before) {
        // An accepted change: start the next case from the seed again.
        seed = await reseed();
        before = await fingerprint();
      }
    }
    expect(failures).toEqual([]);
  });
});

import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type TestAgent from 'supertest/lib/agent';
import { sharedPath } from '../../support/shared-dir';
import { TEST_KEYS } from '../../support/test-app';

/** Webhook and LLM payloads: deep fixture JSON, read and mutated by path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/** HMAC-SHA256 of the exact bytes, as GitHub signs them (computed here, independently of Octokit). */
export function signature256(body: string | Buffer, secret = TEST_KEYS.GITHUB_WEBHOOK_SECRET): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Sends a signed delivery with GitHub's headers. */
export function deliver(
  http: TestAgent,
  event: string,
  payload: unknown,
  options: { deliveryId?: string; secret?: string; signature?: string | null } = {},
) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const req = http
    .post('/api/github/webhook')
    .set('Content-Type', 'application/json')
    .set('User-Agent', 'GitHub-Hookshot/49819b1')
    .set('X-GitHub-Event', event)
    .set('X-GitHub-Delivery', options.deliveryId ?? randomUUID());
  if (options.signature !== null)
    req.set('X-Hub-Signature-256', options.signature ?? signature256(body, options.secret));
  return req.send(body);
}

export function exampleFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(sharedPath('fixtures', 'github', 'octokit-webhooks-examples', name), 'utf8')) as T;
}

/** An example from the installed @octokit/webhooks-examples package (events the shared folder lacks). */
export function packageExample<T = Record<string, unknown>>(event: string, index: number): T {
  const file = path.join(
    path.dirname(require.resolve('@octokit/webhooks-examples/package.json')),
    'api.github.com',
    'index.json',
  );
  const all = JSON.parse(readFileSync(file, 'utf8')) as { name: string; examples: unknown[] }[];
  const found = all.find((e) => e.name === event)?.examples[index];
  if (!found) throw new Error(`no ${event} example ${index}`);
  return structuredClone(found) as T;
}

export interface PrOverrides {
  action?: string;
  number?: number;
  title?: string;
  body?: string | null;
  head?: string;
  base?: string;
  state?: 'open' | 'closed';
  merged?: boolean;
  mergeCommitSha?: string | null;
  owner?: string;
  repo?: string;
  /** The PR author's login and `author_association` (the examples' author is the repository's OWNER). */
  author?: string;
  authorAssociation?: string;
  /** The PR's `updated_at` (default: a time later than the previous payload's). */
  updatedAt?: string;
}

/** Each payload's `updated_at`, one second after the previous one. */
let lastUpdate = Date.parse('2026-11-26T06:00:00Z');

/**
 * A pull_request payload built from the real octokit example (opened, or closed for closed),
 * with the fields a test cares about overridden. GitHub has no merged example: `merged: true`
 * sets merged, merged_at and merge_commit_sha as GitHub does. Each payload is a new event of the
 * PR, so it carries a later `updated_at`, as GitHub's do: the same bytes under another delivery id
 * are a replay, which fixloop answers `duplicate` (send the same string again to test that).
 */
export function prPayload(o: PrOverrides = {}): Record<string, unknown> {
  const action = o.action ?? 'opened';
  const base = exampleFixture<Record<string, Loose>>(
    action === 'closed' ? 'pull_request.closed.examples-3.json' : 'pull_request.opened.examples-0.json',
  );
  const p = structuredClone(base);
  p.action = action;
  const pr = p.pull_request;
  if (o.number !== undefined) {
    pr.number = o.number;
    p.number = o.number;
    pr.html_url = `https://github.com/${o.owner ?? 'Codertocat'}/${o.repo ?? 'Hello-World'}/pull/${o.number}`;
  }
  if (o.title !== undefined) pr.title = o.title;
  if (o.body !== undefined) pr.body = o.body;
  if (o.head !== undefined) pr.head.ref = o.head;
  if (o.base !== undefined) pr.base.ref = o.base;
  if (o.owner !== undefined) p.repository.owner.login = o.owner;
  if (o.repo !== undefined) p.repository.name = o.repo;
  if (o.author !== undefined) pr.user.login = o.author;
  if (o.authorAssociation !== undefined) pr.author_association = o.authorAssociation;
  lastUpdate += 1000;
  pr.updated_at = o.updatedAt ?? new Date(lastUpdate).toISOString().replace('.000Z', 'Z');
  const state = o.state ?? (action === 'closed' ? 'closed' : 'open');
  pr.state = state;
  if (o.merged) {
    pr.merged = true;
    pr.merged_at = '2026-11-26T07:00:00Z';
    pr.closed_at = '2026-11-26T07:00:00Z';
    pr.merge_commit_sha = o.mergeCommitSha ?? pr.merge_commit_sha;
  } else {
    pr.merged = false;
    pr.merged_at = null;
    if (state === 'open') pr.closed_at = null;
  }
  return p;
}

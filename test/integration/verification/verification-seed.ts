import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { fingerprint, normalizeMessage } from '../../../src/modules/dedup/normalizer.contract';
import { VerificationService } from '../../../src/modules/verification/verification.service';
import { FixDeployed } from '../../../src/shared/events/event-catalogue';
import { seedIssue } from '../../factories/issue.factory';
import { waitFor } from '../../fixtures/ingest-service/ingest-test-helpers';
import { TestApp, adminAuth, ingestAuth } from '../../support/test-app';
import { deliver, prPayload } from '../github/webhook-support';

/**
 * Test data for verification: an issue already in production with its fingerprint link, a merged
 * PR and the production deployment that shipped it (what ingest, dedup, the GitHub webhook and the
 * deployments API produce), and error_events rows as ingest stores them.
 */
export interface ShippedIssue {
  issueId: string;
  identifier: string;
  source: string;
  feature: string;
  template: string;
  fingerprint: string;
  linkId: string;
  issuePrId: string;
  prNumber: number;
  deploymentId: string;
  deployedAt: Date;
  version: string;
  sha: string;
}

export interface ShipOptions {
  message?: string;
  priority?: number;
  deployedAt?: Date;
  version?: string;
  sha?: string;
  source?: string;
  feature?: string;
  /** List the PR on the deployment (how the sweep finds it). Default true. */
  listPr?: boolean;
}

/**
 * Sends one error of `source` (feature `payments`) through the events API, logged at `at` by build
 * `version`, as a service would: `errorSender(t)(source, message, at, version)`.
 */
export function errorSender(t: TestApp) {
  return async (source: string, message: string, at: Date, version: string): Promise<void> => {
    await t.http
      .post('/api/events')
      .set(ingestAuth)
      .send({
        events: [
          { source, feature: 'payments', message, level: 'error', timestamp: at.toISOString(), labels: { version } },
        ],
      })
      .expect(202);
  };
}

/** An issue filed through the events API by `fixFlow(t).bug`. */
export interface Bug {
  id: string;
  identifier: string;
  source: string;
  message: string;
}

/** The env of an app that `fixFlow` drives: PRs into `staging` of prPayload's repository, a 48 h watch. */
export const FIX_FLOW_ENV = {
  STAGING_BRANCH: 'staging',
  FIX_VERIFICATION_HOURS: '48',
  VERIFICATION_GRACE_MINUTES: '10',
  GITHUB_REPO_OWNER: 'Codertocat',
  GITHUB_REPO_NAME: 'Hello-World',
};

/**
 * A fix's steps through the HTTP API, as the merged-issue specs take them (app env `FIX_FLOW_ENV`):
 * `bug(label)` files a new issue from an error of its own service (its own fingerprint),
 * `pr(bug, overrides)` delivers a signed pull_request naming it, `deploy(prNumbers, at)` reports a
 * production deploy of 1.4.2, `untilWindowFails(issueId)` runs the verification checks until the
 * issue is back in triage, and `sendError` is `errorSender(t)`.
 */
export function fixFlow(t: TestApp) {
  const sendError = errorSender(t);

  /** An error from its own service: a new issue with its own fingerprint. */
  async function bug(label: string): Promise<Bug> {
    const source = `${label}-${randomUUID().slice(0, 8)}`;
    const message = `Payment 8412 declined by gateway for customer cus_9f8a7b6c5d (${source})`;
    await sendError(source, message, new Date(Date.now() - 3 * HOUR), '1.4.1');
    const list = await t.http.get(`/api/issues?source=${source}`).set(adminAuth).expect(200);
    expect(list.body.items).toHaveLength(1);
    const { identifier } = list.body.items[0] as { identifier: string };
    const [row] = (await t.dataSource.query(`SELECT id FROM issues WHERE identifier = $1`, [identifier])) as {
      id: string;
    }[];
    return { id: row!.id, identifier, source, message };
  }

  const pr = (b: Bug, overrides: Parameters<typeof prPayload>[0] = {}) =>
    deliver(
      t.http,
      'pull_request',
      prPayload({ title: `Fix ${b.identifier}: retry the gateway`, ...overrides }),
    ).expect(200);
  const deploy = (prs: number[], deployedAt: Date) =>
    t.http
      .post('/api/deployments')
      .set(adminAuth)
      .send({ environment: 'production', version: '1.4.2', prNumbers: prs, deployedAt: deployedAt.toISOString() })
      .expect(200);

  /** The error.received fast path may decide the window at once; the scheduled check is run too. */
  const untilWindowFails = (issueId: string, what = 'the window to fail') =>
    waitFor(
      async () => {
        await t.app.get(VerificationService).runDueChecks();
        return (await issueRow(t.dataSource, issueId)).status === 'triage';
      },
      10_000,
      what,
    );

  return { sendError, bug, pr, deploy, untilWindowFails };
}

let prCounter = 100;

export async function seedShippedIssue(ds: DataSource, o: ShipOptions = {}): Promise<ShippedIssue> {
  const tag = randomUUID().slice(0, 8);
  const source = o.source ?? `checkout-api-${tag}`;
  const feature = o.feature ?? 'payments';
  const message = o.message ?? `Payment 8412 declined by gateway ${tag} for customer cus_9f8a7b6c5d`;
  const template = normalizeMessage(message);
  const fp = fingerprint(source, feature, template);
  const { id: issueId, identifier } = await seedIssue(ds, {
    status: 'in_production',
    priority: o.priority ?? 3,
    source,
    feature,
    normalizedMessage: template,
  });
  const linkId = await addLink(ds, issueId, fp, { source, feature, template, kind: 'primary' });
  const prNumber = ++prCounter;
  const sha = o.sha ?? `${tag}${'0'.repeat(32)}`;
  const [pr] = (await ds.query(
    `INSERT INTO issue_prs (issue_id, repo_owner, repo_name, pr_number, title, state, merged_at, merge_commit_sha, match_method, url)
     VALUES ($1, 'acme', 'shop', $2, $3, 'merged', $4, $5, 'identifier', $6) RETURNING id`,
    [
      issueId,
      prNumber,
      `${identifier}: fix payment decline`,
      new Date(Date.now() - 2 * 3_600_000),
      sha,
      `https://github.com/acme/shop/pull/${prNumber}`,
    ],
  )) as { id: string }[];
  const deployedAt = o.deployedAt ?? new Date(Date.now() - 60_000);
  const version = o.version ?? '1.4.2';
  const [dep] = (await ds.query(
    `INSERT INTO deployments (source, external_id, environment, sha, version, pr_numbers, deployed_at)
     VALUES ('api', $1, 'production', $2, $3, $4, $5) RETURNING id`,
    [`deploy-${tag}`, sha, version, o.listPr === false ? [] : [prNumber], deployedAt],
  )) as { id: string }[];
  return {
    issueId,
    identifier,
    source,
    feature,
    template,
    fingerprint: fp,
    linkId,
    issuePrId: pr.id,
    prNumber,
    deploymentId: dep.id,
    deployedAt,
    version,
    sha,
  };
}

export async function addLink(
  ds: DataSource,
  issueId: string,
  fp: string,
  scope: { source: string; feature: string; template: string; kind: 'primary' | 'alias' },
): Promise<string> {
  const [row] = (await ds.query(
    `INSERT INTO external_issue_links (source, external_id, issue_id, original_issue_id, link_kind, scope_source, scope_feature, normalized_message)
     VALUES ('fingerprint', $1, $2, $2, $3, $4, $5, $6) RETURNING id`,
    [fp, issueId, scope.kind, scope.source, scope.feature, scope.template],
  )) as { id: string }[];
  return row.id;
}

/** An error_events row as ingest stores it (occurred_at = the log line's own time). */
export async function insertEvent(
  ds: DataSource,
  s: { issueId: string; linkId: string; fingerprint: string },
  occurredAt: Date,
  o: { version?: string | null; count?: number; message?: string } = {},
): Promise<void> {
  await ds.query(
    `INSERT INTO error_events (issue_id, link_id, fingerprint, occurred_at, count, version, message, ingest_kind)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'loki')`,
    [s.issueId, s.linkId, s.fingerprint, occurredAt, o.count ?? 1, o.version ?? null, o.message ?? 'Payment declined'],
  );
}

export const HOUR = 3_600_000;
export const MINUTE = 60_000;
export const after = (d: Date, ms: number): Date => new Date(d.getTime() + ms);

export interface WindowRow {
  id: string;
  state: string;
  deployment_id: string | null;
  issue_pr_id: string | null;
  fingerprints: string[];
  deployed_at: Date;
  deployed_version: string | null;
  deployed_sha: string | null;
  ends_at: Date;
  recurrence_count: number;
  old_build_count: number;
  first_recurrence_at: Date | null;
  decision_reason: string | null;
  recurrence_evidence: Record<string, unknown> | null;
}

export async function windowsOf(ds: DataSource, issueId: string): Promise<WindowRow[]> {
  return (await ds.query(`SELECT * FROM verification_windows WHERE issue_id = $1 ORDER BY created_at`, [
    issueId,
  ])) as WindowRow[];
}

export async function issueRow(
  ds: DataSource,
  issueId: string,
): Promise<{ status: string; priority: number; labels: string[] }> {
  const [row] = (await ds.query(`SELECT status, priority, labels FROM issues WHERE id = $1`, [issueId])) as {
    status: string;
    priority: number;
    labels: string[];
  }[];
  return row;
}

export async function historyOf(
  ds: DataSource,
  issueId: string,
): Promise<
  Array<{ field: string; from_value: string | null; to_value: string | null; data: Record<string, unknown> | null }>
> {
  return (await ds.query(
    `SELECT field, from_value, to_value, data FROM issue_history WHERE issue_id = $1 ORDER BY id`,
    [issueId],
  )) as Array<{
    field: string;
    from_value: string | null;
    to_value: string | null;
    data: Record<string, unknown> | null;
  }>;
}

export async function outboxFor(
  ds: DataSource,
  name: string,
  issueId: string,
): Promise<Array<{ payload: Record<string, unknown> }>> {
  return (await ds.query(`SELECT payload FROM outbox_events WHERE event_name = $1 AND payload->>'issueId' = $2`, [
    name,
    issueId,
  ])) as Array<{ payload: Record<string, unknown> }>;
}

export const deployed = (s: ShippedIssue): FixDeployed =>
  new FixDeployed(s.issueId, s.deploymentId, s.deployedAt, s.version, s.sha, s.issuePrId);

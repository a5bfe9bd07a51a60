import { EventEmitter2 } from '@nestjs/event-emitter';
import { IssueStatusChanged } from '../../../src/shared/events/event-catalogue';
import { seedIssue } from '../../factories/issue.factory';
import { adminAuth, agentAuth, useTestApp } from '../../support/test-app';

describe('Issues admin API: detail views, PATCH with audit trail', () => {
  const t = useTestApp();

  const history = async (id: string) =>
    (await t.dataSource.query(
      `SELECT actor, actor_type, field, from_value, to_value, reason FROM issue_history WHERE issue_id = $1 ORDER BY id`,
      [id],
    )) as {
      actor: string;
      actor_type: string;
      field: string;
      from_value: string | null;
      to_value: string | null;
      reason: string | null;
    }[];

  it('shows fingerprints with their grouping, the 20 newest events, agent activity, PRs, spawn history and history', async () => {
    const issue = await seedIssue(t.dataSource, { title: 'Payment failed' });
    const other = await seedIssue(t.dataSource);
    const [primary] = (await t.dataSource.query(
      `INSERT INTO external_issue_links (source, external_id, issue_id, original_issue_id, link_kind, grouping_rule, grouping_evidence, event_count,
                                         first_seen_at, last_seen_at)
       VALUES ('fingerprint', 'fp-primary', $1, $1, 'primary', 'exact', NULL, 25, '2026-11-25T10:00:00Z', '2026-11-26T06:00:00Z'),
              ('fingerprint', 'fp-alias', $1, $2, 'alias', 'template-similarity', '{"similarity":0.91,"sharedTokens":7}', 3,
               '2026-11-25T12:00:00Z', '2026-11-25T13:00:00Z')
       RETURNING id`,
      [issue.id, other.id],
    )) as { id: string }[];
    for (let i = 0; i < 25; i++) {
      await t.dataSource.query(
        `INSERT INTO error_events (issue_id, link_id, fingerprint, occurred_at, message, ingest_kind, labels, version)
         VALUES ($1, $2, 'fp-primary', $3, $4, 'loki_push', '{"service":"checkout-api"}', 'v1.2.3')`,
        [issue.id, primary!.id, new Date(Date.UTC(2026, 10, 26, 5, i)), `Payment failed #${i}`],
      );
    }
    const [spawn] = (await t.dataSource.query(
      `INSERT INTO spawn_requests (issue_id, state, not_before, attempt, requested_by, held_reason, run_id, run_url, dispatched_at, finished_at, cost_usd)
       VALUES ($1, 'completed', now(), 1, 'system:spawn-gate', NULL, '123', 'https://github.com/acme/shop/actions/runs/123', now(), now(), 1.25)
       RETURNING id`,
      [issue.id],
    )) as { id: string }[];
    await t.dataSource.query(
      `INSERT INTO agent_activity (issue_id, spawn_request_id, type, message, data) VALUES ($1, $2, 'comment', 'Found the cause', '{"file":"pay.ts"}')`,
      [issue.id, spawn!.id],
    );

    const res = await t.http.get(`/api/issues/${issue.identifier}`).set(adminAuth).expect(200);
    expect(res.body.fingerprints).toEqual([
      expect.objectContaining({
        externalId: 'fp-primary',
        linkKind: 'primary',
        groupingRule: 'exact',
        eventCount: 25,
        originalIssue: null,
      }),
      expect.objectContaining({
        externalId: 'fp-alias',
        linkKind: 'alias',
        groupingRule: 'template-similarity',
        groupingEvidence: { similarity: 0.91, sharedTokens: 7 },
        originalIssue: other.identifier,
        firstSeenAt: '2026-11-25T12:00:00.000Z',
      }),
    ]);
    expect(res.body.recentEvents).toHaveLength(20);
    expect(res.body.recentEvents[0]).toMatchObject({
      message: 'Payment failed #24',
      fingerprint: 'fp-primary',
      version: 'v1.2.3',
      labels: { service: 'checkout-api' },
    });
    expect(res.body.recentEvents[19].message).toBe('Payment failed #5');
    expect(res.body.agentActivity).toEqual([
      expect.objectContaining({ type: 'comment', message: 'Found the cause', spawnRequestId: spawn!.id }),
    ]);
    expect(res.body.spawnHistory).toEqual([
      expect.objectContaining({
        state: 'completed',
        attempt: 1,
        runUrl: 'https://github.com/acme/shop/actions/runs/123',
        costUsd: 1.25,
        heldReason: null,
      }),
    ]);
    expect(res.body.pullRequests).toEqual([]);
    expect(res.body.history).toEqual([]);
  });

  it('PATCH changes status, priority, labels, title and cooldown, one history entry each with actor admin and the reason', async () => {
    const issue = await seedIssue(t.dataSource, { labels: ['db'] });
    const seen: IssueStatusChanged[] = [];
    const emitter = t.app.get(EventEmitter2);
    const on = (e: IssueStatusChanged) => void seen.push(e);
    emitter.on('issue.status_changed', on);
    try {
      const res = await t.http
        .patch(`/api/issues/${issue.identifier}`)
        .set(adminAuth)
        .send({
          status: 'needs_human',
          priority: 'p2',
          labels: ['db', 'payments', 'db'],
          title: 'Payments DB timeouts',
          cooldownUntil: '2026-12-01T00:00:00Z',
          cooldownHours: 6,
          reason: 'on-call triage',
        })
        .expect(200);
      expect(res.body).toMatchObject({
        status: 'needs_human',
        priority: 'P2',
        labels: ['db', 'payments'],
        title: 'Payments DB timeouts',
        cooldownUntil: '2026-12-01T00:00:00.000Z',
        cooldownHours: 6,
      });
      expect(seen).toEqual([
        expect.objectContaining({
          issueId: issue.id,
          from: 'triage',
          to: 'needs_human',
          actor: 'admin',
          reason: 'on-call triage',
        }),
      ]);
    } finally {
      emitter.off('issue.status_changed', on);
    }
    const h = await history(issue.id);
    expect(h.map((e) => [e.field, e.from_value, e.to_value])).toEqual([
      ['priority', 'P4', 'P2'],
      ['labels', 'db', 'db,payments'],
      ['title', expect.any(String), 'Payments DB timeouts'],
      ['cooldown_until', null, '2026-12-01T00:00:00.000Z'],
      ['cooldown_hours', null, '6'],
      ['status', 'triage', 'needs_human'],
    ]);
    for (const e of h) expect(e).toMatchObject({ actor: 'admin', actor_type: 'user', reason: 'on-call triage' });

    // Unchanged values write nothing; null clears the cooldown.
    await t.http
      .patch(`/api/issues/${issue.identifier}`)
      .set(adminAuth)
      .send({ priority: 'P2', cooldownUntil: null })
      .expect(200);
    const after = await history(issue.id);
    expect(after).toHaveLength(h.length + 1);
    expect(after.at(-1)).toMatchObject({ field: 'cooldown_until', to_value: null, reason: 'changed by admin' });
  });

  it('refuses a transition the status contract does not allow (409), changing nothing', async () => {
    const issue = await seedIssue(t.dataSource, { status: 'verified' });
    const res = await t.http
      .patch(`/api/issues/${issue.identifier}`)
      .set(adminAuth)
      .send({ status: 'in_review', priority: 'P1' })
      .expect(409);
    expect(res.body).toMatchObject({
      error: 'ISSUE_INVALID_TRANSITION',
      message: expect.stringMatching(/from verified it may move to: triage, closed/),
    });
    const [row] = (await t.dataSource.query(`SELECT status, priority FROM issues WHERE id = $1`, [issue.id])) as {
      status: string;
      priority: number;
    }[];
    expect(row).toEqual({ status: 'verified', priority: 4 });
    // cooldownUntil is a date-time (or null): a number, a boolean or a bare "5" was made a date and accepted.
    for (const cooldownUntil of [0, 123, true, '5']) {
      const res = await t.http
        .patch(`/api/issues/${issue.identifier}`)
        .set(adminAuth)
        .send({ cooldownUntil })
        .expect(400);
      expect(res.body.message).toBe('cooldownUntil must be an ISO 8601 date-time');
    }
    expect(await history(issue.id)).toEqual([]);
  });

  it('validates the body (400), needs the admin key (401/403) and 404s an unknown issue', async () => {
    const issue = await seedIssue(t.dataSource);
    const empty = await t.http
      .patch(`/api/issues/${issue.identifier}`)
      .set(adminAuth)
      .send({ reason: 'nothing' })
      .expect(400);
    expect(empty.body.error).toBe('ISSUE_NOTHING_TO_UPDATE');
    const bad = await t.http
      .patch(`/api/issues/${issue.identifier}`)
      .set(adminAuth)
      .send({ status: 'done', priority: 'P9', cooldownHours: -1, spawnStatus: 'x' })
      .expect(400);
    expect(bad.body.error).toBe('VALIDATION_FAILED');
    expect(bad.body.message).toMatch(/status/);
    expect(bad.body.message).toMatch(/priority/);
    expect(bad.body.message).toMatch(/cooldownHours/);
    expect(bad.body.message).toMatch(/spawnStatus/);
    // Null clears only the nullable cooldown fields: for the others it is refused, naming the field
    // (it used to reach the service: 409 "cannot move from triage to null", 500 for labels and title).
    for (const field of ['status', 'labels', 'title']) {
      const res = await t.http
        .patch(`/api/issues/${issue.identifier}`)
        .set(adminAuth)
        .send({ [field]: null })
        .expect(400);
      expect(res.body).toEqual({
        error: 'VALIDATION_FAILED',
        message: expect.stringContaining(field),
        correlationId: expect.any(String),
      });
    }
    // cooldownUntil is a date-time (or null): a number, a boolean or a bare "5" was made a date and accepted.
    for (const cooldownUntil of [0, 123, true, '5']) {
      const res = await t.http
        .patch(`/api/issues/${issue.identifier}`)
        .set(adminAuth)
        .send({ cooldownUntil })
        .expect(400);
      expect(res.body.message).toBe('cooldownUntil must be an ISO 8601 date-time');
    }
    expect(await history(issue.id)).toEqual([]);
    await t.http.patch(`/api/issues/${issue.identifier}`).send({ priority: 'P1' }).expect(401);
    await t.http
      .patch(`/api/issues/${issue.identifier}`)
      .set('Authorization', 'Bearer wrong-key-000000000')
      .send({ priority: 'P1' })
      .expect(401);
    const forbidden = await t.http
      .patch(`/api/issues/${issue.identifier}`)
      .set(agentAuth)
      .send({ priority: 'P1' })
      .expect(403);
    expect(forbidden.body.error).toBe('AUTH_WRONG_SCOPE');
    await t.http.patch('/api/issues/CHIPP-999999').set(adminAuth).send({ priority: 'P1' }).expect(404);
  });

  it('keeps the history append-only in the database', async () => {
    const issue = await seedIssue(t.dataSource);
    await t.http.patch(`/api/issues/${issue.identifier}`).set(adminAuth).send({ priority: 'P3' }).expect(200);
    await expect(
      t.dataSource.query(`UPDATE issue_history SET reason = 'rewritten' WHERE issue_id = $1`, [issue.id]),
    ).rejects.toThrow(/append-only/);
    await expect(t.dataSource.query(`DELETE FROM issue_history WHERE issue_id = $1`, [issue.id])).rejects.toThrow(
      /append-only/,
    );
  });
});

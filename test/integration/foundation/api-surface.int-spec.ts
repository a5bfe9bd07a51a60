import { adminAuth, agentAuth, testDbKind, useTestApp } from '../../support/test-app';
import { seedIssue } from '../../factories/issue.factory';

describe('API surface (health, auth, issues, errors, docs)', () => {
  const t = useTestApp();

  it('GET /health answers without auth and reports database, pgvector, kill switch and version', async () => {
    const res = await t.http.get('/health').expect(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      database: 'up',
      databaseKind: testDbKind(),
      killSwitch: false,
      version: '0.1.0',
    });
    const available = (await t.dataSource.query(
      `SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`,
    )) as unknown[];
    expect(res.body.pgvector).toBe(available.length > 0);
    if (!res.body.pgvector) expect(res.body.pgvectorHint).toMatch(/CREATE EXTENSION vector/);
  });

  it('refuses the issues API without a key (401), with a wrong key (401) and with the agent key (403)', async () => {
    const none = await t.http.get('/api/issues').expect(401);
    expect(none.body).toEqual({
      error: 'AUTH_MISSING',
      message: expect.any(String),
      correlationId: expect.any(String),
    });
    await t.http.get('/api/issues').set('Authorization', 'Bearer not-the-key-at-all').expect(401);
    const wrongScope = await t.http.get('/api/issues').set(agentAuth).expect(403);
    expect(wrongScope.body.error).toBe('AUTH_WRONG_SCOPE');
  });

  it('lists issues newest first with camelCase fields and cursor pagination', async () => {
    const base = Date.now() - 60_000;
    const seeded = [];
    for (let i = 0; i < 5; i++)
      seeded.push(
        await seedIssue(t.dataSource, { createdAt: new Date(base + i * 1000), labels: i === 0 ? ['db'] : [] }),
      );
    const first = await t.http.get('/api/issues?limit=2').set(adminAuth).expect(200);
    expect(first.body.items.map((i: { identifier: string }) => i.identifier)).toEqual([
      seeded[4].identifier,
      seeded[3].identifier,
    ]);
    expect(first.body.items[0]).toMatchObject({
      identifier: expect.stringMatching(/^CHIPP-\d+$/),
      title: expect.any(String),
      status: 'triage',
      priority: 'P4',
      labels: [],
      source: 'checkout-api',
      feature: 'payments',
      eventCount: 1,
      firstSeenAt: expect.any(String),
      lastSeenAt: expect.any(String),
      spawnStatus: null,
    });
    const second = await t.http
      .get(`/api/issues?limit=2&cursor=${first.body.nextCursor as string}`)
      .set(adminAuth)
      .expect(200);
    const third = await t.http
      .get(`/api/issues?limit=2&cursor=${second.body.nextCursor as string}`)
      .set(adminAuth)
      .expect(200);
    expect([...second.body.items, ...third.body.items].map((i: { identifier: string }) => i.identifier)).toEqual(
      [seeded[2], seeded[1], seeded[0]].map((s) => s.identifier),
    );
    expect(third.body.nextCursor).toBeNull();
    const labelled = await t.http.get('/api/issues?label=db').set(adminAuth).expect(200);
    expect(labelled.body.items.map((i: { identifier: string }) => i.identifier)).toEqual([seeded[0].identifier]);
  });

  it('gets one issue by identifier with its history, and 404s an unknown one', async () => {
    const { identifier } = await seedIssue(t.dataSource, { title: 'Payment failed' });
    const res = await t.http.get(`/api/issues/${identifier}`).set(adminAuth).expect(200);
    expect(res.body).toMatchObject({ identifier, title: 'Payment failed', history: [] });
    const missing = await t.http.get('/api/issues/CHIPP-999999').set(adminAuth).expect(404);
    expect(missing.body).toMatchObject({ error: 'ISSUE_NOT_FOUND', correlationId: expect.any(String) });
  });

  it('answers bad query input with a 400 naming the problem', async () => {
    const res = await t.http.get('/api/issues?limit=0&bogus=1').set(adminAuth).expect(400);
    expect(res.body.error).toBe('VALIDATION_FAILED');
    expect(res.body.message).toMatch(/limit must not be less than 1/);
    expect(res.body.message).toMatch(/bogus/);
    const cursor = await t.http.get('/api/issues?cursor=abc').set(adminAuth).expect(400);
    expect(cursor.body.error).toBe('ISSUE_INVALID_CURSOR');
  });

  it('echoes a caller correlation id in the header and the error body', async () => {
    const res = await t.http
      .get('/api/issues/CHIPP-424242')
      .set(adminAuth)
      .set('X-Correlation-Id', 'corr-123')
      .expect(404);
    expect(res.headers['x-correlation-id']).toBe('corr-123');
    expect(res.body.correlationId).toBe('corr-123');
  });

  it('serves Swagger UI at /docs and the document at /docs-json, tagged and summarised', async () => {
    await t.http.get('/docs').expect(200);
    const doc = await t.http.get('/docs-json').expect(200);
    const ops = Object.values(
      doc.body.paths as Record<string, Record<string, { summary?: string; tags?: string[] }>>,
    ).flatMap((p) => Object.values(p));
    expect(ops.length).toBeGreaterThan(0);
    for (const op of ops) {
      expect(op.summary).toEqual(expect.any(String));
      expect(op.tags?.length).toBeGreaterThan(0);
    }
  });
});

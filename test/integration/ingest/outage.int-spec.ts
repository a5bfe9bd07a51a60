import { TestApp, ingestAuth, startTestApp, testDbKind } from '../../support/test-app';
import { RUN_DATABASE_ENV } from '../../setup/test-database';
import { TcpProxy } from '../../fixtures/ingest-service/tcp-proxy';
import { Client } from 'pg';
import { fixtureBytes, rowCounts, waitFor } from '../../fixtures/ingest-service/ingest-test-helpers';

/**
 * A database that goes away under a running service: the receivers answer 503 with Retry-After
 * (the sender retries later) and nothing is half-written. The pool is shut down while the app
 * runs, then opened again to look at what was stored.
 */
/** A second app on the test database, reached through a proxy the test can stop or silence. */
async function appBehindProxy(env: Record<string, string>): Promise<{ proxy: TcpProxy; port: number; app: TestApp }> {
  const target = new URL(process.env[RUN_DATABASE_ENV] as string);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  const port = await proxy.start();
  const viaProxy = new URL(target.toString());
  viaProxy.host = `127.0.0.1:${port}`;
  const app = await startTestApp({ DATABASE_URL: viaProxy.toString(), ...env }, { keepData: true });
  return { proxy, port, app };
}

describe('ingest while the database is down', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    if (!t.dataSource.isInitialized) await t.dataSource.initialize();
    await t.close();
  });

  it('answers 503 with Retry-After on every receiver, and nothing was written', async () => {
    await t.dataSource.destroy();
    const webhook = await t.http
      .post('/api/loki/webhook')
      .set(ingestAuth)
      .set('Content-Type', 'application/json')
      .send(fixtureBytes('grafana', 'grafana-docs-webhook-firing-2alerts.json').toString('utf8'))
      .expect(503);
    expect(webhook.headers['retry-after']).toBe('5');
    expect(webhook.body).toMatchObject({ error: 'INGEST_DATABASE_UNAVAILABLE', correlationId: expect.any(String) });
    const push = await t.http
      .post('/loki/api/v1/push')
      .set(ingestAuth)
      .set('Content-Type', 'application/x-protobuf')
      .send(fixtureBytes('loki', 'push', 'captured', 'generated-pushrequest-structured-metadata.snappy.pb'))
      .expect(503);
    expect(push.headers['retry-after']).toBe('5');
    const events = await t.http
      .post('/api/events')
      .set(ingestAuth)
      .send({ events: [{ source: 's', feature: 'f', message: 'boom' }] })
      .expect(503);
    expect(events.headers['retry-after']).toBe('5');

    await t.dataSource.initialize();
    expect(Object.values(await rowCounts(t.dataSource)).every((n) => n === 0)).toBe(true);
    // and once it is back, the same delivery goes through
    await t.http
      .post('/api/events')
      .set(ingestAuth)
      .send({ events: [{ source: 's', feature: 'f', message: 'boom' }] })
      .expect(202);
    expect((await rowCounts(t.dataSource)).issues).toBe(1);
  });

  it('answers 503 when the database stops answering mid-run, and takes the delivery once it is back', async () => {
    const body = { events: [{ id: 'outage-1', source: 's', feature: 'f', message: 'Connection to ledger lost' }] };
    if (testDbKind() === 'pglite') {
      // The embedded database has no server to stop: its pool is shut down instead.
      await t.dataSource.destroy();
      await t.http.post('/api/events').set(ingestAuth).send(body).expect(503);
      await t.dataSource.initialize();
      await t.http.post('/api/events').set(ingestAuth).send(body).expect(202);
      return;
    }
    const { proxy, port, app } = await appBehindProxy({ DATABASE_ACQUIRE_TIMEOUT_SECONDS: '2' });
    try {
      const before = await rowCounts(t.dataSource);
      await proxy.stop();
      const res = await app.http.post('/api/events').set(ingestAuth).send(body).expect(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(await rowCounts(t.dataSource)).toEqual(before);
      await proxy.start(port);
      const ok = await app.http.post('/api/events').set(ingestAuth).send(body).expect(202);
      expect(ok.body).toMatchObject({ accepted: 1 });
      await app.http.post('/api/events').set(ingestAuth).send(body).expect(202);
      expect((await rowCounts(t.dataSource)).ingest_deliveries).toBe(before.ingest_deliveries + 1);
    } finally {
      await app.close();
      await proxy.stop();
    }
  });

  if (testDbKind() === 'postgres') {
    it('answers 503 when the server falls silent mid-statement (a half-open connection), then recovers', async () => {
      const { proxy, app } = await appBehindProxy({
        DATABASE_ACQUIRE_TIMEOUT_SECONDS: '1',
        DATABASE_STALL_TIMEOUT_SECONDS: '1',
      });
      const send = (id: string) =>
        app.http
          .post('/api/events')
          .set(ingestAuth)
          .send({ events: [{ id, source: 's', feature: 'f', message: 'Ledger write timed out' }] });
      try {
        await send('stall-1').expect(202);
        // idle pooled connections are left alone: nothing is waiting on them
        await new Promise((r) => setTimeout(r, 1500));
        await send('stall-2').expect(202);
        const before = await rowCounts(t.dataSource);
        proxy.blackhole(true);
        const res = await send('stall-3').expect(503);
        expect(res.headers['retry-after']).toBe('5');
        expect(await rowCounts(t.dataSource)).toEqual(before);
        proxy.blackhole(false);
        await send('stall-3').expect(202);
        expect((await rowCounts(t.dataSource)).ingest_deliveries).toBe(before.ingest_deliveries + 1);
      } finally {
        proxy.blackhole(false);
        await app.close();
        await proxy.stop();
      }
    });
  }

  it('answers 503 with Retry-After while the database is read-only (a standby, or a primary failing over)', async () => {
    const body = { events: [{ id: 'read-only-1', source: 's', feature: 'f', message: 'Ledger entry rejected' }] };
    const setReadOnly = async (on: boolean): Promise<void> => {
      if (testDbKind() === 'pglite') {
        // one session serves the embedded database
        await t.dataSource.query(`SET default_transaction_read_only = ${on ? 'on' : 'off'}`);
        return;
      }
      // a server: every new session of the database starts read-only, and the pool's sessions end
      const admin = new Client({ connectionString: process.env[RUN_DATABASE_ENV] });
      await admin.connect();
      try {
        await admin.query('SET default_transaction_read_only = off'); // this session writes either way
        const change = on ? 'SET default_transaction_read_only = on' : 'RESET default_transaction_read_only';
        await admin.query(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I ${change}', current_database()); END $$`);
        await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
        );
      } finally {
        await admin.end();
      }
      await waitFor(async () => {
        const rows = (await t.dataSource.query('SHOW default_transaction_read_only').catch(() => [])) as {
          default_transaction_read_only: string;
        }[];
        return rows[0]?.default_transaction_read_only === (on ? 'on' : 'off');
      });
    };
    const before = await rowCounts(t.dataSource);
    await setReadOnly(true);
    try {
      const res = await t.http.post('/api/events').set(ingestAuth).send(body).expect(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toMatchObject({ error: 'INGEST_DATABASE_UNAVAILABLE' });
    } finally {
      await setReadOnly(false);
    }
    expect(await rowCounts(t.dataSource)).toEqual(before);
    await t.http.post('/api/events').set(ingestAuth).send(body).expect(202);
  });
});

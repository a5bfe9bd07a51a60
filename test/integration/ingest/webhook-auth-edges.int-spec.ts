import net from 'node:net';
import { signGrafanaPayload } from '../../../src/modules/ingest/parsers/grafana-signature';
import { adminAuth, overrideConfig, truncateAll, useTestApp } from '../../support/test-app';
import { isHouseError } from '../../support/write-watch';
import { basicAuth, fixtureBytes, rowCounts, waitFor } from '../../fixtures/ingest-service/ingest-test-helpers';

/** The HMAC test vectors are computed with this secret; the app runs with it as LOKI_WEBHOOK_SECRET. */
const SECRET = 'test-hmac-secret';
const SIGNATURE = 'X-Grafana-Alerting-Signature';
const TIMESTAMP = 'X-Grafana-Alerting-Timestamp';

/**
 * The webhook's auth as Grafana (Bearer, Basic, HMAC with an optional timestamp; FORMATS.md 1.2)
 * and Alertmanager (`http_config`: Bearer or Basic) can send it, at its edges.
 */
describe('POST /api/loki/webhook auth edges', () => {
  const t = useTestApp(
    { LOKI_WEBHOOK_SECRET: SECRET, REQUEST_BODY_LIMIT_BYTES: String(1024 * 1024) },
    { truncateEachTest: true },
  );
  const body = (): Buffer => fixtureBytes('grafana', 'zulip-grafana9-resolved.json');
  const nowSeconds = (): number => Math.floor(Date.now() / 1000);

  const post = (headers: Record<string, string | string[]>, bytes: Buffer = body()) =>
    t.http
      .post('/api/loki/webhook')
      .set({ 'Content-Type': 'application/json', ...headers })
      .send(bytes.toString('utf8'));

  const nothingWritten = async (): Promise<void> =>
    expect(Object.values(await rowCounts(t.dataSource)).every((n) => n === 0)).toBe(true);

  const accepted = async (headers: Record<string, string | string[]>): Promise<void> => {
    const res = await post(headers);
    expect({ status: res.status, error: res.body.error }).toEqual({ status: 200, error: undefined });
    expect((await rowCounts(t.dataSource)).alert_notices).toBe(1);
  };

  const refused = async (headers: Record<string, string | string[]>): Promise<string> => {
    const res = await post(headers);
    expect(res.status).toBe(401);
    expect(isHouseError(res.body)).toBe(true);
    await nothingWritten();
    return `${res.body.error}: ${res.body.message}`;
  };

  describe('Grafana HMAC', () => {
    it('accepts the signature in upper-case hex', async () => {
      await accepted({ [SIGNATURE]: signGrafanaPayload(SECRET, body()).toUpperCase() });
    });

    it('refuses a sha256= prefix, which Grafana never sends (FORMATS.md 1.2), even before a right digest', async () => {
      await refused({ [SIGNATURE]: `sha256=${signGrafanaPayload(SECRET, body())}` });
    });

    it('takes the timestamp in unix seconds: a right signature over a millisecond timestamp is refused', async () => {
      const ms = String(Date.now());
      await refused({ [SIGNATURE]: signGrafanaPayload(SECRET, body(), ms), [TIMESTAMP]: ms });
    });

    it('accepts a timestamp a little ahead (clock skew within the tolerance) and refuses one far in the future', async () => {
      const soon = String(nowSeconds() + 60);
      await accepted({ [SIGNATURE]: signGrafanaPayload(SECRET, body(), soon), [TIMESTAMP]: soon });
      await truncateAll(t.dataSource);
      const later = String(nowSeconds() + 3600);
      await refused({ [SIGNATURE]: signGrafanaPayload(SECRET, body(), later), [TIMESTAMP]: later });
    });

    it('names an Authorization scheme it cannot read (a contact point set to "Token"), without quoting the secret', async () => {
      const message = await refused({ Authorization: `Token ${SECRET}` });
      expect(message).toMatch(/^AUTH_MISSING: .*scheme "Token" is not one fixloop reads/);
      expect(message).not.toContain(SECRET);
      expect(await refused({ Authorization: 'Basic !!!' })).toMatch(
        /^AUTH_MISSING: .*Basic credentials are empty or malformed/,
      );
      expect(await refused({})).toMatch(/^AUTH_MISSING: Missing credentials: send/);
    });

    it('ignores a timestamp header without a signature: the secret decides', async () => {
      const now = String(nowSeconds());
      expect(await refused({ [TIMESTAMP]: now })).toMatch(/^AUTH_MISSING/);
      await accepted({ [TIMESTAMP]: now, Authorization: `Bearer ${SECRET}` });
    });

    it('refuses a signature or timestamp header sent twice, even with the right values', async () => {
      const now = String(nowSeconds());
      const signed = signGrafanaPayload(SECRET, body(), now);
      await refused({ [SIGNATURE]: [signed, signed], [TIMESTAMP]: now });
      await refused({ [SIGNATURE]: signed, [TIMESTAMP]: [now, now] });
    });

    it('refuses a signature over a timestamp the request does not carry', async () => {
      const now = String(nowSeconds());
      await refused({ [SIGNATURE]: signGrafanaPayload(SECRET, body(), now) });
    });
  });

  describe('more than one credential', () => {
    it('refuses the right Bearer secret with a wrong signature: a signature that does not verify is never ignored', async () => {
      await refused({ Authorization: `Bearer ${SECRET}`, [SIGNATURE]: signGrafanaPayload('another-secret', body()) });
      await refused({ Authorization: `Bearer ${SECRET}`, [SIGNATURE]: 'sha256=abc' });
      const stale = String(nowSeconds() - 3600);
      await refused({
        Authorization: `Bearer ${SECRET}`,
        [SIGNATURE]: signGrafanaPayload(SECRET, body(), stale),
        [TIMESTAMP]: stale,
      });
    });

    it('refuses a right signature with a wrong Bearer secret or Basic password', async () => {
      await refused({ Authorization: 'Bearer not-the-secret', [SIGNATURE]: signGrafanaPayload(SECRET, body()) });
      await refused({ ...basicAuth('not-the-secret'), [SIGNATURE]: signGrafanaPayload(SECRET, body()) });
    });

    it('accepts the right Bearer secret with the right signature', async () => {
      await accepted({ Authorization: `Bearer ${SECRET}`, [SIGNATURE]: signGrafanaPayload(SECRET, body()) });
    });

    it('refuses two Authorization headers, whichever of them holds the secret', async () => {
      for (const pair of [
        [`Bearer ${SECRET}`, 'Bearer not-the-secret'],
        ['Bearer not-the-secret', `Bearer ${SECRET}`],
        [`Bearer ${SECRET}`, `Bearer ${SECRET}`],
      ]) {
        expect(await refused({ Authorization: pair })).toMatch(/Authorization.*more than once/);
      }
    });
  });

  it('refuses two Authorization headers on the routes the API-key guard protects too', async () => {
    const res = await t.http
      .get('/api/issues')
      .set({ Authorization: [adminAuth.Authorization, adminAuth.Authorization] });
    expect([res.status, res.body.message]).toEqual([401, expect.stringMatching(/Authorization.*more than once/)]);
    await t.http.get('/api/issues').set(adminAuth).expect(200);
  });

  describe('Basic auth and the secret', () => {
    it('accepts the secret as the Basic password with an empty user name', async () => {
      await accepted(basicAuth(SECRET, ''));
    });

    it('accepts a secret holding a colon as the Basic password (split at the first colon)', async () => {
      const restore = overrideConfig(t, { LOKI_WEBHOOK_SECRET: 'with:colon:secret' });
      try {
        await accepted(basicAuth('with:colon:secret', 'grafana'));
        await truncateAll(t.dataSource);
        await refused(basicAuth('secret', 'with:colon'));
      } finally {
        restore();
      }
    });

    it('accepts the Bearer secret with surrounding whitespace in the header, and refuses it inside the Basic password', async () => {
      await accepted({ Authorization: `Bearer   ${SECRET}  ` });
      await truncateAll(t.dataSource);
      await refused(basicAuth(` ${SECRET}`));
    });
  });

  it('answers 401 to a large unauthenticated body without waiting for it (the body is never read)', async () => {
    const server = t.app.getHttpServer();
    if (server.address() === null) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    }
    const { port } = server.address() as net.AddressInfo;
    // Declares 1 MB minus a byte (under the body limit, so no early 413) and sends only 1 kB of it:
    // a server that reads the body before deciding would wait for the rest and never answer.
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    let closed = false;
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      [
        'POST /api/loki/webhook HTTP/1.1',
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        'Authorization: Bearer not-the-secret',
        `Content-Length: ${1024 * 1024 - 1}`,
        '',
        '',
      ].join('\r\n'),
    );
    socket.write(`{"version":"1","alerts":[],"pad":"${'x'.repeat(1024)}`);
    try {
      await waitFor(async () => closed && answer.includes('\r\n\r\n'), 15_000, 'the 401 and the closed connection');
    } finally {
      socket.destroy();
    }
    const [head, json] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 401 /);
    expect(head).toMatch(/^connection: close$/im);
    expect(JSON.parse(json)).toMatchObject({ error: 'AUTH_INVALID' });
    await nothingWritten();
  });
});

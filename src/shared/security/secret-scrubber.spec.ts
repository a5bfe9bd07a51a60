import * as fs from 'node:fs';
import { sharedPath } from '../../../test/support/shared-dir';
import { SecretScrubber, redactionMarker, scrubJsonSecrets, scrubSecrets } from './secret-scrubber';
import { readCorpus } from '../../../test/support/corpora';

interface SecretRow {
  format: string;
  text: string;
  secret: string;
  source: string;
  other_secrets?: string[];
}

interface NegativeRow {
  format: string;
  text: string;
  reason: string;
  source: string;
}

const positives = readCorpus<SecretRow>('secrets.jsonl.gz');
const negatives = readCorpus<NegativeRow>('secrets-negatives.jsonl.gz');

/** Error log lines whose ids, hashes, addresses and numbers the dedup normaliser relies on. */
const ORDINARY_LOG_LINES = [
  'request 3f2b9c1e-8d4a-4f6b-9a2e-7c5d1b0e9f42 failed with status 500',
  'Error: order 4532015112830367 not found (ref 20240305000123)',
  'payment failed for customer cus_abc123 (invoice in_1Hh2Kj3Lm4Np5Qr6)',
  'commit 9a038989604e8da62ecddbe2094b16ce1b778be1 deployed to production',
  'x-request-id=7f9c2ba4e88f827d616045507605853e upstream timed out after 30000ms',
  'GET https://api.example.com/v1/users/42?expand=orders HTTP/1.1 502 Bad Gateway',
  'connect ECONNREFUSED 10.0.3.17:5432 at 2024-03-05T10:22:31.123Z',
  'image sha256:eaaa7b11777babe28e6133a8b19ff71cea687e0d7f05158dee95a71f76ce3d00 pulled',
  "TypeError: Cannot read properties of undefined (reading 'token') at /app/dist/auth/session.js:41:17",
  'SyntaxError: Unexpected token < in JSON at position 0',
  'duplicate key value violates unique constraint "users_email_key"',
  'Invalid token: expired',
  'password: required',
  'JWT verification failed: token expired at 1709634151',
  'timestamp=1709634151123 trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7',
  'user 1001 logged in from 192.168.1.24 and 2001:db8::ff00:42:8329',
  'npm ERR! 404 Not Found - GET https://registry.npmjs.org/@acme%2fwidgets - Not found',
  'Retrying job 8812345 (attempt 3/5) after 1500ms',
  'segfault at 0x00007f3a2b1c4d5e ip 00007f3a2b1c4d5e sp 00007ffd4c3b2a10 error 4',
  'mongodb://localhost:27017/app connection closed',
  'Key (email)=(a@example.com) already exists.',
  'cache miss for key=user:42:profile',
  'phone +1 415 555 2671 rejected; card ending 4242 declined',
  'process exited with code 137 (OOMKilled), pod api-7d9f8b6c5-x2kqp',
  'uploaded to s3://bucket/uploads/2024/03/05/a1b2c3d4.png',
  'Authorization header missing',
  'Bearer token missing or malformed',
  'db_password=${DB_PASSWORD} is not set',
  '//npm.pkg.github.com/:_authToken=${NPM_TOKEN}',
  'FATAL: password authentication failed for user "app"',
  "Access denied for user 'root'@'localhost' (using password: YES)",
  'Invalid API key provided: sk_test_****************1234',
  'WWW-Authenticate: Bearer realm="api", error="invalid_token"',
  'Set-Cookie: theme=dark; Path=/; HttpOnly',
  'OLDPWD=/home/app/releases/42',
  'api_key_id=3f2b9c1e-8d4a-4f6b-9a2e-7c5d1b0e9f42 rotated',
  'Error validating access token: The session has been invalidated because the user changed their password',
  'PASS: test_login_redirects (0.21s)',
  'password: ********',
  'region ASIAPACIFICSOUTHEAST unavailable',
  'at com.example.auth.TokenService.refresh(TokenService.java:42)',
  "TypeError: Cannot read property 'token' of undefined",
  "Field 'password' doesn't have a default value",
  'Authorization failed: insufficient permissions',
  'Authorization: <scheme> <credentials>',
  'signature verification failed: signature=invalid',
  'git push --force-with-lease origin main -- src/token.ts',
  'assert failed: password == expected_password',
  'File "/app/auth/views.py", line 42, in login token = create_token(user)',
  'github.GithubException: 401 {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}',
  'key=idempotency-7f9c2ba4 replayed',
  'docker run -p 8080:80 nginx exited with code 1',
  'ssh -p 2222 deploy@10.0.0.5: Connection refused',
];

describe(SecretScrubber.name, () => {
  const scrubber = new SecretScrubber();

  describe('the secrets corpus', () => {
    it('holds the expected rows', () => {
      expect(positives).toHaveLength(399);
      expect(negatives).toHaveLength(67);
    });

    it.each(positives.map((row, i) => [`${i} ${row.format}`, row] as const))(
      'removes the secret of row %s',
      (_title, row) => {
        const { text, redactions } = scrubber.scrub(row.text);
        for (const secret of [row.secret, ...(row.other_secrets ?? [])]) {
          expect(text).not.toContain(secret);
        }
        expect(redactions).toBeGreaterThan(0);
        expect(text).toContain('[REDACTED:');
      },
    );

    it.each(negatives.map((row, i) => [`${i} ${row.format}: ${row.reason}`, row] as const))(
      'keeps the look-alike of row %s',
      (_title, row) => {
        expect(scrubber.scrub(row.text)).toEqual({ text: row.text, redactions: 0 });
      },
    );

    it('finds the same secrets with and without the pre-filter', () => {
      const exhaustive = new SecretScrubber({ exhaustive: true });
      const differing = [...positives, ...negatives, ...ORDINARY_LOG_LINES.map((text) => ({ text }))]
        .map((row) => row.text)
        .filter((text) => exhaustive.scrubText(text) !== scrubber.scrubText(text));
      expect(differing).toEqual([]);
    });

    it('is idempotent on every corpus row', () => {
      const changed = [...positives, ...negatives]
        .map((row) => scrubber.scrubText(row.text))
        .filter((once) => scrubber.scrubText(once) !== once);
      expect(changed).toEqual([]);
    });
  });

  it('removes a keyword secret that contains ${ and {{', () => {
    const row = positives.find((r) => r.secret.includes('${') && r.secret.includes('{{'));
    expect(row).toBeDefined();
    const secret = row!.secret;
    for (const text of [row!.text, `apikey = ${secret}`, `db_pass: ${secret},`, `password = "${secret}"`]) {
      const out = scrubSecrets(text).text;
      expect(out).not.toContain(secret);
      expect(out).not.toContain('${');
      expect(out).not.toContain('{{');
    }
  });

  it.each(ORDINARY_LOG_LINES)('leaves an ordinary log line unchanged: %s', (line) => {
    expect(scrubber.scrub(line)).toEqual({ text: line, redactions: 0 });
  });

  it('leaves the LogHub sample of real log lines unchanged', () => {
    const dir = sharedPath('loghub');
    const changed: string[] = [];
    let total = 0;
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.csv'))) {
      const lines = fs.readFileSync(`${dir}/${file}`, 'utf8').split('\n').slice(1);
      for (const line of lines.filter((l) => l.length > 0)) {
        total++;
        if (scrubber.scrubText(line) !== line) changed.push(`${file}: ${line}`);
      }
    }
    expect(total).toBeGreaterThan(10000);
    expect(changed).toEqual([]);
  });

  describe('URLs and connection strings', () => {
    it('replaces only the password, keeping scheme, user and host', () => {
      expect(scrubSecrets('connect postgres://app:s3cr3t-Pw@db.internal:5432/app failed').text).toBe(
        `connect postgres://app:${redactionMarker('url-userinfo')}@db.internal:5432/app failed`,
      );
    });

    it('handles a password containing @ and an empty user', () => {
      expect(scrubSecrets('mongodb+srv://u:p@ss@cluster0.example.net/db').text).toBe(
        `mongodb+srv://u:${redactionMarker('url-userinfo')}@cluster0.example.net/db`,
      );
      expect(scrubSecrets('redis://:hunter22@cache:6379/0').text).toBe(
        `redis://:${redactionMarker('url-userinfo')}@cache:6379/0`,
      );
    });

    it('keeps URLs without credentials and with variable references', () => {
      for (const text of [
        'https://api.example.com/v1/users?email=a@b.com',
        'https://${USER}:${PASSWORD}@api.example.com',
        'http://localhost:8080/health',
      ]) {
        expect(scrubSecrets(text).text).toBe(text);
      }
    });

    it('replaces the password of an ADO.NET style connection string', () => {
      expect(scrubSecrets('Server=db;User Id=app;Password=Sup3rS3cret!;Database=x').text).toBe(
        `Server=db;User Id=app;Password=${redactionMarker('assignment')};Database=x`,
      );
    });
  });

  describe('private keys', () => {
    it('replaces a whole multi-line PEM block and keeps the text around it', () => {
      const pem = [
        '-----BEGIN RSA PRIVATE KEY-----',
        'MIIEpQIBAAKCAQEAn6/O8li+SX4m98LLYt/PKSzEmQ++ZBD7Loh9P13f4yQ92EF3',
        'yxR5MsXFu9PRsrYQA7/4UTPHiC4y2sAVCBg4C2yyBpUEtMQjyCESi6Y=',
        '-----END RSA PRIVATE KEY-----',
      ].join('\n');
      expect(scrubSecrets(`loaded key:\n${pem}\ndone`).text).toBe(`loaded key:\n${redactionMarker('pem-block')}\ndone`);
    });

    it('replaces a truncated block without its END line', () => {
      const out = scrubSecrets('key=-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC').text;
      expect(out).not.toContain('MIIEvQ');
    });

    it('keeps certificates, which are public', () => {
      const cert = '-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkq\n-----END CERTIFICATE-----';
      expect(scrubSecrets(cert).text).toBe(cert);
    });
  });

  describe('payment cards', () => {
    it('replaces Luhn-valid numbers with a card issuer prefix', () => {
      expect(scrubSecrets('charge 4111 1111 1111 1111 declined').text).toBe(
        `charge ${redactionMarker('card')} declined`,
      );
      expect(scrubSecrets('card=5500-0000-0000-0004').text).not.toContain('5500');
      expect(scrubSecrets('amex 378282246310005').text).toBe(`amex ${redactionMarker('card')}`);
      expect(scrubSecrets('pan:4111111111111111').text).toBe(`pan:${redactionMarker('card')}`);
    });

    it('keeps digit runs that fail Luhn or have no issuer prefix', () => {
      for (const text of [
        'order 4111111111111112 failed',
        'snowflake 1234567890123456789',
        'epoch 1709634151123',
        'version 4.1111.1111.1111',
      ]) {
        expect(scrubSecrets(text).text).toBe(text);
      }
    });
  });

  describe('headers and assignments', () => {
    it('replaces bearer, basic and token authorization values', () => {
      expect(scrubSecrets('Authorization: Bearer abcDEF1234567890xyz').text).toBe(
        `Authorization: Bearer ${redactionMarker('auth-header')}`,
      );
      expect(scrubSecrets('auth failed: Basic dXNlcjpodW50ZXIy').text).toBe(
        `auth failed: Basic ${redactionMarker('basic-header')}`,
      );
      expect(scrubSecrets('curl -H "Authorization: Token 22cb987851bc5659229114c62e60c79a"').text).not.toContain(
        '22cb987851bc5659229114c62e60c79a',
      );
    });

    it('keeps the key and replaces the value of keyword assignments', () => {
      expect(scrubSecrets('password=hunter22 user=bob').text).toBe(
        `password=${redactionMarker('assignment')} user=bob`,
      );
      expect(scrubSecrets('{"api_key": "k-93jf8s7d6f5g4h3j2k1"}').text).toBe(
        `{"api_key": "${redactionMarker('assignment')}"}`,
      );
      expect(scrubSecrets('clientSecret: aB3dE5fG7hI9jK1lM3nO').text).toBe(
        `clientSecret: ${redactionMarker('assignment')}`,
      );
    });

    it('finds keywords inside identifiers, in every case style', () => {
      for (const [text, kept] of [
        ['PGPASSWORD=Zx81Spectrum psql -h db', 'PGPASSWORD='],
        ['GitHubAPIToken: 9f8e7d6c5b4a39281706', 'GitHubAPIToken: '],
        ['dbpassword=tr0ub4dor&3', 'dbpassword='],
        ['User{id=1, password=secret123, email=a@b.c}', 'User{id=1, password='],
        ['{\\"password\\":\\"hunter22\\"}', '{\\"password\\":\\"'],
        ["{'client_secret': 'abc123def456'}", "{'client_secret': '"],
        ['login(:password => "s3cr3t!")', 'login(:password => "'],
        ['GET /callback?code=x&access_token=ya29.a0AfH6SMB&state=1', 'GET /callback?code=x&access_token='],
      ] as const) {
        const out = scrubSecrets(text).text;
        expect(out.startsWith(kept + redactionMarker('assignment'))).toBe(true);
      }
    });

    it('replaces secrets given as command-line flags, presigned URL signatures and card codes', () => {
      expect(scrubSecrets('docker login --username ci --password Zq8rT3vW9 registry.io').text).toBe(
        `docker login --username ci --password ${redactionMarker('cli-flag')} registry.io`,
      );
      expect(scrubSecrets('docker login -u ci -p Zq8rT3vW9 registry.io').text).toBe(
        `docker login -u ci -p ${redactionMarker('cli-flag')} registry.io`,
      );
      expect(scrubSecrets('mysql -h db -uroot -pS3cretPw app').text).toBe(
        `mysql -h db -uroot -p${redactionMarker('cli-flag')} app`,
      );
      expect(
        scrubSecrets('GET /b/o.png?X-Amz-Expires=300&X-Amz-Signature=3f2b9c1e8d4a4f6b9a2e7c5d1b0e9f42aa').text,
      ).toBe(`GET /b/o.png?X-Amz-Expires=300&X-Amz-Signature=${redactionMarker('assignment')}`);
      expect(scrubSecrets('{"number":"4242424242424242","cvc":"123"}').text).toBe(
        `{"number":"${redactionMarker('card')}","cvc":"${redactionMarker('cvv')}"}`,
      );
    });

    it('replaces session cookies and keeps the others', () => {
      expect(scrubSecrets('Cookie: theme=dark; sessionid=8f7d6e5c4b3a2910; lang=en').text).toBe(
        `Cookie: theme=dark; sessionid=${redactionMarker('cookie')}; lang=en`,
      );
    });

    it('replaces a Telegram bot token inside an API URL', () => {
      const out = scrubSecrets(
        'POST https://api.telegram.org/bot110201543:AAHdqTcvCH1vGWJxfSe1ofSAs0K5PALDsaw/sendMessage 401',
      ).text;
      expect(out).toBe(`POST https://api.telegram.org/bot${redactionMarker('telegram')}/sendMessage 401`);
    });

    it('keeps names of secrets, references and ids that only end in a keyword-like word', () => {
      for (const text of [
        'LLM_SECRET_NAME = "NEXUS-GPT4-API-KEY"',
        "passwordVariable: 'PASSWORD'",
        'credentialsId: "29f63271-dc2f-4734-8221-5b31b5169bac"',
        'io.jsonwebtoken:jjwt-jackson-0.11.2',
        'token_type: bearer',
        'password: ${link}',
        'is_secret = true',
      ]) {
        expect(scrubSecrets(text).text).toBe(text);
      }
    });
  });

  describe('structured values', () => {
    it('replaces strings under secret-named keys and scrubs every other string, without changing the input', () => {
      const input = {
        level: 'error',
        msg: 'login failed for https://bob:hunter22@idp.example.com',
        request: { headers: { 'X-Auth-Token': 'abc', 'x-request-id': '7f9c2ba4e88f827d616045507605853e' } },
        config: { password: 'p4ss', apiKey: 'k-93jf8s7d6f5g4h3j2k1', keyspace: 'orders', retries: 3 },
        tags: ['ok', 'ghp_5xid1bo3zaaha13rtr74q3svmmrtarlujy5b'],
      };
      const copy = structuredClone(input);
      const { value, redactions } = scrubJsonSecrets(input);
      expect(input).toEqual(copy);
      expect(redactions).toBe(5);
      expect(value).toEqual({
        level: 'error',
        msg: `login failed for https://bob:${redactionMarker('url-userinfo')}@idp.example.com`,
        request: {
          headers: {
            'X-Auth-Token': redactionMarker('assignment'),
            'x-request-id': '7f9c2ba4e88f827d616045507605853e',
          },
        },
        config: {
          password: redactionMarker('assignment'),
          apiKey: redactionMarker('assignment'),
          keyspace: 'orders',
          retries: 3,
        },
        tags: ['ok', redactionMarker('github')],
      });
    });

    it('scrubs object keys as it scrubs values, numbering a scrubbed key that is already taken', () => {
      const one = 'ghp_5xid1bo3zaaha13rtr74q3svmmrtarlujy5b';
      const two = 'ghp_9zzd1bo3zaaha13rtr74q3svmmrtarlujy5c';
      const { value, redactions } = scrubJsonSecrets({ [one]: 'a', [two]: 'b', plain: one });
      expect(redactions).toBe(3);
      expect(value).toEqual({
        [redactionMarker('github')]: 'a',
        [`${redactionMarker('github')}#2`]: 'b',
        plain: redactionMarker('github'),
      });
    });

    it('returns the same value when there is nothing to scrub', () => {
      const input = { a: ['b', { c: 'd' }], token: '${TOKEN}' };
      expect(scrubJsonSecrets(input).value).toBe(input);
    });
  });

  it('handles large pathological messages (every rule stays linear; a quadratic one would hit the test timeout)', () => {
    const n = 200_000;
    const pemJunk = '-----BEGIN RSA PRIVATE KEY----- !'.repeat(n / 34);
    expect(scrubSecrets(pemJunk).text).not.toContain('BEGIN');
    for (const text of [
      'a'.repeat(n),
      '4111 '.repeat(n / 5),
      'password="'.repeat(n / 10),
      'TOKEN'.repeat(n / 5) + '=x',
      `http://u:${'a'.repeat(n)}`,
      '<token>'.repeat(n / 7) + '</token>',
      '"abc" == '.repeat(n / 9) + 'password',
      'Authorization: '.repeat(n / 15),
      'ZXlK' + 'A'.repeat(n),
    ]) {
      const out = scrubSecrets(text).text;
      expect(scrubSecrets(out).text).toBe(out);
    }
  });

  it('counts every redaction', () => {
    const text = 'ghp_5xid1bo3zaaha13rtr74q3svmmrtarlujy5b and AKIAIOSFODNN7SECRETS and password=hunter22';
    const result = scrubSecrets(text);
    expect(result.redactions).toBe(3);
    expect(result.text).toBe(
      `${redactionMarker('github')} and ${redactionMarker('aws')} and password=${redactionMarker('assignment')}`,
    );
  });

  it('returns empty and secret-free text as it is', () => {
    expect(scrubSecrets('')).toEqual({ text: '', redactions: 0 });
    expect(scrubSecrets('all good')).toEqual({ text: 'all good', redactions: 0 });
  });
});

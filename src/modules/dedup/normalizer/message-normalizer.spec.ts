import { fingerprint } from './fingerprint';
import { readCorpus } from '../../../../test/support/corpora';
import {
  MASK_GUARD,
  MASK_RULES,
  MASK_SCANS,
  MAX_MESSAGE_LENGTH,
  MAX_TOKEN_LENGTH,
  PLACEHOLDER,
  normalizeMessage,
} from './message-normalizer';

describe(normalizeMessage.name, () => {
  it('masks a prefixed id and keeps its prefix (issue example)', () => {
    expect(normalizeMessage('Stripe API error: card_declined for cus_abc123')).toBe(
      'Stripe API error: card_declined for cus_*',
    );
  });

  it('keeps a URL host and masks its variable path segments (issue example)', () => {
    expect(normalizeMessage('Failed to fetch https://api.example.com/v1/thing/12345')).toBe(
      'Failed to fetch https://api.example.com/v1/thing/*',
    );
  });

  it.each([
    ['email', 'Invite sent to jane.doe+test@example.co.uk twice', 'Invite sent to * twice'],
    [
      'URL query values and fragment',
      'GET https://shop.example.com/orders/9f8e7d6c5b4a/items?page=2&sort=asc#top failed',
      'GET https://shop.example.com/orders/*/items?page=*&sort=*#* failed',
    ],
    [
      'URL user info',
      'connect postgres://app:hunter2@db.example.com:5432/main refused',
      'connect postgres://db.example.com:5432/main refused',
    ],
    ['URL with an IP host', 'POST http://10.0.0.12:8080/hook timed out', 'POST http://*/hook timed out'],
    ['URL at the end of a sentence', 'See https://example.com/docs/42.', 'See https://example.com/docs/*.'],
    ['hostname', 'could not resolve db-primary.eu-west-1.rds.amazonaws.com', 'could not resolve *'],
    [
      'URL id and slug segments',
      'GET https://cdn.example.com/v2beta/users/u9x8y7z/avatar/abc123.jpg 404',
      'GET https://cdn.example.com/v2beta/users/*/avatar/*.jpg *',
    ],
    [
      'route names in a URL',
      'POST https://auth.example.com/oauth2/token failed',
      'POST https://auth.example.com/oauth2/token failed',
    ],
    ['hostname with port', 'proxy cache.example.net:3128 refused', 'proxy * refused'],
    [
      'Windows path',
      'cannot load C:\\Program Files\\App\\plugin17.dll',
      'cannot load C:\\Program Files\\App\\plugin17.dll',
    ],
    ['Windows path with ids', 'open C:\\Temp\\4f3a9c2b1d\\42.tmp failed', 'open C:\\Temp\\*\\*.tmp failed'],
    ['hex between underscores', 'pkg amd64_31bf3856ad364e35 missing', 'pkg amd*_* missing'],
    ['numbered names after an underscore', 'source [Cluster_A8] silent', 'source [Cluster_A*] silent'],
    ['internal hostname', 'upstream cache-3.svc.cluster.local refused', 'upstream * refused'],
    ['IPv4', 'connection from 192.168.1.20 refused', 'connection from * refused'],
    ['IPv4 with port', 'dial tcp 10.1.2.3:5432: i/o timeout', 'dial tcp *: i/o timeout'],
    ['IPv6', 'peer fe80::1ff:fe23:4567:890a closed', 'peer * closed'],
    ['IPv6 with port', 'listen [2001:db8::1]:443 failed', 'listen * failed'],
    ['IPv6 loopback', 'bind ::1 ok', 'bind * ok'],
    ['IPv4-mapped IPv6', 'peer ::ffff:10.0.0.1 reset', 'peer * reset'],
    ['ULID request id', 'x-request-id: 01HQ3Z8K9X2N4M5P6R7S8T9V0W rejected', 'x-request-id: * rejected'],
    ['upper-case random id', 'batch A1B2C3D4E5F6G7H8 stuck', 'batch * stuck'],
    [
      'nothing in an upper-case name with one digit run (it stays)',
      'SHA256WITHRSAENCRYPTION unsupported',
      'SHA256WITHRSAENCRYPTION unsupported',
    ],
    ['numbers with exponents', 'loss 3.14e-10 below 1E6 and -2.5e+3', 'loss * below * and *'],
    [
      'trace id (W3C traceparent)',
      'trace 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 dropped',
      'trace * dropped',
    ],
    ['UUID', 'order 550e8400-e29b-41d4-a716-446655440000 not found', 'order * not found'],
    ['SHA-1', 'commit da39a3ee5e6b4b0d3255bfef95601890afd80709 missing', 'commit * missing'],
    ['MD5', 'checksum d41d8cd98f00b204e9800998ecf8427e mismatch', 'checksum * mismatch'],
    ['0x hex', 'segfault at 0x7ffd5e8c0a10 ip 0x00000000004005d6', 'segfault at * ip *'],
    ['short build hash', 'build 7d9f8b6 failed health check', 'build * failed health check'],
    ['ISO timestamp', 'job started 2024-03-05T14:07:09.123Z and stalled', 'job started * and stalled'],
    ['timestamp with offset', 'at 2024-03-05 14:07:09,123+02:00 retry', 'at * retry'],
    ['date', 'invoice due 2024-03-05 unpaid', 'invoice due * unpaid'],
    ['syslog date', 'last seen Mar  5 14:07:09 on node', 'last seen * on node'],
    ['RFC 1123 date', 'expires Tue, 05 Mar 2024 14:07:09 GMT', 'expires *'],
    ['time of day', 'nightly run at 23:59:59 overran', 'nightly run at * overran'],
    ['durations', 'query took 250ms (budget 1.5s, total 1h30m)', 'query took * (budget *, total *)'],
    ['amounts', 'charge of $1,250.00 failed, refund 12.50 EUR pending', 'charge of * failed, refund * pending'],
    ['byte sizes', 'payload 512KB exceeds limit of 1.5 MB', 'payload * exceeds limit of *'],
    ['integers and decimals', 'retry 3 of 5 after -1 errors, load 0.75', 'retry * of * after * errors, load *'],
    ['numbers inside a path', 'cannot open /var/log/app/2024/upload-77.log', 'cannot open /var/log/app/*/upload-*.log'],
    ['versions', 'client v2.3.1 incompatible with server 1.14.0-rc.2', 'client * incompatible with server *'],
    ['Kubernetes pod (deployment)', 'pod api-7d9f8b6c5-x2k4q OOMKilled', 'pod api-* OOMKilled'],
    ['Kubernetes pod (daemonset)', 'pod node-exporter-x2k4q restarted', 'pod node-exporter-* restarted'],
    ['Kubernetes pod (statefulset)', 'pod postgres-0 not ready', 'pod postgres-* not ready'],
    ['numbered host names', 'worker17 lost contact with db2', 'worker* lost contact with db*'],
    ['random ids', 'request Xk29dLq0PzR7 timed out', 'request * timed out'],
    [
      'prefixed ids with underscores',
      'task task_1445_0020_m_000001 failed on blk_-6952',
      'task task_* failed on blk_*',
    ],
    ['mixed-case prefixed ids', 'customer cus_NffrFeUfNV2HibXy deleted', 'customer cus_* deleted'],
    ['quoted values after =', 'lookup name=\'Jane Doe\' failed, key="a b"', 'lookup name=\'*\' failed, key="*"'],
    ['booleans after =', 'flag enabled=true dryRun=False', 'flag enabled=* dryRun=*'],
    ['lists of masked values', 'nodes 10.0.0.1,10.0.0.2,10.0.0.3 down', 'nodes * down'],
    ['lists with other separators', 'totals 1514038440000##7007##548365, ids [3; 4; 5]', 'totals *, ids [*]'],
    ['repeated masked tokens', 'delete blk_1 blk_2 blk_3 done', 'delete blk_* done'],
    ['empty bracketed value', 'lookup of 1.2.3.4 returned () twice', 'lookup of * returned (*) twice'],
    [
      'a value restated in brackets, or an empty restatement',
      'sent 1190 bytes (1.16 KB), from 1.2.3.4 (host-a.example.com) or 5.6.7.8 () at noon',
      'sent *, from * or * at noon',
    ],
    [
      'durations with the unit spelled out, and bounds',
      'took 35 ms, retry in 30 seconds, lifetime <1 sec, waited 2 hours',
      'took *, retry in *, lifetime *, waited *',
    ],
    ['long numbers with a unit', 'read 11721005 bytes in 1234567 ms', 'read * in *'],
    [
      'reverse-DNS host names under any TLD',
      'disconnect from 5.36.59.76.dynamic-dsl-ip.example.om and 1-2-3-4.pool.isp.xq:22',
      'disconnect from * and *',
    ],
    [
      'hex values after = without a decimal digit',
      'setSystemUiVisibility mask=ffffffff',
      'setSystemUiVisibility mask=*',
    ],
    ['host names under newer generic TLDs', 'bx.optimix.asia:443 open through proxy', '* open through proxy'],
    ['booleans after :', 'updateClipping isOverlap:false, {"ok": true}', 'updateClipping isOverlap:*, {"ok": *}'],
    ['whitespace', '  two\tspaces   here \n', 'two spaces here'],
  ])('masks %s', (_category, input, expected) => {
    expect(normalizeMessage(input)).toBe(expected);
  });

  it.each([
    [
      'plain words and snake_case names',
      'card_declined: insufficient_funds for user',
      'card_declined: insufficient_funds for user',
    ],
    ['a number inside a word (a trailing one is masked)', 'utf8 decode error in J12x', 'utf* decode error in J12x'],
    ['Java class names', 'java.io.IOException in org.apache.Foo', 'java.io.IOException in org.apache.Foo'],
    ['C++ scope', 'Class::method threw', 'Class::method threw'],
    ['function calls', 'getResources() returned null', 'getResources() returned null'],
    ['a URL route version', 'GET https://api.example.com/v2/users', 'GET https://api.example.com/v2/users'],
    ['a word in brackets after a value', 'status 404 (Not Found)', 'status * (Not Found)'],
    ['a hex-letter word that is not a value', 'the tree was defaced', 'the tree was defaced'],
    ['a boolean word that starts a phrase', 'Result: False positive on check', 'Result: False positive on check'],
    ['a file name after an address-like version', 'loaded 1.2.3.4.final', 'loaded *.*.final'],
  ])('leaves %s', (_category, input, expected) => {
    expect(normalizeMessage(input)).toBe(expected);
  });

  it('masks a token longer than MAX_TOKEN_LENGTH as one blob', () => {
    const blob = 'QUJD'.repeat(100);
    expect(normalizeMessage(`bad payload ${blob} rejected`)).toBe('bad payload * rejected');
    expect(normalizeMessage(`host ${'a.'.repeat(MAX_TOKEN_LENGTH)}com`)).toBe('host *');
  });

  it('only reads the first MAX_MESSAGE_LENGTH characters', () => {
    const head = 'panic: worker 7 crashed ';
    const first = normalizeMessage(head + 'x '.repeat(MAX_MESSAGE_LENGTH) + 'tail A');
    const second = normalizeMessage(head + 'x '.repeat(MAX_MESSAGE_LENGTH) + 'tail B');
    expect(first).toBe(second);
    expect(first.startsWith('panic: worker * crashed x x')).toBe(true);
    expect(first.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  });

  it('keeps half of a surrogate pair cut at MAX_MESSAGE_LENGTH as U+FFFD, which hashes as the half did', () => {
    const head = 'Slack notification rejected: ';
    const message = `${head}${'x'.repeat(MAX_MESSAGE_LENGTH - head.length - 2)} 🎉 sent`;
    expect(message.charCodeAt(MAX_MESSAGE_LENGTH - 1)).toBe(0xd83c);
    const template = normalizeMessage(message);
    // a lone surrogate is what jsonb refuses (the template's tokens are stored as jsonb)
    expect(template).toBe('Slack notification rejected: * \ufffd');
    expect(fingerprint('s', 'f', template)).toBe(fingerprint('s', 'f', 'Slack notification rejected: * \ud83c'));
  });

  it('is idempotent', () => {
    const once = normalizeMessage('pod api-7d9f8b6c5-x2k4q: GET https://x.example.com/a/1 took 5ms for cus_abc123');
    expect(normalizeMessage(once)).toBe(once);
  });
});

// Texts for the scan tests below, that start and end every rule's matches in many places: one example of each rule, glued
// to letters, digits and punctuation in a seeded random order, plus the secret look-alikes and
// the injection payloads of the shared corpora.
const fragments = [
  'Jan',
  'Mon,',
  '12:30:45',
  '3:04 PM',
  '2024-01-02',
  '2024/01/02',
  'v1.2.3',
  '1.2.3-rc.1',
  '0x1f',
  'cus_ab12',
  'blk_-12',
  'api-7d9f8b6c5-x2k4q',
  'web-x2k4q',
  '10.0.0.1:80',
  '[::1]:8',
  '::1',
  'fe80::1',
  '00:1a:2b:3c:4d:5e',
  'http://a.example.com/c/12345?x=1#f',
  'db.example.com',
  '5-36-59-76.pool.isp.xx',
  '35 ms',
  '1h30m',
  '<1 sec',
  '$5.00',
  '12 USD',
  '512KB',
  '=true',
  ': false',
  ':True',
  "='q'",
  '="q"',
  'C:\\x\\y',
  '/var/log/a1',
  'node17',
  'deadbeef1',
  'mask=ffffffff',
  'ABCDEF12',
  '01ARZ3NDEKTSV4RRFFQ69G5FAV',
  'AbCdEf1234',
  'aBcDeFgHiJkLmN',
  '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  '123e4567-e89b-12d3-a456-426614174000',
  '3.14e-10',
  // runs that whitespace follows, where only the rules with `bareRun` can start
  '100 bytes',
  '1.5 GiB',
  '=cafebabe ',
  '1234567 ',
  '12345678',
  'true',
  'Sept 3',
  '-5',
  '~3ms',
  '€12',
];
const alphabet = 'aZq09_-.:/=$<>~[]()\'" \\,;#%+*xyzABCF1J\u00a0\tvé';
let seed = 7;
const next = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const generated = Array.from({ length: 3000 }, () => {
  let text = '';
  for (let parts = 1 + next(10); parts > 0; parts--) {
    if (next(10) < 5) text += fragments[next(fragments.length)];
    for (let chars = next(6); chars > 0; chars--) text += alphabet[next(alphabet.length)];
  }
  return text;
});
const corpora = [
  ...readCorpus<{ text: string }>('secrets-negatives.jsonl.gz'),
  ...readCorpus<{ text: string }>('injections.jsonl'),
].map((row) => row.text);
const texts = [...generated, ...corpora, ...fragments];

describe('MASK_GUARD', () => {
  const insideAWord = (text: string, at: number): boolean =>
    at > 0 && /[A-Za-z0-9]/.test(text[at - 1]) && /[A-Za-z0-9]/.test(text[at] ?? '');

  it.each(MASK_RULES.filter((rule) => !MASK_GUARD.exempt.includes(rule.name)).map((rule) => [rule.name, rule]))(
    'holds for the %s rule: it never starts a match inside a run of letters and digits',
    (_name, rule) => {
      const sticky = new RegExp(rule.pattern, 'y');
      const starts: string[] = [];
      for (const text of texts) {
        for (let at = 1; at < text.length; at++) {
          if (!insideAWord(text, at)) continue;
          sticky.lastIndex = at;
          if (sticky.test(text)) starts.push(`${text} @${at}`);
        }
      }
      expect(starts).toEqual([]);
    },
  );

  it('finds every match the unguarded rules find, where no exempt rule can match', () => {
    const rules = MASK_RULES.filter((rule) => !MASK_GUARD.exempt.includes(rule.name));
    const alternatives = rules.map((rule) => `(?:${rule.pattern})`).join('|');
    const plain = new RegExp(alternatives, 'g');
    const guarded = new RegExp(`${MASK_GUARD.pattern}(?:${alternatives})`, 'g');
    const matches = (re: RegExp, text: string) => [...text.matchAll(re)].map((m) => `${m.index}:${m[0]}`);
    let compared = 0;
    for (const text of texts) {
      expect(matches(guarded, text)).toEqual(matches(plain, text));
      compared += matches(plain, text).length;
    }
    expect(compared).toBeGreaterThan(5000);
  });

  it('exempts the email rule, which starts inside a word, so text with @ is scanned without the guard', () => {
    expect(MASK_GUARD.exempt).toEqual(['email']);
    expect(normalizeMessage('sent.to-jane.doe+x@example.co.uk twice')).toBe('* twice');
    expect(normalizeMessage('id5jane@example.com bounced')).toBe('* bounced');
  });
});

describe('MASK_SCANS', () => {
  const dispatchedRules = MASK_RULES.filter((rule) => !MASK_GUARD.exempt.includes(rule.name));
  /** What a position can start, as the scan tells it: the class of its character, and whether its run is bare. */
  const startAt = (text: string, at: number): { kind: 'digit' | 'letter' | 'other' | 'none'; bare: boolean } => {
    const c = text[at];
    const kind = /[0-9]/.test(c)
      ? 'digit'
      : /[A-Za-z]/.test(c)
        ? 'letter'
        : MASK_SCANS.otherStarts.includes(c)
          ? 'other'
          : 'none';
    if (kind !== 'digit' && kind !== 'letter') return { kind, bare: false };
    const run = kind === 'digit' ? /[0-9]+/y : /[A-Za-z]+/y;
    run.lastIndex = at;
    run.test(text);
    const after = text[run.lastIndex];
    return { kind, bare: after === undefined || /\s/.test(after) };
  };

  it.each(dispatchedRules.map((rule) => [rule.name, rule]))(
    'holds for the %s rule: its matches start only where its `starts` and `bareRun` say',
    (_name, rule) => {
      const sticky = new RegExp(rule.pattern, 'y');
      const wrong: string[] = [];
      let matched = 0;
      for (const text of texts) {
        for (let at = 0; at < text.length; at++) {
          sticky.lastIndex = at;
          if (!sticky.test(text)) continue;
          matched++;
          const { kind, bare } = startAt(text, at);
          const allowed =
            kind !== 'none' &&
            rule.starts.includes(kind) &&
            (!bare || (kind !== 'other' && (rule.bareRun ?? []).includes(kind)));
          if (!allowed) wrong.push(`${kind}${bare ? ' (bare run)' : ''}: ${JSON.stringify(text)} @${at}`);
        }
      }
      expect(wrong).toEqual([]);
      expect(matched).toBeGreaterThan(0);
    },
  );

  it('leaves the email rule, which can start with `.`, `_`, `%` or `+`, to the unguarded scan of text with @', () => {
    expect(MASK_GUARD.exempt).toEqual(['email']);
    expect([...'._%+'].some((c) => MASK_SCANS.otherStarts.includes(c))).toBe(false);
  });

  /** The plain alternation of `rules`, in priority order, with the same replacements. */
  const plainScan = (rules: typeof MASK_RULES) => {
    const custom = rules.flatMap((rule) => (rule.replace ? [rule.replace] : []));
    const pattern = new RegExp(rules.map((r) => (r.replace ? `(${r.pattern})` : `(?:${r.pattern})`)).join('|'), 'g');
    return (text: string) =>
      text.replace(pattern, (match: string, ...groups: unknown[]) => {
        for (let i = 0; i < custom.length; i++) if (groups[i] !== undefined) return custom[i](match);
        return PLACEHOLDER;
      });
  };

  it.each([
    ['text without @', MASK_SCANS.guarded, dispatchedRules],
    [
      'URL and path segments',
      MASK_SCANS.segment,
      dispatchedRules.filter((r) => !MASK_SCANS.notInSegments.includes(r.name)),
    ],
  ] as const)('masks %s exactly as the plain alternation of its rules does', (_what, scan, rules) => {
    const plain = plainScan(rules);
    let changed = 0;
    for (const text of texts) {
      const masked = text.replace(scan.pattern, scan.replace);
      expect({ text, masked }).toEqual({ text, masked: plain(text) });
      if (masked !== text) changed++;
    }
    expect(changed).toBeGreaterThan(2000);
  });

  it('masks bare runs and the words around them as before', () => {
    expect(normalizeMessage('sent 100 bytes in 35 ms to host 12345678 at Sept 3 ok=true mask=cafebabe now')).toBe(
      'sent * in * to host * at * ok=* mask=* now',
    );
    expect(normalizeMessage('worker node17 on api-7d9f8b6c5-x2k4q got -5 after ~3ms, paid €12')).toBe(
      'worker node* on api-* got * after *, paid *',
    );
  });
});

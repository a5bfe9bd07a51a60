#!/usr/bin/env node
/* eslint-disable no-console */
/**
 * What filing a NEW fingerprint costs as its scope (source, feature) grows: the grouping engine
 * reads the scope's live groups of the template's token count for every new fingerprint.
 *
 *   npm run build
 *   node bench/ingest/new-fingerprints.js [--requests 300] [--groups 500,3000] [--burst 100] [--bursts 10]
 *
 * For each size, a scope is seeded with that many live groups of ten tokens (SQL, unrelated
 * templates), then `--requests` new errors of ten tokens are posted to `/api/events` one after
 * another, one event per request, each a template the scope has not seen (it starts a group; no
 * join, no merge). Printed per size: latency p50/p99 and the service's CPU per request, and their
 * ratio to a scope without groups measured the same way just before (the machine's own baseline).
 *
 * Then a burst (a deploy that brings many new errors at once): `--bursts` requests of `--burst`
 * new errors each, every request in a scope of its own; printed: the time per request and per
 * error, the statements per request (counted at node-postgres' client), and the time per error
 * against the empty scope's single new error above.
 *
 * Database: `TEST_DATABASE_URL` (an admin URL on a loopback host), else
 * postgres://postgres:postgres@127.0.0.1:5432/postgres; a database `fixloop_bench_newfp_test` is
 * created and dropped. The app runs in this process (workers off). `FIXLOOP_DIST` points at
 * another build.
 */
const path = require('node:path');
const { createBenchApp } = require('../lib/bench-app');
const { benchDatabaseUrls } = require('../lib/bench-database');

const repo = path.resolve(__dirname, '..', '..');
const dist = process.env.FIXLOOP_DIST || path.join(repo, 'dist');
const SECRET = 'bench-newfp-secret-0123';
const DB_NAME = 'fixloop_bench_newfp_test';
const TOKENS = 10;

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** A plain lowercase word, different on every call (the normaliser leaves plain words alone). */
let wordSeq = 0;
function word() {
  let n = ++wordSeq;
  let out = '';
  do {
    out += String.fromCharCode(97 + (n % 26));
    n = Math.floor(n / 26);
  } while (n > 0);
  return `w${out}`;
}

/** Ten tokens, three of them words never used before: no two messages are peers of a merge. */
const message = () => `Job ${word()} failed in stage ${word()} reading ${word()} from store`;

async function seed(client, feature, groups) {
  if (groups === 0) return;
  await client.query(
    `INSERT INTO grouping_groups (scope_source, scope_feature, key, seq, token_count, pattern)
     SELECT 'bench', $1, md5($1 || i::text) || md5(i::text), i, ${TOKENS},
            jsonb_build_array('Seeded', md5(i::text), 'error', 'in', md5((i * 7)::text), 'while', 'doing',
                              md5((i * 13)::text), 'for', 'tenant')
       FROM generate_series(0, $2::int - 1) i`,
    [feature, groups],
  );
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(baseUrl, feature, requests) {
  const post = async () => {
    const res = await fetch(`${baseUrl}/api/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ events: [{ source: 'bench', feature, message: message() }] }),
    });
    if (res.status !== 202) throw new Error(`unexpected status ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  };
  for (let i = 0; i < 10; i++) await post(); // warm-up (and the first read of the scope)
  const latencies = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < requests; i++) {
    const t0 = process.hrtime.bigint();
    await post();
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuUs: (cpu.user + cpu.system) / requests };
}

/** Statements sent by every node-postgres client of this process (the app's pool included). */
let statements = 0;
function countStatements(pg) {
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function countedQuery(...args) {
    statements++;
    return query.apply(this, args);
  };
}

async function runBursts(baseUrl, size, bursts) {
  const latencies = [];
  let sent = 0;
  for (let b = 0; b <= bursts; b++) {
    const feature = `burst-${b}`;
    const events = Array.from({ length: size }, () => ({ source: 'bench', feature, message: message() }));
    const before = statements;
    const t0 = process.hrtime.bigint();
    const res = await fetch(`${baseUrl}/api/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${SECRET}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    const body = await res.json();
    if (res.status !== 202 || body.issuesCreated !== size) {
      throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(body)}`);
    }
    if (b === 0) continue; // warm-up
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    sent += statements - before;
  }
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), statements: sent / bursts };
}

async function main() {
  const requests = Number(arg('requests', '300'));
  const burst = Number(arg('burst', '100'));
  const bursts = Number(arg('bursts', '10'));
  const sizes = String(arg('groups', '500,3000')).split(',').map(Number);
  const pg = require('pg');
  const { Client } = pg;
  countStatements(pg);
  const urls = benchDatabaseUrls(DB_NAME);
  const admin = new Client({ connectionString: urls.admin });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB_NAME}`);
  let app;
  let client;
  try {
    app = await createBenchApp(dist, SECRET, { DATABASE_URL: urls.bench });
    await app.listen(0, '127.0.0.1');
    const baseUrl = `http://127.0.0.1:${app.getHttpServer().address().port}`;
    client = new Client({ connectionString: urls.bench });
    await client.connect();

    console.log(
      `\nfixloop new-fingerprint bench: ${requests} requests per scope, one new error each, ${TOKENS} tokens`,
    );
    console.log(`build: ${dist}\n`);
    console.log('groups in scope   p50 ms   p99 ms   service CPU us/request   p50 vs empty   CPU vs empty');
    let single;
    for (const groups of sizes) {
      const empty = `empty-${groups}`;
      const full = `groups-${groups}`;
      await seed(client, full, groups);
      const base = await run(baseUrl, empty, requests);
      const r = await run(baseUrl, full, requests);
      const row = (label, x, b) =>
        console.log(
          `${label.padStart(15)} ${x.p50.toFixed(2).padStart(8)} ${x.p99.toFixed(2).padStart(8)} ${x.cpuUs
            .toFixed(0)
            .padStart(24)} ${b ? `${(x.p50 / b.p50).toFixed(2)}x`.padStart(14) : '1.00x'.padStart(14)} ${
            b ? `${(x.cpuUs / b.cpuUs).toFixed(2)}x`.padStart(14) : '1.00x'.padStart(14)
          }`,
        );
      row('0 (baseline)', base);
      row(String(groups), r, base);
      single = single ?? base;
    }
    const b = await runBursts(baseUrl, burst, bursts);
    console.log(
      `\nburst: ${bursts} requests of ${burst} new errors, each in a scope of its own\n` +
        `p50 ${b.p50.toFixed(1)} ms per request, ${(b.p50 / burst).toFixed(2)} ms per error ` +
        `(${(b.p50 / burst / single.p50).toFixed(2)}x one new error alone, ${single.p50.toFixed(2)} ms), ` +
        `${b.statements.toFixed(0)} statements per request`,
    );
  } finally {
    await client?.end();
    await app?.close();
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

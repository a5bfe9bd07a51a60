#!/usr/bin/env node
'use strict';
/**
 * Ingest load generator: the running service (a child process, real PostgreSQL server) under
 * loopback HTTP load, beside the raw rate of single-row `INSERT ... ON CONFLICT DO NOTHING` on the
 * same database at the same concurrency.
 *
 *   npm run build && node bench/ingest/run.js [--seconds 5] [--concurrency 16] [--batch 100]
 *
 * Phases (each runs `--seconds` after a 1 s warm-up that creates the issues, bounded):
 *   raw          single-row INSERT ... ON CONFLICT DO NOTHING, one pooled connection per worker
 *   floor        POST to an unknown route (404): what one HTTP request through the framework costs
 *   loki-json    POST /loki/api/v1/push, JSON, `--batch` error lines per push (pino-loki's shape)
 *   loki-proto   POST /loki/api/v1/push, snappy protobuf, `--batch` lines (winston-loki/Promtail's shape)
 *   webhook      POST /api/loki/webhook, one Grafana alert per request (the derived Grafana 12 payload)
 *   events       POST /api/events, `--batch` events per request
 * HTTP load comes from autocannon (keep-alive connections, a new body per request).
 * Printed: accepted events per second, requests per second, p50/p99 request latency, and the ratio
 * to the raw rate measured again just before that phase (raw/s).
 *
 * Database: TEST_DATABASE_URL (an admin URL), else postgres://postgres:postgres@127.0.0.1:5432/postgres;
 * a fresh database `fixloop_bench_test` is created and dropped. FIXLOOP_DIST overrides the build
 * directory (default <repo>/dist). Everything stays on 127.0.0.1.
 */
const { fork } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { createBenchApp } = require('../lib/bench-app');
const { benchDatabaseUrls } = require('../lib/bench-database');
const autocannon = require('autocannon');

const repo = path.resolve(__dirname, '..', '..');
const dist = process.env.FIXLOOP_DIST || path.join(repo, 'dist');
const shared = process.env.SHARED_DIR || path.join(repo, '..', 'shared');
const SECRET = 'bench-ingest-secret-0123';
const DB_NAME = 'fixloop_bench_test';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

// ---------------------------------------------------------------------------------------------
// Server mode: the real app in its own process.

async function serve() {
  const app = await createBenchApp(dist, SECRET, {
    DATABASE_URL: process.env.BENCH_DATABASE_URL,
    DATABASE_POOL_SIZE: process.env.BENCH_POOL_SIZE,
    REQUEST_BODY_LIMIT_BYTES: String(20 * 1024 * 1024),
  });
  await app.listen(0, '127.0.0.1');
  process.send({ port: app.getHttpServer().address().port });
  process.on('message', async (m) => {
    if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
    if (m === 'stop') {
      await app.close();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Load generation

const TEMPLATES = [
  (n) => `Order ${n} not found`,
  (n) => `Payment ${n} declined by gateway`,
  (n) => `Timeout after ${n} ms calling inventory-service`,
  (n) => `User ${n} has no active subscription`,
  (n) => `Cannot read properties of undefined (reading 'id') at OrdersController line ${n}`,
  (n) => `Failed to publish event ${n} to queue orders.created`,
  (n) => `Database query exceeded ${n} ms: SELECT * FROM carts`,
  (n) => `Webhook delivery ${n} rejected with status 502`,
];
let counter = 0;
const nextMessage = () => {
  counter++;
  return TEMPLATES[counter % TEMPLATES.length](1000 + (counter % 997));
};

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `workers` loops calling `once()` until `seconds` pass; returns events/s, requests/s, latencies. */
async function drive(seconds, workers, once) {
  const latencies = [];
  let events = 0;
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(Math.round(seconds * 1e9));
  const loop = async () => {
    while (process.hrtime.bigint() < deadline) {
      const t0 = process.hrtime.bigint();
      const n = await once();
      events += n;
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: workers }, loop));
  return summarise(events, latencies, Number(process.hrtime.bigint() - started) / 1e9);
}

function summarise(events, latencies, elapsed) {
  latencies.sort((a, b) => a - b);
  return {
    eventsPerSecond: events / elapsed,
    requestsPerSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: latencies.length,
  };
}

/**
 * HTTP load with autocannon: `connections` keep-alive connections, each sending its next request
 * as soon as the previous one is answered, for `seconds`. `body()` makes each request's body (a
 * new alert, new lines), so nothing is a redelivery. Every answer must have `expectStatus` (any
 * 2xx when undefined); the first other one fails the phase with its body.
 */
async function driveHttp(seconds, connections, ports, { route, headers, body, events, expectStatus }) {
  const latencies = [];
  let unexpected;
  const started = process.hrtime.bigint();
  // With several replicas the connections are split between them, as a load balancer would.
  const results = await Promise.all(
    ports.map((port, i) => {
      const instance = autocannon({
        url: `http://127.0.0.1:${port}`,
        connections: Math.floor(connections / ports.length) + (i < connections % ports.length ? 1 : 0),
        duration: seconds,
        requests: [
          {
            method: 'POST',
            path: route,
            headers,
            setupRequest: (req) => ({ ...req, body: body() }),
            onResponse: (status, responseBody) => {
              const ok = expectStatus !== undefined ? status === expectStatus : status >= 200 && status < 300;
              if (!ok && unexpected === undefined) unexpected = `${route}: ${status} ${responseBody}`;
            },
          },
        ],
      });
      instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
      return instance;
    }),
  );
  if (unexpected !== undefined) throw new Error(unexpected);
  for (const result of results) {
    if (result.errors > 0 || result.timeouts > 0) {
      throw new Error(`${route}: ${result.errors} connection errors, ${result.timeouts} timeouts`);
    }
  }
  return summarise(latencies.length * events, latencies, Number(process.hrtime.bigint() - started) / 1e9);
}

let nsClock = BigInt(Date.now()) * 1_000_000n;
const nextNs = () => String((nsClock += 1000n));

function lokiJson(batch) {
  const values = [];
  for (let i = 0; i < batch; i++) {
    const msg = nextMessage();
    values.push([
      nextNs(),
      JSON.stringify({ level: 50, time: Date.now(), msg, route: '/api/orders' }),
      { trace_id: `t${counter}` },
    ]);
  }
  return Buffer.from(
    JSON.stringify({ streams: [{ stream: { app: 'checkout-api', env: 'bench', level: 'error' }, values }] }),
  );
}

function lokiProto(encodePushRequest, snappy, batch) {
  const entries = [];
  for (let i = 0; i < batch; i++) {
    const ns = BigInt(nextNs());
    entries.push({
      timestamp: { seconds: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) },
      line: `level=error msg="${nextMessage()}"`,
    });
  }
  const bytes = encodePushRequest({
    streams: [{ labels: '{app="billing-api", env="bench", level="error"}', entries }],
  });
  return snappy.compressSync(Buffer.from(bytes));
}

/**
 * Single-alert Grafana payloads: the fixture serialised once with placeholders, each request a new
 * alert in it (its message, `startsAt` = now as Grafana stamps a new alert instance, a unique
 * fingerprint), so the generator spends its CPU on sending, not on re-serialising the template.
 */
function webhookBodies(template) {
  const alert = template.alerts[0];
  alert.annotations.summary = '@@SUMMARY@@';
  alert.startsAt = '@@STARTS_AT@@';
  alert.fingerprint = '@@FINGERPRINT@@';
  const [head, afterSummary] = JSON.stringify(template).split('@@SUMMARY@@');
  const [middle, afterStartsAt] = afterSummary.split('@@STARTS_AT@@');
  const [middle2, tail] = afterStartsAt.split('@@FINGERPRINT@@');
  return () => {
    counter++;
    const summary = JSON.stringify(nextMessage()).slice(1, -1);
    return `${head}${summary}${middle}${new Date().toISOString()}${middle2}${counter.toString(16).padStart(16, '0')}${tail}`;
  };
}

function eventsBody(batch) {
  const events = [];
  for (let i = 0; i < batch; i++)
    events.push({ id: `bench-${counter}-${i}`, source: 'orders-worker', feature: 'jobs', message: nextMessage() });
  return Buffer.from(JSON.stringify({ events }));
}

// ---------------------------------------------------------------------------------------------
// CPU accounting: where a phase's CPU went (the service process, every PostgreSQL process, this
// generator, and the whole machine), from process.cpuUsage and Linux's /proc. Throughput on a
// shared machine moves with whatever else runs; CPU time per request moves much less.

const CLOCK_TICK_US = 1e6 / 100; // USER_HZ: 100 on Linux

/** utime + stime of every process whose name is `postgres`, in microseconds (undefined off Linux). */
function postgresCpuUs() {
  let total = 0;
  let entries;
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const pid of entries) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone, or not ours to read
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    if (name !== 'postgres') continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_US; // utime, stime
  }
  return total;
}

/** Busy and total time of all CPUs from /proc/stat, in ticks (undefined off Linux). */
function machineTicks() {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = cpu[3] + (cpu[4] || 0); // idle + iowait
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** CPU microseconds (user + system) of every service process so far (undefined for none). */
async function serviceCpuUs(children) {
  if (children === undefined) return undefined;
  const each = await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve) => {
          const onMessage = (m) => {
            if (m && m.cpu) {
              child.off('message', onMessage);
              resolve(m.cpu.user + m.cpu.system);
            }
          };
          child.on('message', onMessage);
          child.send('cpu');
        }),
    ),
  );
  return each.reduce((a, b) => a + b, 0);
}

/** `run(seconds)` (`drive` or `driveHttp`), plus the CPU microseconds per request each part of the machine spent meanwhile. */
async function measured(children, seconds, run) {
  const before = {
    service: await serviceCpuUs(children),
    postgres: postgresCpuUs(),
    generator: process.cpuUsage(),
    machine: machineTicks(),
  };
  const r = await run(seconds);
  const service = await serviceCpuUs(children);
  const postgres = postgresCpuUs();
  const generator = process.cpuUsage(before.generator);
  const machine = machineTicks();
  const per = (us) => (us === undefined ? undefined : us / r.requests);
  return {
    ...r,
    cpu: {
      service: before.service === undefined ? undefined : per(service - before.service),
      postgres: before.postgres === undefined ? undefined : per(postgres - before.postgres),
      generator: per(generator.user + generator.system),
      machineBusy:
        before.machine === undefined
          ? undefined
          : (machine.busy - before.machine.busy) / (machine.total - before.machine.total),
    },
  };
}

/** Prints one row per result: the phase, then each column as [heading, width, value of a result]. */
function printTable(columns, results) {
  console.log('phase'.padEnd(42), ...columns.map(([heading, width]) => heading.padStart(width)));
  for (const r of results) {
    console.log(r.phase.padEnd(42), ...columns.map(([, width, value]) => value(r).padStart(width)));
  }
}

async function main() {
  const seconds = arg('seconds', 5);
  const concurrency = arg('concurrency', 16);
  const batch = arg('batch', 100);
  const replicas = arg('replicas', 1);
  const { Client, Pool } = require('pg');
  const urls = benchDatabaseUrls(DB_NAME);

  const admin = new Client({ connectionString: urls.admin });
  await admin.connect();
  // The raw phase's pool, every replica's pool and the admin and check connections at once.
  const poolSize = Math.min(concurrency, 20);
  const needed = concurrency + replicas * poolSize + 2;
  const { rows: limits } = await admin.query(
    `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int AS usable,
            (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS used`,
  );
  const free = limits[0].usable - limits[0].used + 1; // the admin connection is one of the used
  if (needed > free) {
    await admin.end();
    throw new Error(
      `--concurrency ${concurrency} with ${replicas} replica(s) needs ${needed} connections; the server has ${free} free (max_connections less reserved and in use): lower --concurrency or raise max_connections`,
    );
  }
  await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB_NAME}`);

  // `--replicas N` service processes on the same database (started one after another, so the
  // first runs the migrations); the HTTP load is split between them.
  const children = [];
  const startReplica = () => {
    const child = fork(__filename, ['--serve'], {
      execArgv: process.env.BENCH_SERVER_PROFILE
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROFILE}`]
        : [],
      env: { ...process.env, BENCH_DATABASE_URL: urls.bench, BENCH_POOL_SIZE: String(poolSize) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      child.once('message', (m) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
  };
  const results = [];
  let pool;
  try {
    const ports = [];
    for (let i = 0; i < replicas; i++) ports.push(await startReplica());
    const auth = { Authorization: `Bearer ${SECRET}` };
    const { encodePushRequest } = require(path.join(dist, 'src/modules/ingest/parsers/loki-push.proto-schema.js'));
    const snappy = require('snappy');
    const grafana = JSON.parse(
      fs.readFileSync(path.join(shared, 'fixtures/grafana/derived/DERIVED-grafana12-loki-rule-firing.json'), 'utf8'),
    );

    // Raw baseline: same server, same concurrency, one statement per row.
    pool = new Pool({ connectionString: urls.bench, max: concurrency });
    pool.on('error', () => {}); // an idle client dropped with the database at the end is no failure
    await pool.query('CREATE TABLE bench_raw (k text PRIMARY KEY, v integer NOT NULL)');
    let rawKey = 0;
    const rawOnce = async () => {
      await pool.query('INSERT INTO bench_raw (k, v) VALUES ($1, 1) ON CONFLICT (k) DO NOTHING', [`k${rawKey++}`]);
      return 1;
    };
    const rawRate = () => measured(undefined, seconds, (t) => drive(t, concurrency, rawOnce));
    await drive(1, concurrency, rawOnce);
    results.push({ phase: 'raw INSERT ... ON CONFLICT (1 row)', ...(await rawRate()) });

    const json = { ...auth, 'Content-Type': 'application/json' };
    const phases = [
      // The framework's own floor: an unknown route (404 through the global filter), no database.
      [
        'floor',
        'HTTP floor: empty 404 route (no database)',
        {
          route: '/api/no-such-route',
          headers: { 'Content-Type': 'application/json' },
          body: () => '{}',
          events: 1,
          expectStatus: 404,
        },
      ],
      [
        'loki-json',
        `loki push JSON (${batch} lines/push)`,
        { route: '/loki/api/v1/push', headers: json, body: () => lokiJson(batch), events: batch },
      ],
      [
        'loki-proto',
        `loki push protobuf (${batch} lines/push)`,
        {
          route: '/loki/api/v1/push',
          headers: { ...auth, 'Content-Type': 'application/x-protobuf' },
          body: () => lokiProto(encodePushRequest, snappy, batch),
          events: batch,
        },
      ],
      [
        'webhook',
        'grafana webhook (1 alert/request)',
        { route: '/api/loki/webhook', headers: json, body: webhookBodies(grafana), events: 1 },
      ],
      [
        'events',
        `events batch (${batch} events/request)`,
        { route: '/api/events', headers: json, body: () => eventsBody(batch), events: batch },
      ],
    ];
    const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1].split(',') : null;
    for (const [name, label, load] of phases) {
      if (only && !only.includes(name)) continue;
      // The raw rate again just before the phase: on a shared machine the speed moves within
      // minutes, so each phase is compared with the baseline measured next to it.
      const adjacentRaw = (await rawRate()).eventsPerSecond;
      await driveHttp(1, concurrency, ports, load);
      results.push({
        phase: label,
        raw: adjacentRaw,
        ...(await measured(children, seconds, (t) => driveHttp(t, concurrency, ports, load))),
      });
    }
    await pool.end();
    pool = undefined;

    const check = new Client({ connectionString: urls.bench });
    await check.connect();
    const summary = (
      await check.query(
        `SELECT (SELECT count(*) FROM issues) AS issues, (SELECT count(*) FROM ingest_deliveries) AS deliveries, (SELECT sum(event_count) FROM issues) AS events`,
      )
    ).rows[0];
    await check.end();

    const base = results[0].eventsPerSecond;
    console.log(
      `\nfixloop ingest bench: ${seconds}s per phase, concurrency ${concurrency}, ${replicas} service process(es), PostgreSQL ${urls.admin.replace(/\/\/[^@]*@/, '//')}\n`,
    );
    printTable(
      [
        ['events/s', 10, (r) => r.eventsPerSecond.toFixed(0)],
        ['req/s', 9, (r) => r.requestsPerSecond.toFixed(0)],
        ['p50 ms', 8, (r) => r.p50.toFixed(1)],
        ['p99 ms', 8, (r) => r.p99.toFixed(1)],
        ['raw/s', 8, (r) => (r.raw ?? base).toFixed(0)],
        ['vs raw', 8, (r) => `${(r.eventsPerSecond / (r.raw ?? base)).toFixed(2)}x`],
      ],
      results,
    );
    const us = (v) => (v === undefined ? '-' : v.toFixed(0));
    console.log('\nCPU per request, microseconds (all threads; PostgreSQL = every postgres process)\n');
    printTable(
      [
        ['service', 9, (r) => us(r.cpu.service)],
        ['postgres', 9, (r) => us(r.cpu.postgres)],
        ['generator', 9, (r) => us(r.cpu.generator)],
        [
          'machine busy',
          13,
          (r) => (r.cpu.machineBusy === undefined ? '-' : `${(r.cpu.machineBusy * 100).toFixed(0)}%`),
        ],
      ],
      results,
    );
    console.log(
      `\nstored: ${summary.issues} issues, ${summary.deliveries} deliveries, ${summary.events} counted events`,
    );
  } finally {
    await pool?.end().catch(() => {});
    for (const child of children) {
      if (!child.connected) continue;
      child.send('stop');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.end();
  }
}

if (process.argv.includes('--serve')) {
  serve().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

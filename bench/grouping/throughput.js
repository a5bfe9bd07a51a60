#!/usr/bin/env node
'use strict';
/**
 * Throughput of scrub + normalise + fingerprint + group (the service's path from a message to its
 * issue, `fingerprintMessage` then the grouping engine), in one thread, beside a machine baseline: a plain
 * `crypto.createHash('sha256')` of each of the same lines. The ratio holds on a noisy machine; the
 * bare rate does not.
 *
 *   npm run build && node bench/grouping/throughput.js [--seconds 2]
 *
 * Input: the Content column of $SHARED_DIR/loghub/*.csv (default <repo>/../shared/loghub), read at
 * run time, one scope per file, a fresh store per pass (so every pass creates its groups again).
 * FIXLOOP_DIST overrides the build directory (default <repo>/dist).
 */
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const repo = path.resolve(__dirname, '..', '..');
const dist = process.env.FIXLOOP_DIST || path.join(repo, 'dist');
const shared = process.env.SHARED_DIR || path.join(repo, '..', 'shared');
const args = process.argv.slice(2);
const secondsIndex = args.indexOf('--seconds');
const seconds = secondsIndex >= 0 ? Number(args[secondsIndex + 1]) : 2;

const { normalizeMessage } = require(path.join(dist, 'src/modules/dedup/normalizer/message-normalizer.js'));
const { fingerprintMessage } = require(path.join(dist, 'src/modules/dedup/normalizer/fingerprint-message.js'));
const { InMemoryGroupingStore } = require(path.join(dist, 'src/modules/dedup/grouping/in-memory-grouping-store.js'));

const { loghubContents: contents } = require('../lib/loghub-csv');

const loghub = path.join(shared, 'loghub');
const datasets = fs
  .readdirSync(loghub)
  .filter((f) => f.endsWith('.csv'))
  .sort()
  .map((f) => contents(path.join(loghub, f)));
const total = datasets.reduce((n, lines) => n + lines.length, 0);

/** Runs `pass` (over every dataset) repeatedly for about `seconds`; returns messages per second. */
function rate(pass) {
  pass(); // warm-up
  let passes = 0;
  const started = process.hrtime.bigint();
  let elapsed = 0;
  do {
    pass();
    passes++;
    elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  } while (elapsed < seconds);
  return (passes * total) / elapsed;
}

let sink = 0;
const baseline = rate(() => {
  for (const lines of datasets) {
    for (const line of lines) sink += crypto.createHash('sha256').update(line).digest('hex').length;
  }
});
const normaliseOnly = rate(() => {
  for (const lines of datasets) for (const line of lines) sink += normalizeMessage(line).length;
});
const full = rate(() => {
  const store = new InMemoryGroupingStore();
  datasets.forEach((lines, i) => {
    const source = `bench-${i}`;
    for (const line of lines) {
      const filed = fingerprintMessage(source, 'bench', line);
      sink += store.assign(source, 'bench', filed.fingerprint, filed.normalized).groupKey.length;
    }
  });
});

const fmt = (x) => `${Math.round(x).toLocaleString('en-US')} msgs/s`;
const lines = [
  `messages per pass: ${total} (${datasets.length} LogHub-2k files), node ${process.version}, one thread`,
  `baseline  sha256(line) only:                         ${fmt(baseline)}`,
  `normalise only:                                      ${fmt(normaliseOnly)}  (${(normaliseOnly / baseline).toFixed(2)} x baseline)`,
  `scrub + normalise + fingerprint + group (in memory): ${fmt(full)}  (${(full / baseline).toFixed(2)} x baseline)`,
  `target >= 100,000 msgs/s: ${full >= 100000 ? 'met' : 'NOT met'}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
if (sink === -1) process.stdout.write('\n');

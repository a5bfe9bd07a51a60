#!/usr/bin/env node
'use strict';
/**
 * Throughput of the secret scrubber, in one thread, beside a machine baseline: a plain
 * `String.prototype.includes('password')` pass over the same lines. The ratio holds on a noisy
 * machine; the bare rate does not.
 *
 *   npx tsc -p tsconfig.build.json && node bench/scrubber/run.js [--seconds 2]
 *
 * Without a current build (no dist/, or one older than the source), the scrubber's TypeScript source
 * is transpiled in memory instead.
 * FIXLOOP_DIST overrides the build directory (default <repo>/dist).
 *
 * Inputs, read at run time from $SHARED_DIR (default <repo>/../shared), never copied:
 *  - clean:  the Content column of loghub/*.csv (16,000 real log lines, no secrets);
 *  - mixed:  the same lines with 1 in 100 replaced by a line of corpora/secrets.jsonl.gz;
 *  - secret: only the secrets corpus (every line holds a secret: the slow path).
 */
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const repo = path.resolve(__dirname, '..', '..');
const dist = process.env.FIXLOOP_DIST || path.join(repo, 'dist');
const shared = process.env.SHARED_DIR || path.join(repo, '..', 'shared');
const args = process.argv.slice(2);
const secondsIndex = args.indexOf('--seconds');
const seconds = secondsIndex >= 0 ? Number(args[secondsIndex + 1]) : 2;

function loadScrubber() {
  const built = path.join(dist, 'src/shared/security/secret-scrubber.js');
  const sourcePath = path.join(repo, 'src/shared/security/secret-scrubber.ts');
  // A build older than the source would measure old code: transpile the source instead.
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= fs.statSync(sourcePath).mtimeMs) {
    return { module: require(built), from: path.relative(repo, built) };
  }
  const ts = require('typescript');
  const { outputText } = ts.transpileModule(fs.readFileSync(sourcePath, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
  });
  const Module = require('node:module');
  const m = new Module(sourcePath);
  m.filename = sourcePath;
  m.paths = Module._nodeModulePaths(path.dirname(sourcePath));
  m._compile(outputText, sourcePath);
  return { module: m.exports, from: `${path.relative(repo, sourcePath)} (transpiled in memory)` };
}

const { loghubContents: contents } = require('../lib/loghub-csv');

/** Lines per second of `fn` over `lines`, run for about `seconds` after a warm-up. */
function rate(lines, fn) {
  let sink = 0;
  for (let w = 0; w < 3; w++) for (const line of lines) sink += fn(line);
  let count = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed = 0n;
  while (elapsed < budget) {
    for (const line of lines) sink += fn(line);
    count += lines.length;
    elapsed = process.hrtime.bigint() - start;
  }
  if (sink === -1) console.log('');
  return count / (Number(elapsed) / 1e9);
}

const { module: scrubberModule, from } = loadScrubber();
const scrubber = new scrubberModule.SecretScrubber();

const loghubDir = path.join(shared, 'loghub');
const clean = fs
  .readdirSync(loghubDir)
  .filter((f) => f.endsWith('.csv'))
  .sort()
  .flatMap((f) => contents(path.join(loghubDir, f)));
const secrets = zlib
  .gunzipSync(fs.readFileSync(path.join(shared, 'corpora', 'secrets.jsonl.gz')))
  .toString('utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l).text);
const mixed = clean.map((line, i) => (i % 100 === 0 ? secrets[(i / 100) % secrets.length] : line));

const avg = (lines) => Math.round(lines.reduce((n, l) => n + l.length, 0) / lines.length);
const fmt = (n) => Math.round(n).toLocaleString('en-US').padStart(12);

console.log(`scrubber: ${from}`);
console.log(`node ${process.version}, ${seconds}s per measurement, one thread\n`);
console.log('input                         lines   avg chars   scrub lines/s   baseline lines/s   ratio');
for (const [name, lines] of [
  ['clean (loghub)', clean],
  ['mixed (1% secret lines)', mixed],
  ['secret (corpus only)', secrets],
]) {
  const scrub = rate(lines, (line) => scrubber.scrub(line).redactions);
  const baseline = rate(lines, (line) => (line.includes('password') ? 1 : 0));
  console.log(
    `${name.padEnd(26)}${String(lines.length).padStart(8)}${String(avg(lines)).padStart(12)}` +
      `${fmt(scrub)}    ${fmt(baseline)}     ${(baseline / scrub).toFixed(0).padStart(4)}x slower`,
  );
}
const changed = clean.filter((line) => scrubber.scrub(line).text !== line).length;
console.log(`\nclean lines changed by scrubbing: ${changed} of ${clean.length}`);

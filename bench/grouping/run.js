#!/usr/bin/env node
'use strict';
/**
 * Grouping benchmark: runs `fixloop group` (end of input, and --at-arrival) over the Content column
 * of every LogHub-2k CSV in $SHARED_DIR/loghub (default <repo>/../shared/loghub) and scores the keys
 * with that directory's ga.py. One configuration, one (source, feature) pair for every dataset.
 *
 *   npm run build && node bench/grouping/run.js [--json] [--keep DIR] [--data DIR]
 *
 * --data reads the CSVs (same columns: Content, EventId) from another directory, e.g. other
 * LogHub-2k datasets held aside; they are still scored by the shared ga.py.
 * FIXLOOP_CLI overrides the command (default: `node bin/fixloop.js`), e.g. to point at another build.
 * The data is read at run time and never copied into the repository.
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const repo = path.resolve(__dirname, '..', '..');
const shared = process.env.SHARED_DIR || path.join(repo, '..', 'shared');
const loghub = path.join(shared, 'loghub');
const args = process.argv.slice(2);
const asJson = args.includes('--json');
const keepIndex = args.indexOf('--keep');
const keepDir = keepIndex >= 0 ? args[keepIndex + 1] : undefined;
const dataIndex = args.indexOf('--data');
const dataDir = dataIndex >= 0 ? path.resolve(args[dataIndex + 1]) : loghub;
const cli = (process.env.FIXLOOP_CLI || `node ${path.join(repo, 'bin', 'fixloop.js')}`).split(' ');
const SOURCE = 'loghub';
const FEATURE = 'bench';

const { loghubContents: contents } = require('../lib/loghub-csv');

function runGroup(input, extra) {
  const started = process.hrtime.bigint();
  const result = spawnSync(cli[0], [...cli.slice(1), 'group', '--source', SOURCE, '--feature', FEATURE, ...extra], {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`fixloop group failed (${result.status}): ${result.stderr}`);
  return { output: result.stdout, ms };
}

function score(csvPath, predPath) {
  const result = spawnSync('python3', [path.join(loghub, 'ga.py'), csvPath, predPath, '--json'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ga.py failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

function main() {
  if (!fs.existsSync(loghub)) throw new Error(`no LogHub data in ${loghub} (set SHARED_DIR)`);
  const files = fs
    .readdirSync(dataDir)
    .filter((f) => f.endsWith('.csv'))
    .sort();
  const work = keepDir || fs.mkdtempSync(path.join(os.tmpdir(), 'fixloop-grouping-'));
  fs.mkdirSync(work, { recursive: true });
  const results = [];
  for (const file of files) {
    const csvPath = path.join(dataDir, file);
    const name = file.replace(/\.csv$/, '');
    const messages = contents(csvPath);
    const input = `${messages.join('\n')}\n`;
    const row = { dataset: name, messages: messages.length };
    for (const [mode, extra] of [
      ['end', []],
      ['arrival', ['--at-arrival']],
    ]) {
      const { output, ms } = runGroup(input, extra);
      const predPath = path.join(work, `${name}.${mode}.txt`);
      fs.writeFileSync(predPath, output);
      const s = score(csvPath, predPath);
      row[mode] = {
        GA: s.GA,
        FGA: s.FGA,
        split: s.split_true_groups,
        merged: s.merged_pred_groups,
        msgsInMerged: s.msgs_in_merged,
        trueGroups: s.true_groups,
        predGroups: s.pred_groups,
        ms: Math.round(ms),
      };
    }
    results.push(row);
  }
  const avg = (mode, key) => results.reduce((sum, r) => sum + r[mode][key], 0) / results.length;
  const summary = {};
  for (const mode of ['end', 'arrival']) {
    summary[mode] = {
      GA: avg(mode, 'GA'),
      FGA: avg(mode, 'FGA'),
      split: avg(mode, 'split'),
      merged: avg(mode, 'merged'),
      msgsInMerged: avg(mode, 'msgsInMerged'),
    };
  }
  if (!keepDir) fs.rmSync(work, { recursive: true, force: true });
  if (asJson) {
    process.stdout.write(`${JSON.stringify({ results, average: summary }, null, 2)}\n`);
    return;
  }
  const f3 = (x) => x.toFixed(3);
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  const lines = [
    '| dataset | GA end | FGA end | split end | merged end | msgs in merged end | GA arrival | FGA arrival | split arrival | merged arrival | msgs in merged arrival |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.dataset} | ${f3(r.end.GA)} | ${f3(r.end.FGA)} | ${r.end.split}/${r.end.trueGroups} | ${r.end.merged}/${r.end.predGroups} | ${pct(r.end.msgsInMerged)} | ${f3(r.arrival.GA)} | ${f3(r.arrival.FGA)} | ${r.arrival.split}/${r.arrival.trueGroups} | ${r.arrival.merged}/${r.arrival.predGroups} | ${pct(r.arrival.msgsInMerged)} |`,
    );
  }
  const e = summary.end;
  const a = summary.arrival;
  lines.push(
    `| **average** | **${f3(e.GA)}** | **${f3(e.FGA)}** | ${e.split.toFixed(1)} | ${e.merged.toFixed(1)} | **${pct(e.msgsInMerged)}** | **${f3(a.GA)}** | **${f3(a.FGA)}** | ${a.split.toFixed(1)} | ${a.merged.toFixed(1)} | ${pct(a.msgsInMerged)} |`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

main();

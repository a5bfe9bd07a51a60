#!/usr/bin/env node
'use strict';
// The fixloop CLI: `fixloop <command> [args]`. Commands live in src/cli/commands/<name>.command.ts.
require('reflect-metadata');
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('fixloop is not built yet: run `npm run build` (or `npm run setup`) first.\n');
  process.exit(1);
}
require(entry)
  .main(process.argv.slice(2))
  .then((code) => {
    if (typeof code === 'number') process.exitCode = code;
  })
  .catch((err) => {
    process.stderr.write(`${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });

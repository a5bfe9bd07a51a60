import 'reflect-metadata';
import { main } from './cli/main';

// `node dist/src/main.js` is `fixloop serve`.
void main(['serve', ...process.argv.slice(2)]).then((code) => {
  process.exitCode = code;
});

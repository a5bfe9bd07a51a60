import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The version in package.json (found from src/ or dist/src/). */
export const APP_VERSION: string = (() => {
  for (const up of ['../..', '../../..']) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(__dirname, up, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'fixloop' && pkg.version) return pkg.version;
    } catch {
      // try the next level
    }
  }
  return '0.0.0';
})();

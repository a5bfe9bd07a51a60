import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentSchema, environmentVariableNames } from '../../../src/shared/config/app-config';

/** The README's env table moves with the code: every variable, with its real default. */
describe('README environment table', () => {
  const readme = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
  const rows = new Map(
    [...readme.matchAll(/^\| `([A-Z0-9_]+)` \|\s*([^|]*?)\s*\|/gm)].map((m) => [m[1], m[2].trim()] as const),
  );

  it('lists every variable the config schema reads, and no other', () => {
    expect([...rows.keys()].sort()).toEqual([...environmentVariableNames()].sort());
  });

  it('shows each default as the schema has it', () => {
    const defaults = new EnvironmentSchema() as unknown as Record<string, unknown>;
    for (const [name, shown] of rows) {
      const actual = defaults[name];
      if (actual === undefined) continue;
      expect(`${name}=${shown}`).toBe(`${name}=\`${Array.isArray(actual) ? actual.join(',') : String(actual)}\``);
    }
  });
});

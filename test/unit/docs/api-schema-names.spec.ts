import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(__dirname, '../../../src');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [full] : [];
  });
}

/**
 * The OpenAPI document names each schema after its class: two API classes of one name silently
 * share one schema (Nest keeps the last one seen), so a response documents another's fields.
 */
describe('API classes (dto folders)', () => {
  it('have names unique across modules', () => {
    const owners = new Map<string, string[]>();
    for (const file of filesUnder(SRC).filter((f) => f.includes(`${path.sep}dto${path.sep}`))) {
      for (const [, name] of readFileSync(file, 'utf8').matchAll(/^export class (\w+)/gm)) {
        owners.set(name, [...(owners.get(name) ?? []), path.relative(SRC, file)]);
      }
    }
    expect(owners.size).toBeGreaterThan(20);
    expect([...owners].filter(([, files]) => files.length > 1)).toEqual([]);
  });
});

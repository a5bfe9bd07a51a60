import { DEFAULT_VERSION_LABELS, extractVersion } from './label-version';

describe(extractVersion.name, () => {
  it('finds each default version label', () => {
    for (const name of DEFAULT_VERSION_LABELS) {
      expect(extractVersion([{ app: 'x', [name]: 'v1' }])).toBe('v1');
    }
  });

  it('returns undefined when no version label is present or all are blank', () => {
    expect(extractVersion([{ app: 'x' }, undefined])).toBeUndefined();
    expect(extractVersion([{ version: '  ' }])).toBeUndefined();
    expect(extractVersion([])).toBeUndefined();
  });

  it('searches maps in order, then names in order, and trims', () => {
    expect(extractVersion([{ commit: 'abc' }, { version: '2.0.0' }])).toBe('abc');
    expect(extractVersion([{ commit: 'abc', version: ' 2.0.0 ' }])).toBe('2.0.0');
    expect(extractVersion([undefined, { git_sha: 'def' }])).toBe('def');
  });

  it('takes custom names and ignores values too long to be a version', () => {
    expect(extractVersion([{ release: 'r1', version: '1' }], ['release'])).toBe('r1');
    expect(extractVersion([{ version: 'x'.repeat(201), commit: 'abc' }])).toBe('abc');
  });
});

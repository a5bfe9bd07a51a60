import { classifyBuild, compareSemver, countsAsRecurrence, parseSemver } from './build-match';

describe(classifyBuild.name, () => {
  const deployed = [{ version: '1.4.2', sha: 'abc1234def5678901234567890abcdef12345678' }];

  it('counts an event without a version label', () => {
    expect(classifyBuild(undefined, deployed)).toBe('unlabelled');
    expect(classifyBuild('  ', deployed)).toBe('unlabelled');
    expect(countsAsRecurrence('unlabelled')).toBe(true);
  });

  it('counts the deployed version, ignoring a leading v and case', () => {
    expect(classifyBuild('1.4.2', deployed)).toBe('fix_build');
    expect(classifyBuild('v1.4.2', deployed)).toBe('fix_build');
  });

  it('counts a later semver and an equal one with build metadata, not an earlier one', () => {
    expect(classifyBuild('1.4.3', deployed)).toBe('fix_build');
    expect(classifyBuild('2.0.0-rc.1', deployed)).toBe('fix_build');
    expect(classifyBuild('1.4.2+build.7', deployed)).toBe('fix_build');
    expect(classifyBuild('1.4.1', deployed)).toBe('old_build');
    expect(classifyBuild('1.4.2-rc.1', deployed)).toBe('old_build');
    expect(countsAsRecurrence('old_build')).toBe(false);
  });

  it('counts a sha equal to, a prefix of, or containing the deployed sha', () => {
    expect(classifyBuild('abc1234', deployed)).toBe('fix_build');
    expect(classifyBuild('ABC1234DEF', deployed)).toBe('fix_build');
    expect(classifyBuild('main-abc1234def', deployed)).toBe('fix_build');
    expect(classifyBuild('0123456789abcdef', deployed)).toBe('old_build');
  });

  it('treats an unknown label as an older build', () => {
    expect(classifyBuild('blue-canary', deployed)).toBe('old_build');
  });

  it('counts every labelled event when nothing is known about the deployed build', () => {
    expect(classifyBuild('0.9.0', [{ version: null, sha: null }])).toBe('fix_build');
    expect(classifyBuild('0.9.0', [])).toBe('fix_build');
  });

  it('counts a build of a later deployment', () => {
    expect(classifyBuild('fedcba9', [...deployed, { version: null, sha: 'fedcba9876543210' }])).toBe('fix_build');
  });

  it('compares plain build numbers as integers', () => {
    expect(classifyBuild('43', [{ version: '42' }])).toBe('fix_build');
    expect(classifyBuild('41', [{ version: '42' }])).toBe('old_build');
  });
});

describe(compareSemver.name, () => {
  const cmp = (a: string, b: string): number => compareSemver(parseSemver(a)!, parseSemver(b)!);
  it('orders releases, pre-releases and missing parts as semver does', () => {
    expect(cmp('1.0.0', '1.0.0')).toBe(0);
    expect(cmp('1.2', '1.2.0')).toBe(0);
    expect(cmp('1.0.0-alpha', '1.0.0')).toBeLessThan(0);
    expect(cmp('1.0.0-alpha.1', '1.0.0-alpha.beta')).toBeLessThan(0);
    expect(cmp('1.0.0-beta.11', '1.0.0-beta.2')).toBeGreaterThan(0);
    expect(cmp('1.10.0', '1.9.9')).toBeGreaterThan(0);
  });
  it('does not read a bare number or a word as a version', () => {
    expect(parseSemver('42')).toBeUndefined();
    expect(parseSemver('main')).toBeUndefined();
    expect(parseSemver('v42')).toBeDefined();
  });
});

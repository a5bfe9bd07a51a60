import { parsePullRequestReference } from './pull-request-reference';

describe(parsePullRequestReference.name, () => {
  const fallback = { owner: 'acme', repo: 'shop' };

  it('reads a PR web URL, on github.com or another host, with or without a tab after the number', () => {
    expect(parsePullRequestReference('https://github.com/octo-org/web.app/pull/42', {})).toEqual({
      owner: 'octo-org',
      repo: 'web.app',
      number: 42,
    });
    expect(parsePullRequestReference(' https://ghe.example.com/team/svc_1/pull/7/files?w=1 ', {})).toEqual({
      owner: 'team',
      repo: 'svc_1',
      number: 7,
    });
  });

  it('reads owner/repo#n, and #n or n in the configured repository', () => {
    expect(parsePullRequestReference('octo/app#12', fallback)).toEqual({ owner: 'octo', repo: 'app', number: 12 });
    expect(parsePullRequestReference('#12', fallback)).toEqual({ owner: 'acme', repo: 'shop', number: 12 });
    expect(parsePullRequestReference('12', fallback)).toEqual({ owner: 'acme', repo: 'shop', number: 12 });
  });

  it('names what is wrong', () => {
    expect(parsePullRequestReference('#12', {})).toEqual({ error: expect.stringMatching(/GITHUB_REPO_OWNER/) });
    expect(parsePullRequestReference('https://github.com/octo/app/issues/12', fallback)).toEqual({
      error: expect.stringMatching(/must be a PR URL/),
    });
    expect(parsePullRequestReference('octo/app#0', fallback)).toEqual({
      error: expect.stringMatching(/between 1 and/),
    });
    expect(parsePullRequestReference('99999999999', fallback)).toEqual({
      error: expect.stringMatching(/between 1 and/),
    });
    expect(parsePullRequestReference('../etc/passwd#1', fallback)).toEqual({ error: expect.stringMatching(/PR URL/) });
    expect(parsePullRequestReference('https://github.com/octo/../pull/1', fallback)).toEqual({
      error: expect.stringMatching(/names no repository/),
    });
    expect(parsePullRequestReference('octo/.#1', fallback)).toEqual({
      error: expect.stringMatching(/names no repository/),
    });
  });
});

import { GitHubWorkflowClient } from './github-workflow.client';

const settings = {
  GITHUB_TOKEN: 'ghp_x',
  GITHUB_API_URL: 'http://127.0.0.1:9',
  GITHUB_REPO_OWNER: 'acme',
  GITHUB_REPO_NAME: 'shop',
  GITHUB_WORKFLOW_ID: 'auto-investigate.yml',
  GITHUB_WORKFLOW_REF: 'staging',
  GITHUB_RETRY_BASE_SECONDS: 2,
  GITHUB_HTTP_TIMEOUT_SECONDS: 5,
};

describe(GitHubWorkflowClient.name, () => {
  const client = new GitHubWorkflowClient(settings);

  it('is a dry run without a token or a repository', () => {
    expect(client.dryRunReason).toBeNull();
    expect(new GitHubWorkflowClient({ ...settings, GITHUB_TOKEN: undefined }).dryRunReason).toBe(
      'GITHUB_TOKEN is not set',
    );
    expect(new GitHubWorkflowClient({ ...settings, GITHUB_REPO_NAME: undefined }).dryRunReason).toMatch(
      /GITHUB_REPO_OWNER/,
    );
  });

  it('retries 5xx and network failures with doubling backoff, noting that the run may exist', () => {
    expect(client.classify({ status: 502, message: 'Bad Gateway' }, 0)).toMatchObject({
      kind: 'retry',
      afterMs: 2000,
      mayHaveRun: true,
    });
    expect(client.classify({ status: 500 }, 2)).toMatchObject({ kind: 'retry', afterMs: 8000 });
    expect(client.classify({ message: 'fetch failed' }, 1)).toMatchObject({
      kind: 'retry',
      afterMs: 4000,
      mayHaveRun: true,
      status: null,
    });
  });

  it('waits retry-after on a secondary rate limit or 429, and the reset time when the quota is spent', () => {
    const secondary = {
      status: 403,
      response: { headers: { 'retry-after': '7' }, data: { message: 'You have exceeded a secondary rate limit' } },
    };
    expect(client.classify(secondary, 0)).toMatchObject({ kind: 'retry', afterMs: 7000, mayHaveRun: false });
    expect(client.classify({ status: 429, response: { headers: { 'retry-after': '0' } } }, 0)).toMatchObject({
      kind: 'retry',
      afterMs: 0,
    });
    const reset = Math.floor(Date.now() / 1000) + 30;
    const spent = client.classify(
      { status: 403, response: { headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) } } },
      0,
    );
    expect(spent.kind).toBe('retry');
    expect(spent.kind === 'retry' && spent.afterMs).toBeGreaterThan(25_000);
    expect(
      client.classify({ status: 403, response: { data: { message: 'secondary rate limit' }, headers: {} } }, 0),
    ).toMatchObject({ afterMs: 60_000 });
  });

  it('keeps GitHub’s message (stored as the request’s error) scrubbed, also where the cut falls in a secret', () => {
    const token = 'vd5--_k_q0db-4+n6ok/6/qimurdobqairlz-cxxl-jf7z/6sqv+-_dt1hjerhb5g2kzs4ofwy9d_3t-pr';
    const message = `Invalid input ${'x'.repeat(260)} <krakenToken>${token}</krakenToken>`;
    const outcome = client.classify({ status: 422, response: { data: { message }, headers: {} } }, 0);
    if (outcome.kind !== 'rejected') throw new Error(`expected rejected, got ${outcome.kind}`);
    expect(outcome.status).toBe(422);
    expect(outcome.reason).toMatch(/^GitHub refused the dispatch \(422\): Invalid input x+ <krakenToken>/);
    expect(outcome.reason).not.toContain(token.slice(0, 8));
  });

  it('rejects other 4xx as configuration errors with GitHub’s message', () => {
    expect(
      client.classify({ status: 422, response: { data: { message: 'Unexpected inputs provided' }, headers: {} } }, 0),
    ).toEqual({
      kind: 'rejected',
      status: 422,
      reason: 'GitHub refused the dispatch (422): Unexpected inputs provided',
    });
    expect(
      client.classify({ status: 403, message: 'Resource not accessible by integration', response: { headers: {} } }, 0),
    ).toMatchObject({ kind: 'rejected', status: 403 });
    expect(
      client.classify({ status: 404, response: { data: { message: 'Not Found' }, headers: {} } }, 0),
    ).toMatchObject({ kind: 'rejected' });
  });
});

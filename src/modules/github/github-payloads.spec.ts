import { readFileSync } from 'node:fs';
import { sharedPath } from '../../../test/support/shared-dir';
import { PayloadError, readDeploymentStatus, readPullRequest, readWorkflowRun } from './github-payloads';
import { readCorpus } from '../../../test/support/corpora';

const fixture = (dir: string, name: string): unknown =>
  JSON.parse(readFileSync(sharedPath('fixtures', 'github', dir, name), 'utf8'));

describe('GitHub payload readers', () => {
  it('reads the captured pull_request.opened (Cogni) without trusting the pre-merge merge_commit_sha', () => {
    const { action, pr } = readPullRequest(fixture('captured-deliveries-cogni', 'pull_request.opened.raw-body.json'));
    expect(action).toBe('opened');
    expect(pr).toMatchObject({
      repoOwner: 'derekg1729',
      repoName: 'test-repo',
      number: 315,
      title: 'Test PR Title',
      headBranch: 'cogni-e2e-1759155366275',
      baseBranch: 'main',
      state: 'open',
      merged: false,
      mergeCommitSha: null,
      author: 'derekg1729',
      authorAssociation: 'OWNER',
    });
  });

  it('scrubs secrets of the corpus from a PR title and body (stored, embedded, sent to the judge)', () => {
    const corpus = readCorpus<{ text: string; secret: string }>('secrets.jsonl.gz').filter(
      (r) => r.secret.length >= 12,
    );
    const delivery = fixture('captured-deliveries-cogni', 'pull_request.opened.raw-body.json') as {
      pull_request: Record<string, unknown>;
    };
    const leaks = corpus.filter((r) => {
      const { pr } = readPullRequest({
        ...delivery,
        pull_request: { ...delivery.pull_request, title: `Fix: ${r.text}`, body: `Fixes CHIPP-12\n\n${r.text}` },
      });
      expect(pr.body).toContain('Fixes CHIPP-12');
      return `${pr.title}\n${pr.body}`.includes(r.secret);
    });
    expect(leaks.map((r) => r.secret.slice(0, 8))).toEqual([]);
  });

  it('reads a closed, unmerged example as closed', () => {
    const { action, pr } = readPullRequest(fixture('octokit-webhooks-examples', 'pull_request.closed.examples-3.json'));
    expect(action).toBe('closed');
    expect(pr).toMatchObject({ state: 'closed', merged: false, mergedAt: null, mergeCommitSha: null });
  });

  it('reads workflow_run: run name from display_title, workflow from the file path', () => {
    const { run } = readWorkflowRun(
      fixture('octokit-webhooks-examples', 'workflow_run.completed.success.examples-1.json'),
    );
    expect(run).toMatchObject({
      runId: '289782451',
      workflowId: 'test.yml',
      status: 'completed',
      conclusion: 'success',
    });
    expect(run.runName).toEqual(expect.any(String));
  });

  it('refuses a PR number that is not a whole number from 1 to 2147483647 (the integer columns)', () => {
    const opened = fixture('octokit-webhooks-examples', 'pull_request.opened.examples-0.json') as {
      pull_request: Record<string, unknown>;
    };
    for (const number of [1.5, 2_147_483_648, 1e308, 0, -1]) {
      const payload = structuredClone(opened);
      payload.pull_request.number = number;
      expect(() => readPullRequest(payload)).toThrow(
        `pull_request.number must be a whole number from 1 to 2147483647; got ${number}`,
      );
    }
    opened.pull_request.number = 2_147_483_647;
    expect(readPullRequest(opened).pr.number).toBe(2_147_483_647);
  });

  it('refuses a repository owner or name longer than 100 characters (both are indexed)', () => {
    const opened = fixture('octokit-webhooks-examples', 'pull_request.opened.examples-0.json') as {
      repository: { name: string; owner: { login: string } };
    };
    const longOwner = structuredClone(opened);
    longOwner.repository.owner.login = 'o'.repeat(101);
    expect(() => readPullRequest(longOwner)).toThrow(
      'repository.owner.login must be at most 100 characters (GitHub allows 39); got 101',
    );
    const longName = structuredClone(opened);
    longName.repository.name = 'r'.repeat(101);
    expect(() => readPullRequest(longName)).toThrow('repository.name must be at most 100 characters; got 101');
    opened.repository.name = 'r'.repeat(100);
    expect(readPullRequest(opened).pr.repoName).toHaveLength(100);
  });

  it('reads commit ids as lower-case hex of 7 to 64 characters, anything else as unknown', () => {
    const closed = fixture('octokit-webhooks-examples', 'pull_request.closed.examples-3.json') as {
      pull_request: Record<string, unknown> & { head: Record<string, unknown> };
    };
    closed.pull_request.merged = true;
    closed.pull_request.head.sha = 'ABCDEF1';
    closed.pull_request.merge_commit_sha = 'f'.repeat(64);
    expect(readPullRequest(closed).pr).toMatchObject({ headSha: 'abcdef1', mergeCommitSha: 'f'.repeat(64) });
    for (const odd of ['abc', 'g'.repeat(40), 'a'.repeat(65), 'a'.repeat(100_000), '', 42]) {
      closed.pull_request.head.sha = odd;
      closed.pull_request.merge_commit_sha = odd;
      expect(readPullRequest(closed).pr).toMatchObject({ headSha: null, mergeCommitSha: null });
    }
  });

  it('reads dates in ISO 8601 only: a bare number or a year outside 4 digits is unknown', () => {
    const closed = fixture('octokit-webhooks-examples', 'pull_request.closed.examples-3.json') as {
      pull_request: Record<string, unknown>;
    };
    closed.pull_request.merged = true;
    closed.pull_request.merged_at = '2026-11-26T07:00:00+02:00';
    expect(readPullRequest(closed).pr.mergedAt).toEqual(new Date('2026-11-26T05:00:00Z'));
    for (const odd of ['5', '-271821-04-20T00:00:00Z', '+275760-09-13T00:00:00Z', 'not a date', 1_795_000_000_000]) {
      closed.pull_request.merged_at = odd;
      expect(readPullRequest(closed).pr.mergedAt).toBeNull();
    }
  });

  it('refuses a workflow run or deployment id that is missing or not a positive whole number, naming it', () => {
    const run = fixture('octokit-webhooks-examples', 'workflow_run.completed.success.examples-1.json') as {
      workflow_run: Record<string, unknown>;
    };
    for (const id of [-1, 0, 1.5, 1e308, '289782451']) {
      run.workflow_run.id = id;
      expect(() => readWorkflowRun(run)).toThrow(
        `workflow_run.id must be a positive whole number; got ${JSON.stringify(id)}`,
      );
    }
    delete run.workflow_run.id;
    expect(() => readWorkflowRun(run)).toThrow('workflow_run.id is required');
    run.workflow_run.id = 12_345_678_901;
    expect(readWorkflowRun(run).run.runId).toBe('12345678901');

    const deployment = {
      repository: { name: 'shop', owner: { login: 'acme' } },
      deployment: { id: null as unknown, sha: 'a'.repeat(40), environment: 'production' },
      deployment_status: { state: 'success' },
    };
    expect(() => readDeploymentStatus(deployment)).toThrow('deployment.id is required');
    deployment.deployment.id = -1;
    expect(() => readDeploymentStatus(deployment)).toThrow('deployment.id must be a positive whole number; got -1');
    expect(() => readDeploymentStatus({ ...deployment, deployment_status: null })).toThrow(
      'a deployment_status event needs deployment_status (an object)',
    );
  });

  it('throws PayloadError on shapes it cannot use', () => {
    expect(() => readPullRequest({ action: 'opened' })).toThrow(PayloadError);
    expect(() => readWorkflowRun({ workflow_run: {} })).toThrow(PayloadError);
  });
});

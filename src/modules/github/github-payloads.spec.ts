import { readFileSync } from 'node:fs';
import { sharedPath } from '../../../test/support/shared-dir';
import { PayloadError, readPullRequest, readWorkflowRun } from './github-payloads';

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

  it('throws PayloadError on shapes it cannot use', () => {
    expect(() => readPullRequest({ action: 'opened' })).toThrow(PayloadError);
    expect(() => readWorkflowRun({ workflow_run: {} })).toThrow(PayloadError);
  });
});

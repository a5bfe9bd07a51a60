import { Octokit } from '@octokit/rest';
import { FakeGitHub } from '../../support/fake-github';

describe(FakeGitHub.name, () => {
  let gh: FakeGitHub;
  let octokit: Octokit;

  beforeAll(async () => {
    gh = new FakeGitHub();
    gh.expectedToken = 'ghp_test';
    const baseUrl = await gh.start();
    octokit = new Octokit({
      auth: 'ghp_test',
      baseUrl,
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
  });
  afterAll(async () => {
    await gh.stop();
  });
  beforeEach(() => gh.reset());

  const dispatch = (identifier: string, returnRunDetails = true) =>
    octokit.rest.actions.createWorkflowDispatch({
      owner: 'acme',
      repo: 'shop',
      workflow_id: 'auto-investigate.yml',
      ref: 'staging',
      inputs: { issue_id: 'x', identifier },
      return_run_details: returnRunDetails,
    });

  it('answers a dispatch with run details (200), lists the run by name, and records the timeline', async () => {
    const res = await dispatch('CHIPP-1');
    expect(res.status).toBe(200);
    const data = res.data as unknown as { workflow_run_id: number; html_url: string };
    expect(data.workflow_run_id).toEqual(expect.any(Number));
    const runs = await octokit.rest.actions.listWorkflowRuns({
      owner: 'acme',
      repo: 'shop',
      workflow_id: 'auto-investigate.yml',
      event: 'workflow_dispatch',
    });
    expect(runs.data.workflow_runs.map((r) => [r.name, r.display_title])).toEqual([
      ['fixloop auto-investigate', 'fixloop CHIPP-1'],
    ]);
    gh.completeRun(data.workflow_run_id);
    expect(gh.timeline.map((t) => t.kind)).toEqual(['dispatch', 'complete']);
    expect(gh.maxConcurrentRuns()).toBe(1);
  });

  it('plays scripted answers: 204, 5xx, secondary rate limit with retry-after, 422', async () => {
    gh.scriptDispatch({ status: 204 }, { status: 502 }, { status: 403, retryAfter: 7 }, { status: 422 });
    expect((await dispatch('CHIPP-2')).status).toBe(204);
    await expect(dispatch('CHIPP-3')).rejects.toMatchObject({ status: 502 });
    await expect(dispatch('CHIPP-3')).rejects.toMatchObject({
      status: 403,
      response: { headers: { 'retry-after': '7' } },
    });
    await expect(dispatch('CHIPP-3')).rejects.toMatchObject({ status: 422 });
    expect(gh.runsNamed('fixloop CHIPP-2')).toHaveLength(1);
    expect(gh.runsNamed('fixloop CHIPP-3')).toHaveLength(0);
  });

  it('refuses a wrong token with 401 and serves added routes', async () => {
    const other = new Octokit({
      auth: 'nope',
      baseUrl: gh.url,
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
    await expect(
      other.rest.actions.listWorkflowRuns({ owner: 'a', repo: 'b', workflow_id: 'w' }),
    ).rejects.toMatchObject({ status: 401 });
    gh.route('GET', '/repos/:owner/:repo/compare/:basehead', (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'ahead', basehead: req.params.basehead }));
    });
    const cmp = await octokit.rest.repos.compareCommitsWithBasehead({
      owner: 'acme',
      repo: 'shop',
      basehead: 'main...staging',
    });
    expect(cmp.data).toMatchObject({ status: 'ahead', basehead: 'main...staging' });
  });
});

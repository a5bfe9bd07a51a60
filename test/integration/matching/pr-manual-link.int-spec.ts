import { ServerResponse } from 'node:http';
import { seedIssue } from '../../factories/issue.factory';
import { FakeGitHub, FakeRequest } from '../../support/fake-github';
import { adminAuth, agentAuth, useTestApp } from '../../support/test-app';
import { deliver, prPayload, PrOverrides } from '../github/webhook-support';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

/**
 * A person links a PR by hand: POST /api/issues/:identifier/pull-requests. The PR is read from a
 * local GitHub API (GET /repos/{owner}/{repo}/pulls/{n}, answered with the pull_request object of
 * GitHub's own webhook examples, whose shape the REST API shares).
 */
describe('Linking a PR to an issue by hand', () => {
  const gh = new FakeGitHub();
  const prs = new Map<string, Loose>();

  /** GitHub's PR object (as the REST API returns it) for acme/shop#n, written by a stranger. */
  const servePr = (o: PrOverrides & { number: number }): Loose => {
    const pr = prPayload({ author: 'drive-by', authorAssociation: 'NONE', owner: 'acme', repo: 'shop', ...o })
      .pull_request as Loose;
    pr.html_url = `https://github.com/acme/shop/pull/${o.number}`;
    pr.base.repo.owner.login = 'acme';
    pr.base.repo.name = 'shop';
    pr.base.repo.full_name = 'acme/shop';
    prs.set(`acme/shop#${o.number}`, pr);
    return pr;
  };

  gh.route('GET', '/repos/:owner/:repo/pulls/:number', (req: FakeRequest, res: ServerResponse) => {
    const pr = prs.get(`${req.params.owner}/${req.params.repo}#${req.params.number}`);
    res.writeHead(pr ? 200 : 404, { 'content-type': 'application/json; charset=utf-8' });
    res.end(
      JSON.stringify(
        pr ?? {
          message: 'Not Found',
          documentation_url: 'https://docs.github.com/rest/pulls/pulls#get-a-pull-request',
        },
      ),
    );
  });

  beforeAll(async () => {
    await gh.start();
  });
  const t = useTestApp(() => ({
    GITHUB_API_URL: gh.url,
    GITHUB_TOKEN: 'ghp_fixloop_test_token',
    GITHUB_REPO_OWNER: 'acme',
    GITHUB_REPO_NAME: 'shop',
    STAGING_BRANCH: 'staging',
  }));
  afterAll(async () => {
    await gh.stop();
  });
  beforeEach(() => gh.reset());

  const link = (identifier: string, body: unknown, auth = adminAuth) =>
    t.http
      .post(`/api/issues/${identifier}/pull-requests`)
      .set(auth)
      .send(body as object);
  const status = async (id: string): Promise<string> =>
    ((await t.dataSource.query(`SELECT status FROM issues WHERE id = $1`, [id])) as { status: string }[])[0]!.status;
  const written = async (): Promise<number[]> =>
    Promise.all(
      ['issue_prs', 'pr_match_runs', 'issue_history'].map(async (table) =>
        Number(((await t.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`)) as { n: number }[])[0]!.n),
      ),
    );

  it("links an untrusted author's PR that matching left alone, and the issue follows it from then on", async () => {
    const issue = await seedIssue(t.dataSource, { status: 'investigating' });
    const pr = { number: 501, title: `Fix ${issue.identifier}: null cart`, head: 'fix/cart', base: 'staging' };
    // The webhook: a stranger's PR naming the issue is not matched.
    await deliver(
      t.http,
      'pull_request',
      prPayload({
        ...pr,
        action: 'opened',
        owner: 'acme',
        repo: 'shop',
        author: 'drive-by',
        authorAssociation: 'NONE',
      }),
    ).expect(200);
    expect(await status(issue.id)).toBe('investigating');

    servePr(pr);
    const res = await link(issue.identifier, {
      pullRequest: 'https://github.com/acme/shop/pull/501',
      reason: 'reviewed by on-call: it fixes the null cart',
    }).expect(201);
    expect(res.body).toEqual({
      issue: issue.identifier,
      pullRequest: 'acme/shop#501',
      url: 'https://github.com/acme/shop/pull/501',
      state: 'open',
      method: 'manual',
      status: 'in_review',
      moves: [{ from: 'investigating', to: 'in_review' }],
    });
    // GitHub was asked for that PR, with the token.
    const asked = gh.requests.filter((r) => r.path === '/repos/acme/shop/pulls/501');
    expect(asked).toHaveLength(1);
    expect(asked[0]!.headers.authorization).toBe('token ghp_fixloop_test_token');

    const [row] = (await t.dataSource.query(
      `SELECT match_method, match_score, match_evidence, state FROM issue_prs WHERE issue_id = $1`,
      [issue.id],
    )) as { match_method: string; match_score: number | null; match_evidence: Loose; state: string }[];
    expect(row).toMatchObject({ match_method: 'manual', match_score: null, state: 'open' });
    expect(row!.match_evidence).toMatchObject({
      step: 'manual',
      by: 'admin',
      reason: 'reviewed by on-call: it fixes the null cart',
    });
    const history = (await t.dataSource.query(
      `SELECT actor, field, from_value, to_value, reason FROM issue_history WHERE issue_id = $1 ORDER BY id`,
      [issue.id],
    )) as { actor: string; field: string; from_value: string | null; to_value: string | null; reason: string }[];
    expect(history).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          actor: 'admin',
          field: 'pull_request',
          to_value: 'acme/shop#501',
          reason: 'PR acme/shop#501 linked by hand by admin: reviewed by on-call: it fixes the null cart',
        }),
        expect.objectContaining({
          actor: 'admin',
          field: 'status',
          from_value: 'investigating',
          to_value: 'in_review',
        }),
      ]),
    );
    const [run] = (await t.dataSource.query(
      `SELECT trigger, outcome FROM pr_match_runs WHERE pr_number = 501 AND outcome = 'linked'`,
    )) as { trigger: string; outcome: string }[];
    expect(run).toEqual({ trigger: 'pull_request.linked_by_hand', outcome: 'linked' });

    // The issue shows it.
    const detail = await t.http.get(`/api/issues/${issue.identifier}`).set(adminAuth).expect(200);
    expect(detail.body.pullRequests).toEqual([
      expect.objectContaining({ repo: 'acme/shop', number: 501, matchMethod: 'manual', state: 'open' }),
    ]);

    // The stranger's merge into staging still moves the issue: the link is followed, not re-judged.
    await deliver(
      t.http,
      'pull_request',
      prPayload({
        ...pr,
        action: 'closed',
        merged: true,
        mergeCommitSha: 'b'.repeat(40),
        owner: 'acme',
        repo: 'shop',
        author: 'drive-by',
        authorAssociation: 'NONE',
      }),
    ).expect(200);
    expect(await status(issue.id)).toBe('in_staging');
    const states = (await t.dataSource.query(`SELECT state FROM issue_prs WHERE pr_number = 501`)) as {
      state: string;
    }[];
    expect(states).toEqual([{ state: 'merged' }]);
  });

  it('takes the PR as it stands: a PR already merged into staging moves the issue to in_staging at once', async () => {
    const issue = await seedIssue(t.dataSource, { status: 'triage' });
    servePr({
      number: 502,
      title: 'Guard the cart total',
      head: 'fix/total',
      base: 'staging',
      state: 'closed',
      merged: true,
      mergeCommitSha: 'c'.repeat(40),
    });
    const res = await link(issue.identifier, { pullRequest: 'acme/shop#502' }).expect(201);
    expect(res.body).toMatchObject({
      state: 'merged',
      status: 'in_staging',
      moves: [{ from: 'triage', to: 'in_staging' }],
    });
    const [row] = (await t.dataSource.query(`SELECT state, merge_commit_sha FROM issue_prs WHERE pr_number = 502`)) as {
      state: string;
      merge_commit_sha: string | null;
    }[];
    expect(row!.state).toBe('merged');
    expect(row!.merge_commit_sha).toBe('c'.repeat(40));
  });

  it('stores a PR whose GitHub answer holds NUL or an unpaired surrogate with U+FFFD, answering 201', async () => {
    const issue = await seedIssue(t.dataSource, { status: 'triage' });
    servePr({ number: 503, title: 'Guard the \u0000 name', head: 'fix/\ud800name', body: 'Body \u0000' });
    await link(issue.identifier, { pullRequest: 'acme/shop#503' }).expect(201);
    const [row] = (await t.dataSource.query(
      `SELECT title, head_branch, body FROM issue_prs WHERE pr_number = 503`,
    )) as {
      title: string;
      head_branch: string;
      body: string;
    }[];
    expect(row).toEqual({ title: 'Guard the \ufffd name', head_branch: 'fix/\ufffdname', body: 'Body \ufffd' });
  });

  it('answers 4xx naming the problem and writes nothing', async () => {
    const issue = await seedIssue(t.dataSource, { status: 'investigating' });
    servePr({ number: 503, title: 'Unmerged attempt', state: 'closed' });
    servePr({ number: 504, title: 'Revert "Fix the cart"', body: 'Reverts acme/shop#500' });
    servePr({ number: 505, title: 'A fix' });
    const before = await written();

    const bad = await link(issue.identifier, { pullRequest: 'https://github.com/acme/shop/issues/12' }).expect(400);
    expect(bad.body).toMatchObject({
      error: 'PR_REFERENCE_INVALID',
      message: expect.stringMatching(/must be a PR URL/),
    });
    const missing = await link(issue.identifier, {}).expect(400);
    expect(JSON.stringify(missing.body)).toMatch(/pullRequest/);
    const unknownIssue = await link('CHIPP-999999', { pullRequest: '#505' }).expect(404);
    expect(unknownIssue.body).toMatchObject({ error: 'ISSUE_NOT_FOUND' });
    expect(gh.requests).toHaveLength(0); // an unknown issue costs GitHub nothing
    const unknownPr = await link(issue.identifier, { pullRequest: 'acme/shop#999' }).expect(404);
    expect(unknownPr.body).toMatchObject({ error: 'PR_NOT_FOUND', message: expect.stringContaining('acme/shop#999') });
    const closed = await link(issue.identifier, { pullRequest: '#503' }).expect(409);
    expect(closed.body).toMatchObject({ error: 'PR_CLOSED_UNMERGED' });
    const revert = await link(issue.identifier, { pullRequest: '#504' }).expect(409);
    expect(revert.body).toMatchObject({ error: 'PR_IS_REVERT' });
    await link(issue.identifier, { pullRequest: '#505' }, agentAuth).expect(403);
    expect(await written()).toEqual(before);
    expect(await status(issue.id)).toBe('investigating');

    // Linked once; the second time is a conflict and changes nothing more.
    await link(issue.identifier, { pullRequest: '#505' }).expect(201);
    const linkedOnce = await written();
    const again = await link(issue.identifier, { pullRequest: 'https://github.com/acme/shop/pull/505' }).expect(409);
    expect(again.body).toMatchObject({
      error: 'PR_ALREADY_LINKED',
      message: `acme/shop#505 is already linked to ${issue.identifier}`,
    });
    expect(await written()).toEqual(linkedOnce);
  });

  it('answers 503 with Retry-After when GitHub fails, and writes nothing', async () => {
    const issue = await seedIssue(t.dataSource, { status: 'investigating' });
    servePr({ number: 506, title: 'A fix' });
    gh.route('GET', '/repos/:owner/:repo/pulls/506', (_req: FakeRequest, res: ServerResponse) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Server Error' }));
    });
    const before = await written();
    const res = await link(issue.identifier, { pullRequest: '#506' }).expect(503);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.body).toMatchObject({ error: 'GITHUB_UNAVAILABLE', message: expect.stringContaining('HTTP 502') });
    expect(await written()).toEqual(before);
  });
});

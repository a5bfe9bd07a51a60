import { EventEmitter2 } from '@nestjs/event-emitter';
import { IssueStatusChanged } from '../../../src/shared/events/event-catalogue';
import { seedIssue } from '../../factories/issue.factory';
import { adminAuth, useTestApp } from '../../support/test-app';
import { deliver, prPayload } from '../github/webhook-support';

describe('Issue status follows its PR (webhook-driven transitions)', () => {
  const t = useTestApp({ STAGING_BRANCH: 'staging' });
  const changes: IssueStatusChanged[] = [];
  const onChange = (e: IssueStatusChanged) => void changes.push(e);

  beforeAll(() => {
    t.app.get(EventEmitter2).on('issue.status_changed', onChange);
  });

  const status = async (id: string): Promise<string> =>
    ((await t.dataSource.query(`SELECT status FROM issues WHERE id = $1`, [id])) as { status: string }[])[0]!.status;
  const prState = async (n: number): Promise<string[]> =>
    (
      (await t.dataSource.query(`SELECT state FROM issue_prs WHERE pr_number = $1 ORDER BY id`, [n])) as {
        state: string;
      }[]
    ).map((r) => r.state);
  const history = async (id: string) =>
    (await t.dataSource.query(
      `SELECT actor, field, from_value, to_value, reason FROM issue_history WHERE issue_id = $1 ORDER BY id`,
      [id],
    )) as {
      actor: string;
      field: string;
      from_value: string | null;
      to_value: string | null;
      reason: string;
    }[];

  it('opened -> in_review; closed without merge -> triage; reopened -> in_review again; merged into staging -> in_staging', async () => {
    const issue = await seedIssue(t.dataSource, { status: 'investigating' });
    const pr = { number: 301, title: `Fix ${issue.identifier}: guard null cart`, head: 'fix/cart', base: 'staging' };
    await deliver(t.http, 'pull_request', prPayload({ ...pr, action: 'opened' })).expect(200);
    expect(await status(issue.id)).toBe('in_review');
    await deliver(t.http, 'pull_request', prPayload({ ...pr, action: 'closed' })).expect(200);
    expect(await status(issue.id)).toBe('triage');
    expect(await prState(301)).toEqual(['closed']);
    await deliver(t.http, 'pull_request', prPayload({ ...pr, action: 'reopened' })).expect(200);
    expect(await status(issue.id)).toBe('in_review');
    await deliver(t.http, 'pull_request', prPayload({ ...pr, action: 'synchronize' })).expect(200);
    expect(await status(issue.id)).toBe('in_review');
    await deliver(
      t.http,
      'pull_request',
      prPayload({ ...pr, action: 'closed', merged: true, mergeCommitSha: 'a'.repeat(40) }),
    ).expect(200);
    expect(await status(issue.id)).toBe('in_staging');
    const [link] = (await t.dataSource.query(
      `SELECT state, merge_commit_sha, merged_at FROM issue_prs WHERE pr_number = 301`,
    )) as {
      state: string;
      merge_commit_sha: string;
      merged_at: Date;
    }[];
    expect(link).toMatchObject({ state: 'merged', merge_commit_sha: 'a'.repeat(40), merged_at: expect.any(Date) });

    const statusHistory = (await history(issue.id)).filter((h) => h.field === 'status');
    expect(statusHistory.map((h) => [h.from_value, h.to_value, h.actor])).toEqual([
      ['investigating', 'in_review', 'system:github'],
      ['in_review', 'triage', 'system:github'],
      ['triage', 'in_review', 'system:github'],
      ['in_review', 'in_staging', 'system:github'],
    ]);
    expect(statusHistory[1]!.reason).toMatch(/closed without merge/);
    expect(statusHistory[2]!.reason).toMatch(/reopened/);
    expect(changes.filter((c) => c.issueId === issue.id).map((c) => c.to)).toEqual([
      'in_review',
      'triage',
      'in_review',
      'in_staging',
    ]);
  });

  it('a merge into another branch keeps the issue in review and says it waits for a production deploy', async () => {
    const issue = await seedIssue(t.dataSource);
    await deliver(
      t.http,
      'pull_request',
      prPayload({ number: 302, title: `Fix ${issue.identifier}`, base: 'main', action: 'closed', merged: true }),
    ).expect(200);
    expect(await status(issue.id)).toBe('in_review');
    expect((await history(issue.id)).map((h) => h.reason)).toContainEqual(
      expect.stringMatching(/merged into main, not staging: waiting for a production deploy/),
    );
  });

  it('closing one of two PRs keeps the issue in review while the other still carries a fix', async () => {
    const issue = await seedIssue(t.dataSource);
    await deliver(t.http, 'pull_request', prPayload({ number: 303, title: `Fix ${issue.identifier} (take 1)` })).expect(
      200,
    );
    await deliver(t.http, 'pull_request', prPayload({ number: 304, title: `Fix ${issue.identifier} (take 2)` })).expect(
      200,
    );
    await deliver(
      t.http,
      'pull_request',
      prPayload({ number: 303, title: `Fix ${issue.identifier} (take 1)`, action: 'closed' }),
    ).expect(200);
    expect(await status(issue.id)).toBe('in_review');
    expect((await history(issue.id)).at(-1)!.reason).toMatch(/1 other PR\(s\) still carry a fix/);
  });

  it('a merged revert PR marks the reverted fix and sends the issue back to triage; the revert is never linked as a fix', async () => {
    const issue = await seedIssue(t.dataSource);
    const title = `Fix ${issue.identifier}: cache invalidation`;
    await deliver(
      t.http,
      'pull_request',
      prPayload({ number: 305, title, base: 'staging', action: 'closed', merged: true }),
    ).expect(200);
    expect(await status(issue.id)).toBe('in_staging');
    const revert = {
      number: 306,
      title: `Revert "${title}"`,
      body: 'Reverts Codertocat/Hello-World#305\n\nBroke checkout.',
      head: 'revert-305-fix',
    };
    const opened = await deliver(t.http, 'pull_request', prPayload({ ...revert, action: 'opened' })).expect(200);
    expect(opened.body.linked).toEqual([]);
    expect(await status(issue.id)).toBe('in_staging');
    expect((await history(issue.id)).at(-1)!.reason).toMatch(/a revert of PR Codertocat\/Hello-World#305 was proposed/);
    const merged = await deliver(
      t.http,
      'pull_request',
      prPayload({ ...revert, action: 'closed', merged: true }),
    ).expect(200);
    expect(merged.body.reverted).toBe(1);
    expect(await status(issue.id)).toBe('triage');
    expect(await prState(305)).toEqual(['reverted']);
    expect(await prState(306)).toEqual([]);
    const run = (await t.dataSource.query(
      `SELECT outcome FROM pr_match_runs WHERE pr_number = 306 ORDER BY created_at LIMIT 1`,
    )) as { outcome: string }[];
    expect(run[0]!.outcome).toBe('revert');
    const last = (await history(issue.id)).filter((h) => h.field === 'status').at(-1)!;
    expect(last).toMatchObject({
      from_value: 'in_staging',
      to_value: 'triage',
      reason: expect.stringMatching(/reverted by PR Codertocat\/Hello-World#306/),
    });
  });

  it('a revert found by title (no "Reverts #n" in the body) is handled too', async () => {
    const issue = await seedIssue(t.dataSource);
    const title = `Fix ${issue.identifier}: retry payments`;
    await deliver(
      t.http,
      'pull_request',
      prPayload({ number: 307, title, base: 'staging', action: 'closed', merged: true }),
    ).expect(200);
    await deliver(
      t.http,
      'pull_request',
      prPayload({ number: 308, title: `Revert "${title}"`, body: 'Rolling back.', action: 'closed', merged: true }),
    ).expect(200);
    expect(await status(issue.id)).toBe('triage');
    expect(await prState(307)).toEqual(['reverted']);
  });

  it('a revert naming a PR number no PR can have is found by title (the lookup answered 500)', async () => {
    const issue = await seedIssue(t.dataSource);
    const title = `Fix ${issue.identifier}: round totals`;
    await deliver(
      t.http,
      'pull_request',
      prPayload({ number: 309, title, base: 'staging', action: 'closed', merged: true }),
    ).expect(200);
    await deliver(
      t.http,
      'pull_request',
      prPayload({
        number: 310,
        title: `Revert "${title}"`,
        body: 'Reverts Codertocat/Hello-World#99999999999',
        action: 'closed',
        merged: true,
      }),
    ).expect(200);
    expect(await status(issue.id)).toBe('triage');
    expect(await prState(309)).toEqual(['reverted']);
  });

  it('an edit that adds an identifier links the PR then (edited re-reads the text)', async () => {
    const issue = await seedIssue(t.dataSource);
    const first = await deliver(
      t.http,
      'pull_request',
      prPayload({ number: 310, title: 'Tidy the checkout code', body: 'Refactor.' }),
    ).expect(200);
    expect(first.body.linked).toEqual([]);
    const edited = await deliver(
      t.http,
      'pull_request',
      prPayload({
        number: 310,
        action: 'edited',
        title: 'Tidy the checkout code',
        body: `Refactor. Fixes ${issue.identifier}.`,
      }),
    ).expect(200);
    expect(edited.body.linked).toEqual([{ identifier: issue.identifier, method: 'identifier' }]);
    expect(await status(issue.id)).toBe('in_review');
  });

  it('does not move an issue a person closed, and shows the PR on the issue page', async () => {
    const issue = await seedIssue(t.dataSource, { status: 'closed' });
    await deliver(t.http, 'pull_request', prPayload({ number: 309, title: `Docs for ${issue.identifier}` })).expect(
      200,
    );
    expect(await status(issue.id)).toBe('closed');
    const res = await t.http.get(`/api/issues/${issue.identifier}`).set(adminAuth).expect(200);
    expect(res.body.pullRequests).toEqual([
      expect.objectContaining({
        repo: 'Codertocat/Hello-World',
        number: 309,
        state: 'open',
        matchMethod: 'identifier',
        matchScore: 1,
      }),
    ]);
  });
});

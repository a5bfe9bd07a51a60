import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  curlCalls,
  loadWorkflow,
  makeSandbox,
  runStepScript,
  stepById,
  type Sandbox,
  type Workflow,
} from './workflow-harness';

/** The reporting contract of the workflow's scripts (executed with bash, curl recorded). */

const API_KEY = 'test-api-key-0123456789';
const RUN_ID = '42';
const RUN_URL = 'https://github.com/acme/shop/actions/runs/42';

function context(sandbox: Sandbox, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    'runner.temp': sandbox.runnerTemp,
    'vars.FIXLOOP_URL': 'https://fixloop.test',
    'secrets.CHIPP_ISSUES_API_KEY': API_KEY,
    'steps.issue.outputs.identifier': 'PAY-7',
    'github.run_id': RUN_ID,
    'github.server_url': 'https://github.com',
    'github.repository': 'acme/shop',
    'steps.claude.outcome': 'success',
    'steps.claude.outputs.execution_file': '',
    'steps.claude.outputs.branch_name': '',
    ...overrides,
  };
}

describe('auto-investigate.yml steps', () => {
  let workflow: Workflow;
  let sandbox: Sandbox;
  beforeAll(() => {
    workflow = loadWorkflow();
  });
  beforeEach(() => {
    sandbox = makeSandbox();
  });
  afterEach(() => {
    sandbox.cleanup();
  });

  describe('validate identifier', () => {
    it.each(['CHK-123', 'A-1', 'PAY2-900001'])('accepts %s and outputs it with the base branch', (identifier) => {
      const result = runStepScript(stepById(workflow, 'issue'), sandbox, { 'inputs.identifier': identifier });
      expect(result.status).toBe(0);
      expect(fs.readFileSync(sandbox.githubOutput, 'utf8')).toBe(`identifier=${identifier}\nbase=staging\n`);
    });

    it.each([
      '',
      'chk-1',
      'CHK-',
      'CHK-1 ',
      ' CHK-1',
      'CHK-1\nbase=main',
      'CHK-1\n',
      '1CHK-1',
      'CHK_1',
      'ÄBC-1',
      'ＣHK-1',
      `A${'B'.repeat(70)}-1`,
    ])('rejects %j', (identifier) => {
      const result = runStepScript(stepById(workflow, 'issue'), sandbox, { 'inputs.identifier': identifier });
      expect(result.status).toBe(1);
      expect(fs.readFileSync(sandbox.githubOutput, 'utf8')).toBe('');
    });

    it('refuses to run on a tag or on a branch name with shell characters', () => {
      const step = stepById(workflow, 'issue');
      expect(runStepScript(step, sandbox, { 'inputs.identifier': 'CHK-1' }, { GITHUB_REF_TYPE: 'tag' }).status).toBe(1);
      expect(runStepScript(step, sandbox, { 'inputs.identifier': 'CHK-1' }, { GITHUB_REF_NAME: 'a$(id)' }).status).toBe(
        1,
      );
      expect(fs.readFileSync(sandbox.githubOutput, 'utf8')).toBe('');
    });
  });

  describe('report start', () => {
    it('posts status running and a run_started activity with the bearer key', () => {
      const result = runStepScript(stepById(workflow, 'report-start'), sandbox, context(sandbox));
      expect(result).toEqual({ status: 0, stdout: '', stderr: '' });
      const calls = curlCalls(sandbox);
      expect(calls.map((c) => c.url)).toEqual([
        'https://fixloop.test/api/agent/issues/PAY-7/status',
        'https://fixloop.test/api/agent/issues/PAY-7/activity',
      ]);
      for (const call of calls) {
        expect(call.args.slice(call.args.indexOf('-X'), call.args.indexOf('-X') + 2)).toEqual(['-X', 'POST']);
        expect(call.headers).toContain(`Authorization: Bearer ${API_KEY}`);
      }
      expect(JSON.parse(calls[0].body)).toEqual({
        status: 'running',
        runId: RUN_ID,
        runUrl: RUN_URL,
        summary: 'Investigation started',
      });
      expect(JSON.parse(calls[1].body)).toEqual({
        type: 'run_started',
        message: 'GitHub Actions run started',
        data: { runId: RUN_ID, runUrl: RUN_URL, ref: 'staging', sha: '0123456789abcdef0123456789abcdef01234567' },
      });
    });

    it('warns and skips reporting when FIXLOOP_URL or the key is not configured', () => {
      for (const missing of ['vars.FIXLOOP_URL', 'secrets.CHIPP_ISSUES_API_KEY']) {
        const result = runStepScript(stepById(workflow, 'report-start'), sandbox, context(sandbox, { [missing]: '' }));
        expect(result.status).toBe(0);
        expect(result.stdout).toContain('::warning::vars.FIXLOOP_URL or secrets.CHIPP_ISSUES_API_KEY is not set');
      }
      expect(curlCalls(sandbox)).toEqual([]);
    });

    it('does not fail the run when fixloop rejects the report', () => {
      fs.writeFileSync(path.join(sandbox.binDir, 'curl'), '#!/bin/bash\n/bin/cat > /dev/null\nexit 22\n', {
        mode: 0o755,
      });
      const result = runStepScript(stepById(workflow, 'report-start'), sandbox, context(sandbox));
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(
        '::warning::fixloop did not accept the status report\n::warning::fixloop did not accept the activity report\n',
      );
    });
  });

  describe('report result', () => {
    function writeExecutionFile(content: string): string {
      const file = path.join(sandbox.runnerTemp, 'claude-execution-output.json');
      fs.writeFileSync(file, content);
      return file;
    }

    it('posts completed with the final answer and the cost from the execution file', () => {
      const file = writeExecutionFile(
        JSON.stringify([
          { type: 'system', subtype: 'init' },
          {
            type: 'result',
            subtype: 'success',
            is_error: false,
            num_turns: 12,
            total_cost_usd: 1.25,
            result: 'Root cause: null order id. PR: https://github.com/acme/shop/pull/9',
          },
        ]),
      );
      const result = runStepScript(
        stepById(workflow, 'report-result'),
        sandbox,
        context(sandbox, { 'steps.claude.outputs.execution_file': file }),
      );
      expect(result).toEqual({ status: 0, stdout: '', stderr: '' });
      const [status, activity] = curlCalls(sandbox).map((c) => JSON.parse(c.body));
      expect(status).toEqual({
        status: 'completed',
        runId: RUN_ID,
        runUrl: RUN_URL,
        summary: 'Root cause: null order id. PR: https://github.com/acme/shop/pull/9',
        costUsd: 1.25,
      });
      expect(activity.type).toBe('run_finished');
      expect(activity.data).toMatchObject({ outcome: 'success', numTurns: 12, costUsd: 1.25 });
    });

    it('reads a newline-delimited transcript too', () => {
      const file = writeExecutionFile(
        `${JSON.stringify({ type: 'system' })}\n${JSON.stringify({ type: 'result', result: 'done', total_cost_usd: 0.5 })}\n`,
      );
      runStepScript(
        stepById(workflow, 'report-result'),
        sandbox,
        context(sandbox, { 'steps.claude.outputs.execution_file': file }),
      );
      expect(JSON.parse(curlCalls(sandbox)[0].body)).toMatchObject({
        status: 'completed',
        summary: 'done',
        costUsd: 0.5,
      });
    });

    it.each(['failure', 'cancelled', 'skipped'])(
      'posts failed without a cost when the Claude step outcome is %s and left no transcript',
      (outcome) => {
        const result = runStepScript(
          stepById(workflow, 'report-result'),
          sandbox,
          context(sandbox, { 'steps.claude.outcome': outcome }),
        );
        expect(result.status).toBe(0);
        const [status, activity] = curlCalls(sandbox).map((c) => JSON.parse(c.body));
        expect(status).toEqual({
          status: 'failed',
          runId: RUN_ID,
          runUrl: RUN_URL,
          summary: `Claude Code step finished with outcome: ${outcome}`,
        });
        expect(activity.message).toBe(`Claude Code finished: ${outcome}`);
      },
    );

    it('ignores an unreadable transcript and a non-numeric cost', () => {
      let file = writeExecutionFile('{not json');
      runStepScript(
        stepById(workflow, 'report-result'),
        sandbox,
        context(sandbox, { 'steps.claude.outcome': 'failure', 'steps.claude.outputs.execution_file': file }),
      );
      file = writeExecutionFile(JSON.stringify([{ type: 'result', result: 'x', total_cost_usd: '1.0' }]));
      runStepScript(
        stepById(workflow, 'report-result'),
        sandbox,
        context(sandbox, { 'steps.claude.outputs.execution_file': file }),
      );
      const bodies = curlCalls(sandbox).map((c) => JSON.parse(c.body));
      expect(bodies[0]).toEqual({
        status: 'failed',
        runId: RUN_ID,
        runUrl: RUN_URL,
        summary: 'Claude Code step finished with outcome: failure',
      });
      expect(bodies[2]).toEqual({ status: 'completed', runId: RUN_ID, runUrl: RUN_URL, summary: 'x' });
    });

    it('keeps the summary to 4000 characters', () => {
      const file = writeExecutionFile(JSON.stringify([{ type: 'result', result: 'é'.repeat(5000) }]));
      runStepScript(
        stepById(workflow, 'report-result'),
        sandbox,
        context(sandbox, { 'steps.claude.outputs.execution_file': file }),
      );
      expect(JSON.parse(curlCalls(sandbox)[0].body).summary).toBe('é'.repeat(4000));
    });
  });
});

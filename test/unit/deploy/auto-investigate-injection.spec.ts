import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  curlCalls,
  loadWorkflow,
  makeSandbox,
  runStepScript,
  stepById,
  type InjectionRow,
  type Sandbox,
  type Workflow,
} from './workflow-harness';
import { readCorpus } from '../../support/corpora';

/**
 * Executes the workflow's real `run:` scripts with every payload of the shared injection corpus in
 * the untrusted inputs and shows the payload stays inert: written byte for byte, posted as a JSON
 * string, never executed, never turned into a workflow command or an env/output line.
 */

const corpus = readCorpus<InjectionRow>('injections.jsonl');

// A NUL byte cannot be put in an environment variable (nor in a workflow_dispatch input reaching one),
// so rows containing it cannot be exercised here. The corpus currently has none; the count is asserted.
const hasNul = (row: InjectionRow) => row.text.includes('\0');
const runnable = corpus.filter((row) => !hasNul(row));
const withNul = corpus.filter(hasNul);

const IDENTIFIER = 'CHK-123';
const FIXLOOP_URL = 'https://fixloop.test/base/';
const API_KEY = 'test-api-key-0123456789';
const RUN_ID = '987654321';
const RUN_URL = `https://github.com/acme/shop/actions/runs/${RUN_ID}`;

/** Files whose creation by a payload would prove it ran (BLNS canaries). */
const CANARY_FILES = ['/tmp/blns.fail', '/tmp/blns.shellshock1.fail', '/tmp/blns.shellshock2.fail'];

function canaryState(): string {
  return CANARY_FILES.map((f) => (fs.existsSync(f) ? `${f}@${fs.statSync(f).mtimeMs}` : `${f}:absent`)).join(',');
}

function baseContext(sandbox: Sandbox): Record<string, string> {
  return {
    'runner.temp': sandbox.runnerTemp,
    'vars.FIXLOOP_URL': FIXLOOP_URL,
    'secrets.CHIPP_ISSUES_API_KEY': API_KEY,
    'steps.issue.outputs.identifier': IDENTIFIER,
    'github.run_id': RUN_ID,
    'github.server_url': 'https://github.com',
    'github.repository': 'acme/shop',
  };
}

function label(row: InjectionRow, i: number): string {
  return `#${i} ${row.kind}/${row.subkind}: ${JSON.stringify(row.text).slice(0, 60)}`;
}

function readCanaryLog(sandbox: Sandbox): string {
  return fs.existsSync(sandbox.canaryLog) ? fs.readFileSync(sandbox.canaryLog, 'utf8') : '';
}

describe('auto-investigate.yml run scripts with the injection corpus', () => {
  let workflow: Workflow;
  let canariesBefore: string;

  beforeAll(() => {
    workflow = loadWorkflow();
    canariesBefore = canaryState();
  });

  afterAll(() => {
    expect(canaryState()).toBe(canariesBefore);
  });

  it('uses every corpus row except the counted ones that cannot be env vars', () => {
    expect(corpus).toHaveLength(202);
    expect(withNul).toHaveLength(0);
    expect(runnable.length + withNul.length).toBe(corpus.length);
    expect(new Set(runnable.map((r) => r.kind))).toEqual(new Set(['prompt', 'shell', 'actions-expression']));
  });

  describe('the step that writes the issue data for the agent', () => {
    it.each(runnable.map((row, i) => [label(row, i), row] as const))('keeps %s inert', (_label, row) => {
      const sandbox = makeSandbox();
      try {
        const step = stepById(workflow, 'data');
        const context = {
          ...baseContext(sandbox),
          'inputs.issue_id': row.text,
          'inputs.title': row.text,
          'inputs.description': row.text,
          'inputs.source': row.text,
          'inputs.feature': row.text,
          'inputs.error_context': row.text,
        };
        const result = runStepScript(step, sandbox, context);

        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        const dataDir = path.join(sandbox.runnerTemp, 'fixloop');
        expect(fs.readFileSync(path.join(dataDir, 'error-context.md')).equals(Buffer.from(row.text, 'utf8'))).toBe(
          true,
        );
        expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'issue.json'), 'utf8'))).toEqual({
          issueId: row.text,
          identifier: IDENTIFIER,
          title: row.text,
          description: row.text,
          source: row.text,
          feature: row.text,
        });
        expect(fs.readdirSync(dataDir).sort()).toEqual(['error-context.md', 'issue.json']);
        // Nothing of the payload reaches the log, where "::" lines would be workflow commands.
        expect(result.stdout).toMatch(/^Wrote issue\.json and error-context\.md \(\d+ bytes\)\n$/);
        expect(result.stdout).toBe(`Wrote issue.json and error-context.md (${Buffer.byteLength(row.text)} bytes)\n`);
        expect(fs.readFileSync(sandbox.githubEnv, 'utf8')).toBe('');
        expect(fs.readFileSync(sandbox.githubOutput, 'utf8')).toBe('');
        expect(fs.readFileSync(sandbox.githubPath, 'utf8')).toBe('');
        expect(readCanaryLog(sandbox)).toBe('');
        expect(curlCalls(sandbox)).toEqual([]);
      } finally {
        sandbox.cleanup();
      }
    });
  });

  describe('the step that reports the result (agent output may repeat the payload)', () => {
    it.each(runnable.map((row, i) => [label(row, i), row] as const))('keeps %s inert', (_label, row) => {
      const sandbox = makeSandbox();
      try {
        const executionFile = path.join(sandbox.runnerTemp, 'claude-execution-output.json');
        fs.writeFileSync(
          executionFile,
          JSON.stringify([
            { type: 'system', subtype: 'init', session_id: 'sess-1' },
            { type: 'assistant', message: { content: [{ type: 'text', text: row.text }] } },
            {
              type: 'result',
              subtype: 'success',
              is_error: false,
              num_turns: 7,
              session_id: 'sess-1',
              total_cost_usd: 0.4213,
              result: row.text,
            },
          ]),
        );
        const step = stepById(workflow, 'report-result');
        const context = {
          ...baseContext(sandbox),
          'steps.claude.outcome': 'success',
          'steps.claude.outputs.execution_file': executionFile,
          'steps.claude.outputs.branch_name': row.text,
        };
        const result = runStepScript(step, sandbox, context);

        expect(result.stderr).toBe('');
        expect(result.stdout).toBe('');
        expect(result.status).toBe(0);
        const calls = curlCalls(sandbox);
        expect(calls.map((c) => c.url)).toEqual([
          'https://fixloop.test/base/api/agent/issues/CHK-123/status',
          'https://fixloop.test/base/api/agent/issues/CHK-123/activity',
        ]);
        for (const call of calls) {
          expect(call.headers).toEqual([`Authorization: Bearer ${API_KEY}`, 'Content-Type: application/json']);
          expect(call.args).toContain('--data-binary');
        }
        const status = JSON.parse(calls[0].body);
        expect(status).toEqual({
          status: 'completed',
          runId: RUN_ID,
          runUrl: RUN_URL,
          summary: row.text === '' ? 'Claude Code step finished with outcome: success' : row.text,
          costUsd: 0.4213,
        });
        const activity = JSON.parse(calls[1].body);
        expect(activity).toEqual({
          type: 'run_finished',
          message: 'Claude Code finished: success',
          data: {
            runId: RUN_ID,
            runUrl: RUN_URL,
            outcome: 'success',
            branch: row.text,
            numTurns: 7,
            isError: false,
            subtype: 'success',
            sessionId: 'sess-1',
            costUsd: 0.4213,
          },
        });
        expect(fs.readFileSync(sandbox.githubEnv, 'utf8')).toBe('');
        expect(fs.readFileSync(sandbox.githubOutput, 'utf8')).toBe('');
        expect(readCanaryLog(sandbox)).toBe('');
      } finally {
        sandbox.cleanup();
      }
    });
  });

  describe('the step that validates the identifier', () => {
    it.each(runnable.map((row, i) => [label(row, i), row] as const))('refuses %s as an identifier', (_label, row) => {
      const sandbox = makeSandbox();
      try {
        const step = stepById(workflow, 'issue');
        const result = runStepScript(step, sandbox, { 'inputs.identifier': row.text });
        expect(result.status).toBe(1);
        expect(result.stdout).toBe("::error::input 'identifier' is not of the form ABC-123; refusing to run\n");
        expect(fs.readFileSync(sandbox.githubOutput, 'utf8')).toBe('');
        expect(fs.readFileSync(sandbox.githubEnv, 'utf8')).toBe('');
        expect(readCanaryLog(sandbox)).toBe('');
      } finally {
        sandbox.cleanup();
      }
    });
  });
});

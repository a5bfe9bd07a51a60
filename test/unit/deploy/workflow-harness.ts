import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

/**
 * Loads deploy/github/auto-investigate.yml and runs its `run:` scripts with bash the way a GitHub
 * runner does (`bash --noprofile --norc -eo pipefail`), after substituting the `${{ }}` expressions
 * of the step's `env:` from a context the test controls. Commands a payload might smuggle in are
 * PATH shims that only record that they ran; curl is a shim that records its arguments and stdin.
 */

export const repoRoot = path.resolve(__dirname, '../../..');
export const workflowPath = path.join(repoRoot, 'deploy/github/auto-investigate.yml');

export interface WorkflowStep {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}

export interface WorkflowJob {
  'runs-on': string;
  'timeout-minutes'?: number;
  permissions?: unknown;
  env?: Record<string, string>;
  steps: WorkflowStep[];
}

export interface Workflow {
  name: string;
  'run-name': string;
  on: { workflow_dispatch: { inputs: Record<string, { type: string; required?: boolean; default?: string }> } };
  permissions: Record<string, string>;
  concurrency: { group: string; 'cancel-in-progress': boolean };
  env?: Record<string, string>;
  jobs: Record<string, WorkflowJob>;
}

export function workflowText(): string {
  return fs.readFileSync(workflowPath, 'utf8');
}

export function loadWorkflow(): Workflow {
  return parse(workflowText()) as Workflow;
}

export function allSteps(workflow: Workflow): WorkflowStep[] {
  return Object.values(workflow.jobs).flatMap((job) => job.steps);
}

export function stepById(workflow: Workflow, id: string): WorkflowStep {
  const step = allSteps(workflow).find((s) => s.id === id);
  if (!step) throw new Error(`no step with id ${id} in ${workflowPath}`);
  return step;
}

/** Every `${{ ... }}` expression body in a string, trimmed. */
export function expressionsIn(text: string): string[] {
  return [...text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1].trim());
}

/**
 * GitHub substitutes an expression's value into an `env:` value as plain text (no shell). Unknown
 * expressions throw, so a new expression in the workflow makes the test say what it needs.
 */
export function substitute(template: string, context: Record<string, string>): string {
  return template.replace(/\$\{\{([\s\S]*?)\}\}/g, (_m, expr: string) => {
    const key = expr.trim();
    if (!(key in context)) throw new Error(`test context has no value for \${{ ${key} }}`);
    return context[key];
  });
}

/** Commands that no step we run uses but shell payloads try (`id`, `touch /tmp/x`, `sleep 9`, ...). */
export const CANARY_COMMANDS = [
  'id',
  'touch',
  'sleep',
  'ls',
  'cat',
  'whoami',
  'uname',
  'wget',
  'nc',
  'ping',
  'nslookup',
  'sh',
  'ruby',
  'perl',
  'python3',
];

export interface Sandbox {
  dir: string;
  runnerTemp: string;
  githubEnv: string;
  githubOutput: string;
  githubStepSummary: string;
  githubPath: string;
  canaryLog: string;
  curlDir: string;
  binDir: string;
  cleanup(): void;
}

export function makeSandbox(): Sandbox {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fixloop-wf-'));
  const runnerTemp = path.join(dir, 'runner-temp');
  const binDir = path.join(dir, 'bin');
  const curlDir = path.join(dir, 'curl-calls');
  for (const d of [runnerTemp, binDir, curlDir]) fs.mkdirSync(d);
  const sandbox: Sandbox = {
    dir,
    runnerTemp,
    githubEnv: path.join(dir, 'github-env'),
    githubOutput: path.join(dir, 'github-output'),
    githubStepSummary: path.join(dir, 'github-step-summary'),
    githubPath: path.join(dir, 'github-path'),
    canaryLog: path.join(dir, 'canary.log'),
    curlDir,
    binDir,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  for (const f of [sandbox.githubEnv, sandbox.githubOutput, sandbox.githubStepSummary, sandbox.githubPath])
    fs.writeFileSync(f, '');
  for (const cmd of CANARY_COMMANDS) {
    writeExecutable(
      path.join(binDir, cmd),
      `#!/bin/bash\nprintf '%s\\0' ${JSON.stringify(cmd)} "$@" >> ${JSON.stringify(sandbox.canaryLog)}\nexit 0\n`,
    );
  }
  // curl: one directory per call holding the NUL-separated argv and the bytes read from stdin.
  writeExecutable(
    path.join(binDir, 'curl'),
    [
      '#!/bin/bash',
      `base=${JSON.stringify(curlDir)}`,
      'i=0',
      'while ! mkdir "$base/$i" 2>/dev/null; do i=$((i+1)); done',
      `printf '%s\\0' "$@" > "$base/$i/args"`,
      '/bin/cat > "$base/$i/stdin"',
      'exit 0',
      '',
    ].join('\n'),
  );
  return sandbox;
}

function writeExecutable(file: string, content: string): void {
  fs.writeFileSync(file, content, { mode: 0o755 });
}

export interface CurlCall {
  args: string[];
  url: string;
  headers: string[];
  body: string;
}

export function curlCalls(sandbox: Sandbox): CurlCall[] {
  return fs
    .readdirSync(sandbox.curlDir)
    .map(Number)
    .sort((a, b) => a - b)
    .map((i) => {
      const dir = path.join(sandbox.curlDir, String(i));
      const args = fs.readFileSync(path.join(dir, 'args'), 'utf8').split('\0').slice(0, -1);
      const headers = args.flatMap((a, k) => (a === '-H' || a === '--header' ? [args[k + 1]] : []));
      return { args, url: args[args.length - 1], headers, body: fs.readFileSync(path.join(dir, 'stdin'), 'utf8') };
    });
}

export interface StepRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs one step's `run:` script with bash, as the runner would: expressions in the script and in
 * the step's `env:` are substituted from `context` first (so an expression added to a script later
 * would put the payload straight into the shell code and fail these tests). The process gets
 * nothing else from the test process's environment.
 */
export function runStepScript(
  step: WorkflowStep,
  sandbox: Sandbox,
  context: Record<string, string>,
  extraEnv: Record<string, string> = {},
): StepRun {
  if (!step.run) throw new Error(`step ${step.id ?? step.name} has no run script`);
  if (step.shell !== 'bash') throw new Error(`step ${step.id ?? step.name} must declare shell: bash`);
  const script = path.join(sandbox.dir, `step-${step.id ?? 'anonymous'}.sh`);
  fs.writeFileSync(script, substitute(step.run, context));
  const env: Record<string, string> = {
    PATH: `${sandbox.binDir}:/usr/local/bin:/usr/bin:/bin`,
    HOME: sandbox.dir,
    TMPDIR: sandbox.dir,
    LANG: 'C.UTF-8',
    RUNNER_TEMP: sandbox.runnerTemp,
    GITHUB_ENV: sandbox.githubEnv,
    GITHUB_OUTPUT: sandbox.githubOutput,
    GITHUB_STEP_SUMMARY: sandbox.githubStepSummary,
    GITHUB_PATH: sandbox.githubPath,
    GITHUB_REF_NAME: 'staging',
    GITHUB_REF_TYPE: 'branch',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_WORKSPACE: path.join(sandbox.dir, 'workspace'),
    ...extraEnv,
    ...stepEnv(step, context),
  };
  const result = spawnSync('/bin/bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
    env,
    cwd: sandbox.dir,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The step's `env:` with expressions substituted from `context`. */
export function stepEnv(step: WorkflowStep, context: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, substitute(String(v), context)]));
}

export interface InjectionRow {
  kind: string;
  subkind: string;
  text: string;
  source: string;
  path: string;
  note?: string;
}

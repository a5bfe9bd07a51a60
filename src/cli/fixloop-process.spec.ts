import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The `fixloop` executable as a shell runs it (bin/fixloop.js over the build in dist/: run
 * `npm run build` first, as CI does), for what only a whole process shows: exit codes, and what
 * reaches stderr when the reader of stdout goes away.
 */
const BIN = path.join(__dirname, '..', '..', 'bin', 'fixloop.js');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `fixloop args`, feeding `input` on stdin. With `firstLineOnly` the reader closes stdout once
 * it has one whole line, as `| head -1` does.
 */
function fixloop(args: string[], input: string, firstLineOnly = false): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (firstLineOnly && stdout.includes('\n')) {
        stdout = stdout.slice(0, stdout.indexOf('\n') + 1);
        child.stdout.destroy();
      }
    });
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.stdin.on('error', () => undefined); // a command that stopped reading closes its stdin early
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Enough output to outlast a pipe's buffer several times over. */
const MANY_LINES = Array.from({ length: 200_000 }, (_, i) => `Job ${i} failed on /q/${i % 7}/x\n`).join('');

describe('fixloop (process)', () => {
  beforeAll(() => {
    if (!existsSync(path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js'))) {
      throw new Error('fixloop is not built: run `npm run build` first');
    }
  });

  it.each([[['normalize']], [['group']], [['group', '--at-arrival']]])(
    '%j stops quietly with exit 0 when its reader goes away (| head -1)',
    async (args) => {
      const result = await fixloop(args, MANY_LINES, true);
      expect(result).toMatchObject({ code: 0, signal: null, stderr: '' });
      expect(result.stdout).toMatch(/^[^\n]+\n$/);
    },
  );
});

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { CliIo } from './cli-command';
import { COMMANDS, main } from './main';

async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const io: CliIo = { stdin: Readable.from(['']), stdout, stderr };
  const code = await main(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('fixloop CLI', () => {
  it.each(COMMANDS.map((c) => c.name))('%s --help prints its usage and exits 0, running nothing', async (name) => {
    const result = await cli([name, '--help']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^usage: fixloop ${name}\\b`));
  });

  it.each([
    [['serve', '--port', '8080'], 'unknown option --port'],
    [['migrate', 'now'], 'unexpected argument now'],
    [['normalize', '--source', 's'], 'unknown option --source'],
    [['group', '--at-arrival=yes'], '--at-arrival takes no value'],
    [['group', '--source'], '--source needs a value'],
    [['group', '--source', 'a', '--source=b'], '--source is given twice'],
    [['group', '--at-arrival', '--at-arrival'], '--at-arrival is given twice'],
    [['openapi', '--outt', 'x.json'], 'unknown option --outt'],
    [['openapi', '--out', 'a.json', '--check', 'b.json'], '--out and --check exclude each other'],
  ])('%j is refused with exit 2, naming the problem and the usage', async (argv, problem) => {
    const result = await cli(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `fixloop ${argv[0]}: ${problem}\nusage: fixloop ${COMMANDS.find((c) => c.name === argv[0])?.usage}\n`,
    );
  });

  it('openapi --check names a file it cannot read', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fixloop-cli-'));
    try {
      const result = await cli(['openapi', '--check', path.join(dir, 'missing.json')]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^fixloop openapi: cannot read .*missing\.json: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [['bogus'], 'unknown command: bogus'],
    [[], 'missing command'],
  ])('%j is refused with exit 2, naming the problem, listing every command on stderr', async (argv, problem) => {
    const result = await cli(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^${problem}\\n\\nusage: fixloop <command>\\n`));
    for (const c of COMMANDS) expect(result.stderr).toContain(`fixloop ${c.usage} `);
  });

  it.each(['help', '--help', '-h'])('fixloop %s lists every command on stdout and exits 0', async (flag) => {
    const result = await cli([flag]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^usage: fixloop <command>\n/);
    for (const c of COMMANDS) expect(result.stdout).toContain(`fixloop ${c.usage} `);
  });
});

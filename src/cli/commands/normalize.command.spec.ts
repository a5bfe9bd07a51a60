import { PassThrough, Readable } from 'node:stream';
import { CliIo } from '../cli-command';
import { normalizeCommand } from './normalize.command';

async function run(command: typeof normalizeCommand, args: string[], input: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const io: CliIo = { stdin: Readable.from([input]), stdout, stderr };
  const code = await command.run(args, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('normalizeCommand', () => {
  it('prints the normalised form of each line', async () => {
    const result = await run(
      normalizeCommand,
      [],
      'Stripe API error: card_declined for cus_abc123\r\nFailed to fetch https://api.example.com/v1/thing/12345\n\nlast line without newline 42',
    );
    expect(result).toEqual({
      code: 0,
      stdout:
        'Stripe API error: card_declined for cus_*\nFailed to fetch https://api.example.com/v1/thing/*\n\nlast line without newline *\n',
      stderr: '',
    });
  });

  it('rejects arguments', async () => {
    const result = await run(normalizeCommand, ['extra'], '');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: fixloop normalize');
  });
});

import { PassThrough, Readable } from 'node:stream';
import { CliIo } from '../cli-command';
import { fingerprintMessage } from '../../modules/dedup/normalizer/fingerprint-message';
import { normalizeCommand } from './normalize.command';

async function run(command: typeof normalizeCommand, args: string[], input: string | Buffer[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const io: CliIo = { stdin: Readable.from(typeof input === 'string' ? [input] : input), stdout, stderr };
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

  it('scrubs secrets before normalising, printing the template the service stores', async () => {
    const messages = [
      'Login failed for user=bob password=hunter22',
      'GitHub call failed with token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8',
      'Upload of "a\u0000b" failed',
    ];
    const result = await run(normalizeCommand, [], messages.join('\n'));
    const lines = result.stdout.split('\n').slice(0, -1);
    expect(lines).toEqual(messages.map((m) => fingerprintMessage('s', 'f', m).normalized));
    expect(lines[0]).toBe('Login failed for user=bob password=*'); // the redacted secret is a variable
    expect(lines[0]).not.toContain('hunter');
    expect(lines[1]).not.toContain('ghp_');
  });

  it('splits lines at \\n only: a lone \\r stays in its message, and UTF-8 split across chunks is whole', async () => {
    const bytes = Buffer.from('first\rstill first 1\nzürich 2\r\n');
    const cut = bytes.indexOf(Buffer.from('ü')) + 1; // inside the two bytes of ü
    const result = await run(normalizeCommand, [], [bytes.subarray(0, cut), bytes.subarray(cut)]);
    expect(result.stdout).toBe('first still first *\nzürich *\n'); // one line out per line in: \r is whitespace to the normaliser
  });

  it('rejects arguments', async () => {
    await expect(run(normalizeCommand, ['extra'], '')).rejects.toThrow('unexpected argument extra');
  });
});

import { PassThrough, Readable } from 'node:stream';
import { fingerprint } from '../../modules/dedup/normalizer/fingerprint';
import { CliIo } from '../cli-command';
import { groupCommand } from './group.command';

async function run(command: typeof groupCommand, args: string[], input: string) {
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

const INPUT = [
  'Export failed: template /srv/invoice.pdf missing',
  'Export failed: template /srv/receipt.pdf missing',
  'Stripe API error: card_declined for cus_abc123',
  'Export failed: template /srv/label.pdf missing',
  'Stripe API error: card_declined for cus_zz9',
].join('\n');

describe('groupCommand', () => {
  const key = (template: string) => fingerprint('api', 'exports', template);
  const invoice = key('Export failed: template /srv/invoice.pdf missing');
  const receipt = key('Export failed: template /srv/receipt.pdf missing');
  const stripe = key('Stripe API error: card_declined for cus_*');

  it('prints the group each message belongs to once all input is read', async () => {
    const result = await run(groupCommand, ['--source', 'api', '--feature', 'exports'], INPUT);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([invoice, invoice, stripe, invoice, stripe, '']);
  });

  it('prints the group each message got when it arrived with --at-arrival', async () => {
    const result = await run(groupCommand, ['--source', 'api', '--feature', 'exports', '--at-arrival'], INPUT);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([invoice, receipt, stripe, invoice, stripe, '']);
  });

  it('scopes keys by source and feature', async () => {
    const result = await run(groupCommand, ['--source', 'worker'], 'Stripe API error: card_declined for cus_abc123\n');
    expect(result.stdout).toBe(`${fingerprint('worker', 'default', 'Stripe API error: card_declined for cus_*')}\n`);
  });

  it('streams large inputs line by line', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `Job ${i} failed on /q/${i % 7}/x`);
    const result = await run(groupCommand, [], `${lines.join('\n')}\n`);
    const keys = result.stdout.trimEnd().split('\n');
    expect(keys).toHaveLength(5000);
    expect(new Set(keys).size).toBe(1);
  });

  it('rejects unknown options', async () => {
    await expect(run(groupCommand, ['--bogus', 'x'], '')).rejects.toThrow('unknown option --bogus');
    await expect(run(groupCommand, ['--at-arrival=yes'], '')).rejects.toThrow('--at-arrival takes no value');
  });
});

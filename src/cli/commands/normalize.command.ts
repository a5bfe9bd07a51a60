import { StringDecoder } from 'node:string_decoder';
import { templateOf } from '../../modules/dedup/normalizer/fingerprint-message';
import { CliCommand, CliIo, parseOptions } from '../cli-command';

/** Writes lines in large chunks, waiting for the stream to drain when it asks to. */
export class LineWriter {
  private buffer: string[] = [];
  private size = 0;

  constructor(private readonly out: NodeJS.WritableStream) {}

  async write(line: string): Promise<void> {
    this.buffer.push(line);
    this.size += line.length + 1;
    if (this.size >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const chunk = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    this.size = 0;
    if (!this.out.write(chunk)) {
      await new Promise<void>((resolve) => this.out.once('drain', resolve));
    }
  }
}

/**
 * One message per line of stdin (UTF-8), in order: lines end at `\n`, a trailing `\r` is dropped,
 * and a lone `\r` inside a line is part of its message (readline would split there).
 */
export async function* readMessages(io: CliIo): AsyncIterable<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  for await (const chunk of io.stdin) {
    pending += typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    let start = 0;
    for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n', start)) {
      yield withoutCr(pending.slice(start, end));
      start = end + 1;
    }
    pending = pending.slice(start);
  }
  pending += decoder.end();
  if (pending !== '') yield withoutCr(pending);
}

function withoutCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

export const normalizeCommand: CliCommand = {
  name: 'normalize',
  summary:
    'Print the normalised form of each message read from stdin (one per line), secrets scrubbed first as the service does.',
  usage: 'normalize < messages.txt',
  async run(args: readonly string[], io: CliIo): Promise<number> {
    parseOptions(args);
    const writer = new LineWriter(io.stdout);
    for await (const message of readMessages(io)) await writer.write(templateOf(message).normalized);
    await writer.flush();
    return 0;
  },
};

import { createInterface } from 'node:readline';
import { normalizeMessage } from '../../modules/dedup/normalizer/message-normalizer';
import { CliCommand, CliIo } from '../cli-command';

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

/** One message per line of stdin, in order; a trailing `\r` is dropped. */
export function readMessages(io: CliIo): AsyncIterable<string> {
  return createInterface({ input: io.stdin, crlfDelay: Infinity, terminal: false });
}

export const normalizeCommand: CliCommand = {
  name: 'normalize',
  summary: 'Print the normalised form of each message read from stdin (one per line).',
  usage: 'fixloop normalize < messages.txt',
  async run(args: readonly string[], io: CliIo): Promise<number> {
    if (args.length > 0) {
      io.stderr.write(`normalize takes no arguments\nusage: ${normalizeCommand.usage}\n`);
      return 2;
    }
    const writer = new LineWriter(io.stdout);
    for await (const message of readMessages(io)) await writer.write(normalizeMessage(message));
    await writer.flush();
    return 0;
  },
};

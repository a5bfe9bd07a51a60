import { StringDecoder } from 'node:string_decoder';
import { templateOf } from '../../modules/dedup/normalizer/fingerprint-message';
import { CliCommand, CliIo, parseOptions } from '../cli-command';

/**
 * Writes lines in large chunks, waiting for the stream to drain when it asks to. A reader that goes
 * away (`fixloop normalize < app.log | head -1`: EPIPE) ends the output, as it ends any filter:
 * `write` and `flush` then answer false, write nothing more, and the command stops reading and exits
 * 0. Any other write error is thrown.
 */
export class LineWriter {
  private buffer: string[] = [];
  private size = 0;
  private readerGone = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly out: NodeJS.WritableStream) {
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.readerGone = true;
      else this.failure ??= err;
      this.wake?.();
    });
  }

  /** Queues one line; false once the reader has gone (stop producing). */
  async write(line: string): Promise<boolean> {
    if (this.readerGone) return false;
    this.buffer.push(line);
    this.size += line.length + 1;
    return this.size >= 64 * 1024 ? this.flush() : true;
  }

  /** Writes what is queued; false once the reader has gone. */
  async flush(): Promise<boolean> {
    if (this.failure) throw this.failure;
    if (this.readerGone) return false;
    if (this.buffer.length === 0) return true;
    const chunk = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    this.size = 0;
    if (!this.out.write(chunk)) {
      // `drain`, or an error: a stream that failed never drains
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.out.off('drain', done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        this.out.once('drain', done);
      });
    }
    if (this.failure) throw this.failure;
    return !this.readerGone;
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
    for await (const message of readMessages(io)) {
      if (!(await writer.write(templateOf(message).normalized))) break;
    }
    await writer.flush();
    return 0;
  },
};

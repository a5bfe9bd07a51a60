import { LoggerService, LogLevel } from '@nestjs/common';
import { scrubJsonSecrets } from '../security/secret-scrubber';
import { currentCorrelationId } from './request-context';

const ORDER: LogLevel[] = ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'];

/**
 * One JSON object per line (or a readable line with LOG_FORMAT=pretty), carrying the
 * correlation id of the request or job that logged it.
 *
 * Log lines leave the service (a log shipper, Loki, a support ticket), and many quote input: a
 * receiver or label value, a database error that quotes the value it refused, an error's message
 * and stack, an admin's reason, an answer of GitHub or Loki. Every line is scrubbed of secrets as it
 * is written, whoever logged it (Nest's own lines included), like every other place text leaves.
 */
export class JsonLogger implements LoggerService {
  private minIndex: number;

  constructor(
    private readonly format: 'json' | 'pretty' = 'json',
    minLevel: LogLevel = 'log',
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {
    this.minIndex = ORDER.indexOf(minLevel);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }
  setLogLevels(levels: LogLevel[]): void {
    const lowest = ORDER.find((l) => levels.includes(l));
    if (lowest) this.minIndex = ORDER.indexOf(lowest);
  }

  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (ORDER.indexOf(level) < this.minIndex) return;
    const params = [...rest];
    const context = typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    const entry: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      context,
      correlationId: currentCorrelationId(),
    };
    if (message instanceof Error) {
      entry.msg = message.message;
      entry.err = { name: message.name, stack: message.stack };
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(entry, message);
    } else {
      entry.msg = String(message);
    }
    for (const p of params) {
      if (typeof p === 'string' && level === 'error') entry.stack = p;
      else if (p !== undefined) entry.extra = p;
    }
    // As plain JSON first (an Error or a class instance becomes what JSON.stringify makes of it),
    // so that the scrubber reaches every string, keys included.
    const plain = JSON.parse(JSON.stringify(entry)) as Record<string, unknown>;
    const scrubbed = scrubJsonSecrets(plain).value;
    const line = this.format === 'json' ? JSON.stringify(scrubbed) : prettyLine(scrubbed, level, context);
    this.out.write(`${line}\n`);
  }
}

function prettyLine(entry: Record<string, unknown>, level: LogLevel, context: string | undefined): string {
  const { time, msg, correlationId, level: _l, context: _c, ...rest } = entry;
  const tail = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  const corr = typeof correlationId === 'string' ? ` (${correlationId})` : '';
  return `${String(time)} ${level.toUpperCase()} [${context ?? '-'}] ${String(msg ?? '')}${corr}${tail}`;
}

import { Writable } from 'node:stream';
import { JsonLogger } from './json-logger';
import { SecretRow, readCorpus } from '../../../test/support/corpora';

// a secret shorter than 12 characters could turn up by chance (a time stamp, a word)
const positives = readCorpus<SecretRow>('secrets.jsonl.gz').filter((r) => r.secret.length >= 12);
const negatives = readCorpus<{ text: string }>('secrets-negatives.jsonl.gz');

/** A logger writing to memory: one string per line written. */
function capture(format: 'json' | 'pretty'): { logger: JsonLogger; lines: string[] } {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: new JsonLogger(format, 'verbose', out), lines };
}

const leaked = (text: string): string[] =>
  positives
    .filter((r) => [r.secret, ...(r.other_secrets ?? [])].some((s) => s.length >= 12 && text.includes(s)))
    .map((r) => r.format);

describe(JsonLogger.name, () => {
  it.each(['json', 'pretty'] as const)('writes no secret of the corpus, however it is logged (%s)', (format) => {
    const { logger, lines } = capture(format);
    for (const r of positives) {
      logger.warn(`alert webhook ${r.text} dropped 3 alerts`, 'IngestService');
      logger.error({ msg: 'dispatch failed', reason: r.text, err: { message: r.text } }, 'SpawnDispatchService');
      logger.error(new Error(`duplicate key value violates unique constraint: Key (x)=(${r.text}) already exists`));
      logger.log({ msg: 'labels', labels: { [r.text]: r.text } }, 'Ingest');
      logger.error('unhandled', `Error: ${r.text}\n    at handler (/app/src/x.js:1:1)`, 'Errors');
    }
    expect(lines).toHaveLength(positives.length * 5);
    expect(lines.join('\n')).toContain('[REDACTED:');
    expect(leaked(lines.join('\n'))).toEqual([]);
  });

  it('keeps look-alikes and the shape of the line', () => {
    const { logger, lines } = capture('json');
    for (const n of negatives) logger.warn({ msg: n.text, n: 1 }, 'Ctx');
    expect(lines.every((l) => l.endsWith('}\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual(
      negatives.map((n) => expect.objectContaining({ level: 'warn', context: 'Ctx', msg: n.text, n: 1 })),
    );
  });
});

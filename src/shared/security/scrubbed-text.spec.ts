import { clipText } from '../database/pg-text';
import { scrubSecrets } from './secret-scrubber';
import { errorLine, scrubbedText } from './scrubbed-text';
import { readCorpus } from '../../../test/support/corpora';

const SECRETS = readCorpus<{ format: string; text: string; secret: string }>('secrets.jsonl.gz');
const NEGATIVES = readCorpus<{ format: string; text: string }>('secrets-negatives.jsonl.gz');
/** A run of this many characters of a secret is enough to matter (and too long to turn up by chance). */
const FRAGMENT = 8;

/** Every FRAGMENT-long piece of each secret that the whole text, scrubbed, does not hold anyway. */
function piecesOf(row: { text: string; secret: string }): string[] {
  const whole = scrubSecrets(row.text).text;
  const pieces: string[] = [];
  for (let i = 0; i + FRAGMENT <= row.secret.length; i++) {
    const piece = row.secret.slice(i, i + FRAGMENT);
    if (!whole.includes(piece)) pieces.push(piece);
  }
  return pieces;
}

/** The formats whose secret leaves a piece in `clip(text, at)` for some cut inside the secret. */
function leaks(clip: (text: string, maxUnits: number) => string): string[] {
  const out = new Set<string>();
  for (const row of SECRETS) {
    const pieces = piecesOf(row);
    if (pieces.length === 0) continue;
    const start = row.text.indexOf(row.secret);
    if (start < 0) continue;
    // every cut from just inside the secret to the end of the text (a closing tag or quote included)
    for (let at = start + FRAGMENT; at <= row.text.length; at++) {
      const clipped = clip(row.text, at);
      if (pieces.some((p) => clipped.includes(p))) {
        out.add(row.format);
        break;
      }
    }
  }
  return [...out].sort();
}

describe(scrubbedText.name, () => {
  it('keeps no piece of a secret of the corpus, wherever the clip falls (scrubs first, clips after)', () => {
    expect(SECRETS.length).toBeGreaterThan(300);
    expect(leaks(scrubbedText)).toEqual([]);
  });

  it('is what clipping first would not be: a cut secret escapes the scrubber (the kraken <krakenToken> form)', () => {
    const clipFirst = (text: string, maxUnits: number): string => scrubSecrets(clipText(text, maxUnits)).text;
    const escaped = leaks(clipFirst);
    expect(escaped.length).toBeGreaterThan(0);
    expect(escaped.some((format) => /kraken/i.test(format))).toBe(true);
  });

  it('keeps the look-alikes of the corpus whole, and clips them where asked', () => {
    expect(NEGATIVES.length).toBeGreaterThan(50);
    const changed = NEGATIVES.filter((r) => scrubbedText(r.text) !== r.text).map((r) => r.format);
    expect(changed).toEqual([]);
    for (const r of NEGATIVES) expect(scrubbedText(r.text, 20)).toBe(clipText(r.text, 20));
  });

  it('makes text storable and clips a surrogate pair whole', () => {
    expect(scrubbedText('a\u0000b')).toBe('a\ufffdb');
    expect(scrubbedText('ab\u{1F600}', 3)).toBe('ab');
  });

  it('keeps an error to its first line, scrubbed before it is cut', () => {
    const token = 'ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
    expect(errorLine(`Bad credentials ${token}\n    at call (x.js:1:1)`)).toBe(
      scrubbedText(`Bad credentials ${token}`),
    );
    expect(errorLine(`${'x'.repeat(290)} ${token}`)).not.toContain('ghp_A1b2');
    expect(errorLine('y'.repeat(400))).toHaveLength(300);
  });
});

import { EmbeddingProvider } from './embedding-provider';

const DIMENSIONS = 384;

/**
 * The default embedder: local, no network, no model download. Feature hashing (the "hashing
 * trick") of word unigrams, word bigrams and character trigrams into 384 signed buckets, weighted,
 * then L2-normalised, so the dot product is the cosine similarity. It knows no synonyms; it does
 * know that two stack-trace-like messages sharing identifiers, error names and phrasing are close,
 * which is what matching a fix PR to an error needs. An OpenAI-compatible model is the upgrade.
 */
export class HashingEmbeddingProvider implements EmbeddingProvider {
  readonly model = `fixloop-hash-v1-${DIMENSIONS}`;

  embed(texts: string[]): Promise<number[][]> {
    return Promise.resolve(texts.map((t) => hashingEmbedding(t)));
  }
}

const STOP_WORDS = new Set(
  'a an the of to in on at for and or is are was were be been it this that with by from as not no fix fixes fixed'.split(
    ' ',
  ),
);

/** Words: lower case, split on anything but letters/digits, camelCase and snake_case split too. */
export function tokenize(text: string): string[] {
  const words: string[] = [];
  for (const raw of text.split(/[^\p{L}\p{N}]+/u)) {
    if (!raw) continue;
    const parts = raw.split(/(?<=[\p{Ll}\p{N}])(?=\p{Lu})|(?<=\p{Lu})(?=\p{Lu}\p{Ll})/u).map((p) => p.toLowerCase());
    const whole = raw.toLowerCase();
    if (/^\d+$/.test(whole)) {
      words.push('<num>');
      continue;
    }
    if (parts.length > 1) words.push(...parts);
    words.push(whole);
  }
  return words.filter((w) => !STOP_WORDS.has(w));
}

export function hashingEmbedding(text: string, dims = DIMENSIONS): number[] {
  const v = new Array<number>(dims).fill(0);
  const add = (feature: string, weight: number): void => {
    const h = fnv1a(feature);
    const index = h % dims;
    const sign = (h >>> 31) & 1 ? -1 : 1;
    v[index]! += sign * weight;
  };
  const words = tokenize(text);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    add(`w:${w}`, 1);
    if (i + 1 < words.length) add(`b:${w} ${words[i + 1]!}`, 0.7);
    if (w.length >= 4) {
      const padded = `#${w}#`;
      for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, 0.25);
    }
  }
  // Sub-linear term frequency: a word repeated in a long stack trace should not dominate.
  for (let i = 0; i < dims; i++) v[i] = Math.sign(v[i]!) * Math.sqrt(Math.abs(v[i]!));
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  if (norm === 0) {
    v[0] = 1; // empty text: a fixed unit vector, so cosine distances stay defined
    return v;
  }
  return v.map((x) => x / norm);
}

/** 32-bit FNV-1a over UTF-16 code units (stable across processes and versions). */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

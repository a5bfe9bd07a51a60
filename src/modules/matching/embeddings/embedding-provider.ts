/** Turns texts into vectors. The model name is stored beside every vector: only vectors of one model compare. */
export interface EmbeddingProvider {
  /** e.g. `fixloop-hash-v1-384` or `openai:text-embedding-3-small`. */
  readonly model: string;
  embed(texts: string[]): Promise<number[][]>;
}

export const EMBEDDING_PROVIDER = Symbol('EMBEDDING_PROVIDER');

/** pgvector's text form: `[0.1,0.2,...]`. */
export function toVectorLiteral(v: readonly number[]): string {
  return `[${v.map((x) => (Number.isFinite(x) ? Number(x.toPrecision(7)) : 0)).join(',')}]`;
}

export function parseVectorLiteral(text: string): number[] {
  return text
    .replace(/^\[|\]$/g, '')
    .split(',')
    .filter((s) => s.trim() !== '')
    .map(Number);
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

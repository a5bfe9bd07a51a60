import { postJson, trimSlash } from '../judge/llm-judge';
import { EmbeddingProvider } from './embedding-provider';

export const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small';

/**
 * An OpenAI-compatible `/embeddings` endpoint (EMBEDDING_BASE_URL includes the version segment,
 * e.g. `https://api.openai.com/v1`). Vectors are L2-normalised so cosine = dot product.
 */
export class OpenAiEmbeddingProvider implements EmbeddingProvider {
  readonly model: string;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string | undefined,
    private readonly modelName: string,
    private readonly timeoutMs: number,
  ) {
    this.model = `openai:${modelName}`;
  }

  async embed(texts: string[]): Promise<number[][]> {
    if (texts.length === 0) return [];
    const headers: Record<string, string> = this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
    const res = (await postJson(
      `${trimSlash(this.baseUrl)}/embeddings`,
      { model: this.modelName, input: texts.map((t) => t.slice(0, 8000) || ' '), encoding_format: 'float' },
      headers,
      this.timeoutMs,
    )) as { data?: { index: number; embedding: number[] }[] };
    const data = [...(res.data ?? [])].sort((a, b) => a.index - b.index);
    if (data.length !== texts.length)
      throw new Error(`embeddings endpoint returned ${data.length} vectors for ${texts.length} texts`);
    return data.map((d) => {
      const norm = Math.sqrt(d.embedding.reduce((s, x) => s + x * x, 0));
      return norm === 0 ? d.embedding : d.embedding.map((x) => x / norm);
    });
  }
}

import {
  JUDGE_SYSTEM_PROMPT,
  JudgeCandidate,
  JudgePullRequest,
  JudgeVerdict,
  LlmJudge,
  judgePrompt,
  parseVerdict,
  postJson,
  trimSlash,
} from './llm-judge';

export const DEFAULT_GEMINI_MODEL = 'gemini-2.5-flash';

/**
 * Gemini through the generateContent REST API with a response schema (controlled generation):
 * `POST {GEMINI_BASE_URL}/v1beta/models/{model}:generateContent`, key in `x-goog-api-key`; the
 * verdict is the JSON text of `candidates[0].content.parts[0].text`.
 */
export class GeminiJudge implements LlmJudge {
  readonly name: string;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly model: string,
    private readonly timeoutMs: number,
  ) {
    this.name = `gemini:${model}`;
  }

  async judge(pr: JudgePullRequest, candidates: JudgeCandidate[]): Promise<JudgeVerdict> {
    const url = `${trimSlash(this.baseUrl)}/v1beta/models/${encodeURIComponent(this.model)}:generateContent`;
    const body = {
      systemInstruction: { parts: [{ text: JUDGE_SYSTEM_PROMPT }] },
      contents: [{ role: 'user', parts: [{ text: judgePrompt(pr, candidates) }] }],
      generationConfig: {
        temperature: 0,
        responseMimeType: 'application/json',
        responseSchema: {
          type: 'OBJECT',
          properties: {
            issueIdentifier: {
              type: 'STRING',
              nullable: true,
              description: 'Identifier of the issue this PR fixes, or null',
            },
            confidence: { type: 'NUMBER', description: 'Confidence from 0 to 1' },
            reasoning: { type: 'STRING', description: 'One or two sentences of evidence' },
          },
          required: ['issueIdentifier', 'confidence', 'reasoning'],
          propertyOrdering: ['issueIdentifier', 'confidence', 'reasoning'],
        },
      },
    };
    const res = (await postJson(url, body, { 'x-goog-api-key': this.apiKey }, this.timeoutMs)) as {
      candidates?: { content?: { parts?: { text?: string }[] }; finishReason?: string }[];
      promptFeedback?: { blockReason?: string };
    };
    if (res.promptFeedback?.blockReason)
      throw new Error(`Gemini blocked the prompt: ${res.promptFeedback.blockReason}`);
    const first = res.candidates?.[0];
    const text = first?.content?.parts?.map((p) => p.text ?? '').join('') ?? '';
    if (!text) throw new Error(`Gemini returned no text (finishReason ${first?.finishReason ?? 'none'})`);
    return parseVerdict(JSON.parse(text) as unknown);
  }
}

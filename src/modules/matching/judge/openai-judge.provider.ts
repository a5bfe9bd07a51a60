import {
  JUDGE_SYSTEM_PROMPT,
  JudgeCandidate,
  JudgePullRequest,
  JudgeVerdict,
  LlmJudge,
  VERDICT_JSON_SCHEMA,
  judgePrompt,
  parseVerdict,
  postJson,
  trimSlash,
} from './llm-judge';

/**
 * Any OpenAI-compatible chat completions endpoint (OpenAI, Azure-style gateways, vLLM, Ollama,
 * LiteLLM): `POST {LLM_BASE_URL}/chat/completions` with `response_format: json_schema` (strict);
 * the verdict is the JSON text of `choices[0].message.content`. LLM_BASE_URL includes the version
 * segment, e.g. `https://api.openai.com/v1`.
 */
export class OpenAiCompatibleJudge implements LlmJudge {
  readonly name: string;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string | undefined,
    private readonly model: string,
    private readonly timeoutMs: number,
  ) {
    this.name = `openai-compatible:${model}`;
  }

  async judge(pr: JudgePullRequest, candidates: JudgeCandidate[]): Promise<JudgeVerdict> {
    const body = {
      model: this.model,
      temperature: 0,
      messages: [
        { role: 'system', content: JUDGE_SYSTEM_PROMPT },
        { role: 'user', content: judgePrompt(pr, candidates) },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'pr_issue_verdict', strict: true, schema: VERDICT_JSON_SCHEMA },
      },
    };
    const headers: Record<string, string> = this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {};
    const res = (await postJson(`${trimSlash(this.baseUrl)}/chat/completions`, body, headers, this.timeoutMs)) as {
      choices?: { message?: { content?: string | null; refusal?: string | null }; finish_reason?: string }[];
    };
    const message = res.choices?.[0]?.message;
    if (message?.refusal) throw new Error(`the model refused: ${message.refusal}`);
    const content = message?.content;
    if (!content)
      throw new Error(`chat completion had no content (finish_reason ${res.choices?.[0]?.finish_reason ?? 'none'})`);
    return parseVerdict(JSON.parse(content) as unknown);
  }
}

import {
  IssueContextInput,
  MAX_DISPATCH_INPUT_CHARS,
  buildDispatch,
  buildErrorContext,
  fenced,
  identifierFromRunName,
  runNameFor,
  safeTitle,
  trimInputs,
  truncationMarker,
} from './dispatch-inputs';

const issue = (over: Partial<IssueContextInput> = {}): IssueContextInput => ({
  issueId: '0b6f7d1e-8f43-4c1b-9d53-1f1d3a9d4a10',
  identifier: 'CHIPP-42',
  title: 'TypeError in checkout',
  description: null,
  source: 'checkout-api',
  feature: 'payments',
  normalizedMessage: 'TypeError: Cannot read properties of undefined (reading <str>)',
  priority: 2,
  status: 'triage',
  eventCount: 17,
  firstSeenAt: new Date('2026-11-26T06:00:00Z'),
  lastSeenAt: new Date('2026-11-26T06:05:00Z'),
  fingerprints: ['fp-1'],
  attempt: 1,
  samples: [
    {
      occurredAt: new Date('2026-11-26T06:05:00Z'),
      fingerprint: 'fp-1',
      level: 'error',
      version: '1.4.2',
      count: 1,
      message: 'TypeError: Cannot read properties of undefined (reading "total")',
      stack: 'at checkout (cart.ts:12)',
    },
  ],
  ...over,
});

const target = { owner: 'acme', repo: 'shop', workflowId: 'auto-investigate.yml', ref: 'staging' };

describe('dispatch inputs', () => {
  it('names runs as the workflow does and reads identifiers back', () => {
    expect(runNameFor('CHIPP-42')).toBe('fixloop CHIPP-42');
    expect(identifierFromRunName('fixloop CHIPP-42')).toBe('CHIPP-42');
    expect(identifierFromRunName('fixloop chipp-42')).toBeNull();
    expect(identifierFromRunName('CI')).toBeNull();
    expect(identifierFromRunName(null)).toBeNull();
  });

  it('fences text with a fence longer than any backtick run inside it', () => {
    expect(fenced('plain')).toBe('```text\nplain\n```');
    expect(fenced('a ```` b')).toBe('`````text\na ```` b\n`````');
  });

  it('builds a title from the identifier and plain labels only', () => {
    expect(safeTitle('CHIPP-1', 'checkout api', 'pay$ments; rm -rf')).toBe(
      'CHIPP-1: production error in checkout-api / pay-ments-rm-rf',
    );
    expect(safeTitle('CHIPP-1', '', '@@@')).toBe('CHIPP-1: production error in unknown / unknown');
  });

  it('leaves a secret in a label out of the title, marker and all', () => {
    const title = safeTitle('CHIPP-2', 'billing token=ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'api');
    expect(title).toBe('CHIPP-2: production error in billing-token / api');
    expect(title).not.toMatch(/ghp_|16C7e42F|REDACTED/);
  });

  it('puts the template, samples and the previous attempt into the error context, secrets scrubbed', () => {
    const text = buildErrorContext(
      issue({
        samples: [{ ...issue().samples[0], message: 'connect failed postgres://app:hunter2secret@db:5432/shop' }],
        previous: {
          attempt: 1,
          state: 'completed',
          summary: 'Guarded the total',
          pr: {
            number: 7,
            url: 'https://x/pull/7',
            title: 't',
            state: 'merged',
            headBranch: 'b',
            mergeCommitSha: 'abc',
          },
        },
      }),
    );
    expect(text).toContain('## Message template');
    expect(text).toContain('## Previous attempt (1)');
    expect(text).toContain('pull request #7 (merged) https://x/pull/7');
    expect(text).toContain('Guarded the total');
    expect(text).not.toContain('hunter2secret');
    expect(text).toContain('[REDACTED:');
  });

  it('sends the seven workflow inputs and the exact request', () => {
    const built = buildDispatch(target, issue());
    expect(built.runName).toBe('fixloop CHIPP-42');
    expect(built.truncatedChars).toBe(0);
    expect(built.request).toMatchObject({
      owner: 'acme',
      repo: 'shop',
      workflow_id: 'auto-investigate.yml',
      ref: 'staging',
      return_run_details: true,
    });
    expect(Object.keys(built.request.inputs).sort()).toEqual([
      'description',
      'error_context',
      'feature',
      'identifier',
      'issue_id',
      'source',
      'title',
    ]);
  });

  it('trims only error_context, to the limit, with the marker, deterministically', () => {
    const inputs = { identifier: 'CHIPP-1', error_context: `${'a"\\\n'.repeat(30_000)}tail` };
    const a = trimInputs(inputs, 'error_context', 1000);
    const b = trimInputs(inputs, 'error_context', 1000);
    expect(a).toEqual(b);
    expect(JSON.stringify(a.inputs).length).toBeLessThanOrEqual(1000);
    expect(JSON.stringify(a.inputs).length).toBeGreaterThan(990);
    expect(a.inputs.identifier).toBe('CHIPP-1');
    expect(a.inputs.error_context.endsWith(truncationMarker(a.truncatedChars))).toBe(true);
    expect(a.inputs.error_context.length - truncationMarker(a.truncatedChars).length + a.truncatedChars).toBe(
      inputs.error_context.length,
    );
    expect(trimInputs({ error_context: 'short' }, 'error_context')).toEqual({
      inputs: { error_context: 'short' },
      truncatedChars: 0,
    });
  });

  it('never splits a surrogate pair when trimming', () => {
    const text = '😀'.repeat(5000);
    for (const limit of [500, 501, 502, 503]) {
      const { inputs } = trimInputs({ error_context: text }, 'error_context', limit);
      const kept = inputs.error_context.slice(0, inputs.error_context.indexOf('\n…[truncated'));
      expect(kept.length % 2).toBe(0);
      expect(JSON.stringify(inputs).length).toBeLessThanOrEqual(limit);
    }
  });

  it('keeps a full dispatch within GitHub’s 65,535 characters whatever the samples', () => {
    const samples = Array.from({ length: 20 }, (_, i) => ({
      ...issue().samples[0],
      message: `${i} ${'\u0001"'.repeat(20_000)}`,
    }));
    const built = buildDispatch(target, issue({ samples }));
    expect(JSON.stringify(built.request.inputs).length).toBeLessThanOrEqual(MAX_DISPATCH_INPUT_CHARS);
    expect(built.truncatedChars).toBeGreaterThan(0);
  });
});

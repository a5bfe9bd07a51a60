import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import { DATABASE_CAPABILITIES, DatabaseCapabilities } from '../../../src/shared/database/database-kind';
import { DomainEventBus } from '../../../src/shared/events/domain-event-bus';
import { IssueCreated, PullRequestLinked } from '../../../src/shared/events/event-catalogue';
import { IssueEmbeddingService } from '../../../src/modules/matching/issue-embedding.service';
import { seedIssue } from '../../factories/issue.factory';
import { IssueLinksRepository } from '../../../src/modules/matching/issue-links.repository';
import { adminAuth, agentAuth, overrideConfig, useTestApp } from '../../support/test-app';
import { deliver, prPayload } from '../github/webhook-support';
import { FakeLlmServer } from './fake-llm';

/** Webhook and LLM payloads: deep fixture JSON, read and mutated by path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

interface Step {
  step: string;
  status: string;
  reason: string;
  details?: Record<string, Loose>;
}

async function latestRun(ds: DataSource, prNumber: number): Promise<{ outcome: string; steps: Step[] }> {
  const rows = (await ds.query(
    `SELECT outcome, steps FROM pr_match_runs WHERE pr_number = $1 ORDER BY created_at DESC LIMIT 1`,
    [prNumber],
  )) as { outcome: string; steps: Step[] }[];
  if (!rows[0]) throw new Error(`no match run for PR ${prNumber}`);
  return rows[0];
}

async function linksOf(ds: DataSource, prNumber: number) {
  return (await ds.query(
    `SELECT i.identifier, p.match_method, p.match_score, p.match_evidence, p.state
       FROM issue_prs p JOIN issues i ON i.id = p.issue_id WHERE p.pr_number = $1 ORDER BY i.number`,
    [prNumber],
  )) as {
    identifier: string;
    match_method: string;
    match_score: number | null;
    match_evidence: Record<string, Loose>;
    state: string;
  }[];
}

const step = (run: { steps: Step[] }, name: string): Step => run.steps.find((s) => s.step === name)!;

/** Real error templates (Node/Prisma/Stripe messages as services log them). */
const ERRORS = {
  cart: "TypeError: Cannot read properties of undefined (reading 'items') at CartService.total (cart.service.ts:<num>)",
  db: 'Error: connect ECONNREFUSED <ip>:<num> at TCPConnectWrap.afterConnect [as oncomplete]',
  stripe: 'StripeSignatureVerificationError: No signatures found matching the expected signature for payload',
};

describe('PR matching: identifier, semantic, LLM judge', () => {
  describe('without an LLM provider', () => {
    const t = useTestApp();
    let caps: DatabaseCapabilities;
    beforeAll(() => {
      caps = t.app.get(DATABASE_CAPABILITIES);
    });

    it('step 1 links every identifier in title, branch and body (word-bounded), with evidence and history', async () => {
      const a = await seedIssue(t.dataSource, { title: 'Cart total crashes' });
      const b = await seedIssue(t.dataSource, { title: 'Checkout timeout' });
      const linked: PullRequestLinked[] = [];
      const emitter = t.app.get(EventEmitter2);
      const onLinked = (e: PullRequestLinked) => void linked.push(e);
      emitter.on('pull_request.linked', onLinked);
      try {
        const body = `Fixes both.\n\nRefs ${b.identifier}. Not X${a.identifier}9.`;
        const res = await deliver(
          t.http,
          'pull_request',
          prPayload({ number: 11, title: 'Guard cart total', head: `fix/${a.identifier.toLowerCase()}-cart`, body }),
        ).expect(200);
        expect(res.body.linked).toEqual([
          { identifier: a.identifier, method: 'identifier' },
          { identifier: b.identifier, method: 'identifier' },
        ]);
      } finally {
        emitter.off('pull_request.linked', onLinked);
      }
      const links = await linksOf(t.dataSource, 11);
      expect(links.map((l) => [l.identifier, l.match_method, l.match_score])).toEqual([
        [a.identifier, 'identifier', 1],
        [b.identifier, 'identifier', 1],
      ]);
      expect(links[0]!.match_evidence).toMatchObject({ step: 'identifier', foundIn: ['branch'] });
      expect(links[1]!.match_evidence).toMatchObject({ step: 'identifier', foundIn: ['body'] });
      const run = await latestRun(t.dataSource, 11);
      expect(run.outcome).toBe('linked');
      expect(step(run, 'semantic')).toMatchObject({ status: 'skipped', reason: 'step 1 linked the PR by identifier' });
      expect(linked.map((e) => e.method)).toEqual(['identifier', 'identifier']);
      const history = (await t.dataSource.query(
        `SELECT actor, actor_type, field, to_value, reason FROM issue_history WHERE issue_id = $1 ORDER BY id`,
        [a.id],
      )) as { actor: string; actor_type: string; field: string; to_value: string; reason: string }[];
      expect(history).toEqual([
        expect.objectContaining({
          actor: 'system:github',
          actor_type: 'system',
          field: 'pull_request',
          to_value: 'Codertocat/Hello-World#11',
        }),
        expect.objectContaining({ actor: 'system:github', field: 'status', to_value: 'in_review' }),
      ]);
    });

    it("does not match an untrusted author's PR, whatever it names; a trusted login or association is matched", async () => {
      const issue = await seedIssue(t.dataSource);
      const title = `${issue.identifier}: fix the cart total`;
      /** The issues PR `number` (titled with the identifier) gets linked to when opened by `author`. */
      const linkedWhenOpenedBy = async (number: number, author: string, authorAssociation: string) =>
        (await deliver(t.http, 'pull_request', prPayload({ number, title, author, authorAssociation })).expect(200))
          .body.linked as unknown[];
      const byIdentifier = [{ identifier: issue.identifier, method: 'identifier' }];

      expect(await linkedWhenOpenedBy(21, 'mallory', 'FIRST_TIME_CONTRIBUTOR')).toEqual([]);
      expect(await linksOf(t.dataSource, 21)).toEqual([]);
      const run = await latestRun(t.dataSource, 21);
      for (const name of ['identifier', 'semantic', 'llm']) {
        expect(step(run, name)).toMatchObject({
          status: 'skipped',
          reason: expect.stringContaining('the author mallory (FIRST_TIME_CONTRIBUTOR) is not trusted'),
        });
      }
      const [{ status }] = (await t.dataSource.query(`SELECT status FROM issues WHERE id = $1`, [issue.id])) as {
        status: string;
      }[];
      expect(status).toBe('triage');

      // Once the author is trusted, the PR's next event is matched: the skipped run does not count
      // as having read the PR's text.
      const [{ text_hash }] = (await t.dataSource.query(
        `SELECT text_hash FROM pr_match_runs WHERE pr_number = 21`,
      )) as { text_hash: string }[];
      expect(await t.app.get(IssueLinksRepository).latestRunWithText('Codertocat', 'Hello-World', 21, text_hash)).toBe(
        null,
      );
      const restore = overrideConfig(t, { PR_TRUSTED_AUTHORS: ['claude[bot]', 'mallory'] });
      try {
        expect(await linkedWhenOpenedBy(21, 'mallory', 'FIRST_TIME_CONTRIBUTOR')).toEqual(byIdentifier);
      } finally {
        restore();
      }

      // The agent's bot (PR_TRUSTED_AUTHORS, any case) and a member (PR_TRUSTED_ASSOCIATIONS) are matched.
      expect(await linkedWhenOpenedBy(22, 'Claude[bot]', 'NONE')).toEqual(byIdentifier);
      expect(await linkedWhenOpenedBy(23, 'alice', 'member')).toEqual(byIdentifier);
    });

    it('an identifier of an issue merged into another links the surviving issue', async () => {
      const target = await seedIssue(t.dataSource);
      const merged = await seedIssue(t.dataSource, { status: 'closed' });
      await t.dataSource.query(`UPDATE issues SET merged_into_id = $1 WHERE id = $2`, [target.id, merged.id]);
      const res = await deliver(
        t.http,
        'pull_request',
        prPayload({ number: 12, title: `Fix ${merged.identifier}` }),
      ).expect(200);
      expect(res.body.linked).toEqual([{ identifier: target.identifier, method: 'identifier' }]);
    });

    it('step 2 links by embedding above threshold and margin (pgvector), or is skipped and says how to enable it', async () => {
      const cart = await seedIssue(t.dataSource, { title: ERRORS.cart, normalizedMessage: ERRORS.cart });
      await seedIssue(t.dataSource, { title: ERRORS.db, normalizedMessage: ERRORS.db });
      await seedIssue(t.dataSource, { title: ERRORS.stripe, normalizedMessage: ERRORS.stripe });
      const embedded = await t.app.get(IssueEmbeddingService).embedMissing();
      const res = await deliver(
        t.http,
        'pull_request',
        prPayload({
          number: 13,
          title: 'Guard against undefined cart items in CartService.total',
          body: "Fixes TypeError: Cannot read properties of undefined (reading 'items') when the cart is empty.",
          head: 'fix/cart-total',
        }),
      ).expect(200);
      const run = await latestRun(t.dataSource, 13);
      if (caps.pgvector) {
        expect(embedded).toBeGreaterThanOrEqual(3);
        expect(res.body.linked).toEqual([{ identifier: cart.identifier, method: 'semantic' }]);
        const semantic = step(run, 'semantic');
        expect(semantic.status).toBe('matched');
        expect(semantic.details).toMatchObject({ model: 'fixloop-hash-v1-384', threshold: 0.5, margin: 0.08 });
        expect(semantic.details!.top[0]).toMatchObject({ identifier: cart.identifier, similarity: expect.any(Number) });
        expect(semantic.details!.top[0].similarity).toBeGreaterThanOrEqual(0.5);
        const [link] = await linksOf(t.dataSource, 13);
        expect(link).toMatchObject({ match_method: 'semantic', identifier: cart.identifier });
        expect(link!.match_score).toBeGreaterThanOrEqual(0.5);
        expect(step(run, 'llm')).toMatchObject({ status: 'skipped', reason: 'step 2 found a clear match' });
      } else {
        expect(embedded).toBe(0);
        expect(res.body.linked).toEqual([]);
        expect(step(run, 'semantic')).toMatchObject({
          status: 'skipped',
          reason: expect.stringMatching(/pgvector.*CREATE EXTENSION vector/),
        });
        expect(step(run, 'llm')).toMatchObject({
          status: 'skipped',
          reason: expect.stringMatching(/no LLM provider configured: set GEMINI_API_KEY/),
        });
        expect(run.outcome).toBe('unmatched');
      }
    });

    it('leaves a PR unmatched when nothing is close, recording each step, and does not re-run on an unchanged text', async () => {
      await deliver(
        t.http,
        'pull_request',
        prPayload({ number: 14, title: 'Bump eslint to 9', body: 'Dependency update.', head: 'deps/eslint' }),
      ).expect(200);
      const run = await latestRun(t.dataSource, 14);
      expect(run.outcome).toBe('unmatched');
      expect(step(run, 'identifier')).toMatchObject({
        status: 'no_match',
        reason: 'no CHIPP-<n> in title, branch or body',
      });
      expect(step(run, 'llm').status).toBe('skipped');
      await deliver(
        t.http,
        'pull_request',
        prPayload({
          action: 'synchronize',
          number: 14,
          title: 'Bump eslint to 9',
          body: 'Dependency update.',
          head: 'deps/eslint',
        }),
      ).expect(200);
      const again = await latestRun(t.dataSource, 14);
      expect(step(again, 'semantic')).toMatchObject({
        status: 'skipped',
        reason: expect.stringMatching(/text is unchanged/),
      });
    });

    it('embeds an issue on issue.created (pgvector) and answers /similar with cosine scores, or 503 saying how to enable it', async () => {
      const a = await seedIssue(t.dataSource, {
        title: 'PaymentIntent confirm failed: card_declined for customer',
        normalizedMessage: 'PaymentIntent confirm failed: card_declined for customer <id>',
      });
      const b = await seedIssue(t.dataSource, {
        title: 'PaymentIntent confirm failed: expired_card for customer',
        normalizedMessage: 'PaymentIntent confirm failed: expired_card for customer <id>',
      });
      await seedIssue(t.dataSource, {
        title: 'Redis connection lost',
        normalizedMessage: 'Redis connection to <ip>:<num> lost',
      });
      const bus = t.app.get(DomainEventBus);
      for (const i of [a, b])
        await bus.emit('issue.created', new IssueCreated(i.id, i.identifier, 'fp', 'checkout-api', 'payments'));
      const [row] = (await t.dataSource.query(`SELECT embedding_model FROM issues WHERE id = $1`, [a.id])) as {
        embedding_model: string | null;
      }[];
      if (caps.pgvector) {
        expect(row!.embedding_model).toBe('fixloop-hash-v1-384');
        await t.app.get(IssueEmbeddingService).embedMissing();
        const res = await t.http.get(`/api/issues/${a.identifier}/similar?limit=3`).set(adminAuth).expect(200);
        expect(res.body.model).toBe('fixloop-hash-v1-384');
        expect(res.body.items[0]).toMatchObject({ identifier: b.identifier, similarity: expect.any(Number) });
        const scores = (res.body.items as { similarity: number }[]).map((i) => i.similarity);
        expect(scores).toEqual([...scores].sort((x, y) => y - x));
        expect(scores[0]).toBeGreaterThan(0.6);
        expect(res.body.items.map((i: { identifier: string }) => i.identifier)).not.toContain(a.identifier);
      } else {
        expect(row!.embedding_model).toBeNull();
        const res = await t.http.get(`/api/issues/${a.identifier}/similar`).set(adminAuth).expect(503);
        expect(res.body).toMatchObject({
          error: 'SIMILARITY_DISABLED',
          message: expect.stringContaining('CREATE EXTENSION vector'),
        });
      }
      await t.http.get(`/api/issues/${a.identifier}/similar`).set(agentAuth).expect(403);
      await t.http.get(`/api/issues/${a.identifier}/similar`).expect(401);
      if (caps.pgvector) await t.http.get('/api/issues/CHIPP-987654/similar').set(adminAuth).expect(404);
    });
  });

  for (const dialect of ['gemini', 'openai'] as const) {
    describe(`with the LLM judge (${dialect === 'gemini' ? 'Gemini generateContent' : 'OpenAI-compatible chat.completions'})`, () => {
      let llm: FakeLlmServer;
      let prNumber = dialect === 'gemini' ? 100 : 200;
      beforeAll(async () => {
        llm = await new FakeLlmServer(dialect).start();
      });
      const t = useTestApp(() => {
        const env =
          dialect === 'gemini'
            ? { GEMINI_API_KEY: 'test-gemini-key', GEMINI_BASE_URL: llm.url }
            : { LLM_BASE_URL: `${llm.url}/v1`, LLM_API_KEY: 'test-openai-key', LLM_MODEL: 'gpt-4o-mini' };
        // A margin no similarity can meet: step 2 always leaves the decision to the judge.
        return { ...env, MATCH_MARGIN: '1', MATCH_CANDIDATE_FLOOR: '0' };
      });
      afterAll(async () => {
        await llm.stop();
      });

      it('links at confidence >= 0.85 with the verdict as evidence, after a correctly shaped request', async () => {
        const cart = await seedIssue(t.dataSource, { title: ERRORS.cart, normalizedMessage: ERRORS.cart });
        await seedIssue(t.dataSource, { title: ERRORS.db, normalizedMessage: ERRORS.db });
        await t.app.get(IssueEmbeddingService).embedMissing();
        llm.answer({
          issueIdentifier: cart.identifier,
          confidence: 0.93,
          reasoning: 'The PR guards CartService.total against undefined items.',
        });
        const res = await deliver(
          t.http,
          'pull_request',
          prPayload({
            number: ++prNumber,
            title: 'Handle empty carts in the total',
            body: 'The total crashed for carts without items.',
          }),
        ).expect(200);
        expect(res.body.linked).toEqual([{ identifier: cart.identifier, method: 'llm' }]);
        const [link] = await linksOf(t.dataSource, prNumber);
        expect(link).toMatchObject({ match_method: 'llm', match_score: 0.93 });
        expect(link!.match_evidence).toMatchObject({
          step: 'llm',
          verdict: { issueIdentifier: cart.identifier, confidence: 0.93 },
        });
        const req = llm.requests.at(-1)!;
        if (dialect === 'gemini') {
          expect(req.url).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
          expect(req.headers['x-goog-api-key']).toBe('test-gemini-key');
          expect(req.body.generationConfig).toMatchObject({
            responseMimeType: 'application/json',
            responseSchema: { type: 'OBJECT' },
          });
          expect(req.body.contents[0].parts[0].text).toContain(cart.identifier);
        } else {
          expect(req.url).toBe('/v1/chat/completions');
          expect(req.headers.authorization).toBe('Bearer test-openai-key');
          expect(req.body).toMatchObject({
            model: 'gpt-4o-mini',
            response_format: { type: 'json_schema', json_schema: { strict: true } },
          });
          expect(req.body.messages[1].content).toContain(cart.identifier);
        }
      });

      it('does not link below 0.85, or a name that was not a candidate, and records why', async () => {
        const issue = await seedIssue(t.dataSource, { title: ERRORS.stripe, normalizedMessage: ERRORS.stripe });
        await t.app.get(IssueEmbeddingService).embedMissing();
        llm.answer({ issueIdentifier: issue.identifier, confidence: 0.6, reasoning: 'Possibly related.' });
        await deliver(
          t.http,
          'pull_request',
          prPayload({ number: ++prNumber, title: 'Webhook tweaks', body: 'Refactor.' }),
        ).expect(200);
        const low = await latestRun(t.dataSource, prNumber);
        expect(step(low, 'llm')).toMatchObject({
          status: 'no_match',
          reason: expect.stringMatching(/confidence 0.6, below 0.85/),
        });
        expect(await linksOf(t.dataSource, prNumber)).toEqual([]);
        llm.answer({ issueIdentifier: 'CHIPP-999999', confidence: 0.99, reasoning: 'Made up.' });
        await deliver(
          t.http,
          'pull_request',
          prPayload({ number: ++prNumber, title: 'Another change', body: 'Refactor.' }),
        ).expect(200);
        expect(step(await latestRun(t.dataSource, prNumber), 'llm')).toMatchObject({
          status: 'no_match',
          reason: expect.stringMatching(/not a candidate/),
        });
      });

      it('records a verdict or a provider error holding NUL or cut through an emoji as storable text, answering 200', async () => {
        const issue = await seedIssue(t.dataSource, {
          title: 'Avatar upload fails',
          normalizedMessage: 'Avatar upload fails',
        });
        await t.app.get(IssueEmbeddingService).embedMissing();
        // A NUL in the model's text, and an emoji cut in half by the 2000-character clip of its reasoning.
        llm.answer({ issueIdentifier: issue.identifier, confidence: 0.95, reasoning: 'Same \u0000 upload.' });
        llm.answer({
          issueIdentifier: issue.identifier,
          confidence: 0.2,
          reasoning: `${'a'.repeat(1999)}\u{1F600} more`,
        });
        // The provider's error body, quoted up to 300 characters, is cut through an emoji too.
        llm.fail(500, `${'e'.repeat(299)}\u{1F600} more`);
        const numbers = [++prNumber, ++prNumber, ++prNumber];
        for (const n of numbers) {
          await deliver(
            t.http,
            'pull_request',
            prPayload({ number: n, title: `Avatar change ${n}`, body: 'Uploads.' }),
          ).expect(200);
        }
        const [matched, clipped, failed] = await Promise.all(numbers.map((n) => latestRun(t.dataSource, n)));
        expect(step(matched!, 'llm')).toMatchObject({
          status: 'matched',
          details: { verdict: { reasoning: 'Same \ufffd upload.' } },
        });
        // The clip drops an emoji it would cut in half.
        expect(step(clipped!, 'llm').details!.verdict.reasoning).toBe('a'.repeat(1999));
        // So does the 300-character quote of the error body (it used to keep the half as U+FFFD).
        expect(step(failed!, 'llm')).toMatchObject({
          status: 'failed',
          reason: expect.stringMatching(/ 500: e{299}$/),
        });
      });

      it('records a provider failure and asks again on the next event (no cache of a failed run)', async () => {
        const issue = await seedIssue(t.dataSource, {
          title: 'Session store unavailable',
          normalizedMessage: 'Session store unavailable',
        });
        await t.app.get(IssueEmbeddingService).embedMissing();
        llm.fail(500);
        const n = ++prNumber;
        await deliver(
          t.http,
          'pull_request',
          prPayload({ number: n, title: 'Reconnect the session store', body: 'Retry on failure.' }),
        ).expect(200);
        expect(step(await latestRun(t.dataSource, n), 'llm')).toMatchObject({
          status: 'failed',
          reason: expect.stringMatching(/answered 500/),
        });
        llm.answer({ issueIdentifier: issue.identifier, confidence: 0.9, reasoning: 'Same store.' });
        const res = await deliver(
          t.http,
          'pull_request',
          prPayload({
            action: 'synchronize',
            number: n,
            title: 'Reconnect the session store',
            body: 'Retry on failure.',
          }),
        ).expect(200);
        expect(res.body.linked).toEqual([{ identifier: issue.identifier, method: 'llm' }]);
      });
    });
  }
});

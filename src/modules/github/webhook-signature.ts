import { randomUUID } from 'node:crypto';
import type { Webhooks } from '@octokit/webhooks';

type WebhooksModule = typeof import('@octokit/webhooks');

/**
 * @octokit/webhooks is ESM-only and its dependency @octokit/webhooks-methods exports only an
 * `import` condition, so a transpiled CommonJS `require` chain (Jest's transform) cannot load it.
 * A native dynamic import goes through Node's ESM loader, in the build and in the tests alike.
 * The function's source is unique per instance: V8 caches compiled code by source text together
 * with the context that first compiled it, and a test runner tears that context down per file.
 */
function nativeImport(specifier: string): Promise<WebhooksModule> {
  const load = new Function('specifier', `return import(specifier); // ${randomUUID()}`) as (
    s: string,
  ) => Promise<WebhooksModule>;
  return load(specifier);
}

/**
 * Verifies `X-Hub-Signature-256` (`sha256=<hex HMAC-SHA256(secret, raw body)>`) over the exact raw
 * bytes GitHub sent, with @octokit/webhooks (`Webhooks#verify`, constant-time). Never over
 * re-serialised JSON.
 */
export class WebhookSignatureVerifier {
  private webhooks?: Promise<Webhooks>;

  constructor(private readonly secret: string | undefined) {}

  get configured(): boolean {
    return Boolean(this.secret);
  }

  async verify(rawBody: Buffer, signature256: string | undefined): Promise<boolean> {
    if (!this.secret || !signature256 || !/^sha256=[0-9a-f]{64}$/i.test(signature256.trim())) return false;
    const secret = this.secret;
    this.webhooks ??= nativeImport('@octokit/webhooks').then((m) => new m.Webhooks({ secret }));
    const webhooks = await this.webhooks;
    try {
      return await webhooks.verify(rawBody.toString('utf8'), signature256.trim().toLowerCase());
    } catch {
      return false;
    }
  }
}

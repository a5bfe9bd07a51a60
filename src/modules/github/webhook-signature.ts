import { Webhooks } from '@octokit/webhooks';

/**
 * Verifies `X-Hub-Signature-256` (`sha256=<hex HMAC-SHA256(secret, raw body)>`) over the exact raw
 * bytes GitHub sent, with @octokit/webhooks (`Webhooks#verify`, constant-time). Never over
 * re-serialised JSON.
 */
export class WebhookSignatureVerifier {
  private webhooks?: Webhooks;

  constructor(private readonly secret: string | undefined) {}

  get configured(): boolean {
    return Boolean(this.secret);
  }

  async verify(rawBody: Buffer, signature256: string | undefined): Promise<boolean> {
    if (!this.secret || !signature256 || !/^sha256=[0-9a-f]{64}$/i.test(signature256.trim())) return false;
    const webhooks = (this.webhooks ??= new Webhooks({ secret: this.secret }));
    try {
      return await webhooks.verify(rawBody.toString('utf8'), signature256.trim().toLowerCase());
    } catch {
      return false;
    }
  }
}

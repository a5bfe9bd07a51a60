import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sharedPath } from '../../../test/support/shared-dir';
import { WebhookSignatureVerifier } from './webhook-signature';

const COGNI_SECRET = '402786017574bd28f9d8f7a18648939751c47fe09077d56e10f0444f14fbb73b';

describe(WebhookSignatureVerifier.name, () => {
  it('accepts the Cogni captures byte-exact with their published secret', async () => {
    const v = new WebhookSignatureVerifier(COGNI_SECRET);
    for (const name of [
      'pull_request.opened',
      'pull_request.synchronize',
      'workflow_run.in_progress',
      'check_run.completed',
      'check_suite.completed',
    ]) {
      const dir = sharedPath('fixtures', 'github', 'captured-deliveries-cogni');
      const raw = readFileSync(`${dir}/${name}.raw-body.json`);
      const headers = JSON.parse(readFileSync(`${dir}/${name}.github-headers.json`, 'utf8')) as Record<string, string>;
      expect({ name, ok: await v.verify(raw, headers['x-hub-signature-256']) }).toEqual({ name, ok: true });
    }
  });

  it('refuses a wrong secret, a changed body, a sha1 signature and garbage', async () => {
    const body = Buffer.from('{"zen":"Keep it logically awesome."}');
    const good = `sha256=${createHmac('sha256', 'secret-1').update(body).digest('hex')}`;
    const v = new WebhookSignatureVerifier('secret-1');
    expect(await v.verify(body, good)).toBe(true);
    expect(await new WebhookSignatureVerifier('secret-2').verify(body, good)).toBe(false);
    expect(await v.verify(Buffer.from('{"zen":"Keep it logically awesome!"}'), good)).toBe(false);
    expect(await v.verify(body, `sha1=${createHmac('sha1', 'secret-1').update(body).digest('hex')}`)).toBe(false);
    expect(await v.verify(body, 'sha256=zz')).toBe(false);
    expect(await v.verify(body, undefined)).toBe(false);
    expect(await new WebhookSignatureVerifier(undefined).verify(body, good)).toBe(false);
  });
});

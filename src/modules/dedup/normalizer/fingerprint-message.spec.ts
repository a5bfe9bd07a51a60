import { SecretRow, readCorpus } from '../../../../test/support/corpora';
import { scrubbedText } from '../../../shared/security/scrubbed-text';
import { SCOPE_MAX_LENGTH, scopeText } from './fingerprint-message';

describe('scopeText', () => {
  it('scrubs a scope that holds a secret every time, also after the same scope came clean', () => {
    const rows = readCorpus<SecretRow>('secrets.jsonl.gz');
    for (const row of rows) {
      const scope = row.text.slice(0, 500);
      // asked twice: the second answer must not come from anything remembered about the first
      const first = scopeText(scope);
      const second = scopeText(scope);
      expect(second).toBe(first);
      expect(first).toBe(scrubbedText(scope, SCOPE_MAX_LENGTH));
    }
  });

  it('gives a clean scope back as it is, however often and however many scopes it has seen', () => {
    for (let i = 0; i < 10_000; i++) expect(scopeText(`checkout-api-${i}`)).toBe(`checkout-api-${i}`);
    expect(scopeText('checkout-api-17')).toBe('checkout-api-17');
  });

  it('clips a long scope, and makes text PostgreSQL cannot store storable, on every call', () => {
    const long = 'a'.repeat(SCOPE_MAX_LENGTH + 50);
    for (let i = 0; i < 2; i++) {
      expect(scopeText(long)).toHaveLength(SCOPE_MAX_LENGTH);
      expect(scopeText('billing\u0000api')).toBe('billing\uFFFDapi');
    }
  });
});

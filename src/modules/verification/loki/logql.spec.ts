import { normalizeMessage } from '../../dedup/normalizer.contract';
import { lineFilters, literalWords, logqlString, sourceSelectors, verificationQuery } from './logql';

describe(logqlString.name, () => {
  it('escapes backslashes, quotes and control characters', () => {
    expect(logqlString('a "b" \\c\n\td')).toBe('"a \\"b\\" \\\\c\\n\\td"');
    expect(logqlString('\u0001')).toBe('"\\x01"');
  });
});

describe(literalWords.name, () => {
  it('takes the longest literal words of the template, never a placeholder or a scrubber marker', () => {
    const template = normalizeMessage(
      'Payment 8412 failed for customer cus_9f8a7b6c5d after 1534ms token [REDACTED:jwt]',
    );
    const words = literalWords(template);
    expect(words[0]).toBe('customer');
    expect(words).toContain('Payment');
    expect(words.join(' ')).not.toMatch(/\*|REDACTED/);
    for (const w of words) expect('Payment 8412 failed for customer cus_9f8a7b6c5d after 1534ms token').toContain(w);
  });

  it('drops words a JSON log line would escape', () => {
    expect(literalWords('value "quoted" path C:\\tmp ok')).toEqual(['value', 'path']);
  });
});

describe(sourceSelectors.name, () => {
  it('partitions the streams by the first present source label', () => {
    expect(sourceSelectors(['source', 'service_name', 'app'], 'checkout-api')).toEqual([
      '{source="checkout-api"}',
      '{source="", service_name="checkout-api"}',
      '{source="", service_name="", app="checkout-api"}',
    ]);
  });
  it('skips names that are not label names (structured metadata keys with dots)', () => {
    expect(sourceSelectors(['service.name', 'app'], 'x"y')).toEqual(['{app="x\\"y"}']);
  });
});

describe(verificationQuery.name, () => {
  it('adds up to three line filters', () => {
    expect(verificationQuery('{app="a"}', 'Unhandled exception in OrdersController at *')).toBe(
      '{app="a"} |= "OrdersController" |= "Unhandled" |= "exception"',
    );
    expect(lineFilters('* *')).toBe('');
  });
});

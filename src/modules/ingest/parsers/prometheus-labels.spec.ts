import { IngestInputError } from '../ingest.errors';
import { parsePrometheusLabels } from './prometheus-labels';

const parse = (text: string): Record<string, string> => parsePrometheusLabels(text, 'streams[0].labels');

function parseError(text: string): IngestInputError {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof IngestInputError) return error;
    throw error;
  }
  throw new Error('expected an IngestInputError');
}

describe(parsePrometheusLabels.name, () => {
  it('parses the label string of the generated protobuf fixture', () => {
    expect(parse('{app="checkout-api", env="prod", level="error"}')).toEqual({
      app: 'checkout-api',
      env: 'prod',
      level: 'error',
    });
  });

  it('parses winston-loki style labels without spaces and an empty set', () => {
    expect(parse('{level="error",app="checkout-api",env="prod"}')).toEqual({
      level: 'error',
      app: 'checkout-api',
      env: 'prod',
    });
    expect(parse('{}')).toEqual({});
    expect(parse('  { a = "1" , }  ')).toEqual({ a: '1' });
  });

  it('decodes escapes, raw strings and quoted UTF-8 names', () => {
    expect(
      parse(
        String.raw`{msg="say \"hi\"\n\tback\\slash", u="\u00e9\U0001F600\x41\101", raw=` +
          '`a\\n"b`' +
          ', "service.name"="x"}',
      ),
    ).toEqual({
      msg: 'say "hi"\n\tback\\slash',
      u: 'é😀AA',
      raw: 'a\\n"b',
      'service.name': 'x',
    });
    expect(parse('{a="é, }"}')).toEqual({ a: 'é, }' });
  });

  it.each([
    ['app="x"', 'expected "{" at offset 0'],
    ['{app="x"', 'expected "," or "}" at offset 8'],
    ['{app=x}', 'expected a double-quoted value at offset 5'],
    ['{app=~"x"}', 'expected "=" after label "app" (only equality is allowed)'],
    ['{app="x}', 'unterminated quoted string'],
    ['{app="x", app="y"}', 'duplicate label name "app"'],
    ['{1app="x"}', 'expected a label name at offset 1'],
    [String.raw`{a="\q"}`, 'unknown escape sequence \\q'],
    ['{a="x"} trailing', 'unexpected text after "}"'],
  ])('rejects %s', (text, problem) => {
    const error = parseError(text);
    expect(error.code).toBe('INGEST_INVALID_PAYLOAD');
    expect(error.path).toBe('streams[0].labels');
    expect(error.message).toContain(problem);
    expect(error.message).toMatch(/^streams\[0\]\.labels is not a valid label set: /);
  });
});

import { DomainError } from '../../shared/errors/domain-error';
import { INGEST_ERROR_CODES, IngestInputError } from './ingest.errors';

describe(IngestInputError.name, () => {
  it('is a DomainError whose kind follows the code, with the path in details', () => {
    const error = new IngestInputError(
      'INGEST_INVALID_PAYLOAD',
      'alerts[2].labels must be an object',
      'alerts[2].labels',
    );
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'IngestInputError',
      kind: 'invalid',
      code: 'INGEST_INVALID_PAYLOAD',
      message: 'alerts[2].labels must be an object',
      path: 'alerts[2].labels',
      details: { path: 'alerts[2].labels' },
    });
  });

  it('maps every code to a kind', () => {
    expect(INGEST_ERROR_CODES.map((code) => [code, new IngestInputError(code, 'x').kind])).toEqual([
      ['INGEST_INVALID_PAYLOAD', 'invalid'],
      ['INGEST_UNSUPPORTED_VERSION', 'invalid'],
      ['INGEST_UNSUPPORTED_ENCODING', 'unsupported_media_type'],
      ['INGEST_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type'],
      ['INGEST_PAYLOAD_TOO_LARGE', 'too_large'],
    ]);
    expect(new IngestInputError('INGEST_PAYLOAD_TOO_LARGE', 'x').details).toBeUndefined();
  });
});

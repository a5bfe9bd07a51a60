/**
 * Errors raised by the ingest parsers when a request body (or its framing: media type, encoding,
 * size) is not acceptable. They never carry HTTP semantics; the global exception filter maps each
 * code to a status:
 *
 * | code                           | suggested status |
 * |--------------------------------|------------------|
 * | INGEST_INVALID_PAYLOAD         | 400              |
 * | INGEST_UNSUPPORTED_VERSION     | 400 (or 422)     |
 * | INGEST_UNSUPPORTED_ENCODING    | 415 (Loki: 400)  |
 * | INGEST_UNSUPPORTED_MEDIA_TYPE  | 415              |
 * | INGEST_PAYLOAD_TOO_LARGE       | 413 (Loki: 400)  |
 */
export const INGEST_ERROR_CODES = [
  'INGEST_INVALID_PAYLOAD',
  'INGEST_UNSUPPORTED_VERSION',
  'INGEST_UNSUPPORTED_ENCODING',
  'INGEST_UNSUPPORTED_MEDIA_TYPE',
  'INGEST_PAYLOAD_TOO_LARGE',
] as const;

export type IngestErrorCode = (typeof INGEST_ERROR_CODES)[number];

/**
 * A request body that cannot be ingested. `message` names exactly what is wrong, with the JSON
 * path when there is one (`alerts[2].labels.team must be a string (got number)`); `path` repeats
 * that path on its own so callers can put it in a structured log or response field.
 */
export class IngestInputError extends Error {
  override readonly name = 'IngestInputError';

  constructor(
    readonly code: IngestErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
}

import { DomainError, type DomainErrorKind } from '../../shared/errors/domain-error';

/**
 * Codes of the errors raised by the ingest parsers when a request body (or its framing: media type,
 * encoding, size) is not acceptable, with the domain kind the global exception filter turns into a
 * status (Loki itself answers 400 for all of them; its clients treat every 4xx but 429 as final).
 */
export const INGEST_ERROR_KINDS = {
  INGEST_INVALID_PAYLOAD: 'invalid', // 400
  INGEST_UNSUPPORTED_VERSION: 'invalid', // 400
  INGEST_UNSUPPORTED_ENCODING: 'unsupported_media_type', // 415
  INGEST_UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type', // 415
  INGEST_PAYLOAD_TOO_LARGE: 'too_large', // 413
} as const satisfies Record<string, DomainErrorKind>;

export type IngestErrorCode = keyof typeof INGEST_ERROR_KINDS;

export const INGEST_ERROR_CODES = Object.keys(INGEST_ERROR_KINDS) as IngestErrorCode[];

/**
 * A request body that cannot be ingested. `message` names exactly what is wrong, with the JSON
 * path when there is one (`alerts[2].labels.team must be a string (got number)`); `path` repeats
 * that path on its own (also in `details.path`) for structured logs and responses.
 */
export class IngestInputError extends DomainError {
  declare readonly code: IngestErrorCode;

  constructor(
    code: IngestErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(INGEST_ERROR_KINDS[code], code, message, path === undefined ? undefined : { path });
    this.name = 'IngestInputError';
  }
}

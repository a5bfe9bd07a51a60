import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import { correlationIdOrNew } from '../logging/request-context';
import { DomainError, DomainErrorKind } from './domain-error';

const STATUS_BY_KIND: Record<DomainErrorKind, number> = {
  invalid: HttpStatus.BAD_REQUEST,
  unauthorized: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  too_large: HttpStatus.PAYLOAD_TOO_LARGE,
  unsupported_media_type: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
};

/** node-postgres / pool errors that mean "the database is unreachable right now": retryable. */
const DB_UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
  '53300',
]);
export function isDatabaseUnavailable(err: unknown): boolean {
  // Shape, not `instanceof Error`: socket errors may come from another realm (Jest's VM contexts).
  if (typeof err !== 'object' || err === null || typeof (err as { message?: unknown }).message !== 'string')
    return false;
  const code = (err as { code?: string }).code;
  const driverCode = (err as { driverError?: { code?: string } }).driverError?.code;
  if ((code && DB_UNAVAILABLE_CODES.has(code)) || (driverCode && DB_UNAVAILABLE_CODES.has(driverCode))) return true;
  return /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED|Client has encountered a connection error/i.test(
    (err as { message: string }).message,
  );
}

export interface ErrorBody {
  error: string;
  message: string;
  correlationId: string;
  details?: Record<string, unknown>;
}

/**
 * The one place errors become HTTP responses: `{ error, message, correlationId }`.
 * Unknown errors are 500 with a logged error id and no stack trace in the response.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const correlationId = correlationIdOrNew();
    const { status, body, headers } = this.toResponse(exception, correlationId);
    if (res.headersSent) return;
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.status(status).json(body);
  }

  private toResponse(
    exception: unknown,
    correlationId: string,
  ): { status: number; body: ErrorBody; headers: Record<string, string> } {
    if (exception instanceof DomainError) {
      const status = STATUS_BY_KIND[exception.kind];
      const headers: Record<string, string> = status === 503 ? { 'Retry-After': '5' } : {};
      if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
      return {
        status,
        headers,
        body: {
          error: exception.code,
          message: exception.message,
          correlationId,
          ...(exception.details ? { details: exception.details } : {}),
        },
      };
    }
    // Nest wraps body-parser's errors in an HttpException; the parser's own error is the cause.
    const parserError = bodyParserError(exception instanceof HttpException ? exception.cause : exception);
    if (parserError) return { ...parserError, headers: {}, body: { ...parserError.body, correlationId } };
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
      const message = Array.isArray(raw) ? raw.join('; ') : typeof raw === 'string' ? raw : exception.message;
      return { status, headers: {}, body: { error: httpErrorCode(status), message, correlationId } };
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn(`database unavailable: ${(exception as Error).message}`);
      return {
        status: 503,
        headers: { 'Retry-After': '5' },
        body: { error: 'DATABASE_UNAVAILABLE', message: 'The database is unavailable; retry later', correlationId },
      };
    }
    const errorId = randomUUID();
    this.logger.error({
      msg: 'unhandled error',
      errorId,
      err: exception instanceof Error ? { message: exception.message, stack: exception.stack } : String(exception),
    });
    return {
      status: 500,
      headers: {},
      body: { error: 'INTERNAL', message: `Internal error (id ${errorId})`, correlationId },
    };
  }
}

function httpErrorCode(status: number): string {
  const name = HttpStatus[status] as string | undefined;
  return name ?? `HTTP_${status}`;
}

/** Errors thrown by Express' body parsers (too large, malformed JSON, bad encoding). */
function bodyParserError(exception: unknown): { status: number; body: Omit<ErrorBody, 'correlationId'> } | undefined {
  const e = exception as { type?: string; status?: number; statusCode?: number; message?: string; limit?: number };
  if (typeof e?.type !== 'string' || !(e.status ?? e.statusCode)) return undefined;
  switch (e.type) {
    case 'entity.too.large':
      return {
        status: 413,
        body: { error: 'PAYLOAD_TOO_LARGE', message: `Request body exceeds the limit of ${e.limit ?? '?'} bytes` },
      };
    case 'entity.parse.failed':
      return { status: 400, body: { error: 'MALFORMED_JSON', message: `Malformed JSON body: ${e.message ?? ''}` } };
    case 'encoding.unsupported':
      return {
        status: 415,
        body: { error: 'UNSUPPORTED_ENCODING', message: e.message ?? 'Unsupported content encoding' },
      };
    case 'charset.unsupported':
      return { status: 415, body: { error: 'UNSUPPORTED_CHARSET', message: e.message ?? 'Unsupported charset' } };
    default:
      return {
        status: e.status ?? e.statusCode ?? 400,
        body: { error: 'BAD_REQUEST', message: e.message ?? 'Bad request' },
      };
  }
}

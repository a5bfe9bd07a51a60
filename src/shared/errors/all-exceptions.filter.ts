import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, AppConfig } from '../config/config';
import { correlationIdOf } from '../logging/correlation-id.hooks';
import { scrubJsonSecrets } from '../security/secret-scrubber';
import { currentCorrelationId } from '../logging/request-context';
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

/**
 * Errors that mean "the database cannot take writes right now", so a retry later may succeed:
 * socket errors, connection failures (SQLSTATE class 08), an administrator's or a crash's
 * shutdown (57P01-57P03), a read-only server (25006: a standby, or a primary during failover),
 * and exhausted resources (53100 disk full, 53200 out of memory, 53300 too many connections).
 */
const DB_UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '25006',
  '53100',
  '53200',
  '53300',
]);
export function isDatabaseUnavailable(err: unknown): boolean {
  // Shape, not `instanceof Error`: socket errors may come from another realm (Jest's VM contexts).
  if (typeof err !== 'object' || err === null || typeof (err as { message?: unknown }).message !== 'string')
    return false;
  const code = (err as { driverError?: { code?: unknown } }).driverError?.code ?? (err as { code?: unknown }).code;
  if (typeof code === 'string' && (DB_UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
  return /timeout exceeded when trying to connect|Connection terminated|connect ECONNREFUSED|Client has encountered a connection error|Cannot use a pool after calling end|pool is (ending|closed)|Connection is not established/i.test(
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

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<FastifyReply>();
    // The request's own id (also when the error came before the handler, e.g. from the body parser).
    const correlationId = currentCorrelationId() ?? correlationIdOf(http.getRequest<FastifyRequest>());
    const { status, body, headers } = this.toResponse(exception, correlationId);
    if (res.sent) return;
    // A message may quote the input it refuses (a field name, a value): a secret in it is not sent
    // back, where a sender or a proxy that logs 4xx bodies would keep it.
    void res.headers(headers).status(status).send(scrubJsonSecrets(body).value);
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
    // Nest wraps Fastify's body errors in an HttpException; Fastify's own error is the cause.
    const parserError = bodyError(exception instanceof HttpException ? exception.cause : exception, this.config);
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

/** Errors of reading a body: Fastify's (too large, media type, length) and zlib's (corrupt encoding). */
function bodyError(
  exception: unknown,
  config: AppConfig,
): { status: number; body: Omit<ErrorBody, 'correlationId'> } | undefined {
  const e = exception as { code?: unknown; statusCode?: unknown; errno?: unknown; message?: string };
  if (typeof e?.code !== 'string') return undefined;
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: {
          error: 'PAYLOAD_TOO_LARGE',
          message: `Request body exceeds the limit of ${config.REQUEST_BODY_LIMIT_BYTES} bytes`,
        },
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { error: 'UNSUPPORTED_MEDIA_TYPE', message: e.message ?? 'Unsupported media type' } };
    default:
      if (e.code.startsWith('FST_ERR_CTP_') && typeof e.statusCode === 'number' && e.statusCode < 500) {
        return { status: e.statusCode, body: { error: 'BAD_REQUEST', message: e.message ?? 'Bad request' } };
      }
      if (e.code.startsWith('Z_') && typeof e.errno === 'number') {
        return {
          status: 400,
          body: { error: 'MALFORMED_BODY', message: `The body could not be decoded: ${e.message}` },
        };
      }
      return undefined;
  }
}

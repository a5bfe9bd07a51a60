import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { maxHeaderSize } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { CORRELATION_HEADER, correlationIdOf } from '../logging/correlation-id.hooks';
import { scrubJsonSecrets } from '../security/secret-scrubber';

// Refusals made below Nest, before any filter could run, answered in the house error shape
// `{ error, message, correlationId }` like every other error (AllExceptionsFilter).

/**
 * Fastify's router refuses a URL it cannot decode (`%ED%A0%80`, half a character: 400) or a path
 * parameter over its length limit (414) before any hook or Nest runs; by default it answers in its
 * own shape. This answers in the house shape, `{ error, message, correlationId }`, with the
 * correlation header, the path quoted without secrets.
 */
export function frameworkErrorReply(error: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const correlationId = correlationIdOf(req);
  const status = error.statusCode ?? 400;
  const message =
    error.code === 'FST_ERR_BAD_URL'
      ? `The URL is not valid: ${error.message}`
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? `A path parameter is too long: ${error.message}`
        : error.message;
  void reply
    .header(CORRELATION_HEADER, correlationId)
    .status(status)
    .send(
      scrubJsonSecrets({
        error: error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'URI_TOO_LONG' : 'BAD_URL',
        message,
        correlationId,
      }).value,
    );
}

/**
 * Node's HTTP parser refuses a request whose request line and headers exceed its limit (a URL of
 * more than 16 kB: 431), or that is not HTTP at all (400), before Fastify sees a request; Fastify's
 * default answer has its own shape. This answers in the house shape with a new correlation id (there
 * are no headers to take one from), then closes the connection as Node does.
 */
export function clientErrorReply(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, error, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          'HEADERS_TOO_LARGE',
          `The request line and headers exceed ${maxHeaderSize} bytes (a long URL or query string?)`,
        ]
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'The request was not received in time']
        : [400, 'Bad Request', 'BAD_REQUEST', `The request is not valid HTTP (${err.code ?? 'parse error'})`];
  const correlationId = randomUUID();
  const body = JSON.stringify({ error, message, correlationId });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `${CORRELATION_HEADER}: ${correlationId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

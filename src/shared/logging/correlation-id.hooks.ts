import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { headerOf } from '../http/request-headers';
import { scrubSecrets } from '../security/secret-scrubber';
import { runWithCorrelationId } from './request-context';

export const CORRELATION_HEADER = 'x-correlation-id';
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const CORRELATION_ID = Symbol('fixloop.correlationId');

type WithCorrelationId = FastifyRequest & { [CORRELATION_ID]?: string };

/**
 * Every request gets a correlation id: the caller's X-Correlation-Id (or X-Request-Id) when well
 * formed, else a new one. It is echoed in the response header as soon as the request arrives
 * (so answers given before the body is read carry it too) and the handler runs with it in the
 * request context, where log lines, domain events and error bodies pick it up.
 */
export function registerCorrelationId(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (req, reply, done) => {
    void reply.header(CORRELATION_HEADER, correlationIdOf(req));
    done();
  });
  // The handler is called from `done`: it and everything it starts run in the context.
  fastify.addHook('preHandler', (req, _reply, done) => {
    runWithCorrelationId(correlationIdOf(req), () => done());
  });
}

/**
 * The request's correlation id, chosen on first use: the caller's well-formed X-Correlation-Id
 * (or X-Request-Id), else a new one (also for a request the router refused before the hooks ran).
 * The id is stored (history, outbox events) and written on every log line: one that is a secret
 * (a token pasted into the wrong header fits the id's characters) is not taken either.
 */
export function correlationIdOf(req: FastifyRequest): string {
  const r = req as WithCorrelationId;
  if (r[CORRELATION_ID] === undefined) {
    const offered = headerOf(req, CORRELATION_HEADER) ?? headerOf(req, 'x-request-id');
    r[CORRELATION_ID] =
      offered && SAFE_ID.test(offered) && scrubSecrets(offered).redactions === 0 ? offered : randomUUID();
  }
  return r[CORRELATION_ID];
}

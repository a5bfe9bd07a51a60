import type { FastifyReply, FastifyRequest } from 'fastify';
import { headerOf, pathOf } from '../http/request-headers';
import { correlationIdOf } from '../logging/correlation-id.hooks';
import { matchingSecret, offeredCredential } from './api-key.guard';

export interface PreBodyAuthRoute {
  path: string;
  /** A header that, when present, defers the decision until the body is read (e.g. an HMAC signature). */
  deferToHeader?: string;
}

/**
 * An `onRequest` hook for routes anyone on the network can reach with large bodies (the ingest
 * receivers): it runs before the body is read, so a missing or wrong secret is answered 401
 * before a byte of the body is. The route's own guard still decides (and checks a deferred
 * signature over the raw body).
 */
export function preBodyAuth(routes: readonly PreBodyAuthRoute[], knownKeys: () => readonly string[]) {
  const byPath = new Map(routes.map((r) => [r.path, r]));
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const route = req.method === 'POST' ? byPath.get(pathOf(req)) : undefined;
    if (!route) return;
    if (route.deferToHeader && headerOf(req, route.deferToHeader) !== undefined) return;
    const credential = offeredCredential(headerOf(req, 'authorization'));
    // Any of fixloop's keys passes here; the route's guard answers 403 to a key of the wrong scope.
    if (credential !== undefined && matchingSecret(credential, knownKeys()) >= 0) return;
    await reply
      .code(401)
      .header('WWW-Authenticate', 'Bearer')
      .header('Connection', 'close')
      .send({
        error: credential === undefined ? 'AUTH_MISSING' : 'AUTH_INVALID',
        message:
          credential === undefined
            ? 'Missing credentials: send the secret as Authorization: Bearer <secret> or as the Basic-auth password'
            : 'Invalid credentials',
        correlationId: correlationIdOf(req),
      });
  };
}

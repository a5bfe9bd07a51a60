import type { FastifyReply, FastifyRequest } from 'fastify';
import { routeOf, singleHeaderOf } from '../http/request-headers';
import { correlationIdOf } from '../logging/correlation-id.hooks';
import { REPEATED_AUTHORIZATION, matchingSecret, missingCredentials, offeredCredential } from './api-key.guard';

/**
 * What a route's alternative credential (e.g. Grafana's HMAC signature, which covers the body)
 * looks like before the body is read: `absent` (the secret is required), `plausible` (well formed
 * and fresh: the decision waits for the body) or `invalid` (malformed or stale: 401 at once).
 */
export type AlternativeCredential = 'absent' | 'plausible' | 'invalid';

export interface PreBodyAuthRoute {
  /** The route's path as registered (the router's decoded match, see `routeOf`). */
  path: string;
  alternative?: (req: FastifyRequest) => AlternativeCredential;
}

/** The keys the hook knows: the one the routes take, and fixloop's others (403: wrong scope). */
export interface PreBodyKeys {
  scope: string;
  secret: string;
  others: ReadonlyArray<{ scope: string; secret: string }>;
}

/**
 * An `onRequest` hook for routes anyone on the network can reach with large bodies (the ingest
 * receivers). It runs after routing and before the body is read, so a missing or wrong secret is
 * 401, and another of fixloop's keys 403, before a byte of the body is read or parsed. The route's
 * own guard still decides (and checks an alternative credential over the raw body). Every
 * credential a request offers must hold (a right secret does not excuse a bad signature, nor a
 * plausible signature a wrong secret), and an `Authorization` header sent twice is refused.
 */
export function preBodyAuth(routes: readonly PreBodyAuthRoute[], keys: () => PreBodyKeys) {
  const byPath = new Map(routes.map((r) => [r.path, r]));
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const path = req.method === 'POST' ? routeOf(req) : undefined;
    const route = path === undefined ? undefined : byPath.get(path);
    if (!route) return;
    const authorization = singleHeaderOf(req, 'authorization');
    if (authorization === null) return refuse(req, reply, 401, 'AUTH_INVALID', REPEATED_AUTHORIZATION);
    const credential = offeredCredential(authorization);
    const known = keys();
    const matched =
      credential === undefined ? -1 : matchingSecret(credential, [known.secret, ...known.others.map((k) => k.secret)]);
    if (matched > 0) {
      const held = known.others[matched - 1].scope;
      return refuse(
        req,
        reply,
        403,
        'AUTH_WRONG_SCOPE',
        `This key (${held}) may not call this route; it needs: ${known.scope}`,
      );
    }
    // Every credential offered must hold: a malformed or stale signature is refused beside the
    // right secret, and a wrong secret beside a plausible signature.
    const alternative = route.alternative?.(req) ?? 'absent';
    if (alternative === 'invalid') return refuse(req, reply, 401, 'AUTH_INVALID', 'Invalid credentials');
    if (matched === 0) return;
    if (credential !== undefined) return refuse(req, reply, 401, 'AUTH_INVALID', 'Invalid credentials');
    if (alternative === 'plausible') return;
    return refuse(
      req,
      reply,
      401,
      'AUTH_MISSING',
      missingCredentials(
        authorization,
        'send the secret as Authorization: Bearer <secret> or as the Basic-auth password',
      ),
    );
  };
}

async function refuse(
  req: FastifyRequest,
  reply: FastifyReply,
  status: 401 | 403,
  error: string,
  message: string,
): Promise<void> {
  if (status === 401) reply.header('WWW-Authenticate', 'Bearer');
  // The body is never read: close the connection rather than drain it.
  await reply
    .code(status)
    .header('Connection', 'close')
    .send({ error, message, correlationId: correlationIdOf(req) });
}

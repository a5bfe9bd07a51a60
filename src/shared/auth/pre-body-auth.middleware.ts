import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { offeredCredential, safeEqual } from './api-key.guard';

export interface PreBodyAuthRoute {
  path: string;
  /** A header that, when present, defers the decision until the body is read (e.g. an HMAC signature). */
  deferToHeader?: string;
}

/**
 * Runs before any body parser on routes anyone on the network can reach with large bodies (the
 * ingest receivers): a missing or wrong secret is answered 401 before a byte of the body is read.
 * The route's own guard still decides (and checks a deferred signature over the raw body).
 */
export function preBodyAuth(routes: readonly PreBodyAuthRoute[], knownKeys: () => readonly string[]) {
  const byPath = new Map(routes.map((r) => [r.path, r]));
  return (req: Request, res: Response, next: NextFunction): void => {
    const route = req.method === 'POST' ? byPath.get(req.path.replace(/\/+$/, '')) : undefined;
    if (!route) return next();
    if (route.deferToHeader && req.header(route.deferToHeader) !== undefined) return next();
    const credential = offeredCredential(req.header('authorization'));
    // Any of fixloop's keys passes here; the route's guard answers 403 to a key of the wrong scope.
    if (credential !== undefined && knownKeys().some((k) => safeEqual(credential, k))) return next();
    const offered = req.header('x-correlation-id');
    const correlationId = offered && /^[A-Za-z0-9._:-]{1,128}$/.test(offered) ? offered : randomUUID();
    res.setHeader('x-correlation-id', correlationId);
    res.setHeader('WWW-Authenticate', 'Bearer');
    res.setHeader('Connection', 'close');
    res.status(401).json({
      error: credential === undefined ? 'AUTH_MISSING' : 'AUTH_INVALID',
      message:
        credential === undefined
          ? 'Missing credentials: send the secret as Authorization: Bearer <secret> or as the Basic-auth password'
          : 'Invalid credentials',
      correlationId,
    });
  };
}

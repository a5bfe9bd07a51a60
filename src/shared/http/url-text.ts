import type { FastifyInstance } from 'fastify';
import { storableJson } from '../database/pg-text';

/**
 * Route parameters and query strings are decoded from the URL, where `%00` is a NUL. PostgreSQL
 * cannot take it even in a comparison (pg-text.ts), so `GET /api/issues/CHIPP-%00` or
 * `?text=%00` failed its statement and answered 500. Like JSON bodies (`registerBodyParsing`),
 * they are made storable (U+FFFD) before any guard, pipe or handler reads them: that identifier
 * is then one no issue has (404). The same objects when nothing changes.
 */
export function registerStorableUrlText(fastify: FastifyInstance): void {
  fastify.addHook('preValidation', (req, _reply, done) => {
    // A NUL reaches a parameter only as `%00` (the HTTP parser refuses a raw one).
    if (!req.url.includes('%')) return done();
    req.params = storableJson(req.params);
    req.query = storableJson(req.query);
    done();
  });
}

import type { FastifyRequest } from 'fastify';

/** A request header's value (the first, when sent more than once); undefined when absent. */
export function headerOf(req: Pick<FastifyRequest, 'headers'>, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** The request's path without its query string and trailing slashes (`/api/events/?x=1` -> `/api/events`). */
export function pathOf(req: Pick<FastifyRequest, 'url'>): string {
  const q = req.url.indexOf('?');
  const path = q >= 0 ? req.url.slice(0, q) : req.url;
  return path.replace(/\/+$/, '') || '/';
}

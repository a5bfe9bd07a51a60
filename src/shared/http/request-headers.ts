import type { FastifyRequest } from 'fastify';

/** A request header's value (the first, when sent more than once); undefined when absent. */
export function headerOf(req: Pick<FastifyRequest, 'headers'>, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A header that must be sent at most once (`Authorization`): its value, undefined when absent, or
 * null when it was sent more than once. Node keeps only the first of some repeated headers in
 * `headers` (`authorization` among them), so the count comes from the raw request's header list
 * (read in place: `headersDistinct` would build an object of every header on each request).
 */
export function singleHeaderOf(
  req: Pick<FastifyRequest, 'headers'> & { raw?: Pick<FastifyRequest['raw'], 'rawHeaders'> },
  name: string,
): string | undefined | null {
  const raw = req.raw?.rawHeaders;
  if (raw !== undefined) {
    const lower = name.toLowerCase();
    let seen = 0;
    for (let i = 0; i < raw.length; i += 2) {
      if (raw[i].length === lower.length && raw[i].toLowerCase() === lower && ++seen > 1) return null;
    }
  }
  return headerOf(req, name);
}

/**
 * The path of the route the request matched, as the route was registered: `/api/events` for
 * `/api/%65vents/?x=1` (the router decodes and ignores a trailing slash, so a check by the raw URL
 * could be walked around); undefined when no route matched (a 404).
 */
export function routeOf(req: Pick<FastifyRequest, 'routeOptions'>): string | undefined {
  return req.routeOptions?.url;
}

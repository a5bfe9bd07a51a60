import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import { PassThrough, Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { DomainError } from '../errors/domain-error';
import { mayHoldUnstorableText, storableJson } from '../database/pg-text';
import { headerOf, routeOf } from './request-headers';

export interface BodyParsingOptions {
  /** Largest body, in bytes, after any Content-Encoding is undone (REQUEST_BODY_LIMIT_BYTES). */
  limit: number;
  /**
   * POST routes whose bodies reach the handler as the bytes sent (a Buffer, still encoded, any
   * media type): the handler decodes them itself (Loki's push API: snappy protobuf without a
   * Content-Type, gzip JSON, raw DEFLATE).
   */
  rawRoutes: readonly string[];
  /**
   * Per route path, a check of the raw bytes before a JSON body is parsed (throws to refuse), e.g.
   * a signature over the body: a request it refuses is never parsed.
   */
  verifyBeforeParse?: Readonly<Record<string, (req: FastifyRequest, raw: Buffer) => void>>;
}

const JSON_TYPES: (string | RegExp)[] = ['application/json', /^application\/[\w.+-]+\+json\b/i];

/**
 * How request bodies are read, for every route:
 * - JSON (`application/json`, `application/*+json`): parsed, with Fastify's protection against
 *   prototype poisoning; an empty body is `{}`; malformed JSON is 400 MALFORMED_JSON. The raw bytes
 *   stay on `req.rawBody` for signature checks. Strings PostgreSQL cannot store (`\u0000`, unpaired
 *   surrogates) become U+FFFD (`storableJson`), so no route answers 500 for them.
 * - `Content-Encoding: gzip | deflate | br` is undone before parsing (the limit applies to the
 *   decoded bytes, so a decompression bomb is 413); another encoding is 415.
 * - Any other media type leaves the body undefined for the handler to refuse (as Express did).
 * - `rawRoutes` get the bytes as sent, whatever their type and encoding.
 * Too large is 413 naming the limit (AllExceptionsFilter).
 */
export function registerBodyParsing(app: NestFastifyApplication, options: BodyParsingOptions): void {
  const fastify = app.getHttpAdapter().getInstance();
  const raw = new Set(options.rawRoutes);
  const isRaw = (req: Pick<FastifyRequest, 'routeOptions'>): boolean => {
    const route = routeOf(req);
    return route !== undefined && raw.has(route);
  };
  const parseJson = fastify.getDefaultJsonParser('error', 'error');

  fastify.addHook('preParsing', async (req: FastifyRequest, _reply: FastifyReply, payload) =>
    isRaw(req) ? payload : decoded(payload, headerOf(req, 'content-encoding')),
  );

  for (const type of JSON_TYPES) {
    app.useBodyParser<RawServerDefault>(type, { bodyLimit: options.limit }, (req, body, done) => {
      if (isRaw(req)) return done(null, body);
      const route = routeOf(req);
      const verify = route === undefined ? undefined : options.verifyBeforeParse?.[route];
      if (verify !== undefined) {
        try {
          verify(req, body);
        } catch (err) {
          return done(err as Error, undefined);
        }
      }
      if (body.length === 0) return done(null, {});
      const text = body.toString('utf8');
      void parseJson(req, text, (err, value) => {
        if (err) done(new DomainError('invalid', 'MALFORMED_JSON', `Malformed JSON body: ${err.message}`), undefined);
        // Strings PostgreSQL cannot store (NUL, unpaired surrogates) become U+FFFD on every JSON route.
        else done(null, mayHoldUnstorableText(text) ? storableJson(value) : value);
      });
    });
  }
  // Every other type, including text/plain (which Fastify would otherwise parse as a string).
  for (const type of ['text/plain', '*']) {
    app.useBodyParser<RawServerDefault>(type, { bodyLimit: options.limit }, (req, body, done) =>
      done(null, isRaw(req) ? body : undefined),
    );
  }
}

type Payload = FastifyRequest['raw'] | Readable;

/** The payload with its Content-Encoding undone; `receivedEncodedLength` lets Fastify check Content-Length. */
function decoded(payload: Payload, contentEncoding: string | undefined): Payload {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  const decoder =
    encoding === '' || encoding === 'identity'
      ? undefined
      : encoding === 'gzip' || encoding === 'x-gzip'
        ? createGunzip()
        : encoding === 'deflate'
          ? createInflate()
          : encoding === 'br'
            ? createBrotliDecompress()
            : null;
  if (decoder === undefined) return payload;
  if (decoder === null) {
    throw new DomainError(
      'unsupported_media_type',
      'UNSUPPORTED_ENCODING',
      `Content-Encoding ${JSON.stringify(contentEncoding)} is not supported: use gzip, deflate, br or none`,
    );
  }
  const out = Object.assign(new PassThrough(), { receivedEncodedLength: 0 });
  payload.on('data', (chunk: Buffer) => {
    out.receivedEncodedLength += chunk.length;
  });
  payload.on('error', (err) => out.destroy(err));
  decoder.on('error', (err) =>
    out.destroy(new DomainError('invalid', 'MALFORMED_BODY', `The body is not valid ${encoding} data: ${err.message}`)),
  );
  payload.pipe(decoder).pipe(out);
  return out;
}

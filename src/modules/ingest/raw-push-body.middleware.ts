import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { DomainError } from '../../shared/errors/domain-error';

/** Set on requests whose body this middleware read: the bytes are as sent (still encoded). */
export const RAW_UNDECODED = Symbol('fixloop.rawUndecoded');

export type RawPushRequest = Request & { [RAW_UNDECODED]?: boolean; rawBody?: Buffer };

/**
 * Loki's push endpoint accepts protobuf without a Content-Type, and `Content-Encoding: snappy`,
 * which the global body parsers leave alone (or refuse). When no global parser consumed the body,
 * this reads it as bytes, within REQUEST_BODY_LIMIT_BYTES, without decoding it: the Loki parser
 * handles the media type and encoding and names what it does not accept.
 */
@Injectable()
export class RawPushBodyMiddleware implements NestMiddleware {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async use(req: RawPushRequest, _res: Response, next: NextFunction): Promise<void> {
    if (req.readableEnded || Buffer.isBuffer(req.body) || (req.body !== undefined && typeof req.body === 'object')) {
      next();
      return;
    }
    req.body = await readLimited(req, this.config.REQUEST_BODY_LIMIT_BYTES);
    req[RAW_UNDECODED] = true;
    next();
  }
}

/** Reads the whole body, failing with 413 as soon as it exceeds `limit` bytes. */
function readLimited(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.header('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}

function tooLarge(limit: number): DomainError {
  return new DomainError('too_large', 'INGEST_PAYLOAD_TOO_LARGE', `Request body exceeds the limit of ${limit} bytes`);
}

import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { runWithCorrelationId } from './request-context';

export const CORRELATION_HEADER = 'x-correlation-id';
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes the caller's X-Correlation-Id (or X-Request-Id) when well formed, else makes one; echoes it. */
@Injectable()
export class CorrelationIdMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const offered = req.header(CORRELATION_HEADER) ?? req.header('x-request-id');
    const correlationId = offered && SAFE_ID.test(offered) ? offered : randomUUID();
    res.setHeader(CORRELATION_HEADER, correlationId);
    runWithCorrelationId(correlationId, next);
  }
}

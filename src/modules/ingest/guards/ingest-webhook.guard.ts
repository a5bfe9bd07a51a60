import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '../../../shared/config/config';
import { DomainError } from '../../../shared/errors/domain-error';
import { headerOf } from '../../../shared/http/request-headers';
import {
  GRAFANA_SIGNATURE_HEADER,
  GRAFANA_TIMESTAMP_HEADER,
  verifyGrafanaSignature,
} from '../parsers/grafana-signature';
import { checkSharedSecret } from '../parsers/secret-auth';

/**
 * Auth of the alert webhook, as Grafana and Alertmanager can send it: LOKI_WEBHOOK_SECRET as a
 * Bearer token or as the Basic-auth password, OR Grafana's HMAC signature
 * (`X-Grafana-Alerting-Signature`, optional `X-Grafana-Alerting-Timestamp`, stale beyond
 * GRAFANA_SIGNATURE_TOLERANCE_SECONDS) over the raw body, keyed with the same secret. Anything
 * else is 401 before the body is looked at; the response does not say which check failed.
 */
@Injectable()
export class IngestWebhookGuard implements CanActivate {
  private readonly logger = new Logger(IngestWebhookGuard.name);

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest & { rawBody?: Buffer; authScope?: string }>();
    const secret = this.config.LOKI_WEBHOOK_SECRET;
    const authorization = headerOf(req, 'authorization');
    if (authorization !== undefined && checkSharedSecret(authorization, secret)) {
      req.authScope = 'ingest';
      return true;
    }
    const signature = headerOf(req, GRAFANA_SIGNATURE_HEADER);
    if (signature !== undefined) {
      const verdict = verifyGrafanaSignature(
        { rawBody: req.rawBody ?? Buffer.alloc(0), signature, timestamp: headerOf(req, GRAFANA_TIMESTAMP_HEADER) },
        { secret, toleranceSeconds: this.config.GRAFANA_SIGNATURE_TOLERANCE_SECONDS },
      );
      if (verdict.valid) {
        req.authScope = 'ingest';
        return true;
      }
      this.logger.warn(`webhook signature rejected: ${verdict.reason} (${verdict.detail})`);
      throw new DomainError('unauthorized', 'AUTH_INVALID', 'Invalid credentials');
    }
    if (authorization === undefined) {
      throw new DomainError(
        'unauthorized',
        'AUTH_MISSING',
        'Missing credentials: send the webhook secret as Authorization: Bearer <secret>, as the Basic-auth password, or sign with X-Grafana-Alerting-Signature',
      );
    }
    throw new DomainError('unauthorized', 'AUTH_INVALID', 'Invalid credentials');
  }
}

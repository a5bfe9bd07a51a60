import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '../../../shared/config/config';
import { DomainError } from '../../../shared/errors/domain-error';
import { REPEATED_AUTHORIZATION, missingCredentials, offeredCredential } from '../../../shared/auth/api-key.guard';
import { headerOf, singleHeaderOf } from '../../../shared/http/request-headers';
import {
  GRAFANA_SIGNATURE_HEADER,
  GRAFANA_TIMESTAMP_HEADER,
  GrafanaSignatureOptions,
  checkGrafanaSignatureHeaders,
  verifyGrafanaSignature,
} from '../parsers/grafana-signature';
import { checkSharedSecret } from '../parsers/secret-auth';

type WebhookRequest = Pick<FastifyRequest, 'headers'> & Partial<Pick<FastifyRequest, 'raw'>>;

const logger = new Logger('IngestWebhookAuth');

function signatureOptions(config: AppConfig): GrafanaSignatureOptions {
  return {
    secret: config.LOKI_WEBHOOK_SECRET,
    toleranceSeconds: config.GRAFANA_SIGNATURE_TOLERANCE_SECONDS,
    requireTimestamp: config.GRAFANA_SIGNATURE_REQUIRE_TIMESTAMP,
  };
}

/**
 * Before the body is read (`preBodyAuth`): whether the webhook carries Grafana's signature instead
 * of the secret, and whether the signature's headers are well formed and fresh. Only the HMAC over
 * the body is left for later (`authenticateWebhook`).
 */
export function webhookSignatureBeforeBody(req: WebhookRequest, config: AppConfig): 'absent' | 'plausible' | 'invalid' {
  const signature = headerOf(req, GRAFANA_SIGNATURE_HEADER);
  if (signature === undefined) return 'absent';
  const verdict = checkGrafanaSignatureHeaders(
    { signature, timestamp: headerOf(req, GRAFANA_TIMESTAMP_HEADER) },
    signatureOptions(config),
  );
  if (verdict.valid) return 'plausible';
  logger.warn(`webhook signature rejected before its body: ${verdict.reason} (${verdict.detail})`);
  return 'invalid';
}

/**
 * Auth of the alert webhook, as Grafana and Alertmanager can send it: LOKI_WEBHOOK_SECRET as a
 * Bearer token or as the Basic-auth password, OR Grafana's HMAC signature
 * (`X-Grafana-Alerting-Signature`, optional `X-Grafana-Alerting-Timestamp`, required with
 * GRAFANA_SIGNATURE_REQUIRE_TIMESTAMP, stale beyond GRAFANA_SIGNATURE_TOLERANCE_SECONDS) over the
 * raw body, keyed with the same secret. Every credential offered must hold: a signature that does
 * not verify is refused beside the right secret, a wrong secret beside a right signature, and an
 * `Authorization` header sent twice. Anything else is a 401 `DomainError`; the answer does not
 * say which check failed. Run by the route's guard, and for a signed request also on the raw bytes
 * before they are parsed (the body parser).
 */
export function authenticateWebhook(req: WebhookRequest, rawBody: Buffer | undefined, config: AppConfig): void {
  const authorization = singleHeaderOf(req, 'authorization');
  if (authorization === null) throw new DomainError('unauthorized', 'AUTH_INVALID', REPEATED_AUTHORIZATION);
  const secretHolds = authorization !== undefined && checkSharedSecret(authorization, config.LOKI_WEBHOOK_SECRET);
  // A secret offered must be the right one, even beside a signature that verifies.
  if (!secretHolds && offeredCredential(authorization) !== undefined) {
    throw new DomainError('unauthorized', 'AUTH_INVALID', 'Invalid credentials');
  }
  const signature = headerOf(req, GRAFANA_SIGNATURE_HEADER);
  if (signature !== undefined) {
    // A signature sent must verify, even beside the right secret: a body it does not cover is not
    // what the signer sent.
    const verdict = verifyGrafanaSignature(
      { rawBody: rawBody ?? Buffer.alloc(0), signature, timestamp: headerOf(req, GRAFANA_TIMESTAMP_HEADER) },
      signatureOptions(config),
    );
    if (verdict.valid) return;
    logger.warn(`webhook signature rejected: ${verdict.reason} (${verdict.detail})`);
    throw new DomainError('unauthorized', 'AUTH_INVALID', 'Invalid credentials');
  }
  if (secretHolds) return;
  // Nothing readable was offered (a credential that is offered and wrong was refused above).
  throw new DomainError(
    'unauthorized',
    'AUTH_MISSING',
    missingCredentials(
      authorization,
      'send the webhook secret as Authorization: Bearer <secret>, as the Basic-auth password, or sign with X-Grafana-Alerting-Signature',
    ),
  );
}

/** The webhook route's guard: `authenticateWebhook` over the raw body kept by the body parser. */
@Injectable()
export class IngestWebhookGuard implements CanActivate {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest & { rawBody?: Buffer; authScope?: string }>();
    authenticateWebhook(req, req.rawBody, this.config);
    req.authScope = 'ingest';
    return true;
  }
}

import { SetMetadata, applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';

/**
 * Who may call a route:
 * - admin:  Authorization: Bearer <ADMIN_API_KEY> (people, the board)
 * - agent:  Authorization: Bearer <AGENT_API_KEY> (the workflow's CHIPP_ISSUES_API_KEY)
 * - ingest: LOKI_WEBHOOK_SECRET as Bearer token or as the Basic-auth password (Grafana, Loki clients)
 */
export type AuthScope = 'admin' | 'agent' | 'ingest';

export const AUTH_SCOPES_KEY = 'fixloop:auth-scopes';

/** Marks a route as requiring one of the scopes; also documents it in OpenAPI. */
export function RequireScope(...scopes: AuthScope[]): MethodDecorator & ClassDecorator {
  const docs = scopes.map((s) => (s === 'ingest' ? ApiSecurity('ingest-secret') : ApiBearerAuth(`${s}-key`)));
  return applyDecorators(SetMetadata(AUTH_SCOPES_KEY, scopes), ...docs);
}

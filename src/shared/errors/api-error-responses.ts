import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';

/** The body of every error response. */
export class ErrorResponse {
  @ApiProperty({ example: 'ISSUE_NOT_FOUND', description: 'Machine-readable code' }) error!: string;
  @ApiProperty({ example: 'No issue CHIPP-9' }) message!: string;
  @ApiProperty({ description: 'Also in the X-Correlation-Id header and the logs' }) correlationId!: string;
  @ApiPropertyOptional({ type: Object }) details?: Record<string, unknown>;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input: the message names what is wrong; nothing was written',
  401: 'Missing or invalid credentials',
  403: 'Valid credentials of a scope that may not call this route',
  404: 'Not found',
  409: 'Conflicts with the current state',
  413: 'Body too large',
  415: 'Unsupported content type or encoding',
  503: 'Database unavailable: retry after the Retry-After header',
};

export function ApiErrorResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error', type: ErrorResponse }),
    ),
  );
}

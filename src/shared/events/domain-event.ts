import { randomUUID } from 'node:crypto';
import { correlationIdOrNew } from '../logging/request-context';

/**
 * Base of every domain event: ids only (never ORM entities), plus an event id, when it happened
 * and the correlation id of the request or job that caused it.
 */
export abstract class DomainEvent {
  readonly eventId: string = randomUUID();
  readonly occurredAt: Date = new Date();
  readonly correlationId: string = correlationIdOrNew();
}

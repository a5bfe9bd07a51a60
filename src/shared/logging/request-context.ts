import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export interface RequestContext {
  correlationId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `fn` with a correlation id that log lines and domain events pick up. */
export function runWithCorrelationId<T>(correlationId: string, fn: () => T): T {
  return storage.run({ correlationId }, fn);
}

/** The current correlation id; outside a request (workers) a fresh one per call site. */
export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

export function correlationIdOrNew(): string {
  return currentCorrelationId() ?? randomUUID();
}

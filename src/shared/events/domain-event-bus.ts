import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { EventMap, EventName } from './event-catalogue';

/**
 * Typed in-process domain events. Emit only after the transaction that caused the event has
 * committed: the emitter is not a transaction, and what must not be lost is a row (outbox) that a
 * worker picks up. A listener's failure is logged, never rethrown into the emitter's request.
 */
@Injectable()
export class DomainEventBus {
  private readonly logger = new Logger(DomainEventBus.name);

  constructor(private readonly emitter: EventEmitter2) {}

  /** Emits and returns once every listener has settled (failures are logged). */
  async emit<K extends EventName>(name: K, payload: EventMap[K]): Promise<void> {
    try {
      await this.emitter.emitAsync(name, payload);
    } catch (err) {
      this.logger.error({
        msg: `listener of ${name} failed`,
        eventId: payload.eventId,
        err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err),
      });
    }
  }

  /** Fire and forget, for callers that must not wait for listeners (request hot paths). */
  publish<K extends EventName>(name: K, payload: EventMap[K]): void {
    void this.emit(name, payload);
  }
}

/** Typed `@OnEvent`: the handler's parameter must be the catalogue's payload for that name. */
export function OnDomainEvent<K extends EventName>(
  name: K,
): <T extends (payload: EventMap[K]) => unknown>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<T>,
) => void {
  return (target, key, descriptor) => {
    OnEvent(name, { suppressErrors: false })(target, key, descriptor);
  };
}

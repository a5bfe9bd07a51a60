import { Global, Module } from '@nestjs/common';
import { DomainEventBus } from './domain-event-bus';
import { OutboxRetentionCron } from './outbox-retention.cron';

@Global()
@Module({ providers: [DomainEventBus, OutboxRetentionCron], exports: [DomainEventBus] })
export class EventsModule {}

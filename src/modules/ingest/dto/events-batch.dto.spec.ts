import 'reflect-metadata';

import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

import { IngestInputError } from '../ingest.errors';
import { parseEventsBatch } from '../parsers/events-batch.parser';
import { EventsBatchDto } from './events-batch.dto';

// Fixtures are edited freely, including into invalid shapes, to build test payloads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const event = (overrides: Json = {}): Json => ({
  source: 'checkout-api',
  feature: 'orders',
  message: 'Unhandled exception in OrdersController',
  ...overrides,
});

/** What the global ValidationPipe (whitelist + forbidNonWhitelisted) would say. */
function dtoAccepts(body: Json): boolean {
  const errors = validateSync(plainToInstance(EventsBatchDto, body), { whitelist: true, forbidNonWhitelisted: true });
  return errors.length === 0;
}

function parserAccepts(body: Json): boolean {
  try {
    parseEventsBatch(body, { receivedAt: new Date() });
    return true;
  } catch (error) {
    if (error instanceof IngestInputError) return false;
    throw error;
  }
}

describe(EventsBatchDto.name, () => {
  const cases: Array<[string, Json]> = [
    ['a minimal event', { events: [event()] }],
    ['an empty batch', { events: [] }],
    [
      'every optional field',
      {
        events: [
          event({
            id: 'e-1',
            level: 'error',
            timestamp: '2026-01-01T00:00:00Z',
            labels: { env: 'prod' },
            stack: 'at x',
          }),
          event({ timestamp: 1767225600123 }),
        ],
      },
    ],
    ['no events array', {}],
    ['an unknown top-level field', { events: [], extra: true }],
    ['an unknown event field', { events: [event({ msg: 'x' })] }],
    ['a blank message', { events: [event({ message: '  ' })] }],
    ['a missing feature', { events: [event({ feature: undefined })] }],
    ['a numeric source', { events: [event({ source: 1 })] }],
    ['a too-long message', { events: [event({ message: 'x'.repeat(32 * 1024 + 1) })] }],
    ['a blank level', { events: [event({ level: ' ' })] }],
    ['a timestamp in seconds', { events: [event({ timestamp: 1767225600 })] }],
    ['a timestamp without zone', { events: [event({ timestamp: '2026-01-01T00:00:00' })] }],
    ['a boolean timestamp', { events: [event({ timestamp: true })] }],
    ['non-string labels', { events: [event({ labels: { a: 1 } })] }],
    ['array labels', { events: [event({ labels: ['a'] })] }],
    ['an event that is a string', { events: ['x'] }],
    ['too many events', { events: Array.from({ length: 1001 }, () => event()) }],
  ];

  it.each(cases)('agrees with parseEventsBatch on %s', (_name, body) => {
    expect(dtoAccepts(body)).toBe(parserAccepts(body));
  });

  it('accepts the documented example', () => {
    expect(dtoAccepts({ events: [event({ level: 'error', labels: { env: 'prod', version: '1.4.2' } })] })).toBe(true);
  });
});

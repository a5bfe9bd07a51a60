import { IngestInputError } from '../ingest.errors';
import { EVENTS_BATCH_LIMITS, parseEventsBatch, type EventsBatchOptions } from './events-batch.parser';

// Fixtures are edited freely, including into invalid shapes, to build test payloads.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

const receivedAt = new Date('2026-11-26T06:00:00Z');
const opts: EventsBatchOptions = { receivedAt };

const event = (overrides: Json = {}): Json => ({
  source: 'checkout-api',
  feature: 'orders',
  message: 'Unhandled exception in OrdersController',
  ...overrides,
});
const batch = (...events: unknown[]): Json => ({ events });

function parseError(body: unknown, options: EventsBatchOptions = opts): IngestInputError {
  try {
    parseEventsBatch(body, options);
  } catch (error) {
    if (error instanceof IngestInputError) return error;
    throw error;
  }
  throw new Error('expected an IngestInputError');
}

describe(parseEventsBatch.name, () => {
  it('turns each event into a firing observation', () => {
    const { observations } = parseEventsBatch(
      batch(
        event({
          level: 'error',
          timestamp: '2026-01-01T12:00:00.123+02:00',
          labels: { env: 'prod', app_version: '1.4.2' },
          stack: 'TypeError: x\n    at f (orders.ts:1:1)',
        }),
        event({ timestamp: 1767225600123 }),
        event(),
      ),
      opts,
    );

    expect(observations[0]).toEqual({
      kind: 'events',
      source: 'checkout-api',
      feature: 'orders',
      message: 'Unhandled exception in OrdersController',
      level: 'error',
      occurredAt: new Date('2026-01-01T10:00:00.123Z'),
      count: 1,
      labels: { env: 'prod', app_version: '1.4.2' },
      stack: 'TypeError: x\n    at f (orders.ts:1:1)',
      deliveryKey: expect.stringMatching(/^events:[0-9a-f]{64}$/),
      status: 'firing',
      version: '1.4.2',
    });
    expect(observations[1].occurredAt).toEqual(new Date(1767225600123));
    expect(observations[2]).toMatchObject({ occurredAt: receivedAt, labels: {} });
    expect(observations[2].level).toBeUndefined();
  });

  it('accepts an empty batch and nulls for optional fields', () => {
    expect(parseEventsBatch(batch(), opts).observations).toEqual([]);
    const [observation] = parseEventsBatch(
      batch(event({ level: null, labels: null, timestamp: null, id: null })),
      opts,
    ).observations;
    expect(observation.occurredAt).toEqual(receivedAt);
  });

  it('does not default the feature: it is required', () => {
    expect(parseError(batch(event({ feature: undefined }))).message).toBe(
      'events[0].feature must be a non-empty string (got undefined)',
    );
  });

  describe('delivery keys', () => {
    const keys = (body: Json, at = receivedAt): string[] =>
      parseEventsBatch(body, { receivedAt: at }).observations.map((o) => o.deliveryKey);

    it('uses the id when given: same source and id -> same key whatever the content', () => {
      const [a] = keys(batch(event({ id: 'e-1' })));
      const [b] = keys(batch(event({ id: 'e-1', message: 'changed', timestamp: 1767225600123 })), new Date());
      const [c] = keys(batch(event({ id: 'e-1', source: 'other' })));
      expect(a).toBe(b);
      expect(a).not.toBe(c);
    });

    it('gives a retried batch with timestamps the same keys, and identical events in one batch distinct keys', () => {
      const body = batch(
        event({ timestamp: 1767225600123 }),
        event({ timestamp: 1767225600123 }),
        event({ timestamp: '2026-01-01T00:00:00.123Z' }),
      );
      const first = keys(body);
      const retry = keys(body, new Date('2026-11-26T07:00:00Z'));
      expect(retry).toEqual(first);
      // 1767225600123 ms is 2026-01-01T00:00:00.123Z: the third is the same event a third time.
      expect(new Set(first).size).toBe(3);
    });

    it('ignores label order and distinguishes content', () => {
      const [a] = keys(batch(event({ timestamp: 1767225600123, labels: { a: '1', b: '2' } })));
      const [b] = keys(batch(event({ timestamp: 1767225600123, labels: { b: '2', a: '1' } })));
      const [c] = keys(batch(event({ timestamp: 1767225600123, labels: { a: '1', b: '3' } })));
      const [d] = keys(batch(event({ timestamp: 1767225600124, labels: { a: '1', b: '2' } })));
      expect(a).toBe(b);
      expect(new Set([a, c, d]).size).toBe(3);
    });

    it('cannot deduplicate retries of events without id or timestamp', () => {
      const body = batch(event(), event());
      const first = keys(body);
      expect(new Set(first).size).toBe(2);
      expect(keys(body, new Date('2026-11-26T06:00:01Z'))).not.toEqual(first);
    });
  });

  describe('validation', () => {
    it.each<[unknown, string]>([
      [null, 'body must be a JSON object (got null)'],
      [[], 'body must be a JSON object (got array)'],
      [{}, 'events must be an array of events (got undefined)'],
      [{ events: {} }, 'events must be an array of events (got object)'],
      [{ events: [], extra: 1 }, 'extra is not a known field (allowed: events)'],
      [batch('x'), 'events[0] must be an object (got string)'],
      [
        batch(event(), event(), event(), event({ message: '' })),
        'events[3].message must be a non-empty string (got a blank string)',
      ],
      [batch(event({ message: 42 })), 'events[0].message must be a non-empty string (got number)'],
      [batch(event({ source: undefined })), 'events[0].source must be a non-empty string (got undefined)'],
      [batch(event({ source: '   ' })), 'events[0].source must be a non-empty string (got a blank string)'],
      [
        batch(event({ msg: 'typo' })),
        'events[0].msg is not a known field (allowed: id, source, feature, message, level, timestamp, labels, stack)',
      ],
      [batch(event({ level: 3 })), 'events[0].level must be a non-empty string (got number)'],
      [batch(event({ id: '' })), 'events[0].id must be a non-empty string (got a blank string)'],
      [batch(event({ labels: ['a'] })), 'events[0].labels must be an object of string values (got array)'],
      [batch(event({ labels: { n: 1 } })), 'events[0].labels.n must be a string (got number)'],
      [batch(event({ labels: { '': 'x' } })), 'events[0].labels must not have an empty label name'],
      [batch(event({ stack: {} })), 'events[0].stack must be a non-empty string (got object)'],
      [
        batch(event({ timestamp: true })),
        'events[0].timestamp must be an ISO-8601 string or epoch milliseconds (got boolean)',
      ],
      [
        batch(event({ timestamp: 1767225600 })),
        'events[0].timestamp must be epoch milliseconds (got 1767225600, which looks like seconds)',
      ],
      [
        batch(event({ timestamp: -1 })),
        'events[0].timestamp must be epoch milliseconds or an ISO-8601 string (got -1)',
      ],
      [
        batch(event({ timestamp: '2026-01-01 12:00' })),
        'events[0].timestamp must be an ISO-8601 date-time with a time zone, e.g. 2026-01-01T12:00:00.000Z, or epoch milliseconds (got "2026-01-01 12:00")',
      ],
    ])('rejects %j', (body, message) => {
      const error = parseError(body);
      expect(error.code).toBe('INGEST_INVALID_PAYLOAD');
      expect(error.message).toBe(message);
    });

    it('rejects timestamps without a zone and impossible dates', () => {
      expect(parseError(batch(event({ timestamp: '2026-01-01T12:00:00' }))).path).toBe('events[0].timestamp');
      expect(parseError(batch(event({ timestamp: '2026-13-45T12:00:00Z' }))).path).toBe('events[0].timestamp');
    });

    it('caps the batch size and field lengths', () => {
      const tooMany = batch(...Array.from({ length: EVENTS_BATCH_LIMITS.maxEvents + 1 }, () => event()));
      expect(parseError(tooMany)).toMatchObject({
        code: 'INGEST_PAYLOAD_TOO_LARGE',
        message: 'events has 1001 events, over the limit of 1000 per batch',
      });
      expect(parseEventsBatch(batch(...Array.from({ length: 1000 }, () => event())), opts).observations).toHaveLength(
        1000,
      );

      const long = 'x'.repeat(EVENTS_BATCH_LIMITS.maxMessageLength + 1);
      expect(parseError(batch(event(), event({ message: long })))).toMatchObject({
        code: 'INGEST_PAYLOAD_TOO_LARGE',
        message: `events[1].message is ${long.length} characters long, over the limit of ${EVENTS_BATCH_LIMITS.maxMessageLength}`,
        path: 'events[1].message',
      });
      const labels = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v']));
      expect(parseError(batch(event({ labels }))).message).toBe('events[0].labels has 65 labels, over the limit of 64');
      expect(parseError(batch(event({ labels: { a: 'v'.repeat(1025) } }))).path).toBe('events[0].labels.a');
    });

    it('takes smaller limits from options', () => {
      expect(parseError(batch(event(), event()), { receivedAt, limits: { maxEvents: 1 } }).code).toBe(
        'INGEST_PAYLOAD_TOO_LARGE',
      );
    });
  });
});

import { createHash } from 'node:crypto';
import { deliveryKey } from './delivery-key';

describe(deliveryKey.name, () => {
  it('is a kind-prefixed SHA-256 hex digest', () => {
    expect(deliveryKey('loki', 'a')).toMatch(/^loki:[0-9a-f]{64}$/);
  });

  it('is the SHA-256 of the canonical JSON, UTF-8 encoded: keys stored before an upgrade still match', () => {
    const json = '["grafana","fp-1",{"a":2,"b":"ünïcode ✓"}]';
    expect(deliveryKey('grafana', 'fp-1', { b: 'ünïcode ✓', a: 2 })).toBe(
      `grafana:${createHash('sha256').update(json, 'utf8').digest('hex')}`,
    );
  });

  it('is stable across object key order and nesting', () => {
    expect(deliveryKey('events', { a: '1', b: { c: [1, { d: 2, e: 3 }] } })).toBe(
      deliveryKey('events', { b: { c: [1, { e: 3, d: 2 }] }, a: '1' }),
    );
  });

  it('differs by kind, part order and part boundaries', () => {
    const keys = [
      deliveryKey('grafana', 'a', 'b'),
      deliveryKey('alertmanager', 'a', 'b'),
      deliveryKey('grafana', 'b', 'a'),
      deliveryKey('grafana', 'ab'),
      deliveryKey('grafana', 'a', 'b', null),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('treats undefined as null', () => {
    expect(deliveryKey('events', undefined)).toBe(deliveryKey('events', null));
  });
});

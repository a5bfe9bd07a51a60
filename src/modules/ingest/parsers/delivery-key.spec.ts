import { deliveryKey } from './delivery-key';

describe(deliveryKey.name, () => {
  it('is a kind-prefixed SHA-256 hex digest', () => {
    expect(deliveryKey('loki', 'a')).toMatch(/^loki:[0-9a-f]{64}$/);
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

import { hash } from 'node:crypto';

import type { ObservationKind } from './observation';

/** A JSON value; object keys are sorted before hashing so key order never changes a key. */
type Hashable = string | number | boolean | null | undefined | Hashable[] | { [key: string]: Hashable };

function canonical(value: Hashable): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = canonical(value[key]);
    return sorted;
  }
  return value === undefined ? null : value;
}

/**
 * The delivery key of an observation: `<kind>:` + lowercase hex SHA-256 over the canonical JSON of
 * `[kind, ...parts]`. Deterministic across processes and key orders, so a redelivery of the same
 * thing maps to the same key.
 */
export function deliveryKey(kind: ObservationKind, ...parts: Hashable[]): string {
  return `${kind}:${hash('sha256', JSON.stringify(canonical([kind, ...parts])))}`;
}

import { EventEmitter2 } from '@nestjs/event-emitter';
import type { DataSource } from 'typeorm';
import { DomainEventBus } from '../../src/shared/events/domain-event-bus';
import type { TestApp } from './test-app';

/**
 * What a request wrote, for tests that send many bad inputs through one app and must tell which one
 * wrote something: the work a request starts after its commit (published events) is waited for, a
 * listener's failure (which the bus logs and swallows) is collected, and the database is
 * fingerprinted per table by its row count and the newest transaction that wrote one of its rows
 * (`xmin`): an insert or update raises it, a delete lowers the count, a rolled-back write leaves
 * both. Cheaper than hashing contents, and stricter: a write of the same values counts too.
 */
export interface WriteWatch {
  /** Resolves once every published event's listeners have finished. */
  settled(): Promise<void>;
  /** The database's fingerprint, after `settled`. */
  fingerprint(): Promise<string>;
  /** Listener failures so far (`event: message`). */
  readonly listenerFailures: string[];
}

export async function watchWrites(t: TestApp): Promise<WriteWatch> {
  const pending = new Set<Promise<void>>();
  const listenerFailures: string[] = [];
  const bus = t.app.get(DomainEventBus);
  const emit = bus.emit.bind(bus);
  bus.emit = ((name, payload) => {
    const p = emit(name, payload);
    pending.add(p);
    void p.finally(() => pending.delete(p));
    return p;
  }) as typeof bus.emit;
  const emitter = t.app.get(EventEmitter2);
  const emitAsync = emitter.emitAsync.bind(emitter);
  emitter.emitAsync = (async (event: string, ...values: unknown[]) => {
    try {
      return await emitAsync(event, ...values);
    } catch (err) {
      listenerFailures.push(`${event}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300));
      throw err;
    }
  }) as typeof emitter.emitAsync;
  const sql = await fingerprintSql(t.dataSource);
  const settled = async (): Promise<void> => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
  };
  return {
    settled,
    listenerFailures,
    async fingerprint() {
      await settled();
      return JSON.stringify(await t.dataSource.query(sql));
    },
  };
}

async function fingerprintSql(ds: DataSource): Promise<string> {
  const tables = (await ds.query(
    `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' ORDER BY 1`,
  )) as { tablename: string }[];
  return tables
    .map(
      ({ tablename }) =>
        `SELECT '${tablename}' AS t, count(*)::int AS n, coalesce(max(x.xmin::text::bigint), 0)::text AS h FROM "${tablename}" x`,
    )
    .join(' UNION ALL ');
}

/** The tables whose fingerprint differs between two `fingerprint()` results, with their row counts. */
export function writtenTables(before: string, after: string): string {
  const b = JSON.parse(before) as { t: string; n: number; h: string }[];
  const a = JSON.parse(after) as { t: string; n: number; h: string }[];
  return a
    .map((row, i) => ({ row, was: b[i] }))
    .filter(({ row, was }) => row.h !== was?.h || row.n !== was?.n)
    .map(({ row, was }) => `${row.t} (${was?.n ?? 0} -> ${row.n} rows)`)
    .join(', ');
}

/** An error body in the house shape: `{ error, message, correlationId }`, the message not empty. */
export function isHouseError(body: unknown): body is { error: string; message: string; correlationId: string } {
  const b = body as { error?: unknown; message?: unknown; correlationId?: unknown } | undefined;
  return (
    typeof b?.error === 'string' &&
    typeof b.message === 'string' &&
    b.message !== '' &&
    typeof b.correlationId === 'string'
  );
}

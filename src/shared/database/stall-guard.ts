import { Client, ClientConfig } from 'pg';

/**
 * The code of the error a guarded connection fails with: one `isDatabaseUnavailable` knows, so a
 * request caught by it answers 503 with Retry-After.
 */
export const STALLED_CONNECTION_CODE = 'ETIMEDOUT';

/** What the guard reads of a node-postgres client: its socket, and whether a statement is out. */
interface WatchedClient {
  /** False from sending a statement (or starting up) until PostgreSQL says it is ready again. */
  readyForQuery?: boolean;
  connection?: { stream?: { setTimeout?: unknown; destroy?: unknown } };
}

/**
 * Closes a server connection that has had a statement out and heard nothing for `timeoutMs`. A
 * connection left half-open by a failover (the server gone without a FIN or RST) otherwise holds
 * its statement until the kernel gives up on the retransmissions, about 15 minutes on Linux, and
 * with it every request waiting behind that statement; keepalive probes do not help while data is
 * unacknowledged. The closed connection fails its statement with STALLED_CONNECTION_CODE (a 503
 * for ingest: the sender retries, and delivery keys keep the retry from counting twice), and the
 * pool opens a new one. Armed only after the migrations, which may legitimately run silent for
 * long; statements of the running service answer in milliseconds.
 */
export class StallGuard {
  private armed = false;

  constructor(private readonly timeoutMs: number) {}

  /** From now on, stalled connections are closed (before: watched, never closed). */
  arm(): void {
    this.armed = true;
  }

  /** A node-postgres `Client` class whose connections this guard watches (the pool's `Client`). */
  clientClass(): typeof Client {
    const watch = (client: WatchedClient): void => this.watch(client);
    return class GuardedClient extends Client {
      constructor(config?: string | ClientConfig) {
        super(config);
        watch(this as unknown as WatchedClient);
      }
    };
  }

  private watch(client: WatchedClient): void {
    const socket = client.connection?.stream as
      | { setTimeout(ms: number): unknown; on(event: 'timeout', cb: () => void): unknown; destroy(err: Error): unknown }
      | undefined;
    if (this.timeoutMs <= 0 || typeof socket?.setTimeout !== 'function' || typeof socket.destroy !== 'function') {
      return;
    }
    // 'timeout' fires after timeoutMs without a byte either way (again after each new wait; a
    // listener, not setTimeout's one-time callback, so an idle spell does not use it up)
    socket.setTimeout(this.timeoutMs);
    socket.on('timeout', () => {
      if (!this.armed || client.readyForQuery !== false) return; // idle in the pool: nothing is waiting
      socket.destroy(
        Object.assign(
          new Error(
            `PostgreSQL sent nothing for ${this.timeoutMs / 1000} s while a statement was out; the connection was closed`,
          ),
          { code: STALLED_CONNECTION_CODE },
        ),
      );
    });
  }
}

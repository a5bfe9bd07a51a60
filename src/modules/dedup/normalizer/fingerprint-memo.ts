import { hash } from 'node:crypto';
import type { FingerprintedMessage } from '../dedup.contract';
import { fingerprintMessage } from './fingerprint-message';

/** Messages remembered at most; the memo starts again empty when it is full. */
export const FINGERPRINT_MEMO_ENTRIES = 4096;
/** Longer messages are fingerprinted every time (they rarely repeat verbatim, and each entry keeps its text). */
export const FINGERPRINT_MEMO_MAX_MESSAGE = 1024;

/**
 * `fingerprintMessage` for ingest, remembered per exact (source, feature, message). A Grafana alert
 * rule resends the same alert text on every evaluation that fires, and services log the same line
 * again and again, so most observations repeat one that was fingerprinted moments ago; scrubbing
 * and normalising were ~9% of the service's CPU for single-alert webhooks. The key is a sha256
 * digest of the raw text, so the memo never holds a secret the message carried, only the scrubbed
 * results. Pure: the same input gives the same fingerprint as `fingerprintMessage` for the life of
 * the process (FINGERPRINT_VERSION is fixed per release).
 */
export class FingerprintMemo {
  private readonly entries = new Map<string, FingerprintedMessage>();

  constructor(
    private readonly maxEntries = FINGERPRINT_MEMO_ENTRIES,
    private readonly maxMessage = FINGERPRINT_MEMO_MAX_MESSAGE,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  fingerprint(source: string, feature: string, message: string): FingerprintedMessage {
    if (message.length > this.maxMessage || source.length + feature.length > this.maxMessage) {
      return fingerprintMessage(source, feature, message);
    }
    const key = hash('sha256', JSON.stringify([source, feature, message]));
    const seen = this.entries.get(key);
    if (seen !== undefined) return seen;
    const filed = Object.freeze(fingerprintMessage(source, feature, message));
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, filed);
    return filed;
  }
}

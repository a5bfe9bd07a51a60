import type { GroupState } from './grouping-engine';

/** Groups kept at most, over every cached scope and token count (about 400 bytes each: ~20 MB). */
export const GROUPING_SCOPE_CACHE_GROUPS = 50_000;

interface Entry {
  readonly version: string;
  readonly groups: readonly GroupState[];
}

/**
 * A replica's copy of the live groups the grouping engine reads for a new fingerprint, per scope
 * (source, feature) and token count, each tagged with the scope's version
 * (`grouping_scope_versions`, which a trigger changes on every write to the scope's groups, by any
 * replica). An entry is used only when the version it was stored with is the scope's version now,
 * read under the scope's lock; otherwise the groups are read again. Reading a scope's groups cost
 * about 3-5 us per group (16 ms for 3,000); with the copy, a new fingerprint in a large scope
 * costs the engine's decision alone.
 *
 * Bounded by the number of groups held: the least recently used entries go first, and a scope
 * larger than the bound is not kept. Holds patterns (normalised, scrubbed templates) only.
 */
export class GroupingScopeCache {
  private readonly entries = new Map<string, Entry>();
  private held = 0;

  constructor(private readonly maxGroups = GROUPING_SCOPE_CACHE_GROUPS) {}

  /** Groups held, over all entries. */
  get size(): number {
    return this.held;
  }

  /** The live groups stored for this scope and token count, when stored at `version`. */
  get(source: string, feature: string, tokenCount: number, version: string | null): readonly GroupState[] | undefined {
    if (version === null) return undefined;
    const key = keyOf(source, feature, tokenCount);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.version !== version) {
      this.drop(key, entry);
      return undefined;
    }
    // most recently used last
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.groups;
  }

  /** Stores the live groups of a scope and token count as they are at `version` (none: nothing stored). */
  set(
    source: string,
    feature: string,
    tokenCount: number,
    version: string | null,
    groups: readonly GroupState[],
  ): void {
    const key = keyOf(source, feature, tokenCount);
    const previous = this.entries.get(key);
    if (previous !== undefined) this.drop(key, previous);
    if (version === null || groups.length > this.maxGroups) return;
    for (const [oldest, entry] of this.entries) {
      if (this.held + groups.length <= this.maxGroups) break;
      this.drop(oldest, entry);
    }
    this.entries.set(key, { version, groups });
    this.held += groups.length;
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.held -= entry.groups.length;
  }
}

function keyOf(source: string, feature: string, tokenCount: number): string {
  return JSON.stringify([source, feature, tokenCount]);
}

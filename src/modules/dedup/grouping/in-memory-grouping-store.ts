import {
  applyGroupingDecision,
  decideGrouping,
  DEFAULT_GROUPING_CONFIG,
  GroupingConfig,
  GroupingDecision,
  GroupState,
  liveGroupsAfter,
  tokenCount,
} from './grouping-engine';

/** Where one message was filed when it arrived. */
export interface Assignment {
  readonly fingerprint: string;
  /** The group (issue) key the message got at arrival. */
  readonly groupKey: string;
  /** The decision taken, when the fingerprint was new to its scope; null for a known one. */
  readonly decision: GroupingDecision | null;
}

interface ScopeMemory {
  /** fingerprint -> key of the group it was filed under (followed through `mergedInto`). */
  readonly filedUnder: Map<string, string>;
  readonly groups: Map<string, GroupState>;
  /** Live groups by token count: what the service would load from its index. */
  readonly liveByTokenCount: Map<number, readonly GroupState[]>;
  nextSeq: number;
}

/**
 * Keeps grouping state in memory, per (source, feature) scope, and drives `decideGrouping` exactly
 * as the service does over Postgres. Used by the CLI and the benchmarks; one process, no database.
 */
export class InMemoryGroupingStore {
  /** source -> feature -> scope (two maps, not a joined key: this runs for every message). */
  private readonly scopes = new Map<string, Map<string, ScopeMemory>>();

  constructor(private readonly config: GroupingConfig = DEFAULT_GROUPING_CONFIG) {}

  /** Files one normalised message of a scope; returns the group it gets at arrival. */
  assign(source: string, feature: string, fingerprint: string, template: string): Assignment {
    const scope = this.scope(source, feature);
    const known = scope.filedUnder.get(fingerprint);
    if (known !== undefined) {
      return { fingerprint, groupKey: this.resolve(scope, fingerprint, known), decision: null };
    }
    const count = tokenCount(template);
    const live = scope.liveByTokenCount.get(count) ?? [];
    const decision = decideGrouping({ groups: live, nextSeq: scope.nextSeq }, { fingerprint, template }, this.config);
    if (decision.created) scope.nextSeq++;
    // the common case, a new group or a join, changes no other group
    const changed = decision.merges.length > 0 ? applyGroupingDecision(live, decision) : [];
    if (decision.created) scope.groups.set(decision.created.key, decision.created);
    for (const group of changed) scope.groups.set(group.key, group);
    scope.liveByTokenCount.set(count, liveGroupsAfter(live, decision));
    scope.filedUnder.set(fingerprint, decision.groupKey);
    return { fingerprint, groupKey: decision.groupKey, decision };
  }

  /** The group a fingerprint belongs to now, after every merge so far; undefined if unknown. */
  currentGroupOf(source: string, feature: string, fingerprint: string): string | undefined {
    const scope = this.scopes.get(source)?.get(feature);
    const filed = scope?.filedUnder.get(fingerprint);
    if (scope === undefined || filed === undefined) return undefined;
    return this.resolve(scope, fingerprint, filed);
  }

  /** A snapshot of every group of a scope (live and merged), oldest first. */
  groups(source: string, feature: string): GroupState[] {
    const scope = this.scopes.get(source)?.get(feature);
    if (scope === undefined) return [];
    return [...scope.groups.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The fingerprints filed under a group or under the groups merged into it (its aliases). */
  aliasesOf(source: string, feature: string, groupKey: string): string[] {
    const scope = this.scopes.get(source)?.get(feature);
    if (scope === undefined) return [];
    const aliases: string[] = [];
    for (const [fingerprint, filed] of scope.filedUnder) {
      if (this.resolve(scope, fingerprint, filed) === groupKey) aliases.push(fingerprint);
    }
    return aliases;
  }

  private scope(source: string, feature: string): ScopeMemory {
    let features = this.scopes.get(source);
    if (features === undefined) {
      features = new Map();
      this.scopes.set(source, features);
    }
    let scope = features.get(feature);
    if (scope === undefined) {
      scope = { filedUnder: new Map(), groups: new Map(), liveByTokenCount: new Map(), nextSeq: 0 };
      features.set(feature, scope);
    }
    return scope;
  }

  /** Follows `mergedInto` to the live group, and remembers the result (path compression). */
  private resolve(scope: ScopeMemory, fingerprint: string, filed: string): string {
    let key = filed;
    for (let group = scope.groups.get(key); group?.mergedInto; group = scope.groups.get(key)) {
      key = group.mergedInto;
    }
    if (key !== filed) scope.filedUnder.set(fingerprint, key);
    return key;
  }
}

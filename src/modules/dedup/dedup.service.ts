import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { clipText } from '../../shared/database/pg-text';
import { DomainError } from '../../shared/errors/domain-error';
import { scrubJsonSecrets, scrubSecrets } from '../../shared/security/secret-scrubber';
import { Actor, CountedIssue, IssuesFacade, SYSTEM } from '../issues/issues.facade';
import type {
  CreatedIssue,
  DedupBatchResult,
  FiledObservation,
  KnownPathOutcome,
  ObservationInput,
  PerformedMerge,
} from './dedup.contract';
import { DedupRepository, GroupRef, LinkRow, NewLink, SampleRow } from './dedup.repository';
import {
  GroupMerge,
  GroupState,
  GroupingDecision,
  decideGrouping,
  liveGroupsAfter,
  mergesAfterChange,
  relearnPattern,
  tokenCount,
} from './grouping/grouping-engine';
import { GroupingScopeCache } from './grouping/grouping-scope-cache';
import { FingerprintMemo } from './normalizer/fingerprint-memo';
import { scopeText } from './normalizer/fingerprint-message';

/** Longest issue title built from a message. */
export const TITLE_MAX_LENGTH = 200;
const DEDUP_ACTOR: Actor = SYSTEM('dedup');
/**
 * `markMerged` refusals after which the issues stay apart: another merge got there first, or the
 * issue to absorb has a fix in production under verification (closing it would end that watch).
 */
const MERGE_ALREADY_DECIDED = new Set([
  'ISSUE_ALREADY_MERGED',
  'ISSUE_MERGE_TARGET_MERGED',
  'ISSUE_MERGE_SELF',
  'ISSUE_MERGE_FIX_IN_PRODUCTION',
]);

/** An observation after scrubbing and fingerprinting. */
interface Prepared extends SampleRow {
  source: string;
  feature: string;
  normalized: string;
  observedAt: Date;
}

/** A grouping scope's version and next group sequence number (`DedupRepository.scopeVersion`). */
interface ScopeMark {
  version: string | null;
  nextSeq: number;
}

/** An observation ready for the known-fingerprint statement (`DedupService.prepareKnown`). */
export type PreparedKnown = Prepared & { deliveryKey: string };

/** One request's observations for `recordKnown`, with what `prepareKnown` made of them (same order). */
export interface KnownGroup {
  observations: readonly ObservationInput[];
  prepared: readonly PreparedKnown[];
}

/**
 * A title from a scrubbed message: whitespace collapsed, at most TITLE_MAX_LENGTH characters (a cut
 * never keeps half of an emoji, which would be stored as U+FFFD).
 */
export function titleFrom(scrubbedMessage: string): string {
  const flat = scrubbedMessage.replace(/\s+/g, ' ').trim() || '(empty message)';
  return flat.length <= TITLE_MAX_LENGTH ? flat : `${clipText(flat, TITLE_MAX_LENGTH - 1)}…`;
}

/**
 * Files observations into deduplicated issues, inside the caller's transaction:
 * - a known fingerprint (the common case): its link and issue are counted, a bounded sample kept;
 *   no lock beyond the rows updated;
 * - a new fingerprint: under its scope's advisory lock, the grouping engine decides whether it
 *   starts an issue, joins one through a variable position learned earlier, or makes a merge
 *   evident (absorbed issues are merged into the oldest group's issue, their links become aliases).
 */
@Injectable()
export class DedupService {
  /** The issues module's counting statement, as one function for every batch (its text is built once). */
  private readonly issuesCountSql = (source: string): string => this.issues.countObservationsSql(source);
  /** Repeated messages are scrubbed and normalised once (most observations repeat a recent one). */
  private readonly fingerprints = new FingerprintMemo();
  /** Live groups of large scopes, read again only when the scope's version says they changed. */
  private readonly scopes = new GroupingScopeCache();

  constructor(
    private readonly repo: DedupRepository,
    private readonly issues: IssuesFacade,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Scrubs, normalises and fingerprints observations for `recordKnown`. Done in the request's own
   * turn, before it joins a batch, so the statement that batches share spends no time on it.
   */
  prepareKnown(observations: readonly ObservationInput[]): PreparedKnown[] {
    return observations.map((o) => {
      if (o.deliveryKey === undefined) throw new Error('dedup: recordKnown needs delivery keys');
      // not `{ ...prepared, deliveryKey }`: each property after a spread costs ~0.6 us on Node 20
      return Object.assign(this.prepare(o), { deliveryKey: o.deliveryKey });
    });
  }

  /**
   * The common case in one autocommitted statement (see `DedupRepository.countKnownInOneStatement`)
   * for several requests' observations at once (`KnownPathBatcher`): observations whose
   * fingerprint already has a link are claimed (delivery key), counted and sampled; the others are
   * left for `recordObservations` in a transaction, their keys unclaimed, so a failure there loses
   * nothing (the sender's retry finds the known part already claimed). One outcome per group, in
   * order (a key sent twice is new only in its first group), and what was filed, summarised over
   * all groups, for the caller to announce after the statement (it commits as it returns).
   */
  async recordKnown(
    manager: EntityManager,
    groups: readonly KnownGroup[],
  ): Promise<{ outcomes: KnownPathOutcome[]; filed: FiledObservation[] }> {
    const prepared = groups.map((g) => g.prepared);
    const r = await this.repo.countKnownInOneStatement(
      manager,
      prepared.flat(),
      { perFingerprint: this.config.SAMPLES_PER_FINGERPRINT, intervalMs: this.config.SAMPLE_INTERVAL_MS },
      this.issuesCountSql,
    );
    const issueOf = new Map(r.links.map((l) => [l.fingerprint, l.issueId]));
    const allFresh: Prepared[] = [];
    const outcomes = groups.map(({ observations }, g): KnownPathOutcome => {
      const handled = new Set<ObservationInput>();
      let accepted = 0;
      prepared[g].forEach((p, i) => {
        if (!r.known.has(p.fingerprint)) return;
        handled.add(observations[i]);
        if (r.claimed.delete(p.deliveryKey)) {
          accepted++;
          allFresh.push(p);
        }
      });
      return { handled, accepted, result: { filed: [], created: [], merges: [] } };
    });
    // One summary for the whole statement: `error.received` per fingerprint and version, not per request.
    const filed = this.summarise(allFresh, (fp) => {
      const issueId = issueOf.get(fp);
      const issue = issueId === undefined ? undefined : r.issues.get(issueId);
      return issueId === undefined || issue === undefined ? undefined : { issueId, issue };
    });
    return { outcomes, filed };
  }

  async recordObservations(
    manager: EntityManager,
    observations: readonly ObservationInput[],
  ): Promise<DedupBatchResult> {
    const result: DedupBatchResult = { filed: [], created: [], merges: [] };
    if (observations.length === 0) return result;
    const prepared = observations.map((o) => this.prepare(o));
    const samples = this.config.SAMPLES_PER_FINGERPRINT;

    // Every scope lock first, in one fixed order, before any row lock. Otherwise a transaction
    // holding a hot issue's row (counted below) could wait for a scope lock held by another that
    // is about to file an alias onto that same issue: a deadlock.
    await this.repo.lockScopes(manager, prepared);

    // Which fingerprints are filed already: read once, under the scope locks. (Most batches here
    // are new fingerprints: the known-path statement counted the known ones before.)
    const existing = await this.repo.findLinks(manager, [...new Set(prepared.map((p) => p.fingerprint))]);
    const filed = prepared.filter((p) => existing.has(p.fingerprint));
    const known = filed.length === 0 ? [] : await this.repo.countOnLinks(manager, filed, samples);
    const counted = await this.countOnIssues(manager, filed, known);
    const linkOf = new Map(known.map((l) => [l.fingerprint, l]));

    const unknown = prepared.filter((p) => !existing.has(p.fingerprint));
    if (unknown.length > 0) {
      await this.fileNewFingerprints(manager, unknown, result);
      const newLinks = await this.repo.countOnLinks(manager, unknown, samples);
      for (const [id, issue] of await this.countOnIssues(manager, unknown, newLinks)) counted.set(id, issue);
      for (const l of newLinks) linkOf.set(l.fingerprint, l);
    }

    let filing = new Map<string, { issueId: string; issue: CountedIssue }>();
    if (result.merges.length > 0) {
      // Merges in this batch moved links: report where every fingerprint is filed now.
      filing = await this.repo.currentFiling(manager, [...new Set(prepared.map((p) => p.fingerprint))]);
    }
    result.filed = this.summarise(prepared, (fp) => {
      const now = filing.get(fp);
      if (now !== undefined) return now;
      const issueId = linkOf.get(fp)?.issueId;
      const issue = issueId === undefined ? undefined : counted.get(issueId);
      return issueId === undefined || issue === undefined ? undefined : { issueId, issue };
    });
    return result;
  }

  /**
   * One entry per (fingerprint, version) of a batch: `count` sums its occurrences and `observedAt`
   * is the latest. A push of 1,000 lines of one error is one `error.received`, not 1,000 (each
   * listener runs a transaction per event); totals and the latest time are kept.
   */
  private summarise(
    rows: readonly Prepared[],
    filedAt: (fingerprint: string) => { issueId: string; issue: CountedIssue } | undefined,
  ): FiledObservation[] {
    const byKey = new Map<string, FiledObservation>();
    for (const p of rows) {
      const key = `${p.fingerprint}|${p.version ?? ''}`;
      const seen = byKey.get(key);
      if (seen !== undefined) {
        seen.count += p.count;
        if (p.observedAt > seen.observedAt) seen.observedAt = p.observedAt;
        continue;
      }
      const at = filedAt(p.fingerprint);
      if (at === undefined) throw new Error(`dedup: fingerprint ${p.fingerprint} has no link after filing`);
      const filed: FiledObservation = {
        issueId: at.issueId,
        fingerprint: p.fingerprint,
        eventCount: at.issue.eventCount,
        issueStatus: at.issue.status,
        spawnStatus: at.issue.spawnStatus,
        observedAt: p.observedAt,
        count: p.count,
      };
      if (p.version !== null) filed.version = p.version;
      byKey.set(key, filed);
    }
    return [...byKey.values()];
  }

  /**
   * Resolved alerts are not occurrences: the links of their fingerprints (if any) only note when
   * the alert resolved (`metadata.lastResolvedAt`). Returns each observation's fingerprint.
   */
  async recordResolved<T extends ObservationInput>(
    manager: EntityManager,
    observations: readonly T[],
    resolvedAt: (o: T) => Date,
  ): Promise<string[]> {
    const fps = observations.map((o) => this.fingerprints.fingerprint(o.source, o.feature, o.message).fingerprint);
    // the latest resolution of each fingerprint
    const latest = new Map<string, Date>();
    observations.forEach((o, i) => {
      const at = resolvedAt(o);
      const seen = latest.get(fps[i]);
      if (seen === undefined || at > seen) latest.set(fps[i], at);
    });
    if (latest.size > 0) await this.repo.noteResolved(manager, latest);
    return fps;
  }

  private prepare(o: ObservationInput): Prepared {
    const {
      source,
      feature,
      scrubbed,
      normalized,
      fingerprint: fp,
    } = this.fingerprints.fingerprint(o.source, o.feature, o.message);
    return {
      source,
      feature,
      normalized,
      observedAt: o.occurredAt,
      fingerprint: fp,
      count: o.count,
      occurredAt: o.occurredAt,
      level: o.level === undefined ? null : scopeText(o.level),
      version: o.version === undefined ? null : scopeText(o.version),
      labels: scrubJsonSecrets(o.labels).value,
      message: scrubbed,
      stack: o.stack === undefined ? null : scrubSecrets(o.stack).text,
      kind: o.kind,
    };
  }

  /** Adds the counted observations to their issues; returns the issues' event counts. */
  private async countOnIssues(
    manager: EntityManager,
    rows: readonly Prepared[],
    links: readonly LinkRow[],
  ): Promise<Map<string, CountedIssue>> {
    if (links.length === 0) return new Map();
    const issueOf = new Map(links.map((l) => [l.fingerprint, l.issueId]));
    const perIssue = new Map<string, { issueId: string; count: number; firstSeenAt: Date; lastSeenAt: Date }>();
    for (const r of rows) {
      const issueId = issueOf.get(r.fingerprint);
      if (issueId === undefined) continue;
      const acc = perIssue.get(issueId);
      if (acc === undefined) {
        perIssue.set(issueId, { issueId, count: r.count, firstSeenAt: r.occurredAt, lastSeenAt: r.occurredAt });
      } else {
        acc.count += r.count;
        if (r.occurredAt < acc.firstSeenAt) acc.firstSeenAt = r.occurredAt;
        if (r.occurredAt > acc.lastSeenAt) acc.lastSeenAt = r.occurredAt;
      }
    }
    return this.issues.recordObservations(manager, [...perIssue.values()]);
  }

  /**
   * Creates links (and issues, and merges) for fingerprints without a link, in arrival order. The
   * caller holds their scopes' locks (`recordObservations` takes them all before it reads links).
   */
  private async fileNewFingerprints(
    manager: EntityManager,
    unknown: readonly Prepared[],
    result: DedupBatchResult,
  ): Promise<void> {
    const filed = new Set<string>();
    // Each scope's version and next sequence number as this transaction's last filing in it left
    // them: nobody else writes a scope's groups while its lock is held (every writer takes it), so
    // the scope's next filing here needs no statement to read them.
    const marks = new Map<string, ScopeMark>();
    for (const p of unknown) {
      if (filed.has(p.fingerprint)) continue;
      filed.add(p.fingerprint);
      const scope = JSON.stringify([p.source, p.feature]);
      marks.set(scope, await this.fileOne(manager, p, result, marks.get(scope)));
    }
  }

  /**
   * One new fingerprint, its scope locked: the grouping decision, written. `mark` is the scope's
   * version and next sequence number when this transaction filed in it already (else read here);
   * returns them as this filing leaves them.
   */
  private async fileOne(
    manager: EntityManager,
    p: Prepared,
    result: DedupBatchResult,
    mark?: ScopeMark,
  ): Promise<ScopeMark> {
    const tokens = tokenCount(p.normalized);
    const { version, nextSeq } = mark ?? (await this.repo.scopeVersion(manager, p.source, p.feature));
    const groups =
      this.scopes.get(p.source, p.feature, tokens, version) ??
      (await this.repo.liveGroups(manager, p.source, p.feature, tokens));
    const scope = { groups, nextSeq };
    const decision = decideGrouping(scope, { fingerprint: p.fingerprint, template: p.normalized });
    const base = {
      fingerprint: p.fingerprint,
      scopeSource: p.source,
      scopeFeature: p.feature,
      normalizedMessage: p.normalized,
      tokenCount: tokens,
      seenAt: p.occurredAt,
    };
    // The filing's last statement: its link, which also gives the scope's version after its writes.
    const link = async (filing: Pick<NewLink, 'issueId' | 'follows' | 'kind' | 'rule' | 'evidence'>) => {
      const after = await this.repo.insertLink(manager, { ...base, ...filing });
      return this.rememberScope(p, tokens, { version, nextSeq }, after, groups, decision);
    };
    const primary = (issueId: string) => link({ issueId, kind: 'primary', rule: 'exact', evidence: null });
    if (decision.created !== null && decision.merges.length === 0 && decision.groupKey === decision.created.key) {
      // The common case, a group of its own and no merge: the issue first, so the group is written
      // once, already filed under it.
      const issueId = await this.createIssueFor(manager, p, result);
      await this.repo.insertGroup(manager, p.source, p.feature, decision.created, issueId);
      return primary(issueId);
    }
    const createdKey = decision.created?.key;
    if (decision.created) await this.repo.insertGroup(manager, p.source, p.feature, decision.created);

    let createdIssueId: string | undefined;
    const createIssue = async (): Promise<string> => {
      createdIssueId ??= await this.createIssueFor(manager, p, result);
      return createdIssueId;
    };
    const issueOfGroup = async (key: string): Promise<string | undefined> =>
      key === createdKey ? createdIssueId : this.repo.issueOfGroup(manager, key);

    await this.applyGroupMerges(
      manager,
      p.source,
      p.feature,
      decision.merges,
      async (key, survivor) =>
        (await issueOfGroup(key)) ?? (survivor && key === createdKey ? await createIssue() : undefined),
      result.merges,
    );

    if (decision.groupKey === createdKey) {
      const issueId = await createIssue();
      await this.repo.setGroupIssue(manager, p.source, p.feature, createdKey, issueId);
      return primary(issueId);
    }
    // The group's key link says where the group is filed: a variant of an issue merged away joins
    // it on the merge target, and belongs to that issue when the merge is undone.
    const holding = await this.repo.groupHolding(manager, decision.groupKey);
    if (holding === undefined) throw new Error(`dedup: group ${decision.groupKey} has no issue`);
    return link({
      issueId: holding.issueId,
      follows: holding,
      kind: 'alias',
      rule: 'variable-position',
      evidence: this.joinEvidence(decision.groupKey, scope.groups, decision.merges.at(-1)?.evidence),
    });
  }

  /**
   * Keeps the scope's live groups of this token count as this decision left them, with the version
   * they now have: the version `before` when the decision wrote no group, else `after`, read after
   * its writes (by the link's insert, the filing's last statement; under the scope's lock, so the
   * writes are this transaction's; if it rolls back, the scope keeps its earlier version and the
   * copy is never used). Returns the scope's version and next sequence number now.
   */
  private rememberScope(
    p: Prepared,
    tokens: number,
    before: ScopeMark,
    after: string | null,
    groups: readonly GroupState[],
    decision: GroupingDecision,
  ): ScopeMark {
    const wrote = decision.created !== null || decision.merges.length > 0;
    const version = wrote ? after : before.version;
    this.scopes.set(p.source, p.feature, tokens, version, liveGroupsAfter(groups, decision));
    return { version, nextSeq: decision.created === null ? before.nextSeq : decision.created.seq + 1 };
  }

  /**
   * Writes the grouping engine's merges on one scope (its lock held): the issues merged (aliases,
   * history, an `issue_merges` row each), then the groups. `issueOf` gives a group's issue (for
   * the survivor it may create it); the merges performed are appended to `performed`.
   */
  private async applyGroupMerges(
    manager: EntityManager,
    source: string,
    feature: string,
    merges: readonly GroupMerge[],
    issueOf: (key: string, survivor: boolean) => Promise<string | undefined>,
    performed: PerformedMerge[],
  ): Promise<void> {
    for (const merge of merges) {
      const survivorIssue = await issueOf(merge.survivor, true);
      const evidence = { ...merge.evidence, pattern: merge.pattern } as unknown as Record<string, unknown>;
      for (const absorbed of merge.absorbed) {
        const absorbedIssue = await issueOf(absorbed, false);
        if (survivorIssue === undefined || absorbedIssue === undefined || absorbedIssue === survivorIssue) continue;
        try {
          performed.push(
            await this.mergeIssues(manager, {
              mergedId: absorbedIssue,
              targetId: survivorIssue,
              rule: merge.evidence.rule,
              evidence,
              actor: DEDUP_ACTOR,
              reason: `${merge.evidence.values.length} distinct values at token ${merge.evidence.position}: ${merge.evidence.values.join(', ')}`,
            }),
          );
        } catch (err) {
          // A person merged one of the two meanwhile, or the absorbed issue's fix is under
          // verification (checked under the issues' locks, before anything is written): the issues
          // stay as they are, the grouping state below is still updated, and the observation that
          // made the merge evident is filed, not refused.
          if (!(err instanceof DomainError) || !MERGE_ALREADY_DECIDED.has(err.code)) throw err;
        }
      }
      await this.repo.applyGroupMerge(manager, source, feature, merge);
    }
  }

  /**
   * Learns a live group's pattern again from `templates` (its members' templates as this release
   * normalises them; a fingerprint upgrade), under its scope's lock, and makes the merges the new
   * pattern makes evident, as an arrival would; returns the merges performed. Null when the group
   * is no longer live or its pattern does not change.
   */
  async relearnGroup(
    manager: EntityManager,
    group: GroupRef,
    templates: readonly string[],
  ): Promise<PerformedMerge[] | null> {
    await this.repo.lockScope(manager, group.scopeSource, group.scopeFeature);
    const current = await this.repo.groupPattern(manager, group);
    if (current === undefined) return null;
    const pattern = relearnPattern(current, templates);
    if (pattern === null || JSON.stringify(pattern) === JSON.stringify(current)) return null;
    await this.repo.setGroupPattern(manager, group, pattern);
    const scope = await this.repo.loadScope(manager, group.scopeSource, group.scopeFeature, pattern.length);
    const merges: PerformedMerge[] = [];
    await this.applyGroupMerges(
      manager,
      group.scopeSource,
      group.scopeFeature,
      mergesAfterChange(scope.groups, group.key),
      (key) => this.repo.issueOfGroup(manager, key),
      merges,
    );
    return merges;
  }

  private joinEvidence(
    groupKey: string,
    groups: readonly GroupState[],
    lastMerge: Record<string, unknown> | object | undefined,
  ): Record<string, unknown> {
    if (lastMerge !== undefined) return { ...(lastMerge as Record<string, unknown>), via: 'merge' };
    const group = groups.find((g) => g.key === groupKey);
    return {
      rule: 'variable-position',
      via: 'pattern',
      group: groupKey,
      pattern: group?.pattern ?? null,
      merges: group?.evidence ?? [],
    };
  }

  private async createIssueFor(manager: EntityManager, p: Prepared, result: DedupBatchResult): Promise<string> {
    const issue = await this.issues.createIssue(
      manager,
      {
        title: titleFrom(p.message),
        normalizedMessage: p.normalized,
        source: p.source,
        feature: p.feature,
        firstSeenAt: p.occurredAt,
        lastSeenAt: p.occurredAt,
        historyData: { fingerprint: p.fingerprint },
      },
      DEDUP_ACTOR,
    );
    const created: CreatedIssue = {
      issueId: issue.id,
      identifier: issue.identifier,
      fingerprint: p.fingerprint,
      source: p.source,
      feature: p.feature,
    };
    result.created.push(created);
    return issue.id;
  }

  /**
   * Merges one issue into another, in the caller's transaction: the issue rows (facade: merged
   * into, closed, counts summed, history on both sides), the links moved as aliases carrying the
   * rule and evidence, and an `issue_merges` row. Used by the grouping engine's merges and by a
   * person's merge.
   */
  async mergeIssues(
    manager: EntityManager,
    merge: {
      mergedId: string;
      targetId: string;
      rule: string;
      evidence: Record<string, unknown>;
      actor: Actor;
      reason?: string;
    },
  ): Promise<PerformedMerge> {
    // The merged issue's links before the issues, the order the counting statement takes them in
    // (links, then issues): a merge and a count of one of its fingerprints never deadlock.
    await this.repo.lockLinksOf(manager, merge.mergedId);
    const { merged, carried } = await this.issues.markMerged(manager, merge);
    await this.repo.moveLinks(manager, merge.mergedId, merge.targetId, merge.rule, merge.evidence);
    const mergeId = await this.repo.insertMerge(manager, {
      targetIssueId: merge.targetId,
      mergedIssueId: merge.mergedId,
      rule: merge.rule,
      evidence: merge.evidence,
      actor: merge.actor.name,
    });
    return {
      mergeId,
      targetIssueId: merge.targetId,
      mergedIssueId: merge.mergedId,
      rule: merge.rule,
      actor: merge.actor.name,
      mergedFromStatus: merged.status,
      targetStatusChange: carried,
    };
  }
}

import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { absorbedCte } from '../../shared/database/merge-chain.sql';
import {
  FINGERPRINT_VERSION_SETTING,
  readRuntimeSetting,
  writeRuntimeSetting,
} from '../../shared/database/runtime-settings';
import { queryPrepared } from '../../shared/database/prepared-query';
import { GroupingScope, lockScopes } from '../../shared/database/scope-lock';
import { CountedIssue, countedIssue } from '../issues/issues.facade';
import type { GroupMerge, GroupState, MergeEvidence, PatternToken } from './grouping/grouping-engine';
import { FINGERPRINT_VERSION } from './normalizer/fingerprint';

/** The `source` of the links dedup owns: one per fingerprint. */
export const FINGERPRINT_LINK_SOURCE = 'loki';

/** One observation ready to count: scrubbed, fingerprinted. */
export interface SampleRow {
  fingerprint: string;
  count: number;
  occurredAt: Date;
  level: string | null;
  version: string | null;
  labels: Record<string, string>;
  message: string;
  stack: string | null;
  kind: string;
}

export interface LinkRow {
  linkId: string;
  fingerprint: string;
  issueId: string;
}

export interface FastCountResult {
  /** Fingerprints that had a link: their observations were handled (counted or duplicates). */
  known: Set<string>;
  /** Delivery keys claimed (new) by the statement. */
  claimed: Set<string>;
  /** Where each counted fingerprint is filed. */
  links: LinkRow[];
  /** The counted issues after the statement (event count, status, spawn status). */
  issues: Map<string, CountedIssue>;
}

export interface NewLink {
  fingerprint: string;
  issueId: string;
  /**
   * The link a new alias joins (its group's key link): the alias gets its original issue and merge
   * stack (`aliasMergeState`), so that undoing a merge of that issue takes the alias back with it.
   * Absent: the link is the issue's own (original issue = `issueId`).
   */
  follows?: LinkHolding;
  kind: 'primary' | 'alias';
  scopeSource: string;
  scopeFeature: string;
  normalizedMessage: string;
  tokenCount: number;
  rule: string;
  evidence: Record<string, unknown> | null;
  seenAt: Date;
}

/** A fingerprint link with its newest stored samples (scrubbed messages), for re-fingerprinting. */
export interface LinkSamples {
  linkId: string;
  fingerprint: string;
  issueId: string;
  originalIssueId: string;
  scopeSource: string;
  scopeFeature: string;
  lastSeenAt: Date;
  /** `created_at` as PostgreSQL prints it (microseconds kept): the position for the next page. */
  cursor: string;
  /** The FINGERPRINT_VERSION that made the link, or null when the release that wrote it did not say. */
  version: number | null;
  samples: string[];
  /** What the link was before each merge that moved it, oldest first (`metadata.mergeStack`). */
  mergeStack: unknown[];
}

/** An alias a fingerprint upgrade files: a new fingerprint of an existing link's messages. */
export interface UpgradeAlias {
  fingerprint: string;
  from: LinkSamples;
  normalizedMessage: string;
  tokenCount: number;
  evidence: Record<string, unknown>;
}

/** Which grouping group: its scope and key. */
export interface GroupRef {
  scopeSource: string;
  scopeFeature: string;
  key: string;
}

/** A grouping group with its members' newest samples (one array per link, oldest link first). */
export interface GroupMembers extends GroupRef {
  members: string[][];
}

/** Where a link is filed: the issue holding it now, the issue it was first filed on, its merge stack. */
export interface LinkHolding {
  issueId: string;
  originalIssueId: string;
  /** What the link was before each merge that moved it, oldest first (`metadata.mergeStack`). */
  mergeStack: unknown[];
}

export interface ActiveMerge {
  id: string;
  targetIssueId: string;
  mergedIssueId: string;
  rule: string;
}

/**
 * The rows of `manager.query`: TypeORM answers UPDATE and DELETE with `[rows, affectedCount]`
 * and everything else with the rows.
 */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return result as T[];
}

interface GroupDbRow {
  key: string;
  seq: number;
  pattern: PatternToken[];
  merged_into: string | null;
  evidence: MergeEvidence[];
}

/**
 * Fingerprint links, samples, grouping state and merges. Every method runs inside the caller's
 * transaction (EntityManager). Only the dedup module uses it.
 */
@Injectable()
export class DedupRepository {
  /**
   * Counts observations against the links of their fingerprints, in one statement: the links'
   * event count and seen range grow, and the newest `samplesPerFingerprint` observations of each
   * fingerprint are stored as samples, older samples beyond the bound being deleted. Returns the
   * links found (locked by the update until commit); fingerprints without a link are not counted.
   */
  async countOnLinks(
    manager: EntityManager,
    rows: readonly SampleRow[],
    samplesPerFingerprint: number,
  ): Promise<LinkRow[]> {
    if (rows.length === 0) return [];
    const found = await queryPrepared<{ link_id: string; fingerprint: string; issue_id: string }>(
      manager,
      'dedup_count_links',
      COUNT_ON_LINKS_SQL,
      [...sampleColumns(rows), samplesPerFingerprint],
    );
    return found.map((r) => ({ linkId: r.link_id, fingerprint: r.fingerprint, issueId: r.issue_id }));
  }

  /**
   * The known-fingerprint path in ONE statement (autocommit, so the hot link and issue rows stay
   * locked only while it runs): for the observations whose fingerprint already has a link, claim
   * their delivery keys, and for the claimed ones count on the links and (through
   * `issuesCountSql`, the issues module's statement) on the issues, and sample the links that are
   * due (`samples.intervalMs` since their last sample by the clock or by the occurrences' own
   * times, or a new version: the newest occurrence of each version), so a hot fingerprint does not
   * insert and trim a sample row per occurrence.
   * A delivery is recorded with the observation's kind (grafana, alertmanager, loki, events).
   * Observations of unknown fingerprints are left alone, delivery keys unclaimed, for the
   * transactional path. Returns the known fingerprints, the claimed keys, where each counted
   * fingerprint is filed and the issues' counts afterwards.
   */
  async countKnownInOneStatement(
    manager: EntityManager,
    rows: readonly (SampleRow & { deliveryKey: string })[],
    samples: { perFingerprint: number; intervalMs: number },
    issuesCountSql: (source: string) => string,
  ): Promise<FastCountResult> {
    const { perFingerprint: samplesPerFingerprint, intervalMs: sampleIntervalMs } = samples;
    const result: FastCountResult = { known: new Set(), claimed: new Set(), links: [], issues: new Map() };
    if (rows.length === 0) return result;
    // The hottest statement of the service: prepared once per connection (name from its text), so
    // each batch sends only its parameters and PostgreSQL can reuse the plan.
    const out = await queryPrepared<{
      t: string;
      a: string | null;
      b: string | null;
      n: string | null;
      c: string | null;
    }>(manager, 'dedup_count_known', knownStatementText(issuesCountSql), [
      rows.map((r) => r.deliveryKey),
      ...sampleColumns(rows),
      samplesPerFingerprint,
      sampleIntervalMs,
    ]);
    for (const row of out) {
      if (row.t === 'known' && row.a !== null) result.known.add(row.a);
      else if (row.t === 'claimed' && row.a !== null) result.claimed.add(row.a);
      else if (row.t === 'link' && row.a !== null && row.b !== null)
        result.links.push({ linkId: '', fingerprint: row.a, issueId: row.b });
      else if (row.t === 'issue' && row.a !== null && row.b !== null && row.n !== null)
        result.issues.set(row.a, countedIssue({ id: row.a, event_count: row.n, status: row.b, spawn_status: row.c }));
    }
    return result;
  }

  /** Notes on the links of these fingerprints when their alert resolved (fingerprint -> time). */
  async noteResolved(manager: EntityManager, resolvedAt: ReadonlyMap<string, Date>): Promise<void> {
    await manager.query(
      `UPDATE external_issue_links l
          SET metadata = l.metadata || jsonb_build_object('lastResolvedAt', r.at), updated_at = now()
         FROM unnest($2::text[], $3::timestamptz[]) AS r(fp, at)
        WHERE l.source = $1 AND l.external_id = r.fp`,
      [FINGERPRINT_LINK_SOURCE, [...resolvedAt.keys()], [...resolvedAt.values()].map((d) => d.toISOString())],
    );
  }

  /** The links of these fingerprints (no lock). */
  async findLinks(manager: EntityManager, fingerprints: readonly string[]): Promise<Map<string, LinkRow>> {
    const rows = (await manager.query(
      `SELECT id, external_id, issue_id FROM external_issue_links WHERE source = $1 AND external_id = ANY($2::text[])`,
      [FINGERPRINT_LINK_SOURCE, fingerprints],
    )) as { id: string; external_id: string; issue_id: string }[];
    return new Map(rows.map((r) => [r.external_id, { linkId: r.id, fingerprint: r.external_id, issueId: r.issue_id }]));
  }

  /** The issue a group belongs to now: the issue its key's link points at (links follow merges). */
  async issueOfGroup(manager: EntityManager, key: string): Promise<string | undefined> {
    return (await this.findLinks(manager, [key])).get(key)?.issueId;
  }

  /**
   * Where a group is filed: its key's link (the issue holding it now, the group's own issue and the
   * link's merge stack), for an alias that joins the group; undefined without a link.
   */
  async groupHolding(manager: EntityManager, key: string): Promise<LinkHolding | undefined> {
    const rows = (await manager.query(
      `SELECT l.issue_id, l.original_issue_id, ${mergeStackSql()} AS merge_stack
         FROM external_issue_links l WHERE l.source = $1 AND l.external_id = $2`,
      [FINGERPRINT_LINK_SOURCE, key],
    )) as { issue_id: string; original_issue_id: string; merge_stack: unknown[] }[];
    const r = rows[0];
    return r ? { issueId: r.issue_id, originalIssueId: r.original_issue_id, mergeStack: r.merge_stack } : undefined;
  }

  /** Locks an issue's links (in id order) until the transaction ends. */
  async lockLinksOf(manager: EntityManager, issueId: string): Promise<void> {
    await manager.query(`SELECT id FROM external_issue_links WHERE issue_id = $1 ORDER BY id FOR UPDATE`, [issueId]);
  }

  /**
   * Takes the scope locks of every scope an issue has fingerprints in (those it holds, and those
   * first filed on it or on an issue merged into it, wherever they are now), in the fixed order
   * ingest takes them (sorted, before any row lock): a person's merge or undo of the issue then
   * waits for filings in those scopes, and they for it, so no new fingerprint is filed onto an issue
   * as it is merged away, nor onto the merge target as an undo takes the issue's group back.
   */
  async lockScopesOf(manager: EntityManager, issueId: string): Promise<void> {
    const rows = (await manager.query(
      `WITH RECURSIVE ${absorbedCte('family', '$1::uuid', { includeRoot: true })}
       SELECT DISTINCT scope_source, scope_feature FROM external_issue_links
        WHERE (issue_id = $1 OR original_issue_id IN (SELECT id FROM family))
          AND scope_source IS NOT NULL AND scope_feature IS NOT NULL`,
      [issueId],
    )) as { scope_source: string; scope_feature: string }[];
    await lockScopes(
      manager,
      rows.map((r) => ({ source: r.scope_source, feature: r.scope_feature })),
      'exclusive',
    );
  }

  /** Serialises grouping decisions on one (source, feature) scope until the transaction ends. */
  async lockScope(manager: EntityManager, source: string, feature: string): Promise<void> {
    await lockScopes(manager, [{ source, feature }], 'exclusive');
  }

  /** `lockScope` for several scopes, in the one fixed order every transaction takes them. */
  async lockScopes(manager: EntityManager, scopes: readonly GroupingScope[]): Promise<void> {
    await lockScopes(manager, scopes, 'exclusive');
  }

  /** The scope's live groups with this token count, and the next creation sequence number. */
  async loadScope(
    manager: EntityManager,
    source: string,
    feature: string,
    tokenCount: number,
  ): Promise<{ groups: GroupState[]; nextSeq: number }> {
    const groups = await this.liveGroups(manager, source, feature, tokenCount);
    const { nextSeq } = await this.scopeVersion(manager, source, feature);
    return { groups, nextSeq };
  }

  /** The scope's live groups with this token count, oldest first. */
  async liveGroups(manager: EntityManager, source: string, feature: string, tokenCount: number): Promise<GroupState[]> {
    const rows = (await manager.query(
      `SELECT key, seq, pattern, merged_into, evidence FROM grouping_groups
        WHERE scope_source = $1 AND scope_feature = $2 AND token_count = $3 AND merged_into IS NULL
        ORDER BY seq`,
      [source, feature, tokenCount],
    )) as GroupDbRow[];
    return rows.map((r) => ({
      key: r.key,
      seq: r.seq,
      pattern: r.pattern,
      mergedInto: r.merged_into,
      evidence: r.evidence,
    }));
  }

  /**
   * The scope's version (changed by a trigger on every write to its groups; null before the first
   * one) and its next creation sequence number. Read under the scope's lock, the version says
   * whether groups read at that version are still the scope's groups (`GroupingScopeCache`).
   */
  async scopeVersion(
    manager: EntityManager,
    source: string,
    feature: string,
  ): Promise<{ version: string | null; nextSeq: number }> {
    const [row] = (await manager.query(
      `SELECT (SELECT version::text FROM grouping_scope_versions WHERE scope_source = $1 AND scope_feature = $2) AS version,
              COALESCE((SELECT seq + 1 FROM grouping_groups WHERE scope_source = $1 AND scope_feature = $2
                         ORDER BY seq DESC LIMIT 1), 0) AS next`,
      [source, feature],
    )) as { version: string | null; next: number }[];
    return { version: row.version, nextSeq: Number(row.next) };
  }

  /** Inserts a group the engine created, filed under `issueId` when its issue exists already (else `setGroupIssue`). */
  async insertGroup(
    manager: EntityManager,
    source: string,
    feature: string,
    group: GroupState,
    issueId: string | null = null,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO grouping_groups (scope_source, scope_feature, key, seq, token_count, pattern, merged_into, evidence, issue_id)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, $9)`,
      [
        source,
        feature,
        group.key,
        group.seq,
        group.pattern.length,
        JSON.stringify(group.pattern),
        group.mergedInto,
        JSON.stringify(group.evidence),
        issueId,
      ],
    );
  }

  async setGroupIssue(
    manager: EntityManager,
    source: string,
    feature: string,
    key: string,
    issueId: string,
  ): Promise<void> {
    await manager.query(
      `UPDATE grouping_groups SET issue_id = $4, updated_at = now() WHERE scope_source = $1 AND scope_feature = $2 AND key = $3`,
      [source, feature, key, issueId],
    );
  }

  /** Writes one merge of the engine: the survivor's new pattern and evidence, the absorbed groups' `merged_into`. */
  async applyGroupMerge(manager: EntityManager, source: string, feature: string, merge: GroupMerge): Promise<void> {
    await manager.query(
      `UPDATE grouping_groups SET pattern = $4::jsonb, evidence = evidence || $5::jsonb, updated_at = now()
        WHERE scope_source = $1 AND scope_feature = $2 AND key = $3`,
      [source, feature, merge.survivor, JSON.stringify(merge.pattern), JSON.stringify([merge.evidence])],
    );
    await manager.query(
      `UPDATE grouping_groups SET merged_into = $3, updated_at = now()
        WHERE scope_source = $1 AND scope_feature = $2 AND key = ANY($4::text[])`,
      [source, feature, merge.survivor, merge.absorbed],
    );
  }

  /**
   * Inserts a fingerprint's link (nothing when it already exists: the caller then counts on it).
   * Returns the link's scope's grouping version as this statement sees it, after the transaction's
   * earlier writes to the scope's groups, so a filing that ends with its link needs no statement of
   * its own to read it.
   * An alias that `follows` a link is filed where that link is, with its original issue and merge
   * stack: a variant joining the group of an issue a person merged away counts on the merge target
   * and goes back with the group when the merge is undone.
   */
  async insertLink(manager: EntityManager, link: NewLink): Promise<string | null> {
    const own = { linkKind: link.kind, groupingRule: link.rule, groupingEvidence: link.evidence };
    const [row] = (await manager.query(
      `WITH inserted AS (
       INSERT INTO external_issue_links (source, external_id, issue_id, original_issue_id, link_kind, scope_source, scope_feature,
                                         normalized_message, token_count, grouping_rule, grouping_evidence, event_count,
                                         first_seen_at, last_seen_at, fingerprint_version, metadata)
       VALUES ($1, $2, $3, $14, $4, $5, $6, $7, $8, $9, $10::jsonb, 0, $11, $11, $12, $13::jsonb)
       ON CONFLICT (source, external_id) DO NOTHING
       RETURNING id
       )
       SELECT (SELECT version::text FROM grouping_scope_versions WHERE scope_source = $5 AND scope_feature = $6) AS version`,
      [
        FINGERPRINT_LINK_SOURCE,
        link.fingerprint,
        link.issueId,
        link.kind,
        link.scopeSource,
        link.scopeFeature,
        link.normalizedMessage,
        link.tokenCount,
        link.rule,
        link.evidence === null ? null : JSON.stringify(link.evidence),
        link.seenAt,
        FINGERPRINT_VERSION,
        JSON.stringify(link.follows === undefined ? {} : aliasMergeState(link.follows, own)),
        link.follows?.originalIssueId ?? link.issueId,
      ],
    )) as { version: string | null }[];
    return row.version;
  }

  /**
   * Moves every link (and its samples) of `fromIssueId` to `toIssueId` as aliases with the merge's
   * rule and evidence. What each link was before is pushed on its merge stack (`metadata.mergeStack`)
   * so an unmerge restores it, also for a link that moved twice (A into B, then B into C: undoing
   * B into C gives A's links back their A-into-B rule and evidence).
   */
  async moveLinks(
    manager: EntityManager,
    fromIssueId: string,
    toIssueId: string,
    rule: string,
    evidence: Record<string, unknown>,
  ): Promise<number> {
    const moved = rowsOf<{ id: string }>(
      await manager.query(
        `UPDATE external_issue_links l
          SET issue_id = $2, link_kind = 'alias', grouping_rule = $3, grouping_evidence = $4::jsonb,
              metadata = (l.metadata - 'beforeMerge') || jsonb_build_object('mergeStack', ${mergeStackSql()} ||
                jsonb_build_array(jsonb_build_object(
                  'linkKind', l.link_kind, 'groupingRule', l.grouping_rule, 'groupingEvidence', l.grouping_evidence))),
              updated_at = now()
        WHERE issue_id = $1
       RETURNING id`,
        [fromIssueId, toIssueId, rule, JSON.stringify(evidence)],
      ),
    );
    await manager.query(`UPDATE error_events SET issue_id = $2 WHERE issue_id = $1`, [fromIssueId, toIssueId]);
    return moved.length;
  }

  async insertMerge(
    manager: EntityManager,
    merge: {
      targetIssueId: string;
      mergedIssueId: string;
      rule: string;
      evidence: Record<string, unknown>;
      actor: string;
    },
  ): Promise<string> {
    const [row] = (await manager.query(
      `INSERT INTO issue_merges (target_issue_id, merged_issue_id, rule, evidence, actor)
       VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING id`,
      [merge.targetIssueId, merge.mergedIssueId, merge.rule, JSON.stringify(merge.evidence), merge.actor],
    )) as { id: string }[];
    return row.id;
  }

  /** The active (not undone) merge of an issue, locked. */
  async lockActiveMerge(manager: EntityManager, mergedIssueId: string): Promise<ActiveMerge | undefined> {
    const rows = (await manager.query(
      `SELECT id, target_issue_id, merged_issue_id, rule FROM issue_merges
        WHERE merged_issue_id = $1 AND undone_at IS NULL FOR UPDATE`,
      [mergedIssueId],
    )) as { id: string; target_issue_id: string; merged_issue_id: string; rule: string }[];
    const r = rows[0];
    return r
      ? { id: r.id, targetIssueId: r.target_issue_id, mergedIssueId: r.merged_issue_id, rule: r.rule }
      : undefined;
  }

  /**
   * Gives an unmerged issue its links back: its own (original_issue_id) with what they were before
   * the merge, and those of issues still merged into it. Samples follow their links. Returns the
   * event count of the links given back, and the issue's link total afterwards (null: no links).
   */
  async restoreLinks(
    manager: EntityManager,
    issueId: string,
  ): Promise<{
    movedEventCount: number;
    takenFrom: { issueId: string; eventCount: number }[];
    linkEventCount: number | null;
  }> {
    // Each link's holder before the move (`held_by`): its events are taken off that issue, which
    // is the merge's target or, when the target was merged on since, the issue holding them now.
    const own = rowsOf<{ id: string; event_count: string; held_by: string }>(
      await manager.query(
        `WITH before AS (
           SELECT id, issue_id FROM external_issue_links
            WHERE original_issue_id = $1 AND issue_id <> $1 ORDER BY id FOR UPDATE)
         UPDATE external_issue_links l
          SET issue_id = l.original_issue_id, ${popMergeStackSql()}, updated_at = now()
          FROM before WHERE l.id = before.id
       RETURNING l.id, l.event_count, before.issue_id AS held_by`,
        [issueId],
      ),
    );
    const followers = rowsOf<{ id: string; event_count: string; held_by: string }>(
      await manager.query(
        `WITH RECURSIVE ${absorbedCte('merged_in', '$1')}, before AS (
         SELECT id, issue_id FROM external_issue_links
          WHERE original_issue_id IN (SELECT id FROM merged_in) AND issue_id <> $1 ORDER BY id FOR UPDATE)
       UPDATE external_issue_links l SET issue_id = $1, ${popMergeStackSql()}, updated_at = now()
         FROM before WHERE l.id = before.id
       RETURNING l.id, l.event_count, before.issue_id AS held_by`,
        [issueId],
      ),
    );
    const ids = [...own, ...followers].map((r) => r.id);
    if (ids.length > 0) {
      await manager.query(`UPDATE error_events SET issue_id = $1 WHERE link_id = ANY($2::uuid[])`, [issueId, ids]);
    }
    const [{ total, n }] = (await manager.query(
      `SELECT COALESCE(SUM(event_count), 0) AS total, COUNT(*)::int AS n FROM external_issue_links WHERE issue_id = $1`,
      [issueId],
    )) as { total: string; n: number }[];
    const takenFrom = new Map<string, number>();
    for (const r of [...own, ...followers]) {
      takenFrom.set(r.held_by, (takenFrom.get(r.held_by) ?? 0) + Number(r.event_count));
    }
    return {
      movedEventCount: [...own, ...followers].reduce((sum, r) => sum + Number(r.event_count), 0),
      takenFrom: [...takenFrom].map(([holder, eventCount]) => ({ issueId: holder, eventCount })),
      linkEventCount: Number(n) > 0 ? Number(total) : null,
    };
  }

  async markMergeUndone(manager: EntityManager, mergeId: string, actor: string): Promise<void> {
    await manager.query(`UPDATE issue_merges SET undone_at = now(), undone_by = $2 WHERE id = $1`, [mergeId, actor]);
  }

  /** The fingerprint version stored by the last upgrade, or null when none was recorded. */
  async fingerprintVersion(manager: EntityManager): Promise<number | null> {
    const value = await readRuntimeSetting(manager, FINGERPRINT_VERSION_SETTING);
    return typeof value === 'number' ? value : null;
  }

  async setFingerprintVersion(manager: EntityManager, version: number, actor: string): Promise<void> {
    await writeRuntimeSetting(manager, FINGERPRINT_VERSION_SETTING, version, actor);
  }

  /**
   * Up to `limit` fingerprint links made by a fingerprint version older than `version` (or by a
   * release that did not record one), after `after`, oldest first, each with up to `perLink` of its
   * newest samples (none for a link without samples or scope: there is nothing to re-fingerprint).
   * The links are key-share locked: counting them goes on, but a merge of their issue (which locks
   * the links it moves) waits for the upgrade, so an alias is never filed onto an issue merged away.
   */
  async linksDueForUpgrade(
    manager: EntityManager,
    version: number,
    perLink: number,
    after: { cursor: string; linkId: string } | null,
    limit: number,
  ): Promise<LinkSamples[]> {
    const rows = (await manager.query(
      `SELECT l.id, l.external_id, l.issue_id, l.original_issue_id, l.scope_source, l.scope_feature, l.last_seen_at,
              l.created_at::text AS cursor, l.fingerprint_version, s.samples, ${mergeStackSql()} AS merge_stack
         FROM external_issue_links l
         LEFT JOIN LATERAL (
           SELECT array_agg(e.message ORDER BY e.id DESC) AS samples
             FROM (SELECT id, message FROM error_events WHERE link_id = l.id ORDER BY id DESC LIMIT $2) e
         ) s ON l.scope_source IS NOT NULL AND l.scope_feature IS NOT NULL
        WHERE l.source = $1 AND (l.fingerprint_version IS NULL OR l.fingerprint_version < $3)
          AND ($4::timestamptz IS NULL OR (l.created_at, l.id) > ($4::timestamptz, $5::uuid))
        ORDER BY l.created_at, l.id
        LIMIT $6
        FOR KEY SHARE OF l`,
      [FINGERPRINT_LINK_SOURCE, perLink, version, after?.cursor ?? null, after?.linkId ?? null, limit],
    )) as {
      id: string;
      external_id: string;
      issue_id: string;
      original_issue_id: string;
      scope_source: string | null;
      scope_feature: string | null;
      last_seen_at: Date;
      cursor: string;
      fingerprint_version: number | null;
      samples: string[] | null;
      merge_stack: unknown[];
    }[];
    return rows.map((r) => ({
      linkId: r.id,
      fingerprint: r.external_id,
      issueId: r.issue_id,
      originalIssueId: r.original_issue_id,
      scopeSource: r.scope_source ?? '',
      scopeFeature: r.scope_feature ?? '',
      lastSeenAt: new Date(r.last_seen_at),
      cursor: r.cursor,
      version: r.fingerprint_version,
      samples: r.samples ?? [],
      mergeStack: r.merge_stack,
    }));
  }

  /** Records that links' fingerprints are those `version` gives (checked, or made by it). */
  async stampFingerprintVersion(manager: EntityManager, linkIds: readonly string[], version: number): Promise<void> {
    if (linkIds.length === 0) return;
    await manager.query(`UPDATE external_issue_links SET fingerprint_version = $2 WHERE id = ANY($1::uuid[])`, [
      linkIds,
      version,
    ]);
  }

  /**
   * Files a new fingerprint of an existing link's messages as an alias of the same issue (and of
   * the same original issue, so an unmerge takes it back with the rest). False when the
   * fingerprint already had a link.
   */
  async insertUpgradeAlias(manager: EntityManager, alias: UpgradeAlias, rule: string): Promise<boolean> {
    const from = alias.from;
    const metadata = aliasMergeState(from, { linkKind: 'alias', groupingRule: rule, groupingEvidence: alias.evidence });
    const rows = (await manager.query(
      `INSERT INTO external_issue_links (source, external_id, issue_id, original_issue_id, link_kind, scope_source, scope_feature,
                                         normalized_message, token_count, grouping_rule, grouping_evidence, event_count,
                                         first_seen_at, last_seen_at, metadata, fingerprint_version)
       VALUES ($1, $2, $3, $4, 'alias', $5, $6, $7, $8, $9, $10::jsonb, 0, $11, $11, $12::jsonb, $13)
       ON CONFLICT (source, external_id) DO NOTHING
       RETURNING id`,
      [
        FINGERPRINT_LINK_SOURCE,
        alias.fingerprint,
        from.issueId,
        from.originalIssueId,
        from.scopeSource,
        from.scopeFeature,
        alias.normalizedMessage,
        alias.tokenCount,
        rule,
        JSON.stringify(alias.evidence),
        from.lastSeenAt,
        JSON.stringify(metadata),
        FINGERPRINT_VERSION,
      ],
    )) as { id: string }[];
    return rows.length > 0;
  }

  /** The live grouping groups of `issueIds`. */
  async liveGroupsOf(manager: EntityManager, issueIds: readonly string[]): Promise<GroupRef[]> {
    if (issueIds.length === 0) return [];
    const rows = (await manager.query(
      `SELECT scope_source, scope_feature, key FROM grouping_groups
        WHERE issue_id = ANY($1::uuid[]) AND merged_into IS NULL`,
      [issueIds],
    )) as { scope_source: string; scope_feature: string; key: string }[];
    return rows.map((r) => ({ scopeSource: r.scope_source, scopeFeature: r.scope_feature, key: r.key }));
  }

  /**
   * The newest samples of each group's members: the links of the group's issue in the group's
   * scope, oldest first, except links a person's merge brought in (`excludeRule`), which belong to
   * other groups. Groups without a member with samples are left out.
   */
  async groupMemberSamples(
    manager: EntityManager,
    groups: readonly GroupRef[],
    perLink: number,
    excludeRule: string,
  ): Promise<GroupMembers[]> {
    if (groups.length === 0) return [];
    const rows = (await manager.query(
      `SELECT g.scope_source, g.scope_feature, g.key, m.members
         FROM unnest($2::text[], $3::text[], $4::text[]) AS wanted(scope_source, scope_feature, key)
         JOIN grouping_groups g USING (scope_source, scope_feature, key)
         CROSS JOIN LATERAL (
           SELECT json_agg(s.samples ORDER BY l.created_at, l.id) AS members
             FROM external_issue_links l
             CROSS JOIN LATERAL (
               SELECT array_agg(e.message ORDER BY e.id DESC) AS samples
                 FROM (SELECT id, message FROM error_events WHERE link_id = l.id ORDER BY id DESC LIMIT $5) e
             ) s
            WHERE l.source = $1 AND l.issue_id = g.issue_id AND l.scope_source = g.scope_source
              AND l.scope_feature = g.scope_feature AND l.grouping_rule <> $6 AND s.samples IS NOT NULL
         ) m
        WHERE m.members IS NOT NULL`,
      [
        FINGERPRINT_LINK_SOURCE,
        groups.map((g) => g.scopeSource),
        groups.map((g) => g.scopeFeature),
        groups.map((g) => g.key),
        perLink,
        excludeRule,
      ],
    )) as { scope_source: string; scope_feature: string; key: string; members: string[][] }[];
    return rows.map((r) => ({
      scopeSource: r.scope_source,
      scopeFeature: r.scope_feature,
      key: r.key,
      members: r.members,
    }));
  }

  /** A group's pattern while it is live; undefined once merged away (or unknown). */
  async groupPattern(manager: EntityManager, group: GroupRef): Promise<PatternToken[] | undefined> {
    const rows = (await manager.query(
      `SELECT pattern FROM grouping_groups
        WHERE scope_source = $1 AND scope_feature = $2 AND key = $3 AND merged_into IS NULL`,
      [group.scopeSource, group.scopeFeature, group.key],
    )) as { pattern: PatternToken[] }[];
    return rows[0]?.pattern;
  }

  /** Replaces a live group's pattern (and token count) learned again after a fingerprint upgrade. */
  async setGroupPattern(manager: EntityManager, group: GroupRef, pattern: readonly PatternToken[]): Promise<void> {
    await manager.query(
      `UPDATE grouping_groups SET pattern = $4::jsonb, token_count = $5, updated_at = now()
        WHERE scope_source = $1 AND scope_feature = $2 AND key = $3`,
      [group.scopeSource, group.scopeFeature, group.key, JSON.stringify(pattern), pattern.length],
    );
  }

  /** Current link (issue) of fingerprints, with the issue's event count: after merges in a batch. */
  async currentFiling(
    manager: EntityManager,
    fingerprints: readonly string[],
  ): Promise<Map<string, { issueId: string; issue: CountedIssue }>> {
    const rows = (await manager.query(
      `SELECT l.external_id, l.issue_id, i.event_count, i.status, i.spawn_status
         FROM external_issue_links l JOIN issues i ON i.id = l.issue_id
        WHERE l.source = $1 AND l.external_id = ANY($2::text[])`,
      [FINGERPRINT_LINK_SOURCE, fingerprints],
    )) as { external_id: string; issue_id: string; event_count: string; status: string; spawn_status: string | null }[];
    return new Map(
      rows.map((r) => [r.external_id, { issueId: r.issue_id, issue: countedIssue({ id: r.issue_id, ...r }) }]),
    );
  }
}

/**
 * The metadata of a new alias filed beside link `from` (same issue, same original issue) while that
 * issue may be merged into another: each unmerge treats the alias as it treats `from`, and the last
 * restores it as `own` (what it is now): `from`'s merge stack with `own` at the bottom.
 */
function aliasMergeState(from: LinkHolding, own: Record<string, unknown>): Record<string, unknown> {
  if (from.mergeStack.length > 0) return { mergeStack: [own, ...from.mergeStack.slice(1)] };
  return from.issueId === from.originalIssueId ? {} : { mergeStack: [own] };
}

/**
 * A link's merge stack (SQL on `metadata` of alias `t`): what it was before each merge that moved it,
 * oldest first; an unmerge pops one. Links moved by a release that kept only the first state
 * (`metadata.beforeMerge`) read as a stack of that one.
 */
function mergeStackSql(t = 'l'): string {
  return `COALESCE(${t}.metadata->'mergeStack', CASE WHEN ${t}.metadata ? 'beforeMerge'
            THEN jsonb_build_array(${t}.metadata->'beforeMerge') ELSE '[]'::jsonb END)`;
}

/** SET clauses that pop a link's merge stack: its kind, rule and evidence before the last merge. */
function popMergeStackSql(t = 'l'): string {
  const stack = mergeStackSql(t);
  return `link_kind = COALESCE(${stack}->-1->>'linkKind', 'primary'),
          grouping_rule = COALESCE(${stack}->-1->>'groupingRule', 'exact'),
          grouping_evidence = ${stack}->-1->'groupingEvidence',
          metadata = CASE WHEN jsonb_array_length(${stack}) <= 1 THEN ${t}.metadata - 'beforeMerge' - 'mergeStack'
                          ELSE (${t}.metadata - 'beforeMerge') || jsonb_build_object('mergeStack', ${stack} - -1) END`;
}

/**
 * The observations as the counting statements' column arrays, in their `unnest` order: fingerprint,
 * count, occurred at, level, version, labels, message, stack, kind.
 */
function sampleColumns(rows: readonly SampleRow[]): unknown[][] {
  return [
    rows.map((r) => r.fingerprint),
    rows.map((r) => r.count),
    rows.map((r) => r.occurredAt),
    rows.map((r) => r.level),
    rows.map((r) => r.version),
    rows.map((r) => JSON.stringify(r.labels)),
    rows.map((r) => r.message),
    rows.map((r) => r.stack),
    rows.map((r) => r.kind),
  ];
}

/** `countOnLinks`' statement (one text, so it is prepared once per connection). */
const COUNT_ON_LINKS_SQL = `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::text[], $9::text[])
           WITH ORDINALITY AS t(fp, cnt, occurred_at, level, version, labels, message, stack, kind, ord)
       ), agg AS (
         SELECT fp, sum(cnt)::bigint AS cnt, min(occurred_at) AS first_at, max(occurred_at) AS last_at,
                (array_agg(version ORDER BY occurred_at DESC, ord DESC))[1] AS newest_version
           FROM input GROUP BY fp
       ), links AS (
         -- rows locked in id order, as the known path does: concurrent statements never deadlock.
         -- Every link counted here is sampled: the known path's throttle starts from now.
         UPDATE external_issue_links l
            SET event_count = l.event_count + x.cnt,
                first_seen_at = LEAST(l.first_seen_at, x.first_at),
                last_seen_at = GREATEST(l.last_seen_at, x.last_at),
                last_sampled_at = now(),
                last_sampled_occurred_at = x.last_at,
                last_sampled_version = x.newest_version,
                updated_at = now()
           FROM (
             SELECT l2.id, agg.cnt, agg.first_at, agg.last_at, agg.newest_version
               FROM agg JOIN external_issue_links l2 ON l2.source = '${FINGERPRINT_LINK_SOURCE}' AND l2.external_id = agg.fp
              ORDER BY l2.id
                FOR NO KEY UPDATE OF l2
           ) x
          WHERE l.id = x.id
         RETURNING l.id, l.external_id, l.issue_id
       ), ${sampleCtes('input', '$10')}
       SELECT links.id AS link_id, links.external_id AS fingerprint, links.issue_id,
              (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM trimmed) AS trimmed
         FROM links`;

const knownStatements = new WeakMap<(source: string) => string, string>();

/**
 * The known-path statement's text, built once per issues statement: the same string object every
 * batch, so naming it as a prepared statement does not hash 4 kB of text per batch.
 */
function knownStatementText(issuesCountSql: (source: string) => string): string {
  let text = knownStatements.get(issuesCountSql);
  if (text === undefined) {
    text = `WITH input AS (
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::text[], $6::text[], $7::jsonb[], $8::text[], $9::text[], $10::text[])
       WITH ORDINALITY AS t(dk, fp, cnt, occurred_at, level, version, labels, message, stack, kind, ord)
   ), known AS (
     SELECT l.external_id FROM external_issue_links l
      WHERE l.source = '${FINGERPRINT_LINK_SOURCE}' AND l.external_id IN (SELECT fp FROM input)
   ), claimed AS (
     INSERT INTO ingest_deliveries (delivery_key, kind)
     SELECT DISTINCT ON (dk) dk, kind FROM input WHERE fp IN (SELECT external_id FROM known) ORDER BY dk
     ON CONFLICT (delivery_key) DO NOTHING
     RETURNING delivery_key
   ), fresh AS (
     SELECT DISTINCT ON (input.dk) input.* FROM input JOIN claimed ON claimed.delivery_key = input.dk ORDER BY input.dk, input.ord
   ), agg AS (
     SELECT fp, sum(cnt)::bigint AS cnt, min(occurred_at) AS first_at, max(occurred_at) AS last_at,
            (array_agg(version ORDER BY occurred_at DESC, ord DESC))[1] AS newest_version
       FROM fresh GROUP BY fp ORDER BY fp
   ), links AS (
     -- Counted with INSERT ... ON CONFLICT DO UPDATE, never a plain UPDATE: the proposed row is
     -- the link as read (never inserted: links are never deleted), and the conflict locks and
     -- updates the row's latest version. A plain UPDATE that meets a row another statement has
     -- just counted re-checks it with EvalPlanQual, which starts every subplan of this statement
     -- again: measured, two concurrent counting statements on one hot link cost PostgreSQL
     -- ~5,400 us each instead of ~600 us (bench/ingest/README.md). Rows are taken in id order
     -- (and all links before any issue), so concurrent batches never deadlock.
     -- A link is due for a sample when sampling is not throttled ($12 = 0), when its last sample
     -- was taken $12 ms ago or the newest occurrence is $12 ms younger than the sampled one (by
     -- the log's own time: lines that arrive together but happened apart), or when a fresh
     -- observation has a version other than the last sampled one. A due link's last_sampled_at
     -- becomes this transaction's now(), which is how RETURNING tells it was due.
     INSERT INTO external_issue_links AS l (id, source, external_id, issue_id, original_issue_id, link_kind,
            grouping_rule, event_count, first_seen_at, last_seen_at, metadata, created_at, updated_at,
            last_sampled_at, last_sampled_occurred_at, last_sampled_version)
     SELECT x.id, x.source, x.external_id, x.issue_id, x.original_issue_id, x.link_kind,
            x.grouping_rule, x.cnt, x.first_at, x.last_at, x.metadata, x.created_at, now(),
            CASE WHEN x.due THEN now() END, CASE WHEN x.due THEN x.last_at END, CASE WHEN x.due THEN x.newest_version END
       FROM (
         SELECT l2.id, l2.source, l2.external_id, l2.issue_id, l2.original_issue_id, l2.link_kind,
                l2.grouping_rule, l2.metadata, l2.created_at,
                agg.cnt, agg.first_at, agg.last_at, agg.newest_version,
                ($12::int = 0 OR l2.last_sampled_at IS NULL
                  OR l2.last_sampled_at <= now() - make_interval(secs => $12::int / 1000.0)
                  OR agg.last_at >= l2.last_sampled_occurred_at + make_interval(secs => $12::int / 1000.0)
                  OR EXISTS (SELECT 1 FROM fresh f WHERE f.fp = agg.fp AND f.version IS DISTINCT FROM l2.last_sampled_version)
                ) AS due
           FROM agg JOIN external_issue_links l2 ON l2.source = '${FINGERPRINT_LINK_SOURCE}' AND l2.external_id = agg.fp
       ) x
      ORDER BY x.id
     ON CONFLICT (source, external_id) DO UPDATE
        SET event_count = l.event_count + EXCLUDED.event_count,
            first_seen_at = LEAST(l.first_seen_at, EXCLUDED.first_seen_at),
            last_seen_at = GREATEST(l.last_seen_at, EXCLUDED.last_seen_at),
            last_sampled_at = COALESCE(EXCLUDED.last_sampled_at, l.last_sampled_at),
            last_sampled_occurred_at = CASE WHEN EXCLUDED.last_sampled_at IS NULL
              THEN l.last_sampled_occurred_at ELSE EXCLUDED.last_sampled_occurred_at END,
            last_sampled_version = CASE WHEN EXCLUDED.last_sampled_at IS NULL
              THEN l.last_sampled_version ELSE EXCLUDED.last_sampled_version END,
            updated_at = now()
     RETURNING l.id, l.external_id, l.issue_id, l.last_sampled_at IS NOT DISTINCT FROM now() AS due
   ), per_issue AS (
     SELECT links.issue_id, sum(agg.cnt)::bigint AS cnt, min(agg.first_at) AS first_at, max(agg.last_at) AS last_at
       FROM links JOIN agg ON agg.fp = links.external_id
      GROUP BY links.issue_id ORDER BY links.issue_id
   ), issue_counts AS (
     ${issuesCountSql('per_issue')}
   ), ${sampleCtes('fresh', '$11', '$12')}
   -- (data-modifying CTEs run to completion whether or not they are read)
   SELECT 'known' AS t, external_id AS a, NULL::text AS b, NULL::bigint AS n, NULL::text AS c FROM known
   UNION ALL SELECT 'claimed', delivery_key, NULL, NULL, NULL FROM claimed
   UNION ALL SELECT 'link', external_id, issue_id::text, NULL, NULL FROM links
   UNION ALL SELECT 'issue', id::text, status, event_count, spawn_status FROM issue_counts`;
    knownStatements.set(issuesCountSql, text);
  }
  return text;
}

/**
 * The bounded samples of one counting statement, as CTEs after `links`: the newest `limit` rows of
 * each fingerprint from `source` are inserted, and each link keeps only its newest `limit` samples.
 */
function sampleCtes(source: string, limit: string, throttleMs?: string): string {
  // Throttled (the known path): only links marked `due` take samples, the newest observation of
  // each version; with the throttle at 0, every observation up to the limit, as unthrottled.
  const newest = `ORDER BY ${source}.occurred_at DESC, ${source}.ord DESC`;
  const throttled =
    throttleMs === undefined
      ? { rnVersion: '', due: '', keep: `rn <= ${limit}` }
      : {
          rnVersion: `, row_number() OVER (PARTITION BY ${source}.fp, ${source}.version ${newest}) AS rn_version`,
          due: 'WHERE links.due',
          keep: `rn <= ${limit} AND (${throttleMs}::int = 0 OR rn_version = 1)`,
        };
  return `ranked AS (
         SELECT ${source}.*, links.id AS link_id, links.issue_id,
                row_number() OVER (PARTITION BY ${source}.fp ${newest}) AS rn${throttled.rnVersion}
           FROM ${source} JOIN links ON links.external_id = ${source}.fp
           ${throttled.due}
       ), kept AS (
         SELECT * FROM ranked WHERE ${throttled.keep}
       ), inserted AS (
         INSERT INTO error_events (issue_id, link_id, fingerprint, occurred_at, count, level, version, labels, message, stack, ingest_kind)
         SELECT issue_id, link_id, fp, occurred_at, cnt, level, version, labels, message, stack, kind FROM kept
         RETURNING link_id
       ), per_link AS (
         SELECT link_id, count(*)::int AS k FROM kept GROUP BY link_id
       ), trimmed AS (
         DELETE FROM error_events e
          USING (
            SELECT old.id FROM per_link p
            CROSS JOIN LATERAL (
              SELECT id FROM error_events WHERE link_id = p.link_id ORDER BY id DESC OFFSET GREATEST(${limit} - p.k, 0)
            ) old
          ) d
          WHERE e.id = d.id
         RETURNING e.id
       )`;
}

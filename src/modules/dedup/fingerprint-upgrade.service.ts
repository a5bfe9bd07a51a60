import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { ADVISORY_LOCKS } from '../../shared/database/database-opener';
import { HistoryEntry, IssuesFacade, SYSTEM } from '../issues/issues.facade';
import { retryOnConflict } from '../../shared/database/transaction-retry';
import { DedupAnnouncer } from './dedup-announcer';
import type { PerformedMerge } from './dedup.contract';
import { DedupRepository, GroupMembers, GroupRef, LinkSamples, UpgradeAlias } from './dedup.repository';
import { DedupService } from './dedup.service';
import { fingerprintMessage } from './normalizer/fingerprint-message';
import { lineMessage } from '../../shared/logs/log-line';
import { tokenCount } from './grouping/grouping-engine';
import { MANUAL_MERGE_RULE } from './issue-merge.service';
import { FINGERPRINT_VERSION } from './normalizer/fingerprint';

/** The grouping rule (and evidence rule) of a link filed by a fingerprint upgrade. */
export const FINGERPRINT_UPGRADE_RULE = 'fingerprint-upgrade';
/** How many of each link's newest samples are re-fingerprinted. */
export const UPGRADE_SAMPLES_PER_LINK = 10;
/** Links (and issues whose patterns are learned again) read per query: memory stays bounded. */
const UPGRADE_PAGE_SIZE = 500;
/** Runs of the start-up transaction when a deadlock with a concurrent ingest rolls it back. */
const MAX_ATTEMPTS = 3;

export interface FingerprintUpgradeReport {
  /** The version recorded in `runtime_settings` before this run (null: none recorded). */
  from: number | null;
  to: number;
  /** Links made by an older version (or an unrecorded one) that were checked, and are now current. */
  linksChecked: number;
  /** New fingerprints filed as aliases of their issue. */
  aliasesAdded: number;
  /** New fingerprints that already belonged to another issue (left there; recorded in both histories). */
  collisions: number;
  /** Live grouping patterns learned again from their members' new templates. */
  patternsRelearned: number;
  /** Issues merged because a pattern learned again made the evidence (rule `variable-position`). */
  merges: number;
}

/**
 * Keeps issues whole across a change of the normaliser or the secret scrubber. Fingerprints never
 * change, but the fingerprint a message gets can: after an upgrade, `took 35 ms` may normalise to
 * `took *` where it was `took * ms`. Every link records the FINGERPRINT_VERSION that made it; the
 * newest samples (stored scrubbed, before normalisation) of each link behind this release's version
 * are read again as a log line (`lineMessage`: a stored raw logfmt or JSON line gives the message a
 * pushed line gives now) and fingerprinted again, and every new fingerprint is filed as an alias of the same issue (rule
 * `fingerprint-upgrade`, with the old fingerprint as evidence), so later events, the post-deploy
 * watch and the Loki check follow it. A new fingerprint that already belongs to another issue
 * stays there; both issues' histories say so. Then the live grouping patterns of the issues
 * concerned are learned again from their members' new templates (`DedupService.relearnGroup`), so
 * a variant first seen after the upgrade joins the group it would have joined before instead of
 * starting a new issue; a pattern learned again that makes the evidence for a merge (an issue an
 * old replica opened for a variant of a learned pattern) merges, as an arrival would.
 *
 * `run` does it at start-up, before requests are served, and records the version; `sweep` does it
 * again periodically (FingerprintUpgradeCron) for the links that replicas still on the previous
 * release write during a rolling deploy. Each is one transaction under an advisory lock: replicas
 * do the work once.
 */
@Injectable()
export class FingerprintUpgradeService {
  /** Links read per query; small in tests to exercise paging. */
  pageSize = UPGRADE_PAGE_SIZE;

  constructor(
    private readonly dataSource: DataSource,
    private readonly repo: DedupRepository,
    private readonly dedup: DedupService,
    private readonly issues: IssuesFacade,
    private readonly announcer: DedupAnnouncer,
  ) {}

  /** The start-up run: waits for a replica already at it, then records this release's version. */
  async run(): Promise<FingerprintUpgradeReport> {
    const merges: PerformedMerge[] = [];
    const report = await retryOnConflict(() => {
      merges.length = 0;
      return this.dataSource.transaction(async (m) => {
        await m.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCKS.fingerprintUpgrade]);
        const from = await this.repo.fingerprintVersion(m);
        const done = await this.upgrade(m, from, merges);
        if (from === null || from < FINGERPRINT_VERSION) {
          await this.repo.setFingerprintVersion(m, FINGERPRINT_VERSION, SYSTEM('dedup').name);
        }
        return done;
      });
    }, MAX_ATTEMPTS);
    for (const merge of merges) await this.announcer.announceMerge(merge);
    return report;
  }

  /**
   * The periodic run: null when another replica holds the lock (it is doing the same work). A
   * deadlock with a concurrent ingest throws; the next sweep runs it again.
   */
  async sweep(): Promise<FingerprintUpgradeReport | null> {
    const merges: PerformedMerge[] = [];
    const report = await this.dataSource.transaction(async (m) => {
      const [{ locked }] = (await m.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [
        ADVISORY_LOCKS.fingerprintUpgrade,
      ])) as { locked: boolean }[];
      if (!locked) return null;
      return this.upgrade(m, await this.repo.fingerprintVersion(m), merges);
    });
    for (const merge of merges) await this.announcer.announceMerge(merge);
    return report;
  }

  private async upgrade(
    m: EntityManager,
    from: number | null,
    merges: PerformedMerge[],
  ): Promise<FingerprintUpgradeReport> {
    const report: FingerprintUpgradeReport = {
      from,
      to: FINGERPRINT_VERSION,
      linksChecked: 0,
      aliasesAdded: 0,
      collisions: 0,
      patternsRelearned: 0,
      merges: 0,
    };
    // new fingerprint -> the issue it is filed under now (aliases added earlier in this run)
    const filed = new Map<string, string>();
    // issues that gained an alias or lost messages to another issue: their patterns are learned again
    const touched = new Set<string>();
    for (let after: { cursor: string; linkId: string } | null = null; ;) {
      const links = await this.repo.linksDueForUpgrade(
        m,
        FINGERPRINT_VERSION,
        UPGRADE_SAMPLES_PER_LINK,
        after,
        this.pageSize,
      );
      report.linksChecked += links.length;
      await this.fileNewFingerprints(m, links, filed, touched, report);
      await this.repo.stampFingerprintVersion(
        m,
        links.map((l) => l.linkId),
        FINGERPRINT_VERSION,
      );
      if (links.length < this.pageSize) break;
      const last = links[links.length - 1];
      after = { cursor: last.cursor, linkId: last.linkId };
    }
    // every group concerned, in the order ingest takes scope locks (so the two never deadlock on them)
    const issueIds = [...touched];
    const groups: GroupRef[] = [];
    for (let i = 0; i < issueIds.length; i += this.pageSize) {
      groups.push(...(await this.repo.liveGroupsOf(m, issueIds.slice(i, i + this.pageSize))));
    }
    groups.sort((a, b) => (groupOrder(a) < groupOrder(b) ? -1 : groupOrder(a) > groupOrder(b) ? 1 : 0));
    for (let i = 0; i < groups.length; i += this.pageSize) {
      const refs = groups.slice(i, i + this.pageSize);
      const page = await this.repo.groupMemberSamples(m, refs, UPGRADE_SAMPLES_PER_LINK, MANUAL_MERGE_RULE);
      const byRef = new Map(page.map((g) => [groupOrder(g), g]));
      for (const ref of refs) {
        const group = byRef.get(groupOrder(ref));
        if (group === undefined) continue;
        const performed = await this.dedup.relearnGroup(m, group, templatesOf(group));
        if (performed === null) continue;
        report.patternsRelearned++;
        report.merges += performed.length;
        merges.push(...performed);
      }
    }
    return report;
  }

  /**
   * Re-fingerprints one page of links (oldest first) and files what comes out new: an alias of the
   * link's issue when nobody owns the fingerprint yet (the oldest link wins), else a collision
   * recorded in both issues' histories, once per pair.
   */
  private async fileNewFingerprints(
    m: EntityManager,
    links: readonly LinkSamples[],
    filed: Map<string, string>,
    touched: Set<string>,
    report: FingerprintUpgradeReport,
  ): Promise<void> {
    const candidates: UpgradeAlias[] = [];
    const seen = new Set<string>();
    for (const link of links) {
      for (const sample of link.samples) {
        const now = fingerprintMessage(link.scopeSource, link.scopeFeature, lineMessage(sample));
        const pair = `${now.fingerprint}|${link.issueId}`;
        if (now.fingerprint === link.fingerprint || seen.has(pair)) continue;
        seen.add(pair);
        candidates.push({
          fingerprint: now.fingerprint,
          from: link,
          normalizedMessage: now.normalized,
          tokenCount: tokenCount(now.normalized),
          evidence: {
            rule: FINGERPRINT_UPGRADE_RULE,
            fromVersion: link.version,
            toVersion: FINGERPRINT_VERSION,
            previousFingerprint: link.fingerprint,
          },
        });
      }
    }
    if (candidates.length === 0) return;
    const owners = await this.repo.findLinks(
      m,
      candidates.map((c) => c.fingerprint).filter((fp) => !filed.has(fp)),
    );
    for (const [fp, link] of owners) filed.set(fp, link.issueId);
    const actor = SYSTEM('dedup');
    const history: HistoryEntry[] = [];
    for (const alias of candidates) {
      let owner = filed.get(alias.fingerprint);
      const versions = `fingerprint version ${alias.from.version ?? 'unrecorded'} -> ${FINGERPRINT_VERSION}`;
      if (owner === undefined) {
        if (await this.repo.insertUpgradeAlias(m, alias, FINGERPRINT_UPGRADE_RULE)) {
          filed.set(alias.fingerprint, alias.from.issueId);
          touched.add(alias.from.issueId);
          report.aliasesAdded++;
          history.push({
            issueId: alias.from.issueId,
            actor,
            field: 'fingerprint_alias',
            from: alias.from.fingerprint,
            to: alias.fingerprint,
            reason: `${versions}: its messages now get a new fingerprint, filed as an alias`,
            data: { ...alias.evidence, normalizedMessage: alias.normalizedMessage },
          });
          continue;
        }
        // Filed meanwhile: an ingest (which takes scope locks, not this run's lock) filed the
        // fingerprint after the links were read. It is a collision like any other, recorded in
        // both histories, not skipped in silence.
        owner = (await this.repo.findLinks(m, [alias.fingerprint])).get(alias.fingerprint)?.issueId;
        if (owner === undefined) continue;
        filed.set(alias.fingerprint, owner);
      }
      if (owner === alias.from.issueId) continue;
      touched.add(alias.from.issueId);
      report.collisions++;
      const data = { ...alias.evidence, fingerprint: alias.fingerprint, otherIssueId: owner };
      const reason = `${versions}: messages of fingerprint ${alias.from.fingerprint} now get fingerprint ${alias.fingerprint}, which is filed under another issue; they will be counted there`;
      history.push(
        { issueId: alias.from.issueId, actor, field: 'fingerprint_collision', to: owner, reason, data },
        { issueId: owner, actor, field: 'fingerprint_collision', to: alias.from.issueId, reason, data },
      );
    }
    await this.issues.recordHistory(m, ...history);
  }
}

/** Groups in the order ingest takes their scopes' locks (`DedupService`), then by key. */
function groupOrder(group: GroupRef): string {
  return `${JSON.stringify([group.scopeSource, group.scopeFeature])}\u0000${group.key}`;
}

/** A group's members' templates as this release normalises their samples, oldest member first. */
function templatesOf(group: GroupMembers): string[] {
  const templates = new Set<string>();
  for (const samples of group.members) {
    for (const sample of samples) {
      templates.add(fingerprintMessage(group.scopeSource, group.scopeFeature, lineMessage(sample)).normalized);
    }
  }
  return [...templates];
}

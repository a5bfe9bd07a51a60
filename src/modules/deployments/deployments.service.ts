import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { DomainError } from '../../shared/errors/domain-error';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { DeploymentRecorded, FixDeployed, IssueStatusChanged } from '../../shared/events/event-catalogue';
import { scrubbedOptional, scrubbedText } from '../../shared/security/scrubbed-text';
import { scrubSecrets } from '../../shared/security/secret-scrubber';
import { Actor, IssuesFacade, SYSTEM } from '../issues/issues.facade';
import { IssueStatus, canTransition } from '../issues/issue-status.contract';
import { UndeployedLink } from '../matching/matching.contract';
import { MatchingFacade } from '../matching/matching.facade';
import { DeploymentRow, DeploymentsRepository, NewDeployment } from './deployments.repository';
import { repoOfGithubDeploymentKey } from './deployments.contract';
import { GithubCompareClient } from './github-compare.client';

const ACTOR: Actor = SYSTEM('deployments');
/** After this many failed attempts (GitHub down, bad token) a deployment stops being retried. */
export const MAX_PROCESS_ATTEMPTS = 20;
const TO_PRODUCTION_FROM: readonly IssueStatus[] = ['in_review', 'in_staging'];
/** How far back a late merge looks for production deploys that may have carried it, and how many. */
const LATE_MERGE_WINDOW_HOURS = 24;
const LATE_MERGE_DEPLOYMENTS = 5;
/** Longest processing error kept on a deployment (last_error). */
const MAX_ERROR_LENGTH = 2000;

export interface CarriedLink {
  issuePrId: string;
  issueId: string;
  prNumber: number;
  repo: string;
  how: 'listed' | 'identical' | 'ahead';
}

export interface DeploymentOutcome {
  deployment: DeploymentRow;
  created: boolean;
}

export interface ApiDeploymentInput {
  environment: string;
  sha?: string;
  version?: string;
  prNumbers?: number[];
  deployedAt?: Date;
  externalId?: string;
}

/**
 * Deploy tracking. A deployment row is written first (GitHub `deployment_status` in the webhook's
 * transaction, or POST /api/deployments), then processed: for a production deployment, which
 * merged PRs did it carry (listed PR numbers, or the compare API says the deployed sha contains the
 * merge commit)? Their links are marked deployed, their issues move to in_production and
 * `fix.deployed` is emitted after commit. Compare errors leave the row unprocessed for the retry
 * sweep, so a deploy is never forgotten.
 */
@Injectable()
export class DeploymentsService {
  private readonly logger = new Logger(DeploymentsService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly deployments: DeploymentsRepository,
    private readonly matching: MatchingFacade,
    private readonly issues: IssuesFacade,
    private readonly compare: GithubCompareClient,
    private readonly events: DomainEventBus,
  ) {}

  /** Records a deployment inside the caller's transaction (idempotent by source + external id). */
  recordInTransaction(m: EntityManager, d: NewDeployment): Promise<{ row: DeploymentRow; created: boolean }> {
    return this.deployments.insertOrGet(m, d);
  }

  /** POST /api/deployments: record (idempotent) and process now. */
  async recordFromApi(input: ApiDeploymentInput): Promise<DeploymentOutcome> {
    const prNumbers = [...new Set(input.prNumbers ?? [])].sort((a, b) => a - b);
    const sha = input.sha?.toLowerCase() ?? null;
    const hash = (value: unknown): string =>
      createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);
    // What a pipeline sends is stored (and shown) scrubbed of secrets. An id that holds one is kept
    // as its hash: repeats with the same id are still recognised, and two such ids stay apart.
    const offeredId = input.externalId ?? undefined; // null: none, as when left out
    const externalId =
      offeredId === undefined
        ? hash([input.environment, sha, input.version ?? null, prNumbers])
        : scrubSecrets(offeredId).redactions > 0
          ? `redacted-${hash(offeredId)}`
          : offeredId;
    const { row, created } = await this.dataSource.transaction((m) =>
      this.deployments.insertOrGet(m, {
        source: 'api',
        externalId,
        environment: scrubSecrets(input.environment).text,
        sha,
        version: scrubbedOptional(input.version) ?? null,
        prNumbers,
        deployedAt: input.deployedAt ?? new Date(),
      }),
    );
    if (created)
      await this.events.emit('deployment.recorded', new DeploymentRecorded(row.id, row.source, row.environment));
    else if (!row.processedAt) await this.process(row.id);
    const fresh = await this.deployments.findById(row.id);
    return { deployment: fresh ?? row, created };
  }

  /**
   * Works out what a deployment carried and applies it. Idempotent: a processed deployment is left
   * alone; a compare failure records the error and leaves it for the sweep.
   */
  async process(deploymentId: string): Promise<void> {
    const d = await this.deployments.findById(deploymentId);
    if (!d || d.processedAt) return;
    if (d.environment !== this.config.PRODUCTION_ENVIRONMENT) {
      await this.finish(d.id, [], {
        skipped: `environment ${d.environment} is not ${this.config.PRODUCTION_ENVIRONMENT}`,
      });
      return;
    }
    let carried: CarriedLink[];
    let checked: Record<string, unknown>[];
    try {
      ({ carried, checked } = await this.findCarried(d, await this.matching.undeployedMergedLinks()));
    } catch (err) {
      // GitHub's error may quote what it was sent or answered: stored (last_error) and shown scrubbed
      const message = scrubbedText(err instanceof Error ? err.message : String(err), MAX_ERROR_LENGTH);
      this.logger.warn({ msg: 'deployment processing failed; will retry', deploymentId, err: message });
      await this.deployments.recordFailure(d.id, message);
      return;
    }
    await this.finish(d.id, carried, { checked });
  }

  /** The retry sweep: processes deployments still unprocessed (lost events, GitHub errors). */
  async processPending(limit = 20): Promise<number> {
    const ids = await this.deployments.pendingIds(MAX_PROCESS_ATTEMPTS, limit);
    for (const id of ids) await this.process(id);
    return ids.length;
  }

  async get(id: string): Promise<DeploymentRow> {
    const d = await this.deployments.findById(id);
    if (!d) throw new DomainError('not_found', 'DEPLOYMENT_NOT_FOUND', `No deployment ${id}`);
    return d;
  }

  private async findCarried(
    d: DeploymentRow,
    candidates: UndeployedLink[],
  ): Promise<{ carried: CarriedLink[]; checked: Record<string, unknown>[] }> {
    const carried: CarriedLink[] = [];
    const checked: Record<string, unknown>[] = [];
    const cache = new Map<string, { containment: string; status?: string }>();
    const deployedRepo = d.source === 'github' ? repoOfGithubDeploymentKey(d.externalId) : null;
    for (const c of candidates) {
      const repo = `${c.repoOwner}/${c.repoName}`;
      // A GitHub deployment deploys its own repository: other repositories' PRs are not asked about.
      if (deployedRepo && deployedRepo.toLowerCase() !== repo.toLowerCase()) continue;
      if (d.prNumbers.includes(c.prNumber)) {
        carried.push({ issuePrId: c.issuePrId, issueId: c.issueId, prNumber: c.prNumber, repo, how: 'listed' });
        checked.push({ pr: c.prNumber, repo, result: 'listed' });
        continue;
      }
      if (!d.sha || !c.mergeCommitSha) continue;
      const key = `${repo}@${c.mergeCommitSha}`;
      let answer = cache.get(key);
      if (!answer) {
        answer = await this.compare.contains(c.repoOwner, c.repoName, c.mergeCommitSha, d.sha);
        cache.set(key, answer);
      }
      checked.push({
        pr: c.prNumber,
        repo,
        mergeCommitSha: c.mergeCommitSha,
        compare: answer.status,
        result: answer.containment,
      });
      if (answer.containment === 'contained') {
        carried.push({
          issuePrId: c.issuePrId,
          issueId: c.issueId,
          prNumber: c.prNumber,
          repo,
          how: answer.status === 'identical' ? 'identical' : 'ahead',
        });
      }
    }
    return { carried, checked };
  }

  /** One transaction: claim the row, mark links deployed, move issues, mark processed; emit after commit. */
  private async finish(id: string, carried: CarriedLink[], extra: Record<string, unknown>): Promise<void> {
    const emits: (() => Promise<void>)[] = [];
    await this.dataSource.transaction(async (m) => {
      const d = await this.deployments.claimUnprocessed(m, id);
      if (!d) return; // processed meanwhile, or another replica holds it
      const deployedIssues = await this.applyCarried(m, d, carried, emits);
      await this.deployments.markProcessed(m, d.id, { ...extra, deployedIssues });
    });
    for (const e of emits) await e();
  }

  /**
   * A linked PR was merged after a production deploy had been processed (the deploy reported
   * first, or listed the PR before its merge webhook arrived): the recent production deploys of the
   * last LATE_MERGE_WINDOW_HOURS are asked whether they carried it, newest first.
   */
  async checkLateMerge(issuePrId: string): Promise<string | null> {
    const since = new Date(Date.now() - LATE_MERGE_WINDOW_HOURS * 3_600_000);
    const recent = await this.deployments.recentProcessed(
      this.config.PRODUCTION_ENVIRONMENT,
      since,
      LATE_MERGE_DEPLOYMENTS,
    );
    for (const d of recent) {
      const candidates = (await this.matching.undeployedMergedLinks()).filter((l) => l.issuePrId === issuePrId);
      if (candidates.length === 0) return null;
      const { carried, checked } = await this.findCarried(d, candidates);
      if (carried.length === 0) continue;
      const emits: (() => Promise<void>)[] = [];
      await this.dataSource.transaction(async (m) => {
        const deployedIssues = await this.applyCarried(m, d, carried, emits);
        await this.deployments.appendLate(m, d.id, { at: new Date().toISOString(), checked, deployedIssues });
      });
      for (const e of emits) await e();
      return d.id;
    }
    return null;
  }

  /** Marks the carried links deployed (those still undeployed, locked) and moves their issues. */
  private async applyCarried(
    m: EntityManager,
    d: DeploymentRow,
    carried: CarriedLink[],
    emits: (() => Promise<void>)[],
  ): Promise<{ issueId: string; identifier: string; from: string; moved: boolean; prs: number[] }[]> {
    const stillUndeployed = new Set((await this.matching.undeployedMergedLinks(m, true)).map((l) => l.issuePrId));
    const apply = carried.filter((c) => stillUndeployed.has(c.issuePrId));
    await this.matching.markLinksDeployed(
      m,
      apply.map((c) => c.issuePrId),
      d.id,
      d.deployedAt,
    );
    // A link whose issue was merged away moves the issue it was merged into (the end of the chain):
    // that issue holds the merged issue's fingerprints, so its verification watches them.
    const byIssue = new Map<string, CarriedLink[]>();
    const mergedAway = new Map<string, Set<string>>();
    for (const c of apply) {
      const survivorId = (await this.issues.liveSurvivor(c.issueId, m))?.id ?? c.issueId;
      byIssue.set(survivorId, [...(byIssue.get(survivorId) ?? []), c]);
      if (survivorId !== c.issueId) {
        const linked = await this.issues.findById(c.issueId, m);
        mergedAway.set(survivorId, (mergedAway.get(survivorId) ?? new Set()).add(linked?.identifier ?? c.issueId));
      }
    }
    const deployedIssues: { issueId: string; identifier: string; from: string; moved: boolean; prs: number[] }[] = [];
    for (const [issueId, links] of byIssue) {
      const issue = await this.issues.findById(issueId, m);
      if (!issue) continue;
      const via = [...(mergedAway.get(issueId) ?? [])];
      const prs = links.map((l) => `${l.repo}#${l.prNumber}`);
      const what = `${d.environment} deploy${d.version ? ` ${d.version}` : ''}${d.sha ? ` (${d.sha.slice(0, 12)})` : ''}`;
      const linkedTo = via.length > 0 ? ` (linked to ${via.join(', ')}, merged into ${issue.identifier})` : '';
      const data = {
        deploymentId: d.id,
        source: d.source,
        version: d.version,
        sha: d.sha,
        prs,
        how: links.map((l) => l.how),
        ...(via.length > 0 ? { linkedIssues: via } : {}),
      };
      let moved = false;
      if (TO_PRODUCTION_FROM.includes(issue.status) && canTransition(issue.status, 'in_production')) {
        await this.issues.transition(
          m,
          issueId,
          'in_production',
          ACTOR,
          `${prs.join(', ')} reached production in the ${what}${linkedTo}`,
          data,
        );
        moved = true;
        const first = links[0]!;
        emits.push(() =>
          this.events.emit(
            'issue.status_changed',
            new IssueStatusChanged(issueId, issue.status, 'in_production', ACTOR.name, `deployed: ${what}`),
          ),
        );
        emits.push(() =>
          this.events.emit(
            'fix.deployed',
            new FixDeployed(issueId, d.id, d.deployedAt, d.version ?? undefined, d.sha ?? undefined, first.issuePrId),
          ),
        );
      } else {
        await this.issues.recordHistory(m, {
          issueId,
          actor: ACTOR,
          field: 'deployment',
          to: d.id,
          reason: `${prs.join(', ')} reached production in the ${what}${linkedTo}; the issue stays ${issue.status}`,
          data,
        });
      }
      deployedIssues.push({
        issueId,
        identifier: issue.identifier,
        from: issue.status,
        moved,
        prs: links.map((l) => l.prNumber),
      });
    }
    return deployedIssues;
  }
}

import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DomainError } from '../../shared/errors/domain-error';
import { DomainEventBus } from '../../shared/events/domain-event-bus';
import { IssueStatusChanged } from '../../shared/events/event-catalogue';
import { scrubSecrets } from '../../shared/security/secret-scrubber';
import { scrubbedOptional } from '../../shared/security/scrubbed-text';
import { IssueDetailView, IssuePageView, IssueView } from './dto/issue.view';
import { ListIssuesQuery } from './dto/list-issues.query';
import { UpdateIssueDto } from './dto/update-issue.dto';
import { IssueEntity } from './entities/issue.entity';
import { IssueViewsRepository } from './issue-views.repository';
import { IssueStatus, formatPriority, parsePriority } from './issue-status.contract';
import { ADMIN_ACTOR, HistoryEntry, IssuesFacade } from './issues.facade';
import { IssueCursor, IssuesRepository } from './issues.repository';

/** A person using the admin API. */

@Injectable()
export class IssuesService {
  constructor(
    private readonly issues: IssuesRepository,
    private readonly views: IssueViewsRepository,
    private readonly facade: IssuesFacade,
    private readonly dataSource: DataSource,
    private readonly events: DomainEventBus,
  ) {}

  async list(query: ListIssuesQuery): Promise<IssuePageView> {
    const after = query.cursor ? decodeCursor(query.cursor) : undefined;
    const rows = await this.issues.listNewestFirst(
      {
        status: query.status,
        priority: query.priority ? parsePriority(query.priority) : undefined,
        source: query.source,
        feature: query.feature,
        label: query.label,
        text: query.text,
      },
      query.limit + 1,
      after,
    );
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    const targets = await this.issues.findByIds([
      ...new Set(page.flatMap((i) => (i.mergedIntoId ? [i.mergedIntoId] : []))),
    ]);
    const identifierOf = new Map(targets.map((t) => [t.id, t.identifier]));
    return {
      items: page.map((i) => IssueView.of(i, i.mergedIntoId ? (identifierOf.get(i.mergedIntoId) ?? null) : null)),
      nextCursor: rows.length > query.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  async get(identifier: string): Promise<IssueDetailView> {
    const issue = await this.issues.findByIdentifier(identifier);
    if (!issue) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue ${identifier}`);
    const merged = issue.mergedIntoId ? await this.issues.findById(issue.mergedIntoId) : null;
    const history = await this.issues.historyOf(issue.id);
    const [fingerprints, recentEvents, agentActivity, pullRequests, spawnHistory] = [
      await this.views.fingerprints(issue.id),
      await this.views.recentEvents(issue.id, 20),
      await this.views.agentActivity(issue.id),
      await this.views.pullRequests(issue.id),
      await this.views.spawnHistory(issue.id),
    ];
    return {
      ...IssueView.of(issue, merged?.identifier ?? null),
      fingerprints,
      recentEvents,
      agentActivity,
      pullRequests,
      spawnHistory,
      history: history.map((h) => ({
        actor: h.actor,
        actorType: h.actorType,
        field: h.field,
        from: h.fromValue,
        to: h.toValue,
        reason: h.reason,
        data: h.data,
        correlationId: h.correlationId,
        at: h.at.toISOString(),
      })),
    };
  }

  /**
   * A person's change: status (validated transition), priority, labels, title, cooldown. One
   * transaction with the row locked; one history entry per changed field, actor `admin`, with the
   * reason. Unchanged fields write nothing. `issue.status_changed` is emitted after commit.
   * A person's text (title, labels, reason) is stored, shown and sent (history, events, the agent's
   * context) scrubbed of secrets, like an error's: a token pasted into a title does not rest.
   */
  async update(identifier: string, raw: UpdateIssueDto): Promise<IssueDetailView> {
    const scrub = (text: string): string => scrubSecrets(text).text;
    const dto: UpdateIssueDto = {
      ...raw,
      title: scrubbedOptional(raw.title),
      labels: raw.labels?.map(scrub),
      reason: scrubbedOptional(raw.reason),
    };
    const fields = (['status', 'priority', 'labels', 'title', 'cooldownUntil', 'cooldownHours'] as const).filter(
      (f) => dto[f] !== undefined,
    );
    if (fields.length === 0) {
      throw new DomainError(
        'invalid',
        'ISSUE_NOTHING_TO_UPDATE',
        'Send at least one of: status, priority, labels, title, cooldownUntil, cooldownHours',
      );
    }
    const found = await this.issues.findByIdentifier(identifier);
    if (!found) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue ${identifier}`);
    const reason = dto.reason?.trim() || 'changed by admin';
    let moved: { from: IssueStatus; to: IssueStatus } | undefined;
    await this.dataSource.transaction(async (m) => {
      const issue = await this.issues.lockById(found.id, m);
      if (!issue) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue ${identifier}`);
      if (issue.mergedIntoId && dto.status !== undefined) {
        throw new DomainError(
          'conflict',
          'ISSUE_MERGED',
          `${identifier} is merged into another issue: change that one, or unmerge first`,
        );
      }
      const patch: Partial<IssueEntity> = {};
      const entries: HistoryEntry[] = [];
      const entry = (field: string, from: string | null, to: string | null): void => {
        entries.push({ issueId: issue.id, actor: ADMIN_ACTOR, field, from, to, reason });
      };
      if (dto.priority !== undefined) {
        const p = parsePriority(dto.priority);
        if (p !== issue.priority) {
          patch.priority = p;
          entry('priority', formatPriority(issue.priority), formatPriority(p));
        }
      }
      if (dto.labels !== undefined) {
        const labels = [...new Set(dto.labels.map((l) => l.trim()))];
        if (labels.join('\u0000') !== issue.labels.join('\u0000')) {
          patch.labels = labels;
          entry('labels', issue.labels.join(','), labels.join(','));
        }
      }
      if (dto.title !== undefined && dto.title !== issue.title) {
        patch.title = dto.title;
        entry('title', issue.title, dto.title);
      }
      if (
        dto.cooldownUntil !== undefined &&
        (dto.cooldownUntil?.getTime() ?? null) !== (issue.cooldownUntil?.getTime() ?? null)
      ) {
        patch.cooldownUntil = dto.cooldownUntil;
        entry('cooldown_until', issue.cooldownUntil?.toISOString() ?? null, dto.cooldownUntil?.toISOString() ?? null);
      }
      if (dto.cooldownHours !== undefined && dto.cooldownHours !== issue.cooldownHours) {
        patch.cooldownHours = dto.cooldownHours;
        entry(
          'cooldown_hours',
          issue.cooldownHours === null ? null : String(issue.cooldownHours),
          dto.cooldownHours === null ? null : String(dto.cooldownHours),
        );
      }
      if (Object.keys(patch).length > 0) {
        await m.getRepository(IssueEntity).update({ id: issue.id }, { ...patch, updatedAt: new Date() });
        await this.facade.recordHistory(m, ...entries);
      }
      if (dto.status !== undefined && dto.status !== issue.status) {
        const from = await this.facade.transition(m, issue.id, dto.status, ADMIN_ACTOR, reason);
        if (from) moved = { from, to: dto.status };
      }
    });
    if (moved) {
      await this.events.emit(
        'issue.status_changed',
        new IssueStatusChanged(found.id, moved.from, moved.to, ADMIN_ACTOR.name, reason),
      );
    }
    return this.get(identifier);
  }
}

export function encodeCursor(c: IssueCursor): string {
  return Buffer.from(`${c.createdAt.toISOString()}|${c.id}`).toString('base64url');
}

export function decodeCursor(raw: string): IssueCursor {
  const [at, id] = Buffer.from(raw, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || !/^[0-9a-f-]{36}$/.test(id) || Number.isNaN(createdAt.getTime())) {
    throw new DomainError('invalid', 'ISSUE_INVALID_CURSOR', 'cursor is not a cursor this API issued');
  }
  return { createdAt, id };
}

import { Injectable } from '@nestjs/common';
import { DomainError } from '../../shared/errors/domain-error';
import { IssueDetailView, IssuePageView, IssueView } from './dto/issue.view';
import { ListIssuesQuery } from './dto/list-issues.query';
import { parsePriority } from './issue-status.contract';
import { IssueCursor, IssuesRepository } from './issues.repository';

@Injectable()
export class IssuesService {
  constructor(private readonly issues: IssuesRepository) {}

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
    return {
      items: page.map((i) => IssueView.of(i)),
      nextCursor: rows.length > query.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
    };
  }

  async get(identifier: string): Promise<IssueDetailView> {
    const issue = await this.issues.findByIdentifier(identifier);
    if (!issue) throw new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue ${identifier}`);
    const merged = issue.mergedIntoId ? await this.issues.findById(issue.mergedIntoId) : null;
    const history = await this.issues.historyOf(issue.id);
    return {
      ...IssueView.of(issue, merged?.identifier ?? null),
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

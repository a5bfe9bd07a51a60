import { DomainError } from '../../shared/errors/domain-error';

/** The spawn module's error codes. */
export const SpawnErrors = {
  issueNotFound: (identifier: string): DomainError =>
    new DomainError('not_found', 'ISSUE_NOT_FOUND', `No issue ${identifier}`),
  alreadyActive: (identifier: string, state: string): DomainError =>
    new DomainError(
      'conflict',
      'SPAWN_ALREADY_ACTIVE',
      `${identifier} already has an investigation ${state}; wait for it to end`,
    ),
  merged: (identifier: string): DomainError =>
    new DomainError(
      'conflict',
      'SPAWN_ISSUE_MERGED',
      `${identifier} was merged into another issue: spawn the issue it was merged into`,
    ),
  noInvestigation: (identifier: string): DomainError =>
    new DomainError(
      'conflict',
      'SPAWN_NO_INVESTIGATION',
      `${identifier} has no investigation that was dispatched to GitHub`,
    ),
};

import { DomainError } from '../../shared/errors/domain-error';
import {
  ISSUE_STATUSES,
  assertTransition,
  canTransition,
  escalate,
  formatPriority,
  parsePriority,
} from './issue-status.contract';

describe('issue status transitions', () => {
  it('allows the lifecycle path triage -> in_review -> in_staging -> in_production -> verified', () => {
    expect(canTransition('triage', 'in_review')).toBe(true);
    expect(canTransition('in_review', 'in_staging')).toBe(true);
    expect(canTransition('in_staging', 'in_production')).toBe(true);
    expect(canTransition('in_production', 'verified')).toBe(true);
  });

  it('lets a failed fix go back to triage', () => {
    expect(canTransition('in_production', 'triage')).toBe(true);
  });

  it('refuses a jump that skips review, naming what is allowed', () => {
    expect(() => assertTransition('verified', 'in_review')).toThrow(DomainError);
    expect(() => assertTransition('verified', 'in_review')).toThrow(/from verified it may move to: triage, closed/);
  });

  it('never allows a status to move to itself', () => {
    for (const s of ISSUE_STATUSES) expect(canTransition(s, s)).toBe(false);
  });
});

describe('priority', () => {
  it('escalates one step and never beyond P1', () => {
    expect(escalate(4)).toBe(3);
    expect(escalate(2)).toBe(1);
    expect(escalate(1)).toBe(1);
  });

  it('parses and formats P1..P4 and rejects anything else', () => {
    expect(parsePriority('P2')).toBe(2);
    expect(formatPriority(3)).toBe('P3');
    expect(() => parsePriority('P5')).toThrow(/P1, P2, P3, P4/);
  });
});

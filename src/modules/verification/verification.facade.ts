import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { FailedWindowRow, VerificationRepository } from './verification.repository';

export type FailedWindow = FailedWindowRow;

/**
 * The verification module's door for a caller that needs an answer inside its own transaction
 * (matching, when an undone merge gives a deployed fix back to the reopened issue).
 */
@Injectable()
export class VerificationFacade {
  constructor(private readonly windows: VerificationRepository) {}

  /**
   * Of these deployments, those a window of one of these issues has already decided (verified or
   * failed): the fix they shipped was judged, and is not judged again.
   */
  decidedDeployments(
    manager: EntityManager,
    issueIds: readonly string[],
    deploymentIds: readonly string[],
  ): Promise<Set<string>> {
    return this.windows.decidedDeployments(manager, issueIds, deploymentIds);
  }

  /**
   * The failed windows of `issueIds` (oldest first), each saying whether the recurrence that failed
   * it was an error of a fingerprint `holderIds` hold now: after an undone merge, whether the
   * survivor's failure was caused by the reopened issue's error.
   */
  failedWindows(
    manager: EntityManager,
    issueIds: readonly string[],
    holderIds: readonly string[],
  ): Promise<FailedWindow[]> {
    return this.windows.failedWindows(manager, issueIds, holderIds);
  }
}

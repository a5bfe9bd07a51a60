import { InitialSchema1764100000000 } from './1764100000000-initial-schema';
import { GroupingGroups1764200000000 } from './1764200000000-grouping-groups';
import { SpawnDispatch1764300000000 } from './1764300000000-spawn-dispatch';
import { IssueLifecycle1764400000000 } from './1764400000000-issue-lifecycle';
import { VerificationEvidence1764500000000 } from './1764500000000-verification-evidence';
import { LinkSampleThrottle1764600000000 } from './1764600000000-link-sample-throttle';
import { LinkFingerprintVersion1764700000000 } from './1764700000000-link-fingerprint-version';
import { RetentionIndexes1764810000000 } from './1764810000000-retention-indexes';
import { OutboxRetentionIndex1764820000000 } from './1764820000000-outbox-retention-index';
import { WebhookDeliveryBodyHash1764830000000 } from './1764830000000-webhook-delivery-body-hash';
import { GroupingScopeVersions1764840000000 } from './1764840000000-grouping-scope-versions';

/**
 * Every migration, in order. Listed explicitly (not globbed) so the same list runs from the
 * compiled build, from Jest and from the CLI. A migration is never edited once landed: add one.
 */
export const MIGRATIONS = [
  InitialSchema1764100000000,
  GroupingGroups1764200000000,
  SpawnDispatch1764300000000,
  IssueLifecycle1764400000000,
  VerificationEvidence1764500000000,
  LinkSampleThrottle1764600000000,
  LinkFingerprintVersion1764700000000,
  RetentionIndexes1764810000000,
  OutboxRetentionIndex1764820000000,
  WebhookDeliveryBodyHash1764830000000,
  GroupingScopeVersions1764840000000,
];

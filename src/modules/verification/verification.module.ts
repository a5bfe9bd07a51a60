import { Module } from '@nestjs/common';
import { IssuesModule } from '../issues/issues.module';
import { ErrorReceivedListener } from './listeners/error-received.listener';
import { FixDeployedListener } from './listeners/fix-deployed.listener';
import { VerificationCron } from './verification.cron';
import { VerificationFacade } from './verification.facade';
import { VerificationRepository } from './verification.repository';
import { VerificationService } from './verification.service';

/**
 * Fix verification: handles `fix.deployed` and `error.received`, emits `fix.verified` and
 * `fix.failed` (with outbox rows). No HTTP surface of its own; see docs/verification.md.
 */
@Module({
  imports: [IssuesModule],
  providers: [
    VerificationRepository,
    VerificationService,
    VerificationFacade,
    VerificationCron,
    FixDeployedListener,
    ErrorReceivedListener,
  ],
  exports: [VerificationService, VerificationFacade],
})
export class VerificationModule {}

import { Module, OnModuleInit, Inject } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { IssuesModule } from '../issues/issues.module';
import { AgentCallbacksController } from './agent-callbacks.controller';
import { assertTimeZone } from './budget-day';
import { GitHubWorkflowClient } from './github-workflow.client';
import { InvestigationLifecycleService } from './investigation-lifecycle.service';
import { IssueSpawnsController } from './issue-spawns.controller';
import { SpawnTriggersListener } from './listeners/spawn-triggers.listener';
import { WorkflowRunReportedListener } from './listeners/workflow-run-reported.listener';
import { SpawnAdminController } from './spawn-admin.controller';
import { SpawnAdminService } from './spawn-admin.service';
import { SpawnDispatchService } from './spawn-dispatch.service';
import { SpawnGateService } from './spawn-gate.service';
import { SpawnWorker } from './spawn-worker.service';
import { SpawnCron } from './spawn.cron';
import { SpawnRepository } from './spawn.repository';
import { GITHUB_WORKFLOW_CLIENT, SPAWN_SLEEP, realSleep } from './spawn.tokens';

/**
 * The spawn gate and dispatch: durable spawn requests, the gate (kill switch, cooldown,
 * concurrency, daily budget), exactly-once workflow dispatch to GitHub Actions (dry run without a
 * token), the workflow's callbacks, timeouts, and the operator's budget and kill-switch API.
 * Talks to other modules through IssuesFacade and domain events only.
 */
@Module({
  imports: [IssuesModule],
  controllers: [SpawnAdminController, IssueSpawnsController, AgentCallbacksController],
  providers: [
    SpawnRepository,
    SpawnGateService,
    SpawnDispatchService,
    InvestigationLifecycleService,
    SpawnAdminService,
    SpawnWorker,
    SpawnCron,
    SpawnTriggersListener,
    WorkflowRunReportedListener,
    {
      provide: GITHUB_WORKFLOW_CLIENT,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): GitHubWorkflowClient => new GitHubWorkflowClient(config),
    },
    { provide: SPAWN_SLEEP, useValue: realSleep },
  ],
})
export class SpawnModule implements OnModuleInit {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  onModuleInit(): void {
    assertTimeZone(this.config.BUDGET_TIMEZONE);
  }
}

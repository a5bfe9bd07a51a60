import { Injectable } from '@nestjs/common';
import { OnDomainEvent } from '../../../shared/events/domain-event-bus';
import { WorkflowRunReported } from '../../../shared/events/event-catalogue';
import { InvestigationLifecycleService } from '../investigation-lifecycle.service';

/** GitHub `workflow_run` webhooks: adopt run ids, close runs that ended without calling back. */
@Injectable()
export class WorkflowRunReportedListener {
  constructor(private readonly lifecycle: InvestigationLifecycleService) {}

  @OnDomainEvent('workflow_run.reported')
  async onWorkflowRun(e: WorkflowRunReported): Promise<void> {
    await this.lifecycle.workflowRunReported(e);
  }
}

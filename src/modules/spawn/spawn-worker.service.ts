import { Injectable, Logger } from '@nestjs/common';
import { GateResult, SpawnGateService } from './spawn-gate.service';
import { DispatchResult, SpawnDispatchService } from './spawn-dispatch.service';
import { InvestigationLifecycleService } from './investigation-lifecycle.service';

export interface TickReport {
  skipped: boolean;
  timedOut: number;
  reconciled: Record<DispatchResult, number> | null;
  queued: number;
  retriesQueued: number;
  gate: GateResult | null;
  dispatched: Record<DispatchResult, number>;
}

/**
 * One pass of the spawn worker, run every WORKER_POLL_SECONDS on every replica (tests call `tick`
 * by hand): time out silent runs, reconcile dispatches a dead process left behind, queue eligible
 * issues the events missed, run the gate, and send what it committed. Each step is safe with
 * several replicas (advisory lock, SKIP LOCKED claims, unique indexes); a failing step is logged
 * and the others still run.
 */
@Injectable()
export class SpawnWorker {
  private readonly logger = new Logger(SpawnWorker.name);
  private running = false;

  constructor(
    private readonly gate: SpawnGateService,
    private readonly dispatcher: SpawnDispatchService,
    private readonly lifecycle: InvestigationLifecycleService,
  ) {}

  async tick(now = new Date()): Promise<TickReport> {
    const report: TickReport = {
      skipped: false,
      timedOut: 0,
      reconciled: null,
      queued: 0,
      retriesQueued: 0,
      gate: null,
      dispatched: { dispatched: 0, failed: 0, deferred: 0, requeued: 0, gone: 0 },
    };
    if (this.running) return { ...report, skipped: true };
    this.running = true;
    try {
      report.timedOut = (await this.step('timeouts', () => this.lifecycle.failTimedOut(now))) ?? 0;
      report.reconciled = (await this.step('reconcile', () => this.dispatcher.reconcile(now))) ?? null;
      report.queued = (await this.step('sweep', () => this.gate.enqueueEligible({ now }))) ?? 0;
      report.retriesQueued = (await this.step('failed-fix sweep', () => this.gate.sweepFailedFixes(now))) ?? 0;
      report.gate = (await this.step('gate', () => this.gate.runGate(now))) ?? null;
      for (const id of report.gate?.claimed ?? []) {
        const r = await this.step('dispatch', () => this.dispatcher.dispatch(id));
        if (r) report.dispatched[r]++;
      }
      return report;
    } finally {
      this.running = false;
    }
  }

  private async step<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      this.logger.error({
        msg: `spawn worker step failed: ${name}`,
        error: err instanceof Error ? err.message : String(err),
      });
      return undefined;
    }
  }
}

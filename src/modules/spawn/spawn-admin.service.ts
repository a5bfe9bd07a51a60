import { Inject, Injectable, Logger } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../../shared/config/config';
import { ADVISORY_LOCKS } from '../../shared/database/database-opener';
import { scrubSecrets } from '../../shared/security/secret-scrubber';
import { scrubbedOptional } from '../../shared/security/scrubbed-text';
import { IssuesFacade } from '../issues/issues.facade';
import { budgetDay, previousDay } from './budget-day';
import { BudgetDayView, BudgetView, KillSwitchView } from './dto/spawn-admin.view';
import { SpawnRequestView } from './dto/spawn-request.view';
import { SpawnRepository } from './spawn.repository';
import { SpawnErrors } from './spawn.errors';

/**
 * The operator's controls: the daily budget (spend per day beside the budget, today's maximum),
 * the kill switch (persisted in runtime_settings so every replica sees it, audited by who/when, a
 * log line and an outbox event), the spawn history of an issue, and the midnight budget rollover.
 */
@Injectable()
export class SpawnAdminService {
  private readonly logger = new Logger(SpawnAdminService.name);

  constructor(
    private readonly repo: SpawnRepository,
    private readonly issues: IssuesFacade,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private tx<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.repo.dataSource.transaction(fn);
  }

  private today(now: Date): string {
    return budgetDay(now, this.config.BUDGET_TIMEZONE);
  }

  async budget(days: number, now = new Date()): Promise<BudgetView> {
    const today = this.today(now);
    const rows = await this.tx((m) => this.repo.budgetDays(m, previousDay(today, Math.max(0, days - 1)), today));
    const views = rows.map(toDayView);
    if (!views.some((d) => d.day === today)) {
      views.unshift({
        day: today,
        spawnCount: 0,
        maxSpawns: this.config.DAILY_SPAWN_BUDGET,
        remaining: this.config.DAILY_SPAWN_BUDGET,
        costUsd: 0,
      });
    }
    return { timezone: this.config.BUDGET_TIMEZONE, today: views.find((d) => d.day === today)!, days: views };
  }

  async setTodayMax(maxSpawns: number, now = new Date()): Promise<BudgetDayView> {
    const today = this.today(now);
    const row = await this.tx(async (m) => {
      const r = await this.repo.setBudgetMax(m, today, maxSpawns);
      await this.repo.writeOutbox(m, 'spawn_budget.changed', {
        day: today,
        maxSpawns,
        spawnCount: r.spawnCount,
        at: now.toISOString(),
      });
      return r;
    });
    this.logger.log({ msg: 'daily spawn budget changed', day: today, maxSpawns });
    return toDayView(row);
  }

  /**
   * Opens the new budget day (midnight in BUDGET_TIMEZONE). Every earlier day keeps its row as
   * history. Safe on several replicas: one takes the advisory lock, the row insert is idempotent.
   * The gate would open the day by itself on the first spawn; this makes the day visible at once.
   */
  async rolloverBudget(now = new Date()): Promise<{ day: string; opened: boolean }> {
    const day = this.today(now);
    const opened = await this.tx(async (m) => {
      if (!(await this.repo.tryLock(m, ADVISORY_LOCKS.budgetRollover))) return false;
      return this.repo.ensureBudgetDay(m, day, this.config.DAILY_SPAWN_BUDGET);
    });
    if (opened) this.logger.log({ msg: 'spawn budget day opened', day, maxSpawns: this.config.DAILY_SPAWN_BUDGET });
    return { day, opened };
  }

  async killSwitch(): Promise<KillSwitchView> {
    const setting = await this.tx((m) => this.repo.readKillSwitch(m));
    const forced = this.config.SPAWN_KILL_SWITCH;
    return {
      enabled: forced || setting?.value === true,
      forcedByEnvironment: forced,
      setting: setting ? setting.value : null,
      updatedBy: setting?.updatedBy ?? null,
      updatedAt: setting?.updatedAt.toISOString() ?? null,
    };
  }

  /** Who flips it and why are stored (the setting, the outbox event) and logged scrubbed of secrets. */
  async setKillSwitch(
    enabled: boolean,
    rawBy: string,
    rawReason: string | undefined,
    now = new Date(),
  ): Promise<KillSwitchView> {
    const by = scrubSecrets(rawBy).text;
    const reason = scrubbedOptional(rawReason);
    const { previous } = await this.tx(async (m) => {
      const written = await this.repo.writeKillSwitch(m, enabled, by);
      await this.repo.writeOutbox(m, 'kill_switch.changed', {
        enabled,
        previous: written.previous,
        by,
        reason: reason ?? null,
        at: now.toISOString(),
      });
      return written;
    });
    this.logger.warn({ msg: `kill switch turned ${enabled ? 'ON' : 'off'}`, by, reason, previous });
    return this.killSwitch();
  }

  async spawnsOf(identifier: string): Promise<SpawnRequestView[]> {
    return this.tx(async (m) => {
      const issue = await this.issues.findByIdentifier(identifier, m);
      if (!issue) throw SpawnErrors.issueNotFound(identifier);
      const rows = await this.repo.listForIssue(m, issue.id);
      return rows.map((r) => SpawnRequestView.of(r, issue.identifier));
    });
  }
}

function toDayView(r: { day: string; spawnCount: number; maxSpawns: number; costUsd: number }): BudgetDayView {
  return {
    day: r.day,
    spawnCount: r.spawnCount,
    maxSpawns: r.maxSpawns,
    remaining: Math.max(0, r.maxSpawns - r.spawnCount),
    costUsd: r.costUsd,
  };
}

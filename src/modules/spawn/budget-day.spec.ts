import { assertTimeZone, budgetDay, previousDay } from './budget-day';

describe('budgetDay', () => {
  it('is the calendar date in BUDGET_TIMEZONE', () => {
    const at = new Date('2026-03-10T23:30:00Z');
    expect(budgetDay(at, 'UTC')).toBe('2026-03-10');
    expect(budgetDay(at, 'Europe/Berlin')).toBe('2026-03-11');
    expect(budgetDay(at, 'America/Los_Angeles')).toBe('2026-03-10');
    // winter: Los Angeles is UTC-8, its midnight is 08:00 UTC; summer (DST): UTC-7
    expect(budgetDay(new Date('2026-01-11T07:59:59Z'), 'America/Los_Angeles')).toBe('2026-01-10');
    expect(budgetDay(new Date('2026-01-11T08:00:00Z'), 'America/Los_Angeles')).toBe('2026-01-11');
    expect(budgetDay(new Date('2026-07-11T06:59:59Z'), 'America/Los_Angeles')).toBe('2026-07-10');
    expect(budgetDay(new Date('2026-07-11T07:00:00Z'), 'America/Los_Angeles')).toBe('2026-07-11');
  });

  it('counts days back across month ends', () => {
    expect(previousDay('2026-03-01')).toBe('2026-02-28');
    expect(previousDay('2026-01-03', 6)).toBe('2025-12-28');
  });

  it('refuses an unknown zone with a message naming BUDGET_TIMEZONE', () => {
    expect(() => assertTimeZone('Mars/Olympus')).toThrow(/BUDGET_TIMEZONE/);
    expect(() => assertTimeZone('Europe/Berlin')).not.toThrow();
  });
});

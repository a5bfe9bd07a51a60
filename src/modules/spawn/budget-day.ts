/**
 * The budget "day" of an instant: its calendar date in BUDGET_TIMEZONE (an IANA zone such as
 * `UTC` or `Europe/Berlin`), as `YYYY-MM-DD`. A spawn counts toward the day it was committed on.
 */
export function budgetDay(at: Date, timeZone: string): string {
  const parts = formatter(timeZone).formatToParts(at);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** The day before `day` (`YYYY-MM-DD`), calendar arithmetic only. */
export function previousDay(day: string, days = 1): string {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() - days);
  return d.toISOString().slice(0, 10);
}

/** Throws a message naming BUDGET_TIMEZONE when the zone is not one the runtime knows. */
export function assertTimeZone(timeZone: string): void {
  try {
    formatter(timeZone);
  } catch {
    throw new Error(`BUDGET_TIMEZONE must be an IANA time zone such as UTC or Europe/Berlin (got "${timeZone}")`);
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

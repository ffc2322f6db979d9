// The columns the charts draw (components/BarChart.svelte), from what the
// pages already load: uses and checks of a credential by day, a partner
// key's verifications by hour with its anomalies, expiries by week. Times
// are UTC, as everywhere in the app (status.ts `when`). Labels are in the
// language shown, so the charts follow a switch when made in a `$derived`.
import type { CredentialSummary, DayActivity, HourUsage, Notice } from './ipc/types';
import { count, day, shortDay, when } from './i18n/format';
import { tr } from './i18n/locale.svelte';
import { charts } from './i18n/catalogue/charts';

/** A sign drawn over a column, never by colour alone: each has its shape. */
export type Mark = { kind: 'pass' | 'fail' | 'anomaly'; count: number; label: string };

/** One column: its stacked parts (e.g. [ok, failed]) and its marks; `label`
 *  under it, `row` its heading in the table. */
export type Column = { key: string; label: string; row: string; parts: number[]; marks: Mark[] };

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** `2026-12-03T10:…` → its UTC hour, `2026-12-03T10`. */
const hourOf = (t: string) => t.slice(0, 13);

/** The `n` UTC hours up to and including this one, oldest first. */
export function lastHours(now: Date, n: number): string[] {
  const hour = Math.floor(now.getTime() / HOUR) * HOUR;
  return Array.from({ length: n }, (_, i) => new Date(hour - (n - 1 - i) * HOUR).toISOString().slice(0, 13));
}

/** A credential's uses per day (counted by the backend, every day listed),
 *  its checks as marks: one per verdict that day, passed and failed. */
export function usesAndChecks(days: DayActivity[]): Column[] {
  const t = tr(charts);
  return days.map(({ day: d, uses, checks_passed: passed, checks_failed: failed }) => {
    const marks: Mark[] = [];
    if (passed) marks.push({ kind: 'pass', count: passed, label: count(passed, t.checksPassed) });
    if (failed) marks.push({ kind: 'fail', count: failed, label: count(failed, t.checksFailed) });
    return { key: d, label: shortDay(d), row: day(d), parts: [uses], marks };
  });
}

/** A partner key's verifications per hour over `n` hours (ok, failed), its
 *  anomalies marked in the hour they were raised. */
export function verificationsPerHour(usage: HourUsage[], alerts: Notice[], now: Date, n = 48): Column[] {
  const t = tr(charts);
  const byHour = new Map(usage.map((u) => [hourOf(u.hour), u]));
  return lastHours(now, n).map((h) => {
    const u = byHour.get(h);
    const raised = alerts.filter((a) => hourOf(a.fired_at) === h);
    return {
      key: h,
      label: t.hour(shortDay(`${h}:00:00Z`), h.slice(11, 13)),
      row: when(`${h}:00:00Z`),
      parts: [u?.ok ?? 0, u?.failed ?? 0],
      marks: raised.map((a) => ({ kind: 'anomaly' as const, count: 1, label: a.summary })),
    };
  });
}

/** Credentials expiring in the next 90 days, by week from now (the last
 *  column the 6 days left), each split into those later and those within
 *  the expiry warning (`warnDays`, the setting), with their names. Already
 *  expired or disabled ones are not in it. */
export function expiryWeeks(
  credentials: CredentialSummary[],
  now: Date,
  warnDays = 14,
  days = 90,
): (Column & { names: string[] })[] {
  const start = now.getTime();
  const end = start + days * DAY;
  const warnUntil = start + warnDays * DAY;
  return Array.from({ length: Math.ceil(days / 7) }, (_, w) => {
    const from = start + w * 7 * DAY;
    const to = Math.min(from + 7 * DAY, end);
    const due = credentials.filter((c) => {
      if (!c.expires_at || c.status === 'disabled') return false;
      const t = Date.parse(c.expires_at);
      return t >= from && t < to;
    });
    const soon = due.filter((c) => Date.parse(c.expires_at!) < warnUntil).length;
    const key = new Date(from).toISOString().slice(0, 10);
    return {
      key,
      label: shortDay(key),
      row: day(key),
      parts: [due.length - soon, soon],
      marks: [],
      names: due.map((c) => c.name).sort(),
    };
  });
}

/** How many of each mark the columns carry. */
export function markTotals(columns: Column[]): Record<Mark['kind'], number> {
  const t = { pass: 0, fail: 0, anomaly: 0 };
  for (const m of columns.flatMap((c) => c.marks)) t[m.kind] += m.count;
  return t;
}

/** The sum of each column's part `k`. */
export const partTotal = (columns: Column[], k: number) => columns.reduce((n, c) => n + (c.parts[k] ?? 0), 0);

import { describe, expect, it } from 'vitest';
import { expiryWeeks, lastHours, markTotals, partTotal, usesAndChecks, verificationsPerHour } from './charts';
import type { CredentialSummary, HourUsage, Notice } from './ipc/types';

const now = new Date('2026-12-03T10:30:00Z');
describe('charts', () => {
  it('counts hours in UTC up to and including this one', () => {
    expect(lastHours(now, 2)).toEqual(['2026-12-03T09', '2026-12-03T10']);
  });

  it('draws each day the backend counted, its checks as passed and failed marks', () => {
    const cols = usesAndChecks([
      { day: '2026-12-02', uses: 0, checks_passed: 0, checks_failed: 0 },
      { day: '2026-12-03', uses: 2, checks_passed: 1, checks_failed: 1 },
    ]);
    expect(cols[1]).toMatchObject({ key: '2026-12-03', label: '3 Dec', row: '3 Dec 2026', parts: [2] });
    expect(cols[1].marks.map((m) => m.label)).toEqual(['1 check passed', '1 check failed']);
    expect(cols[1].marks.map((m) => m.kind)).toEqual(['pass', 'fail']);
    expect(cols[0].marks).toEqual([]);
    expect(partTotal(cols, 0)).toBe(2);
    expect(markTotals(cols)).toEqual({ pass: 1, fail: 1, anomaly: 0 });
  });

  it('stacks a partner key hour as ok then failed and marks the hour an anomaly was raised', () => {
    const usage = [{ hour: '2026-12-03T09:00:00.000000Z', ok: 7, failed: 2 }] as HourUsage[];
    const alerts = [{ fired_at: '2026-12-03T09:41:00Z', summary: 'Failure burst' }] as Notice[];
    const cols = verificationsPerHour(usage, alerts, now);
    expect(cols).toHaveLength(48);
    expect(cols[46]).toMatchObject({
      key: '2026-12-03T09',
      label: '3 Dec 09h',
      row: '3 Dec 2026, 09:00',
      parts: [7, 2],
    });
    expect(cols[46].marks).toEqual([{ kind: 'anomaly', count: 1, label: 'Failure burst' }]);
    expect(cols[47].parts).toEqual([0, 0]);
  });

  it('sorts expiries into weeks from now, those within the warning apart, and leaves out disabled and past ones', () => {
    const cred = (name: string, expires_at: string | null, status = 'active') =>
      ({ name, expires_at, status }) as CredentialSummary;
    const weeks = expiryWeeks(
      [
        cred('Pleo', '2026-12-05T00:00:00Z'),
        cred('Xledger', '2026-12-16T00:00:00Z'),
        cred('BC', '2027-02-20T00:00:00Z'),
        cred('Old', '2026-11-01T00:00:00Z'),
        cred('Earlier today', '2026-12-03T08:00:00Z'),
        cred('Day 14', '2026-12-17T11:00:00Z'),
        cred('Off', '2026-12-04T00:00:00Z', 'disabled'),
        cred('None', null),
        cred('Beyond', '2027-06-01T00:00:00Z'),
      ],
      now,
    );
    expect(weeks).toHaveLength(13);
    expect(weeks[0]).toMatchObject({ key: '2026-12-03', label: '3 Dec', parts: [0, 1], names: ['Pleo'] });
    expect(weeks[1]).toMatchObject({ parts: [0, 1], names: ['Xledger'] });
    // 14 days and half an hour from now: past the warning, in the third week.
    expect(weeks[2]).toMatchObject({ parts: [1, 0], names: ['Day 14'] });
    expect(partTotal(weeks, 0)).toBe(2);
    expect(weeks.flatMap((w) => w.names)).toEqual(['Pleo', 'Xledger', 'Day 14', 'BC']);
    // A shorter warning: Xledger (13 days away) is no longer within it.
    expect(expiryWeeks([cred('Xledger', '2026-12-16T00:00:00Z')], now, 7)[1].parts).toEqual([1, 0]);
  });
});

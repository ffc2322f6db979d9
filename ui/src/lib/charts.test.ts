import { describe, expect, it } from 'vitest';
import { expiryWeeks, lastDays, lastHours, markTotals, partTotal, usesAndChecks, verificationsPerHour } from './charts';
import type { AuditEvent, Check, CredentialSummary, HourUsage, Notice } from './ipc/types';

const now = new Date('2026-12-03T10:30:00Z');
const use = (at: string) => ({ at, action: 'credential.use' }) as AuditEvent;
const check = (checked_at: string, ok: boolean) =>
  ({
    checked_at,
    outcome: ok ? { result: 'valid', verdict: {} } : { result: 'failed', failure: { kind: 'invalid_credential' } },
  }) as unknown as Check;

describe('charts', () => {
  it('counts days and hours in UTC up to and including now', () => {
    expect(lastDays(now, 3)).toEqual(['2026-12-01', '2026-12-02', '2026-12-03']);
    expect(lastHours(now, 2)).toEqual(['2026-12-03T09', '2026-12-03T10']);
  });

  it('puts each use on its day and marks passed and failed checks apart', () => {
    const cols = usesAndChecks(
      [use('2026-12-03T08:00:00Z'), use('2026-12-03T09:00:00Z'), use('2026-11-20T09:00:00Z'), use('2026-10-01T00:00:00Z')],
      [check('2026-12-03T07:00:00Z', true), check('2026-12-03T07:30:00Z', false), check('2026-12-02T07:00:00Z', true)],
      now,
    );
    expect(cols).toHaveLength(30);
    expect(cols[29]).toMatchObject({ key: '2026-12-03', parts: [2] });
    expect(cols[29].marks.map((m) => m.kind)).toEqual(['pass', 'fail']);
    expect(partTotal(cols, 0)).toBe(3); // the use of October is outside the 30 days
    expect(markTotals(cols)).toEqual({ pass: 2, fail: 1, anomaly: 0 });
  });

  it('stacks a partner key hour as ok then failed and marks the hour an anomaly was raised', () => {
    const usage = [{ hour: '2026-12-03T09:00:00.000000Z', ok: 7, failed: 2 }] as HourUsage[];
    const alerts = [{ fired_at: '2026-12-03T09:41:00Z', summary: 'Failure burst' }] as Notice[];
    const cols = verificationsPerHour(usage, alerts, now);
    expect(cols).toHaveLength(48);
    expect(cols[46]).toMatchObject({ key: '2026-12-03T09', parts: [7, 2] });
    expect(cols[46].marks).toEqual([{ kind: 'anomaly', count: 1, label: 'Failure burst' }]);
    expect(cols[47].parts).toEqual([0, 0]);
  });

  it('sorts expiries into weeks, the first two as within the notice, and leaves out disabled and past ones', () => {
    const cred = (name: string, expires_at: string | null, status = 'active') =>
      ({ name, expires_at, status }) as CredentialSummary;
    const weeks = expiryWeeks(
      [
        cred('Pleo', '2026-12-05T00:00:00Z'),
        cred('Xledger', '2026-12-16T00:00:00Z'),
        cred('BC', '2027-02-20T00:00:00Z'),
        cred('Old', '2026-11-01T00:00:00Z'),
        cred('Off', '2026-12-04T00:00:00Z', 'disabled'),
        cred('None', null),
        cred('Beyond', '2027-06-01T00:00:00Z'),
      ],
      now,
    );
    expect(weeks).toHaveLength(13);
    expect(weeks[0]).toMatchObject({ parts: [0, 1], names: ['Pleo'] });
    expect(weeks[1]).toMatchObject({ parts: [0, 1], names: ['Xledger'] });
    expect(partTotal(weeks, 0)).toBe(1);
    expect(weeks.flatMap((w) => w.names)).toEqual(['Pleo', 'Xledger', 'BC']);
  });
});

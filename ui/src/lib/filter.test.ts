import { describe, expect, it } from 'vitest';
import { apply, counts, EMPTY_FILTER, filterRows, index, needsAction, sortRows } from './filter';
import type { CredentialSummary } from './ipc/types';

function row(name: string, over: Partial<CredentialSummary> = {}): CredentialSummary {
  return {
    id: name,
    name,
    kind: 'api_key',
    provider: 'pleo',
    environment: 'prod',
    status: 'active',
    integration: null,
    tags: [],
    mask: '••••••••abcd',
    current_version: 1,
    needs_reentry: false,
    expires_at: null,
    expiry_source: null,
    rotation_due_at: null,
    rotation_overdue: false,
    last_used_at: null,
    last_validated_at: null,
    ...over,
  };
}

const rows = [
  row('Pleo payroll', { tags: ['finance'] }),
  row('Xledger sync', { provider: 'xledger', status: 'expired', expires_at: '2026-01-01T00:00:00Z' }),
  row('BC sandbox', { provider: 'business_central', environment: 'sandbox', status: 'expiring', expires_at: '2026-12-01T00:00:00Z' }),
];

describe('credential list filter', () => {
  it('search_matches_every_word_in_name_service_or_tags', () => {
    expect(apply(index(rows), { ...EMPTY_FILTER, text: 'pleo fin' }).map((r) => r.name)).toEqual(['Pleo payroll']);
    expect(apply(index(rows), { ...EMPTY_FILTER, text: 'XLEDGER' }).map((r) => r.name)).toEqual(['Xledger sync']);
  });
  it('filters_by_status_and_environment', () => {
    expect(apply(index(rows), { ...EMPTY_FILTER, status: 'expired' }).map((r) => r.name)).toEqual(['Xledger sync']);
    expect(apply(index(rows), { ...EMPTY_FILTER, environment: 'sandbox' }).map((r) => r.name)).toEqual(['BC sandbox']);
  });
  it('sorts_by_status_most_urgent_first_and_by_name_descending', () => {
    expect(apply(index(rows), { ...EMPTY_FILTER, sort: 'status' }).map((r) => r.status)).toEqual(['expired', 'expiring', 'active']);
    expect(apply(index(rows), { ...EMPTY_FILTER, descending: true }).map((r) => r.name)).toEqual(['Xledger sync', 'Pleo payroll', 'BC sandbox']);
  });
  it('searching_keeps_the_sort_order_without_sorting_again', () => {
    const sorted = sortRows(index(rows), 'status', false);
    const before = sorted.map((i) => i.row.name);
    expect(filterRows(sorted, { ...EMPTY_FILTER, sort: 'status', text: 's' }).map((r) => r.name)).toEqual(['Xledger sync', 'BC sandbox']);
    // The sorted index is not touched by a search.
    expect(sorted.map((i) => i.row.name)).toEqual(before);
  });
  it('counts_each_status_and_ranks_expired_before_expiring', () => {
    expect(counts(rows)).toMatchObject({ active: 1, expired: 1, expiring: 1, error: 0 });
    expect(needsAction(rows).map((n) => n.row.name)).toEqual(['Xledger sync', 'BC sandbox']);
  });
  it('puts_a_credential_needing_reconnection_first', () => {
    const failing = row('Pleo refused', { status: 'error' });
    const ranked = needsAction([...rows, failing]);
    expect(ranked[0].row.name).toBe('Pleo refused');
    expect(ranked[0].why).toContain('Reconnection required');
  });
  it('tells_an_oauth_credential_whose_sign_in_was_refused_to_re_authorize', () => {
    const refused = row('Pleo OAuth', { status: 'error', kind: 'oauth2' });
    const [first] = needsAction([...rows, refused]);
    expect(first.row.name).toBe('Pleo OAuth');
    expect(first.why).toContain('re-authorize');
    expect(first.why).not.toContain('update it');
  });
  it('ranks_overdue_rotation_before_expiring_and_due_rotation_by_date_with_expiries', () => {
    const overdue = row('Old key', { status: 'rotation_due', rotation_due_at: '2026-08-01T00:00:00Z', rotation_overdue: true });
    const due = row('Due key', { status: 'rotation_due', rotation_due_at: '2026-11-20T00:00:00Z' });
    const expiring = row('Soon', { status: 'expiring', expires_at: '2026-11-30T00:00:00Z' });
    const ranked = needsAction([expiring, due, overdue]).map((n) => n.row.name);
    expect(ranked).toEqual(['Old key', 'Due key', 'Soon']);
    expect(counts([overdue, due, expiring]).rotation_due).toBe(2);
  });
});

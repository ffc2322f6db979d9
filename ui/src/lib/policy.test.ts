import { describe, expect, it } from 'vitest';
import { forbidden, managedEntry, managedNumber } from './policy';
import type { PolicyEntry } from './ipc/types';

const rows: PolicyEntry[] = [
  { key: 'export_allowed', value: 'false', managed: true, source: '/etc/keywarden/policy.toml:1' },
  { key: 'clipboard_allowed', value: 'true (the app\'s setting)', managed: false, source: 'user or default' },
  { key: 'auto_lock_max_minutes', value: '5', managed: true, source: '/etc/keywarden/policy.toml:2' },
];

describe('policy rows', () => {
  it('a key the policy does not set is not managed, whatever its default says', () => {
    expect(managedEntry(rows, 'clipboard_allowed')).toBeUndefined();
    expect(forbidden(rows, 'clipboard_allowed')).toBe(false);
  });
  it('a managed "false" forbids, a managed number bounds', () => {
    expect(forbidden(rows, 'export_allowed')).toBe(true);
    expect(managedNumber(rows, 'auto_lock_max_minutes')).toBe(5);
    expect(managedNumber(rows, 'max_credential_age_days')).toBeUndefined();
  });
  it('no policy at all manages nothing', () => {
    expect(forbidden(undefined, 'export_allowed')).toBe(false);
  });
});

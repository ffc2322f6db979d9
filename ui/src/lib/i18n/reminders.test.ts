// The check list in Bokmål: every item the backend raises is said from its
// values; English is the backend's sentence; an unknown or old item stays
// as written.
import { describe, expect, it } from 'vitest';
import type { Reminder } from '../ipc/types';
import { reminderText } from './catalogue/reminders';

const item = (kind: Reminder['kind'], params: Record<string, string>): Reminder => ({
  kind,
  detail: 'the backend sentence',
  params,
  since: '2026-12-03T10:00:00Z',
});

describe('check-list items', () => {
  it('are said in Bokmål from their values', () => {
    for (const why of ['offline', 'chosen', 'no_live_check', 'bulk', 'moved', 'rotated_offline']) {
      const said = reminderText(item('unchecked', { why }), 'nb');
      expect(said, why).not.toBe('the backend sentence');
      expect(said, why).toContain('test tilkoblingen');
    }
    expect(reminderText(item('unchecked', { why: 'imported', origin: 'KeePass XML' }), 'nb')).toContain(
      'Importert fra en KeePass XML-fil',
    );
    const revoke = reminderText(item('revoke_old', { version: '1', mask: '••••••••abcd', provider: 'pleo' }), 'nb');
    expect(revoke).toContain('(versjon 1, ••••••••abcd) hos pleo');
  });

  it('are the backend sentence in English, and stay as written when their values are missing', () => {
    expect(reminderText(item('unchecked', { why: 'offline' }), 'en')).toBe('the backend sentence');
    expect(reminderText(item('unchecked', {}), 'nb')).toBe('the backend sentence');
    expect(reminderText(item('unchecked', { why: 'something new' }), 'nb')).toBe('the backend sentence');
    expect(reminderText(item('revoke_old', { version: '1' }), 'nb')).toBe('the backend sentence');
  });
});

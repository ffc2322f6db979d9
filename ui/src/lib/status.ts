// How a status is shown: colour AND icon AND word, never colour alone.
import type { Status } from './ipc/types';

export const STATUS_ORDER: Status[] = ['expired', 'error', 'expiring', 'rotation_due', 'disabled', 'revoked', 'active'];

export const STATUS_INFO: Record<Status, { word: string; hint: string }> = {
  active: { word: 'Active', hint: 'In use and in date' },
  expiring: { word: 'Expiring', hint: 'Expires soon: rotate it' },
  rotation_due: { word: 'Rotation due', hint: 'Older than the rotation policy allows: rotate it' },
  expired: { word: 'Expired', hint: 'Past its expiry: rotate it now' },
  error: { word: 'Error', hint: 'Validation or authentication failed' },
  disabled: { word: 'Disabled', hint: 'Marked compromised: replace the secret' },
  revoked: { word: 'Revoked', hint: 'Revoked at the provider' },
};

export const KIND_LABEL: Record<string, string> = {
  api_key: 'API key',
  oauth2: 'OAuth 2.0',
  basic: 'Basic',
  custom: 'Custom',
};

/** `2026-11-22T10:00:00Z` → `2026-11-22 10:00` (UTC), or an em dash. */
export function when(t: string | null | undefined): string {
  if (!t) return '—';
  return t.slice(0, 16).replace('T', ' ');
}

export function day(t: string | null | undefined): string {
  return t ? t.slice(0, 10) : '—';
}

/** Where an expiry date came from, as the details page says it. */
export const EXPIRY_SOURCE: Record<'user' | 'token' | 'provider', string> = {
  user: 'entered by hand',
  token: "from the token's exp claim",
  provider: 'reported by the provider',
};

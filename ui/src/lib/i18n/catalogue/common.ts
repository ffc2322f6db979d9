// Words shared by many screens: statuses, credential types, expiry sources,
// the buttons every dialog has.
import type { Status } from '../../ipc/types';

type StatusWords = Record<Status, { word: string; hint: string }>;

const en = {
  status: {
    active: { word: 'Active', hint: 'In use and in date' },
    expiring: { word: 'Expiring', hint: 'Expires soon: rotate it' },
    rotation_due: { word: 'Rotation due', hint: 'Older than the rotation policy allows: rotate it' },
    expired: { word: 'Expired', hint: 'Past its expiry: rotate it now' },
    error: { word: 'Error', hint: 'Validation or authentication failed' },
    disabled: { word: 'Disabled', hint: 'Marked compromised: replace the secret' },
    revoked: { word: 'Revoked', hint: 'Revoked at the provider' },
  } as StatusWords,
  kind: { api_key: 'API key', oauth2: 'OAuth 2.0', basic: 'Basic', custom: 'Custom' } as Record<string, string>,
  expirySource: {
    user: 'entered by hand',
    token: "from the token's exp claim",
    provider: 'reported by the provider',
  } as Record<'user' | 'token' | 'provider', string>,
  /** A live check's result code, as a row says it. */
  checkResult: {
    valid: 'valid',
    invalid_credential: 'invalid credential',
    expired: 'expired',
    insufficient_scope: 'insufficient scope',
    wrong_tenant: 'wrong tenant',
    wrong_environment: 'wrong environment',
    rate_limited: 'rate limited',
    unreachable: 'unreachable',
    tls: 'tls',
    unsafe: 'unsafe',
    format: 'format',
    provider: 'provider',
  } as Record<string, string>,
  cancel: 'Cancel',
  close: 'Close',
  save: 'Save',
  utc: 'UTC',
};

const nb: typeof en = {
  status: {
    active: { word: 'Aktiv', hint: 'I bruk og gyldig' },
    expiring: { word: 'Utløper snart', hint: 'Utløper snart: roter den' },
    rotation_due: { word: 'Skal roteres', hint: 'Eldre enn retningslinjene for rotering tillater: roter den' },
    expired: { word: 'Utløpt', hint: 'Har passert utløpsdatoen: roter den nå' },
    error: { word: 'Feil', hint: 'Validering eller autentisering mislyktes' },
    disabled: { word: 'Deaktivert', hint: 'Merket som kompromittert: bytt hemmeligheten' },
    revoked: { word: 'Tilbakekalt', hint: 'Tilbakekalt hos leverandøren' },
  },
  kind: { api_key: 'API-nøkkel', oauth2: 'OAuth 2.0', basic: 'Basic', custom: 'Egendefinert' },
  expirySource: {
    user: 'skrevet inn for hånd',
    token: 'fra tokenets exp-felt',
    provider: 'oppgitt av leverandøren',
  },
  checkResult: {
    valid: 'gyldig',
    invalid_credential: 'ugyldig nøkkel',
    expired: 'utløpt',
    insufficient_scope: 'manglende tilgangsomfang',
    wrong_tenant: 'feil leietaker',
    wrong_environment: 'feil miljø',
    rate_limited: 'for mange forespørsler',
    unreachable: 'utilgjengelig',
    tls: 'TLS-feil',
    unsafe: 'usikker',
    format: 'formatfeil',
    provider: 'leverandørfeil',
  },
  cancel: 'Avbryt',
  close: 'Lukk',
  save: 'Lagre',
  utc: 'UTC',
};

export const common = { en, nb };

/** Messages the same in both languages on purpose (product names, codes). */
export const sameInBoth = ['kind.oauth2', 'kind.basic', 'utc'];

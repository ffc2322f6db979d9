// One integration: its configuration, rotation policy, sync schedule, credentials and history.
import { pick } from '../format';

const en = {
  breadcrumb: 'Breadcrumb',
  integrations: 'Integrations',
  configuration: 'Configuration',
  provider: 'Provider',
  tenant: 'Tenant / company',
  environment: 'Environment',
  baseUrl: 'Base URL',
  scopes: 'Scopes',
  owner: 'Owner',
  schedule: 'Sync schedule',
  /** The command, in code, before `runVariables`. */
  cli: 'kw run',
  runVariables: ' variables',
  /** The variable names `kw run` gives when none are set. */
  envDefault: (prefix: string) => `${prefix}_<FIELD> (set with kw integration update --env FIELD=VAR)`,
  policy: 'Rotation policy',
  vaultWide: (days: number) => `vault-wide (${days} days)`,
  noMaxAge: 'no maximum age',
  everyDays: (days: number) => `every ${days} days`,
  updated: 'Updated',
  changeSchedule: 'Change sync schedule',
  saveSchedule: 'Save schedule',
  maxAge: 'Rotate its credentials every (days; 0 = never; empty = vault-wide)',
  savePolicy: 'Save policy',
  credentials: 'Credentials',
  noCredentials: 'No credential serves it yet.',
  history: 'History',
  historyOf: (name: string) => `History of ${name}`,
  followsVault: 'Its credentials follow the vault-wide rotation policy.',
  savedPolicy: 'Saved the rotation policy.',
  savedSchedule: 'Saved the sync schedule.',
  loading: 'Loading…',
};

const days = { one: 'dag', other: 'dager' };

const nb: typeof en = {
  breadcrumb: 'Brødsmulesti',
  integrations: 'Integrasjoner',
  configuration: 'Konfigurasjon',
  provider: 'Leverandør',
  tenant: 'Leietaker / selskap',
  environment: 'Miljø',
  baseUrl: 'Basis-URL',
  scopes: 'Tilgangsomfang',
  owner: 'Eier',
  schedule: 'Synkroniseringsplan',
  cli: 'kw run',
  runVariables: '-variabler',
  envDefault: (prefix: string) => `${prefix}_<FELT> (angis med kw integration update --env FELT=VAR)`,
  policy: 'Retningslinjer for rotering',
  vaultWide: (n: number) => `som for hele hvelvet (${n} ${pick(n, days, 'nb')})`,
  noMaxAge: 'ingen maksimal alder',
  everyDays: (n: number) => `etter ${n} ${pick(n, days, 'nb')}`,
  updated: 'Oppdatert',
  changeSchedule: 'Endre synkroniseringsplan',
  saveSchedule: 'Lagre plan',
  maxAge: 'Roter nøklene etter antall dager (0 = aldri; tomt = som for hele hvelvet)',
  savePolicy: 'Lagre retningslinjene',
  credentials: 'Nøkler',
  noCredentials: 'Ingen nøkkel hører til den ennå.',
  history: 'Historikk',
  historyOf: (name: string) => `Historikk for ${name}`,
  followsVault: 'Nøklene følger hvelvets retningslinjer for rotering.',
  savedPolicy: 'Retningslinjene for rotering er lagret.',
  savedSchedule: 'Synkroniseringsplanen er lagret.',
  loading: 'Laster…',
};

export const integrationDetails = { en, nb };

/** The command's name. */
export const sameInBoth = ['cli'];

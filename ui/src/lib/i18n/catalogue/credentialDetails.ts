// The details page of one credential.
import type { Outcome } from '../../ipc/bindings/Outcome';
import type { VersionState } from '../../ipc/bindings/VersionState';
import { count, num, when } from '../format';

const en = {
  activitySummary: (uses: number, passed: number, failed: number) =>
    `${uses} uses in 30 days; ${passed} checks passed, ${failed} failed`,
  needsReconnection: (name: string, times: number) =>
    `"${name}" needs reconnection: the provider refused it ${times} times in a row.`,
  revokedOldDone: 'Marked done: the replaced secret is revoked at the provider.',
  /** The reason recorded when none is typed. */
  /** The audit log's reason when none was typed: a record, so English in both. */
  defaultDisableReason: 'marked compromised in the app',
  /** `users`: the workflows refused from now, joined; empty for none. */
  disabled: (name: string, users: string) =>
    `"${name}" is disabled: no workflow can use it until its secret is replaced.` +
    (users ? ` Refused from now: ${users}.` : ''),
  replacementPrompt: (name: string) =>
    `"${name}" is disabled and blocked for every workflow. Revoke the leaked secret at the provider, ` +
    `then enter its replacement here; the integration resumes once the new secret is validated. ` +
    `Review the recent uses on the details page.`,
  breadcrumb: 'Breadcrumb',
  credentials: 'Credentials',
  updateCredentials: 'Update Credentials',
  testing: 'Testing…',
  testConnection: 'Test connection',
  offlineOnly: 'Offline checks only',
  edit: 'Edit',
  delete: 'Delete',
  creditNote:
    'Xledger counts every live check, and "Validate and Save", as one API request credit (two when the token is ' +
    'refused: the other environment is asked once, to tell a demo token from a wrong one).',
  todo: 'To do',
  since: (t: string) => `since ${when(t, 'en')}`,
  revokedOld: 'Done: revoked at the provider',
  configuration: 'Configuration',
  type: 'Type',
  service: 'Service',
  environment: 'Environment',
  noSecretYet: 'No secret yet: use Update Credentials to enter it.',
  rotation: 'Rotation',
  overdueSince: 'overdue since',
  dueSince: 'due since',
  due: 'due',
  inheritedPolicy: 'inherited policy',
  everyDays: (n: number) => `every ${n} days`,
  noMaxAge: 'no maximum age',
  expires: 'Expires',
  tags: 'Tags',
  notes: 'Notes',
  integration: 'Integration',
  provider: 'Provider',
  tenant: 'Tenant / company',
  syncSchedule: 'Sync schedule',
  standsAlone: 'Stands alone: no integration uses it.',
  usage: 'Usage',
  lastUsed: 'Last used',
  uses30: 'Uses, last 30 days',
  lastValidated: 'Last validated',
  created: 'Created',
  workflowsTitle: 'Connected workflows (last 90 days)',
  serviceAccount: 'Service account',
  workflowUses: (uses: number, days: number, last: string) => `${uses} uses on ${days} days, last ${when(last, 'en')}`,
  noWorkflows: 'None: no service account or kw run has used it.',
  recentUses: (shown: number, total: number) => `Recent uses, for review (${shown} of ${total})`,
  activityTitle: 'Activity, last 30 days',
  chartTitle: 'Uses per day, with checks',
  chartUses: 'uses',
  chartDay: 'Day (UTC)',
  checksTitle: 'Connection checks',
  reconnectAlert:
    '⚠ Reconnection required: the provider keeps refusing this credential. Update it with a working secret.',
  earlierChecks: (n: number) => `Earlier checks (${n})`,
  scheduled: 'scheduled',
  offline: 'offline',
  live: 'live',
  passed: 'passed',
  notChecked: 'Not checked yet. "Test connection" asks the provider; offline checks ask no one.',
  versions: 'Versions',
  col: {
    version: 'Version',
    state: 'State',
    secret: 'Secret',
    created: 'Created',
    activeFrom: 'Active from',
    retired: 'Retired',
  },
  versionState: { pending: 'pending', current: 'current', retired: 'retired' } as Record<VersionState, string>,
  outcome: { success: 'success', failure: 'failure', denied: 'denied' } as Record<Outcome, string>,
  disableReason: 'Reason to disable (compromised, leaked…)',
  disableSubmit: 'Disable as compromised',
  auditHistory: 'Audit history',
  auditCaption: (name: string) => `Audit history of ${name}`,
  loading: 'Loading…',
};

const times = { one: 'gang', other: 'ganger' };

const nb: typeof en = {
  activitySummary: (uses: number, passed: number, failed: number) =>
    `Brukt ${count(uses, times, 'nb')} på 30 dager; ` +
    `${count(passed, { one: 'kontroll', other: 'kontroller' }, 'nb')} bestått, ${num(failed, 'nb')} mislyktes`,
  needsReconnection: (name: string, n: number) =>
    `«${name}» må kobles til på nytt: leverandøren har avvist den ${count(n, times, 'nb')} på rad.`,
  revokedOldDone: 'Markert som utført: den erstattede hemmeligheten er tilbakekalt hos leverandøren.',
  defaultDisableReason: 'marked compromised in the app',
  disabled: (name: string, users: string) =>
    `«${name}» er deaktivert: ingen arbeidsflyt kan bruke den før hemmeligheten er byttet.` +
    (users ? ` Avvises fra nå: ${users}.` : ''),
  replacementPrompt: (name: string) =>
    `«${name}» er deaktivert og sperret for alle arbeidsflyter. Tilbakekall den lekkede hemmeligheten hos leverandøren, ` +
    `og legg deretter inn erstatningen her; integrasjonen fortsetter når den nye hemmeligheten er validert. ` +
    `Gå gjennom den nylige bruken på detaljsiden.`,
  breadcrumb: 'Brødsmulesti',
  credentials: 'Nøkler',
  updateCredentials: 'Oppdater nøkkel',
  testing: 'Tester…',
  testConnection: 'Test tilkoblingen',
  offlineOnly: 'Bare frakoblede kontroller',
  edit: 'Rediger',
  delete: 'Slett',
  creditNote:
    'Xledger teller hver direkte kontroll, og «Valider og lagre», som én kreditt for API-forespørsler (to når tokenet ' +
    'avvises: det andre miljøet spørres én gang, for å skille et demotoken fra et feil token).',
  todo: 'Å gjøre',
  since: (t: string) => `siden ${when(t, 'nb')}`,
  revokedOld: 'Utført: tilbakekalt hos leverandøren',
  configuration: 'Konfigurasjon',
  type: 'Type',
  service: 'Tjeneste',
  environment: 'Miljø',
  noSecretYet: 'Ingen hemmelighet ennå: bruk Oppdater nøkkel for å legge den inn.',
  rotation: 'Rotering',
  overdueSince: 'på overtid siden',
  dueSince: 'forfalt siden',
  due: 'forfaller',
  inheritedPolicy: 'arvede retningslinjer',
  everyDays: (n: number) => (n === 1 ? 'hver dag' : `hver ${num(n, 'nb')}. dag`),
  noMaxAge: 'ingen maksimal alder',
  expires: 'Utløper',
  tags: 'Etiketter',
  notes: 'Notater',
  integration: 'Integrasjon',
  provider: 'Leverandør',
  tenant: 'Leietaker / selskap',
  syncSchedule: 'Synkroniseringsplan',
  standsAlone: 'Frittstående: ingen integrasjon bruker den.',
  usage: 'Bruk',
  lastUsed: 'Sist brukt',
  uses30: 'Bruk, siste 30 dager',
  lastValidated: 'Sist validert',
  created: 'Opprettet',
  workflowsTitle: 'Tilkoblede arbeidsflyter (siste 90 dager)',
  serviceAccount: 'Tjenestekonto',
  workflowUses: (uses: number, days: number, last: string) =>
    `brukt ${count(uses, times, 'nb')} på ${count(days, { one: 'dag', other: 'dager' }, 'nb')}, ` +
    `sist ${when(last, 'nb')}`,
  noWorkflows: 'Ingen: ingen tjenestekonto eller kw run har brukt den.',
  recentUses: (shown: number, total: number) =>
    `Nylig bruk, til gjennomgang (${num(shown, 'nb')} av ${num(total, 'nb')})`,
  activityTitle: 'Aktivitet, siste 30 dager',
  chartTitle: 'Bruk per dag, med kontroller',
  chartUses: 'bruk',
  chartDay: 'Dag (UTC)',
  checksTitle: 'Tilkoblingskontroller',
  reconnectAlert:
    '⚠ Må kobles til på nytt: leverandøren avviser fortsatt denne nøkkelen. Oppdater den med en hemmelighet som virker.',
  earlierChecks: (n: number) => `Tidligere kontroller (${num(n, 'nb')})`,
  scheduled: 'planlagt',
  offline: 'frakoblet',
  live: 'direkte',
  passed: 'bestått',
  notChecked: 'Ikke kontrollert ennå. «Test tilkoblingen» spør leverandøren; frakoblede kontroller spør ingen.',
  versions: 'Versjoner',
  col: {
    version: 'Versjon',
    state: 'Tilstand',
    secret: 'Hemmelighet',
    created: 'Opprettet',
    activeFrom: 'Aktiv fra',
    retired: 'Utfaset',
  },
  versionState: { pending: 'venter', current: 'gjeldende', retired: 'utfaset' },
  outcome: { success: 'vellykket', failure: 'mislyktes', denied: 'avvist' },
  disableReason: 'Grunn til å deaktivere (kompromittert, lekket…)',
  disableSubmit: 'Deaktiver som kompromittert',
  auditHistory: 'Revisjonshistorikk',
  auditCaption: (name: string) => `Revisjonshistorikk for ${name}`,
  loading: 'Laster…',
};

export const credentialDetails = { en, nb };

/** Messages the same in both languages on purpose. */
export const sameInBoth = ['type', 'defaultDisableReason'];

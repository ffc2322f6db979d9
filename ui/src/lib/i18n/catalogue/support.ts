// A support bundle someone sent, shown read-only.
import { count, num } from '../format';

const en = {
  title: 'Support bundle',
  back: 'Back',
  introBefore: 'Opens a diagnostics file made with',
  command: 'kw support-bundle',
  introAfter:
    ", read-only. It holds statuses, verdicts and recent audit events of the sender's vault, never a secret; nothing here changes any vault.",
  file: 'Bundle file (full path)',
  open: 'Open',
  opening: 'Opening…',
  needPath: 'Enter the full path of the bundle file, e.g. /home/you/keywarden-support.json.',
  contentsLabel: 'Support bundle contents',
  made: 'Made',
  keywarden: 'Keywarden',
  vault: 'Vault',
  contents: 'Contents',
  holds: (integrations: number, credentials: number, events: number) =>
    [
      count(integrations, { one: 'integration', other: 'integrations' }, 'en'),
      count(credentials, { one: 'credential', other: 'credentials' }, 'en'),
      count(events, { one: 'audit event', other: 'audit events' }, 'en'),
    ].join(', '),
  credentials: 'Credentials',
  credentialsCaption: 'Credentials in the bundle',
  col: {
    name: 'Name',
    type: 'Type',
    provider: 'Provider',
    environment: 'Environment',
    status: 'Status',
    lastLive: 'Last live check',
    expires: 'Expires',
    lastUsed: 'Last used',
    tenant: 'Tenant / company',
    schedule: 'Schedule',
  },
  needsReentry: ' (secret to re-enter)',
  lessThanAnHour: 'less than an hour ago',
  hoursAgo: (hours: number) => `${num(hours, 'en')} h ago`,
  daysAgo: (days: number) => `${count(days, { one: 'day', other: 'days' }, 'en')} ago`,
  neverLive: 'never checked live',
  integrations: 'Integrations',
  integrationsCaption: 'Integrations in the bundle',
  recentAudit: 'Recent audit',
  recentAuditCaption: 'Recent audit events in the bundle',
};

const nb: typeof en = {
  title: 'Støttepakke',
  back: 'Tilbake',
  introBefore: 'Åpner en diagnosefil laget med',
  command: 'kw support-bundle',
  introAfter:
    ', skrivebeskyttet. Den inneholder statuser, kontrollresultater og nylige revisjonshendelser fra avsenderens hvelv, aldri en hemmelighet; ingenting her endrer noe hvelv.',
  file: 'Pakkefil (full sti)',
  open: 'Åpne',
  opening: 'Åpner…',
  needPath: 'Skriv inn full sti til pakkefilen, f.eks. /home/deg/keywarden-support.json.',
  contentsLabel: 'Innholdet i støttepakken',
  made: 'Laget',
  keywarden: 'Keywarden',
  vault: 'Hvelv',
  contents: 'Innhold',
  holds: (integrations: number, credentials: number, events: number) =>
    [
      count(integrations, { one: 'integrasjon', other: 'integrasjoner' }, 'nb'),
      count(credentials, { one: 'nøkkel', other: 'nøkler' }, 'nb'),
      count(events, { one: 'revisjonshendelse', other: 'revisjonshendelser' }, 'nb'),
    ].join(', '),
  credentials: 'Nøkler',
  credentialsCaption: 'Nøkler i pakken',
  col: {
    name: 'Navn',
    type: 'Type',
    provider: 'Leverandør',
    environment: 'Miljø',
    status: 'Status',
    lastLive: 'Siste direkte kontroll',
    expires: 'Utløper',
    lastUsed: 'Sist brukt',
    tenant: 'Leietaker / selskap',
    schedule: 'Synkroniseringsplan',
  },
  needsReentry: ' (hemmeligheten må skrives inn på nytt)',
  lessThanAnHour: 'for under en time siden',
  hoursAgo: (hours: number) => `for ${num(hours, 'nb')} t siden`,
  daysAgo: (days: number) => `for ${count(days, { one: 'dag', other: 'dager' }, 'nb')} siden`,
  neverLive: 'aldri kontrollert direkte',
  integrations: 'Integrasjoner',
  integrationsCaption: 'Integrasjoner i pakken',
  recentAudit: 'Siste revisjonshendelser',
  recentAuditCaption: 'Nylige revisjonshendelser i pakken',
};

export const support = { en, nb };

/** Messages the same in both languages on purpose (the product, a command, a format). */
export const sameInBoth = ['command', 'keywarden', 'col.type', 'col.status'];

// The audit log screen and the table of audit events other pages show too.
import { count } from '../format';

const en = {
  title: 'Audit log',
  verify: 'Verify chain',
  intact: (events: number) => `✓ Chain intact: ${count(events, { one: 'event', other: 'events' }, 'en')} verified.`,
  broken: (seq: string, problem: string) => `✕ Chain broken at event ${seq}: ${problem}`,
  object: 'Credential or integration',
  any: 'Any',
  /** An integration among the credentials in the filter. */
  integrationOption: (name: string) => `${name} (integration)`,
  admin: 'Admin',
  action: 'Action',
  from: 'From',
  to: 'To',
  apply: 'Apply',
  caption: 'Audit events',
  format: 'Format',
  formats: { csv: 'CSV', json: 'JSON' },
  export: 'Export…',
  exported: (events: number, path: string) =>
    `Exported ${count(events, { one: 'event', other: 'events' }, 'en')} to ${path}.`,
  table: {
    when: 'When (UTC)',
    admin: 'Admin',
    action: 'Action',
    object: 'Object',
    outcome: 'Outcome',
    detail: 'Detail',
    empty: 'No events.',
    outcomes: { success: 'success', failure: 'failure', denied: 'denied' } as Record<string, string>,
    /** What kind of thing an event is about, when it has no name. */
    objectKinds: {
      credential: 'credential',
      integration: 'integration',
      vault: 'vault',
      alert_channel: 'alert_channel',
      partner_key: 'partner_key',
    } as Record<string, string>,
  },
};

const nb: typeof en = {
  title: 'Revisjonslogg',
  verify: 'Kontroller kjeden',
  intact: (events: number) =>
    `✓ Kjeden er intakt: ${count(events, { one: 'hendelse', other: 'hendelser' }, 'nb')} kontrollert.`,
  broken: (seq: string, problem: string) => `✕ Kjeden er brutt ved hendelse ${seq}: ${problem}`,
  object: 'Nøkkel eller integrasjon',
  any: 'Alle',
  integrationOption: (name: string) => `${name} (integrasjon)`,
  admin: 'Administrator',
  action: 'Handling',
  from: 'Fra',
  to: 'Til',
  apply: 'Bruk',
  caption: 'Revisjonshendelser',
  format: 'Format',
  formats: { csv: 'CSV', json: 'JSON' },
  export: 'Eksporter…',
  exported: (events: number, path: string) =>
    `Eksporterte ${count(events, { one: 'hendelse', other: 'hendelser' }, 'nb')} til ${path}.`,
  table: {
    when: 'Tidspunkt (UTC)',
    admin: 'Administrator',
    action: 'Handling',
    object: 'Objekt',
    outcome: 'Resultat',
    detail: 'Detaljer',
    empty: 'Ingen hendelser.',
    outcomes: { success: 'vellykket', failure: 'mislyktes', denied: 'avvist' },
    objectKinds: {
      credential: 'nøkkel',
      integration: 'integrasjon',
      vault: 'hvelv',
      alert_channel: 'varslingskanal',
      partner_key: 'partnernøkkel',
    },
  },
};

export const audit = { en, nb };

/** Messages the same in both languages on purpose (format names). */
export const sameInBoth = ['format', 'formats.csv', 'formats.json'];

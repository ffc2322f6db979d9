// The credentials list.
import { num } from '../format';

const en = {
  title: 'Credentials',
  import: 'Import…',
  newCredential: 'New credential',
  search: 'Search',
  searchPlaceholder: 'name, service, tag…',
  status: 'Status',
  type: 'Type',
  environment: 'Environment',
  any: 'Any',
  rowCount: (shown: number, total: number) => `${shown} of ${total}`,
  tableLabel: 'Credentials',
  columns: {
    name: 'Service',
    kind: 'Type',
    status: 'Status',
    environment: 'Environment',
    last_used_at: 'Last used',
    last_validated_at: 'Last validated',
  },
  tags: 'Tags',
  empty: 'No credentials yet: add one with New credential.',
  noMatch: 'No credential matches these filters.',
};

const nb: typeof en = {
  title: 'Nøkler',
  import: 'Importer…',
  newCredential: 'Ny nøkkel',
  search: 'Søk',
  searchPlaceholder: 'navn, tjeneste, etikett…',
  status: 'Status',
  type: 'Type',
  environment: 'Miljø',
  any: 'Alle',
  rowCount: (shown: number, total: number) => `${num(shown, 'nb')} av ${num(total, 'nb')}`,
  tableLabel: 'Nøkler',
  columns: {
    name: 'Tjeneste',
    kind: 'Type',
    status: 'Status',
    environment: 'Miljø',
    last_used_at: 'Sist brukt',
    last_validated_at: 'Sist validert',
  },
  tags: 'Etiketter',
  empty: 'Ingen nøkler ennå: legg til en med Ny nøkkel.',
  noMatch: 'Ingen nøkler passer til disse filtrene.',
};

export const credentialList = { en, nb };

/** Messages the same in both languages on purpose. */
export const sameInBoth = ['status', 'type', 'columns.status', 'columns.kind'];

// The Edit dialog of a credential (its non-secret data).

const en = {
  title: (name: string) => `Edit ${name}`,
  name: 'Name',
  integration: 'Integration it serves',
  none: 'None (stands alone)',
  environment: 'Environment',
  expiresOn: 'Expires on',
  maxAge: "Rotate every (days; 0 = never; empty = the integration's or vault's policy)",
  tags: 'Tags (comma separated)',
  notes: 'Notes',
  reload: 'Reload the current values',
  saved: (name: string) => `Saved the changes to "${name}".`,
};

const nb: typeof en = {
  title: (name: string) => `Rediger ${name}`,
  name: 'Navn',
  integration: 'Integrasjonen den betjener',
  none: 'Ingen (frittstående)',
  environment: 'Miljø',
  expiresOn: 'Utløper',
  maxAge: 'Roter etter antall dager (0 = aldri; tomt = retningslinjene til integrasjonen eller hvelvet)',
  tags: 'Etiketter (skilt med komma)',
  notes: 'Notater',
  reload: 'Last inn de gjeldende verdiene på nytt',
  saved: (name: string) => `Lagret endringene i «${name}».`,
};

export const editCredential = { en, nb };

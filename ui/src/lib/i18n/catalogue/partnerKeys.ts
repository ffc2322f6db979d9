// The partner keys list and the form that issues one.

const en = {
  title: 'Partner keys',
  intro:
    'Keys partners use to call our services. Each is shown once when issued; Keywarden keeps only its hash. Verifiers check keys with ',
  /** The command, in code after the intro. */
  cli: 'kw serve',
  caption: 'Partner keys',
  col: {
    id: 'Key id',
    application: 'Application',
    env: 'Env',
    state: 'State',
    scopes: 'Scopes',
    created: 'Created',
    lastUsed: 'Last used',
  },
  empty: 'No partner keys yet.',
  issueTitle: 'Issue a key',
  application: 'Partner application',
  environment: 'Environment',
  /** The environment values themselves, as the key ids carry them. */
  env: { live: 'live', test: 'test' },
  scopes: 'Scopes (resource:read or resource:write, separated by spaces)',
  scopesExample: 'invoices:read payments:write',
  expires: 'Expires on (optional)',
  maxAge: 'Rotate every (days; 0 = never)',
  grace: 'After a rotation, the old key keeps working for (days)',
  issue: 'Issue key',
  signedWith: "Envelopes and revocation lists are signed with this vault's Ed25519 key: ",
  needApplication: 'Name the partner application the key is for.',
  needScope: 'Give at least one scope, e.g. invoices:read. A key gets nothing it is not given.',
};

const nb: typeof en = {
  title: 'Partnernøkler',
  intro:
    'Nøkler partnere bruker for å kalle tjenestene våre. Hver nøkkel vises én gang når den utstedes; Keywarden tar bare vare på hashen. Verifiseringstjenester kontrollerer nøkler med ',
  cli: 'kw serve',
  caption: 'Partnernøkler',
  col: {
    id: 'Nøkkel-ID',
    application: 'Applikasjon',
    env: 'Miljø',
    state: 'Tilstand',
    scopes: 'Tilgangsomfang',
    created: 'Opprettet',
    lastUsed: 'Sist brukt',
  },
  empty: 'Ingen partnernøkler ennå.',
  issueTitle: 'Utsted en nøkkel',
  application: 'Partnerapplikasjon',
  environment: 'Miljø',
  env: { live: 'live', test: 'test' },
  scopes: 'Tilgangsomfang (ressurs:read eller ressurs:write, skilt med mellomrom)',
  scopesExample: 'invoices:read payments:write',
  expires: 'Utløper (valgfritt)',
  maxAge: 'Roter etter antall dager (0 = aldri)',
  grace: 'Etter en rotering virker den gamle nøkkelen videre i (dager)',
  issue: 'Utsted nøkkel',
  signedWith: 'Konvolutter og tilbakekallingslister signeres med dette hvelvets Ed25519-nøkkel: ',
  needApplication: 'Oppgi hvilken partnerapplikasjon nøkkelen er for.',
  needScope: 'Oppgi minst ett tilgangsomfang, f.eks. invoices:read. En nøkkel får ingenting den ikke blir gitt.',
};

export const partnerKeys = { en, nb };

/** The command, values and examples, the same in both languages. */
export const sameInBoth = ['cli', 'env.live', 'env.test', 'scopesExample'];

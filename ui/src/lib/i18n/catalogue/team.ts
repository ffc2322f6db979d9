// The team vault on OpenBao: sign-in, the shared list, one credential and its rotation.

const en = {
  title: 'Team vault',
  intro:
    "Credentials shared by several admins live in your organisation's OpenBao cluster. Sign in with the address IT gave you; your token is kept in the OS keychain, never in a file.",
  nodes: 'Address (several nodes: separate with commas)',
  nodesExample: 'https://bao.example.org:8200',
  mount: 'Team',
  user: 'User name',
  password: 'Password',
  method: 'Sign-in method',
  userpass: 'OpenBao userpass mount (as IT set it up)',
  signIn: 'Sign in',
  signingIn: 'Signing in…',
  /** Followed by the team's name in bold. */
  signedInTo: 'Signed in to ',
  /** Between the team's name and the user's, both in bold. */
  as: ' as ',
  signOut: 'Sign out',
  offline: (t: string) =>
    `Offline — the team vault cannot be reached. This is what was known at ${t} UTC; it is read-only until the vault answers again.`,
  caption: 'Team credentials',
  col: {
    name: 'Name',
    type: 'Type',
    sharing: 'Sharing',
    status: 'Status',
    secret: 'Secret',
    updatedBy: 'Updated by',
  },
  empty: 'No credentials you can see.',
  sharing: {
    personal: 'Personal (only you)',
    use: 'Shared: use only',
    view: 'Shared: view',
    manage: 'Shared: manage',
  } as Record<string, string>,
  secret: 'Secret',
  updated: 'Updated',
  updatedBy: (t: string, who: string, revision: number | bigint) => `${t} UTC by ${who} (revision ${revision})`,
  configuration: 'Configuration',
  configHidden: 'Shared for use only: not yours to see.',
  /** "Your role lets you rotate, edit it": the actions joined with ", ". */
  youCan: (actions: string) => `Your role lets you ${actions} it`,
  actions: { rotate: 'rotate', edit: 'edit', delete: 'delete', share: 'share' },
  /** Followed by `kw team` in code and ")." */
  restWithCli: '(rotate here; the rest with ',
  /** The command, in code. */
  cli: 'kw team',
  onlyUse: 'You can use it through the team broker; nothing else.',
  newField: (field: string) => `New ${field}`,
  offlineOnly: 'Offline checks only (the provider cannot be reached)',
  validating: 'Validating…',
  validateAndSave: 'Validate and Save',
  update: 'Update Credentials',
  needSignIn: 'Give the team vault’s address, your user name and your password.',
  signedOut: 'Signed out of the team vault: the token is revoked and removed from this machine.',
  /** The missing secret fields, joined with `and`. */
  enterNew: (fields: string) => `Enter the new ${fields}.`,
  and: ' and ',
  saved: (name: string, ending: string, revision: number | bigint) =>
    `Validated and saved: “${name}” now ends ${ending} (revision ${revision}).`,
  stale: (message: string) => `${message} Reload it to see their change.`,
  /** What each role allows (the backend's words, keywarden-team layout.rs). */
  roleWords: {
    owner:
      'Owner: everything an admin can, on every shared credential, plus adding members and setting roles. Never reads a shared secret.',
    admin:
      'Admin: adds credentials; edits and deletes your own and those shared with Manage; sees the configuration of those shared with View or Manage. Never reads a shared secret.',
    viewer: 'Viewer: sees what is shared (its configuration from View); changes nothing.',
    none: 'No role in this team: nothing is open to you. Ask an owner.',
  } as Record<string, string>,
};

const nb: typeof en = {
  title: 'Teamhvelv',
  intro:
    'Nøkler som deles av flere administratorer, ligger i organisasjonens OpenBao-klynge. Logg på med adressen du har fått fra IT; tokenet ditt lagres i operativsystemets nøkkelring, aldri i en fil.',
  nodes: 'Adresse (flere noder: skill dem med komma)',
  nodesExample: 'https://bao.example.org:8200',
  mount: 'Team',
  user: 'Brukernavn',
  password: 'Passord',
  method: 'Påloggingsmetode',
  userpass: 'OpenBao userpass-mount (slik IT har satt det opp)',
  signIn: 'Logg på',
  signingIn: 'Logger på…',
  signedInTo: 'Logget på ',
  as: ' som ',
  signOut: 'Logg av',
  offline: (t: string) =>
    `Frakoblet — teamhvelvet kan ikke nås. Dette er det som var kjent ${t} UTC; det er skrivebeskyttet til hvelvet svarer igjen.`,
  caption: 'Teamnøkler',
  col: {
    name: 'Navn',
    type: 'Type',
    sharing: 'Deling',
    status: 'Status',
    secret: 'Hemmelighet',
    updatedBy: 'Oppdatert av',
  },
  empty: 'Ingen nøkler du har tilgang til.',
  sharing: {
    personal: 'Personlig (bare deg)',
    use: 'Delt: kun bruk',
    view: 'Delt: innsyn',
    manage: 'Delt: administrasjon',
  },
  secret: 'Hemmelighet',
  updated: 'Oppdatert',
  updatedBy: (t: string, who: string, revision: number | bigint) => `${t} UTC av ${who} (revisjon ${revision})`,
  configuration: 'Konfigurasjon',
  configHidden: 'Delt kun til bruk: du har ikke innsyn i den.',
  youCan: (actions: string) => `Rollen din lar deg ${actions} den`,
  actions: { rotate: 'rotere', edit: 'redigere', delete: 'slette', share: 'dele' },
  restWithCli: '(roter her; resten med ',
  cli: 'kw team',
  onlyUse: 'Du kan bruke den gjennom teammegleren; ingenting annet.',
  newField: (field: string) => `Ny verdi for ${field}`,
  offlineOnly: 'Bare frakoblede kontroller (leverandøren kan ikke nås)',
  validating: 'Validerer…',
  validateAndSave: 'Valider og lagre',
  update: 'Oppdater nøkkel',
  needSignIn: 'Oppgi teamhvelvets adresse, brukernavnet ditt og passordet ditt.',
  signedOut: 'Logget av teamhvelvet: tokenet er tilbakekalt og fjernet fra denne maskinen.',
  enterNew: (fields: string) => `Skriv inn ny verdi for ${fields}.`,
  and: ' og ',
  saved: (name: string, ending: string, revision: number | bigint) =>
    `Validert og lagret: «${name}» slutter nå på ${ending} (revisjon ${revision}).`,
  stale: (message: string) => `${message} Last den inn på nytt for å se endringen.`,
  roleWords: {
    owner:
      'Eier: alt en administrator kan, på hver delte nøkkel, og i tillegg legge til medlemmer og sette roller. Leser aldri en delt hemmelighet.',
    admin:
      'Administrator: legger til nøkler; redigerer og sletter dine egne og dem som er delt med administrasjon; ser konfigurasjonen til dem som er delt med innsyn eller administrasjon. Leser aldri en delt hemmelighet.',
    viewer: 'Leser: ser det som er delt (konfigurasjonen når det er delt med innsyn); endrer ingenting.',
    none: 'Ingen rolle i dette teamet: ingenting er åpent for deg. Spør en eier.',
  },
};

export const team = { en, nb };

/** The command, words Norwegian shares with English, and an example address. */
export const sameInBoth = ['cli', 'nodesExample', 'mount', 'col.type', 'col.status'];

// Import from another tool's plaintext export (screens/ImportScreen.svelte).
// Counted words are forms for `count` ("3 credentials"); messages that
// hold one take it counted.

const en = {
  title: 'Import credentials',
  credentials: { one: 'credential', other: 'credentials' },
  entries: { one: 'entry', other: 'entries' },
  format: { csv: 'CSV', 'keepass-xml': 'KeePass XML' } as Record<string, string>,
  choose: {
    heading: 'Choose the export',
    intro:
      "A CSV file (a spreadsheet, or KeePassXC's CSV export) or a KeePass XML export. The whole file is read and " +
      'checked first and nothing is written until you confirm; then every credential is added, or none.',
    environment: 'Environment of entries that name none',
    /** The environments themselves, as credentials carry them. */
    env: { prod: 'prod (the default)', sandbox: 'sandbox', test: 'test' },
    tags: 'Tags added to every credential (comma separated)',
    reading: 'Reading…',
    file: 'Choose file…',
  },
  preview: {
    cannot: 'This file cannot be imported',
    heading: 'Preview',
    file: 'File',
    format: 'Format',
    toAdd: 'To add',
    renamed: 'Renamed',
    leftOut: 'Left out',
    attachmentsLeft: 'Attachments left behind',
    problems:
      'Nothing was imported and the vault is unchanged. Correct these places in the file, then choose it again:',
    again: 'Choose another file',
    /** `credentials` is counted ("3 credentials"). */
    run: (credentials: string) => `Import ${credentials}`,
    titlesRenamed: { one: 'title renamed', other: 'titles renamed' },
    /** `renamed` is counted; `listed` of `total` are in the table. */
    renamedSummary: (renamed: string, total: number, listed: number) =>
      `${renamed} to fit a name${total > listed ? ` (the first ${listed} listed)` : ''}`,
    skippedSummary: (entries: string, total: number, listed: number) =>
      `${entries} left out${total > listed ? ` (the first ${listed} listed)` : ''}`,
    entriesHave: { one: 'entry has', other: 'entries have' },
    /** `entriesHave` is counted ("2 entries have"). */
    attachments: (entriesHave: string) =>
      `${entriesHave} attachments that are not imported: keep them elsewhere before you destroy the export.`,
    caption: (total: number, listed: number) =>
      `Credentials to add${total > listed ? `, the first ${listed}` : ''}`,
    col: {
      place: 'Place',
      name: 'Name',
      type: 'Type',
      provider: 'Provider',
      environment: 'Environment',
      titleInFile: 'Title in the file',
      nameInKeywarden: 'Name in Keywarden',
      title: 'Title',
      why: 'Why',
    },
    /** `more` is a number, formatted. */
    more: (more: string) => `… and ${more} more.`,
  },
  running: {
    heading: 'Importing…',
    progress: 'Import progress',
    /** Numbers formatted. */
    steps: (percent: string, done: string, total: string) =>
      `${percent} %: ${done} of ${total} steps ` +
      '(each credential is checked, then written, then all are committed at once)',
    allOrNothing: 'Nothing is kept unless every credential is written.',
  },
  done: {
    /** `credentials` is counted. */
    heading: (credentials: string) => `Imported ${credentials}`,
    destroy: 'Destroy the export now',
    /** Around the file's name and the command: "<file> {stillHolds} <shred> {overwrites}". */
    stillHolds:
      'still holds every one of these secrets in plain text. Delete it, and every copy of it: downloads, the trash, ' +
      'backups, synced folders. On Linux,',
    shred: 'shred -u',
    overwrites:
      'overwrites it first; an SSD or a copy-on-write disk may keep old blocks, so rely on full-disk encryption there.',
    show: 'Show the credentials',
    another: 'Import another file',
  },
  stopped: 'the import stopped; nothing was imported',
  failed: (why: string) => `Nothing was imported: ${why}`,
};

const nb: typeof en = {
  title: 'Importer nøkler',
  credentials: { one: 'nøkkel', other: 'nøkler' },
  entries: { one: 'oppføring', other: 'oppføringer' },
  format: { csv: 'CSV', 'keepass-xml': 'KeePass XML' },
  choose: {
    heading: 'Velg eksportfilen',
    intro:
      'En CSV-fil (et regneark, eller CSV-eksporten fra KeePassXC) eller en KeePass XML-eksport. Hele filen leses og ' +
      'kontrolleres først, og ingenting skrives før du bekrefter; deretter legges alle nøklene til, eller ingen.',
    environment: 'Miljø for oppføringer som ikke oppgir noe',
    env: { prod: 'prod (standard)', sandbox: 'sandbox', test: 'test' },
    tags: 'Etiketter som legges til på hver nøkkel (kommaseparert)',
    reading: 'Leser…',
    file: 'Velg fil…',
  },
  preview: {
    cannot: 'Denne filen kan ikke importeres',
    heading: 'Forhåndsvisning',
    file: 'Fil',
    format: 'Filformat',
    toAdd: 'Legges til',
    renamed: 'Nytt navn',
    leftOut: 'Utelatt',
    attachmentsLeft: 'Vedlegg som ikke tas med',
    problems:
      'Ingenting ble importert, og hvelvet er uendret. Rett disse stedene i filen, og velg den på nytt:',
    again: 'Velg en annen fil',
    run: (credentials: string) => `Importer ${credentials}`,
    titlesRenamed: { one: 'tittel endret', other: 'titler endret' },
    renamedSummary: (renamed: string, total: number, listed: number) =>
      `${renamed} for å passe som navn${total > listed ? ` (de første ${listed} vises)` : ''}`,
    skippedSummary: (entries: string, total: number, listed: number) =>
      `${entries} utelatt${total > listed ? ` (de første ${listed} vises)` : ''}`,
    entriesHave: { one: 'oppføring har', other: 'oppføringer har' },
    attachments: (entriesHave: string) =>
      `${entriesHave} vedlegg som ikke importeres: ta vare på dem et annet sted før du sletter eksportfilen.`,
    caption: (total: number, listed: number) =>
      `Nøkler som legges til${total > listed ? `, de første ${listed}` : ''}`,
    col: {
      place: 'Sted',
      name: 'Navn',
      type: 'Type',
      provider: 'Leverandør',
      environment: 'Miljø',
      titleInFile: 'Tittel i filen',
      nameInKeywarden: 'Navn i Keywarden',
      title: 'Tittel',
      why: 'Årsak',
    },
    more: (more: string) => `… og ${more} til.`,
  },
  running: {
    heading: 'Importerer…',
    progress: 'Fremdrift for importen',
    steps: (percent: string, done: string, total: string) =>
      `${percent} %: ${done} av ${total} trinn ` +
      '(hver nøkkel kontrolleres og skrives, deretter lagres alle på én gang)',
    allOrNothing: 'Ingenting beholdes med mindre alle nøklene blir skrevet.',
  },
  done: {
    heading: (credentials: string) => `Importerte ${credentials}`,
    destroy: 'Slett eksportfilen nå',
    stillHolds:
      'inneholder fortsatt alle disse hemmelighetene i klartekst. Slett den, og alle kopier av den: nedlastinger, ' +
      'papirkurven, sikkerhetskopier, synkroniserte mapper. På Linux overskriver',
    shred: 'shred -u',
    overwrites:
      'den først; en SSD eller en disk med kopiering ved skriving (copy-on-write) kan beholde gamle blokker, ' +
      'så stol på fulldiskkryptering der.',
    show: 'Vis nøklene',
    another: 'Importer en annen fil',
  },
  stopped: 'importen stoppet; ingenting ble importert',
  failed: (why: string) => `Ingenting ble importert: ${why}`,
};

export const importScreen = { en, nb };

/** Names of formats and environments, the same in both languages. */
export const sameInBoth = [
  'format.csv',
  'format.keepass-xml',
  'choose.env.sandbox',
  'choose.env.test',
  'preview.col.type',
  'done.shred',
];

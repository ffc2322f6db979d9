// The settings page: the form, the policy banners, backup, export of the
// configuration and the signing key.
import { count, num } from '../format';
import { LANG_NAMES } from '../locale.svelte';

const en = {
  title: 'Settings',
  language: 'Language',
  /** The first choice of the language switch; `name` is the system's language in its own name. */
  followSystem: (name: string) => `Follow the system (${name})`,
  policyBroken: (problem: string) =>
    `The organisation's policy file is broken, so the strictest policy applies until IT fixes it: ${problem}`,
  settingsDamaged: (problem: string) =>
    `Your saved settings could not be read, so the defaults are in force: ${problem}. Saving this page writes them anew.`,
  expiringWithin: 'Warn this many days before a credential expires',
  notice: 'Notify this many days before expiry (14 is always included)',
  thresholdError: 'Give whole days from 1 to 365, separated by commas, e.g. 60, 30, 14, 7, 1.',
  rotationMaxAge:
    'Rotate secrets at least every this many days (0 = no policy; integrations and credentials may set their own)',
  rotationGrace: 'Grace period after a rotation falls due (days)',
  verifierListen: 'Run the partner-key verifier inside the app on (address, e.g. 127.0.0.1:8787; empty = off)',
  verifierStatus: 'Verifier:',
  auditStreamFile:
    'Also write every audit event, as it happens, to this file for a SIEM (JSON lines, absolute path; empty = off)',
  auditStreamFileExample: '/var/log/keywarden/audit.jsonl',
  auditStreamSyslog: '…and to syslog on this socket (RFC 5424, e.g. /dev/log; empty = off)',
  auditStreamSyslogExample: '/dev/log',
  backupFolder:
    'Back up the vault into this folder (an absolute path, e.g. a network share; empty = no scheduled backups)',
  backupFolderExample: '/mnt/finance-share/keywarden',
  backupEvery: 'Back up every this many hours',
  backupKeep: 'Keep this many backups in the folder',
  authFailureThreshold: 'Require reconnection after this many refusals in a row by the provider',
  autoLock: 'Lock after this many idle minutes',
  clipboardClear: 'Clear a copied secret from the clipboard after (seconds)',
  allowClipboard:
    'Allow copying secrets to the clipboard (off by default: a saved secret is not meant to leave the vault; every copy is audited and cleared, and marked as a password so clipboard history keeps no copy; a clipboard manager that ignores the mark may still keep one)',
  keepInTray: 'Keep Keywarden running in the tray when its window is closed, so notices, checks and alerts go on',
  noTray: '(this desktop shows no tray now: closing the window quits)',
  startAtLogin: 'Start Keywarden at login, in the tray',
  saveSettings: 'Save settings',
  saved: 'Settings saved.',
  /** What a "Managed by your organization" badge adds after the dot. */
  managed: {
    off: 'off',
    alwaysOn: 'always on',
    atMostDays: (n: number) => `at most ${count(n, { one: 'day', other: 'days' }, 'en')}`,
    atMostMinutes: (n: number) => `at most ${count(n, { one: 'minute', other: 'minutes' }, 'en')}`,
  },
  backup: {
    title: 'Backup',
    hintBefore:
      'A backup is the vault still encrypted under its key, checked after it is written. If this computer is lost, restore it elsewhere with',
    restoreCommand: 'kw restore FILE --vault DIR',
    hintAfter: 'and the recovery code.',
    now: 'Back up now',
    done: (credentials: number, path: string, kib: number) =>
      `Backed up ${count(credentials, { one: 'credential', other: 'credentials' }, 'en')} to ${path} (${kib} KiB), read back and verified. Restoring it needs the recovery code.`,
  },
  exportConfig: {
    title: 'Export configuration',
    hint:
      'Integrations and credential settings, for backup. Secrets are never exported: they must be re-entered after an import.',
    button: 'Export configuration…',
    done: (items: number, path: string) =>
      `Exported ${num(items, 'en')} integrations and credentials to ${path}, without any secret. On import, each secret must be re-entered.`,
  },
  signing: {
    title: 'Signing key',
    hintBefore:
      "Partner-key envelopes and revocation lists are signed with this vault's Ed25519 key. Give partners and offline verifiers this public key to check them (also",
    command: 'kw keys public-key',
  },
  vault: 'Vault:',
  keyIn: (passphrase: boolean) => `key in ${passphrase ? 'a passphrase' : 'the system keychain'}`,
  signedInAs: (profile: string) => `signed in as ${profile}`,
};

const nb: typeof en = {
  title: 'Innstillinger',
  language: 'Språk',
  // Norwegian writes its language's name in lower case inside a sentence.
  followSystem: (name: string) => `Følg systemet (${name === LANG_NAMES.nb ? 'norsk bokmål' : name})`,
  policyBroken: (problem: string) =>
    `Organisasjonens retningslinjefil er ødelagt, så de strengeste retningslinjene gjelder til IT har rettet den: ${problem}`,
  settingsDamaged: (problem: string) =>
    `De lagrede innstillingene dine kunne ikke leses, så standardverdiene gjelder: ${problem}. Når du lagrer denne siden, skrives de på nytt.`,
  expiringWithin: 'Varsle så mange dager før en nøkkel utløper',
  notice: 'Gi varsel så mange dager før utløp (14 er alltid med)',
  thresholdError: 'Oppgi hele dager fra 1 til 365, skilt med komma, f.eks. 60, 30, 14, 7, 1.',
  rotationMaxAge:
    'Roter hemmeligheter med høyst så mange dagers mellomrom (0 = ingen retningslinjer; integrasjoner og nøkler kan ha egne)',
  rotationGrace: 'Respittid etter at en rotering har forfalt (dager)',
  verifierListen: 'Kjør verifiseringstjenesten for partnernøkler i appen på (adresse, f.eks. 127.0.0.1:8787; tomt = av)',
  verifierStatus: 'Verifiseringstjeneste:',
  auditStreamFile:
    'Skriv også hver revisjonshendelse, idet den skjer, til denne filen for et SIEM (JSON-linjer, absolutt sti; tomt = av)',
  auditStreamFileExample: '/var/log/keywarden/audit.jsonl',
  auditStreamSyslog: '…og til syslog på denne socketen (RFC 5424, f.eks. /dev/log; tomt = av)',
  auditStreamSyslogExample: '/dev/log',
  backupFolder:
    'Sikkerhetskopier hvelvet til denne mappen (en absolutt sti, f.eks. en nettverksdeling; tomt = ingen planlagte sikkerhetskopier)',
  backupFolderExample: '/mnt/okonomi-deling/keywarden',
  backupEvery: 'Ta sikkerhetskopi med så mange timers mellomrom',
  backupKeep: 'Behold så mange sikkerhetskopier i mappen',
  authFailureThreshold: 'Krev ny tilkobling etter så mange avvisninger på rad fra leverandøren',
  autoLock: 'Lås etter så mange minutter uten aktivitet',
  clipboardClear: 'Fjern en kopiert hemmelighet fra utklippstavlen etter (sekunder)',
  allowClipboard:
    'Tillat kopiering av hemmeligheter til utklippstavlen (av som standard: en lagret hemmelighet skal ikke forlate hvelvet; hver kopi føres i revisjonsloggen og fjernes igjen, og merkes som passord så utklippshistorikken ikke tar vare på den; en utklippsbehandler som overser merket, kan likevel beholde en kopi)',
  keepInTray:
    'La Keywarden kjøre videre i systemstatusfeltet når vinduet lukkes, så varsler, kontroller og varslinger til teamet fortsetter',
  noTray: '(dette skrivebordet viser ikke noe systemstatusfelt nå: når vinduet lukkes, avsluttes appen)',
  startAtLogin: 'Start Keywarden ved pålogging, i systemstatusfeltet',
  saveSettings: 'Lagre innstillinger',
  saved: 'Innstillingene er lagret.',
  managed: {
    off: 'av',
    alwaysOn: 'alltid på',
    atMostDays: (n: number) => `høyst ${count(n, { one: 'dag', other: 'dager' }, 'nb')}`,
    atMostMinutes: (n: number) => `høyst ${count(n, { one: 'minutt', other: 'minutter' }, 'nb')}`,
  },
  backup: {
    title: 'Sikkerhetskopi',
    hintBefore:
      'En sikkerhetskopi er hvelvet, fortsatt kryptert med nøkkelen sin, og kontrolleres etter at den er skrevet. Går denne datamaskinen tapt, gjenoppretter du den et annet sted med',
    restoreCommand: 'kw restore FIL --vault MAPPE',
    hintAfter: 'og gjenopprettingskoden.',
    now: 'Ta sikkerhetskopi nå',
    done: (credentials: number, path: string, kib: number) =>
      `Sikkerhetskopierte ${count(credentials, { one: 'nøkkel', other: 'nøkler' }, 'nb')} til ${path} (${kib} KiB), lest tilbake og kontrollert. Gjenoppretting krever gjenopprettingskoden.`,
  },
  exportConfig: {
    title: 'Eksporter konfigurasjonen',
    hint:
      'Integrasjoner og innstillinger for nøkler, som sikkerhetskopi. Hemmeligheter eksporteres aldri: de må skrives inn på nytt etter en import.',
    button: 'Eksporter konfigurasjonen…',
    done: (items: number, path: string) =>
      `Eksporterte ${num(items, 'nb')} integrasjoner og nøkler til ${path}, uten noen hemmelighet. Ved import må hver hemmelighet skrives inn på nytt.`,
  },
  signing: {
    title: 'Signeringsnøkkel',
    hintBefore:
      'Konvolutter for partnernøkler og tilbakekallingslister signeres med dette hvelvets Ed25519-nøkkel. Gi partnere og frakoblede verifiseringstjenester denne offentlige nøkkelen så de kan kontrollere dem (også',
    command: 'kw keys public-key',
  },
  vault: 'Hvelv:',
  keyIn: (passphrase: boolean) => `nøkkel i ${passphrase ? 'en passordfrase' : 'systemets nøkkelring'}`,
  signedInAs: (profile: string) => `pålogget som ${profile}`,
};

export const settings = { en, nb };

/** Messages the same in both languages on purpose (paths, commands, punctuation). */
export const sameInBoth = [
  'auditStreamFileExample',
  'auditStreamSyslogExample',
  'signing.command',
];

// First run (screens/FirstRun.svelte: create the vault), the recovery code
// shown once after it (screens/RecoveryCode.svelte), and the way to a
// support bundle that both those and the lock screen offer.

const en = {
  title: 'Create your vault',
  intro:
    "Keywarden keeps the credentials of your integrations encrypted on this computer. The vault's key is kept in " +
    'your system keychain; a recovery code, shown once, opens the vault if the keychain is ever lost.',
  folder: 'Vault folder:',
  noKeychain: 'No system keychain found',
  passphraseInstead: 'You can protect the vault with a passphrase instead. You will type it each time you unlock.',
  keychainLocked: 'The system keychain is locked',
  /** Around the keyring program's name: "{unlockLogin} <em>{keyringApp}</em>{thenCreate}". */
  unlockLogin: 'Unlock the "Login" keyring (for example in',
  keyringApp: 'Passwords and Keys',
  thenCreate: '), then choose Create vault again.',
  protectWith: 'Protect the vault with',
  keychain: 'The system keychain (recommended)',
  passphrase: 'A passphrase',
  passphraseLabel: 'Passphrase (12 characters or more)',
  again: 'Type the passphrase again',
  creating: 'Creating…',
  create: 'Create vault',
  tooShort: 'Use a passphrase of at least 12 characters.',
  differ: 'The two passphrases differ; type them again.',
};

const nb: typeof en = {
  title: 'Opprett hvelvet ditt',
  intro:
    'Keywarden lagrer nøklene til integrasjonene dine kryptert på denne datamaskinen. Hvelvets nøkkel ' +
    'oppbevares i systemets nøkkelring; en gjenopprettingskode, som vises én gang, åpner hvelvet hvis ' +
    'nøkkelringen noen gang går tapt.',
  folder: 'Hvelvmappe:',
  noKeychain: 'Fant ingen nøkkelring i systemet',
  passphraseInstead:
    'Du kan beskytte hvelvet med en passordfrase i stedet. Du skriver den inn hver gang du låser opp.',
  keychainLocked: 'Systemets nøkkelring er låst',
  unlockLogin: 'Lås opp nøkkelringen «Login» (for eksempel i',
  keyringApp: 'Passord og nøkler',
  thenCreate: '), og velg Opprett hvelv på nytt.',
  protectWith: 'Beskytt hvelvet med',
  keychain: 'Systemets nøkkelring (anbefalt)',
  passphrase: 'En passordfrase',
  passphraseLabel: 'Passordfrase (12 tegn eller mer)',
  again: 'Skriv passordfrasen på nytt',
  creating: 'Oppretter…',
  create: 'Opprett hvelv',
  tooShort: 'Bruk en passordfrase på minst 12 tegn.',
  differ: 'De to passordfrasene er ulike; skriv dem inn på nytt.',
};

export const firstRun = { en, nb };

const codeEn = {
  title: 'Your recovery code',
  /** Around the warning in bold: "{keepIt} <strong>{onlyNow}</strong> {noOneElse}". */
  keepIt:
    "Write this code down or keep it in your organisation's password safe. It opens the vault if this computer's " +
    'keychain is lost.',
  onlyNow: 'It is shown only now.',
  noOneElse: 'Without the keychain and without this code the vault cannot be opened by anyone.',
  stored: 'I have stored it',
  continue: 'Continue',
};

const codeNb: typeof codeEn = {
  title: 'Gjenopprettingskoden din',
  keepIt:
    'Skriv ned denne koden eller oppbevar den i organisasjonens passordsafe. Den åpner hvelvet hvis ' +
    'nøkkelringen på denne datamaskinen går tapt.',
  onlyNow: 'Den vises bare nå.',
  noOneElse: 'Uten nøkkelringen og uten denne koden kan ingen åpne hvelvet.',
  stored: 'Jeg har tatt vare på den',
  continue: 'Fortsett',
};

export const recoveryCode = { en: codeEn, nb: codeNb };

const bundleEn = {
  /** "{supportStaff} <button>{openBundle}</button> {withoutVault}" */
  supportStaff: 'Support staff:',
  openBundle: 'open a support bundle',
  withoutVault: 'without a vault.',
};

const bundleNb: typeof bundleEn = {
  supportStaff: 'For brukerstøtte:',
  openBundle: 'åpne en støttepakke',
  withoutVault: 'uten hvelv.',
};

/** The support bundle link of the screens shown before a vault is open. */
export const noVault = { en: bundleEn, nb: bundleNb };

// The lock screen (screens/Unlock.svelte): unlock with the keychain or the
// passphrase, or recover with the recovery code.

const en = {
  title: 'Keywarden is locked',
  /** Around the keyring program's name: "{unlockLogin} <em>{keyringApp}</em>{thenRetry}". */
  unlockLogin: 'Unlock the "Login" keyring of your desktop session (for example in',
  keyringApp: 'Passwords and Keys',
  thenRetry: '), then try again.',
  noKeychain: 'Start Keywarden inside your desktop session, where the system keychain runs, or recover with the code.',
  passphrase: 'Passphrase',
  inKeychain: 'The vault key is in your system keychain.',
  unlocking: 'Unlocking…',
  unlock: 'Unlock',
  recoverWithCode: 'Recover with code…',
  code: 'Recovery code',
  newPassphrase: 'New passphrase (leave empty to keep the key in the system keychain)',
  recover: 'Recover',
  back: 'Back',
  recovered: 'The vault was recovered and re-keyed. Your recovery code stays the same.',
};

const nb: typeof en = {
  title: 'Keywarden er låst',
  unlockLogin: 'Lås opp nøkkelringen «Login» i skrivebordsøkten din (for eksempel i',
  keyringApp: 'Passord og nøkler',
  thenRetry: '), og prøv igjen.',
  noKeychain:
    'Start Keywarden i skrivebordsøkten din, der systemets nøkkelring kjører, eller gjenopprett med koden.',
  passphrase: 'Passordfrase',
  inKeychain: 'Hvelvnøkkelen ligger i systemets nøkkelring.',
  unlocking: 'Låser opp…',
  unlock: 'Lås opp',
  recoverWithCode: 'Gjenopprett med kode…',
  code: 'Gjenopprettingskode',
  newPassphrase: 'Ny passordfrase (la feltet stå tomt for å beholde nøkkelen i systemets nøkkelring)',
  recover: 'Gjenopprett',
  back: 'Tilbake',
  recovered: 'Hvelvet ble gjenopprettet og fikk ny nøkkel. Gjenopprettingskoden din er den samme.',
};

export const lockScreen = { en, nb };

// The access token panel of an OAuth 2.0 credential: its state, Refresh,
// Connect… and Re-authorize….
import { when } from '../format';

const en = {
  title: 'Access token',
  refusedAlert:
    '⚠ The provider refused the sign-in (the grant was revoked or expired): re-authorize to sign in again. Workflows ' +
    'get no access token until then.',
  cached: (validUntil: string | null, obtained: string | null) =>
    `Cached${validUntil ? `, valid until ${when(validUntil, 'en')}` : ''}; obtained ${when(obtained, 'en')}.`,
  expired: (validUntil: string | null, obtained: string | null) =>
    `Expired ${when(validUntil, 'en')} (obtained ${when(obtained, 'en')}): the next use refreshes it.`,
  none: 'None cached: the next use asks the provider for one.',
  /** `other`: the credential being signed in when it is another one, else empty. */
  waiting: (other: string) =>
    `${other ? `Waiting for the sign-in of "${other}"` : 'Waiting for the sign-in'} in your browser (up to 5 minutes)…`,
  noBrowser: 'No browser could be opened. Open this address in your browser, once:',
  noPage: 'No sign-in page in your browser?',
  openHint:
    'Open this address in your browser, once (a browser in a sandbox may not open the page Keywarden gave it):',
  reauthorize: 'Re-authorize…',
  connect: 'Connect…',
  refreshing: 'Refreshing…',
  refresh: 'Refresh',
  newToken: (name: string, validUntil: string | null) =>
    `New access token for "${name}"${validUntil ? `, valid until ${when(validUntil, 'en')}` : ''}.`,
  noneNamed: 'none named',
  connected: (credential: string, scopes: string, until: string | null) =>
    `Connected "${credential}": scopes granted: ${scopes}` +
    `${until ? `; access token valid until ${when(until, 'en')}` : ''}.`,
  notConnected: (credential: string, message: string) => `Not connected "${credential}": ${message}`,
};

const nb: typeof en = {
  title: 'Tilgangstoken',
  refusedAlert:
    '⚠ Leverandøren avviste påloggingen (tilgangen ble tilbakekalt eller er utløpt): autoriser på nytt for å logge på ' +
    'igjen. Arbeidsflyter får ikke tilgangstoken før da.',
  cached: (validUntil: string | null, obtained: string | null) =>
    `Bufret${validUntil ? `, gyldig til ${when(validUntil, 'nb')}` : ''}; hentet ${when(obtained, 'nb')}.`,
  expired: (validUntil: string | null, obtained: string | null) =>
    `Utløpt ${when(validUntil, 'nb')} (hentet ${when(obtained, 'nb')}): neste bruk fornyer det.`,
  none: 'Ingen bufret: neste bruk ber leverandøren om et nytt.',
  waiting: (other: string) =>
    `Venter på påloggingen${other ? ` for «${other}»` : ''} i nettleseren (opptil 5 minutter)…`,
  noBrowser: 'Ingen nettleser kunne åpnes. Åpne denne adressen i nettleseren, én gang:',
  noPage: 'Ingen påloggingsside i nettleseren?',
  openHint:
    'Åpne denne adressen i nettleseren, én gang (en nettleser i en sandkasse åpner kanskje ikke siden Keywarden ga den):',
  reauthorize: 'Autoriser på nytt…',
  connect: 'Koble til…',
  refreshing: 'Fornyer…',
  refresh: 'Forny',
  newToken: (name: string, validUntil: string | null) =>
    `Nytt tilgangstoken for «${name}»${validUntil ? `, gyldig til ${when(validUntil, 'nb')}` : ''}.`,
  noneNamed: 'ingen oppgitt',
  connected: (credential: string, scopes: string, until: string | null) =>
    `Koblet til «${credential}»: tildelt tilgangsomfang: ${scopes}` +
    `${until ? `; tilgangstokenet er gyldig til ${when(until, 'nb')}` : ''}.`,
  notConnected: (credential: string, message: string) => `Ikke koblet til «${credential}»: ${message}`,
};

export const oauthToken = { en, nb };

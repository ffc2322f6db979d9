// A check's verdict: what passed, or what failed, why, and the next step.
import { num } from '../format';

const en = {
  live: 'Live check',
  offline: 'Offline check',
  passed: (label: string) => `${label} passed`,
  failed: (label: string, title: string) => `${label} failed: ${title}`,
  tenant: 'Tenant / company',
  application: 'Application',
  authBy: 'Authenticated by',
  environment: 'Environment',
  scopes: 'Scopes',
  issuer: 'Issuer',
  audience: 'Audience',
  expires: 'Expires',
  offlineNote: 'Offline: the format, expiry and token claims were checked; the provider was not asked.',
  nextStep: 'Next step:',
  failure: {
    invalid_credential: {
      title: 'not accepted',
      message: (detail: string) => `The provider does not accept this credential (${detail}).`,
      next: "Check that the whole key was copied, or issue a new one in the provider's portal.",
    },
    expired: {
      title: 'expired',
      message: (detail: string) => `The credential has expired (${detail}).`,
      next: "Issue a new secret in the provider's portal and update the credential.",
    },
    insufficient_scope: {
      title: 'missing scopes',
      message: (missing: string) => `It lacks the scopes ${missing}.`,
      messageAny: 'It lacks a scope the endpoint needs.',
      next: "Grant the missing scopes in the provider's portal, or issue a key with them.",
    },
    wrong_tenant: {
      title: 'wrong company',
      message: (actual: string, expected: string) =>
        `It belongs to '${actual}', but the integration is for '${expected}'.`,
      next: "Use a credential issued for the integration's company, or correct the integration.",
    },
    wrong_environment: {
      title: 'wrong environment',
      message: (actual: string, expected: string) =>
        `It works in ${actual}, but the integration is set up for ${expected}.`,
      next: "Use a credential from the integration's environment, or change the integration's environment.",
    },
    rate_limited: {
      title: 'rate limited',
      message: (seconds: number) => `The provider asks to wait ${seconds} s.`,
      messageAny: 'The provider is limiting requests.',
      next: 'Test again later; the credential itself may be fine.',
    },
    unreachable: {
      title: 'provider unreachable',
      message: (detail: string) => `The provider could not be reached (${detail}).`,
      next: 'Check the network, proxy and base URL, or run the offline checks.',
    },
    tls: {
      title: 'secure connection failed',
      message: (detail: string) => `TLS failed (${detail}).`,
      next: "Check the base URL and the machine's clock; a proxy may be intercepting TLS.",
    },
    unsafe: {
      title: 'refused to send',
      next: "Use the provider's https URL; a secret never goes in a URL.",
    },
    format: {
      title: 'invalid format',
      next: 'Correct the value and try again.',
    },
    provider: {
      title: 'unexpected answer',
      message: (status: number, detail: string) => `The provider answered ${status}: ${detail}`,
      next: "Test again later; if it persists, check the provider's status page.",
    },
  },
};

const nb: typeof en = {
  live: 'Direkte kontroll',
  offline: 'Frakoblet kontroll',
  passed: (label: string) => `${label} bestått`,
  failed: (label: string, title: string) => `${label} mislyktes: ${title}`,
  tenant: 'Leietaker / selskap',
  application: 'Applikasjon',
  authBy: 'Autentisert med',
  environment: 'Miljø',
  scopes: 'Tilgangsomfang',
  issuer: 'Utsteder',
  audience: 'Målgruppe',
  expires: 'Utløper',
  offlineNote: 'Frakoblet: format, utløp og tokenets felt ble kontrollert; leverandøren ble ikke spurt.',
  nextStep: 'Neste steg:',
  failure: {
    invalid_credential: {
      title: 'ikke godtatt',
      message: (detail: string) => `Leverandøren godtar ikke denne nøkkelen (${detail}).`,
      next: 'Sjekk at hele nøkkelen ble kopiert, eller utsted en ny i leverandørens portal.',
    },
    expired: {
      title: 'utløpt',
      message: (detail: string) => `Nøkkelen er utløpt (${detail}).`,
      next: 'Utsted en ny hemmelighet i leverandørens portal og oppdater nøkkelen.',
    },
    insufficient_scope: {
      title: 'mangler tilgangsomfang',
      message: (missing: string) => `Den mangler tilgangsomfangene ${missing}.`,
      messageAny: 'Den mangler et tilgangsomfang som endepunktet trenger.',
      next: 'Gi de manglende tilgangsomfangene i leverandørens portal, eller utsted en nøkkel som har dem.',
    },
    wrong_tenant: {
      title: 'feil selskap',
      message: (actual: string, expected: string) =>
        `Den tilhører «${actual}», men integrasjonen er for «${expected}».`,
      next: 'Bruk en nøkkel utstedt for integrasjonens selskap, eller rett opp integrasjonen.',
    },
    wrong_environment: {
      title: 'feil miljø',
      message: (actual: string, expected: string) =>
        `Den virker i ${actual}, men integrasjonen er satt opp for ${expected}.`,
      next: 'Bruk en nøkkel fra integrasjonens miljø, eller endre integrasjonens miljø.',
    },
    rate_limited: {
      title: 'for mange forespørsler',
      message: (seconds: number) => `Leverandøren ber om å vente ${num(seconds, 'nb')} s.`,
      messageAny: 'Leverandøren begrenser forespørslene.',
      next: 'Test igjen senere; selve nøkkelen kan være i orden.',
    },
    unreachable: {
      title: 'leverandøren kan ikke nås',
      message: (detail: string) => `Leverandøren kunne ikke nås (${detail}).`,
      next: 'Sjekk nettverket, proxyen og basis-URL-en, eller kjør de frakoblede kontrollene.',
    },
    tls: {
      title: 'sikker tilkobling mislyktes',
      message: (detail: string) => `TLS mislyktes (${detail}).`,
      next: 'Sjekk basis-URL-en og maskinens klokke; en proxy kan avskjære TLS.',
    },
    unsafe: {
      title: 'nektet å sende',
      next: 'Bruk leverandørens https-URL; en hemmelighet skal aldri stå i en URL.',
    },
    format: {
      title: 'ugyldig format',
      next: 'Rett verdien og prøv igjen.',
    },
    provider: {
      title: 'uventet svar',
      message: (status: number, detail: string) => `Leverandøren svarte ${status}: ${detail}`,
      next: 'Test igjen senere; sjekk leverandørens statusside hvis det vedvarer.',
    },
  },
};

export const verdict = { en, nb };

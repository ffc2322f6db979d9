// One partner key: its facts, use per hour, sources, anomalies, rotate and revoke.
import { pick } from '../format';

const en = {
  breadcrumb: 'Breadcrumb',
  partnerKeys: 'Partner keys',
  awaitsDelivery: 'This key was issued by a rotation policy and has not been delivered yet.',
  showOnce: 'Show the new key once',
  keyHeading: 'Key',
  environment: 'Environment',
  scopes: 'Scopes',
  created: 'Created',
  expires: 'Expires',
  rotation: 'Rotation',
  rotationEvery: (maxAge: number, grace: number) => `every ${maxAge} days, ${grace} days of grace`,
  replaces: 'Replaces',
  replacedBy: 'Replaced by',
  validUntil: (t: string) => `, valid until ${t}`,
  revoked: 'Revoked',
  uses: 'Uses',
  usesLast: (n: number, t: string) => `${n}, last ${t}`,
  useHeading: 'Use, last 48 hours',
  chartTitle: 'Verifications per hour (UTC), anomalies marked',
  chartSummary: (ok: number, failed: number, anomalies: number) =>
    `${ok} verified, ${failed} failed in 48 hours; ${anomalies} anomalies`,
  parts: { ok: 'ok', failed: 'failed' },
  hourHeading: 'Hour (UTC)',
  notVerified: 'Not verified in the last 48 hours.',
  sources: 'Source addresses',
  sinceLast: (first: string, last: string) => `since ${first}, last ${last}`,
  noneYet: 'None yet.',
  anomalies: 'Anomalies',
  noAnomalies: 'None: no new source, failure burst or spike in use.',
  rotateLabel: (grace: number) => `Rotate: the old key keeps working for (days; empty = its policy's ${grace})`,
  rotate: 'Rotate',
  reason: 'Reason to revoke',
  revokeNow: 'Revoke now',
  revokedSay: (id: string) => `Key ${id} is revoked: every verifier refuses it from now.`,
  loading: 'Loading…',
};

const days = { one: 'dag', other: 'dager' };

const nb: typeof en = {
  breadcrumb: 'Brødsmulesti',
  partnerKeys: 'Partnernøkler',
  awaitsDelivery: 'Denne nøkkelen ble utstedt ved rotering etter retningslinjene og er ikke levert ennå.',
  showOnce: 'Vis den nye nøkkelen én gang',
  keyHeading: 'Nøkkel',
  environment: 'Miljø',
  scopes: 'Tilgangsomfang',
  created: 'Opprettet',
  expires: 'Utløper',
  rotation: 'Rotering',
  rotationEvery: (maxAge: number, grace: number) => {
    const every = maxAge === 0 ? 'aldri' : `etter ${maxAge} ${pick(maxAge, days, 'nb')}`;
    return `${every}, ${grace} ${pick(grace, { one: 'dags', other: 'dagers' }, 'nb')} respittid`;
  },
  replaces: 'Erstatter',
  replacedBy: 'Erstattet av',
  validUntil: (t: string) => `, gyldig til ${t}`,
  revoked: 'Tilbakekalt',
  uses: 'Bruk',
  usesLast: (n: number, t: string) => `${n}, sist ${t}`,
  useHeading: 'Bruk, siste 48 timer',
  chartTitle: 'Verifiseringer per time (UTC), avvik markert',
  chartSummary: (ok: number, failed: number, anomalies: number) =>
    `${ok} verifisert, ${failed} mislyktes på 48 timer; ${anomalies} avvik`,
  parts: { ok: 'godkjent', failed: 'mislyktes' },
  hourHeading: 'Time (UTC)',
  notVerified: 'Ikke verifisert de siste 48 timene.',
  sources: 'Kildeadresser',
  sinceLast: (first: string, last: string) => `siden ${first}, sist ${last}`,
  noneYet: 'Ingen ennå.',
  anomalies: 'Avvik',
  noAnomalies: 'Ingen: ingen ny kilde, ingen opphopning av feil og ingen brå økning i bruken.',
  rotateLabel: (grace: number) =>
    `Roter: den gamle nøkkelen virker videre i (dager; tomt = ${grace} etter retningslinjene)`,
  rotate: 'Roter',
  reason: 'Grunn til tilbakekalling',
  revokeNow: 'Tilbakekall nå',
  revokedSay: (id: string) => `Nøkkel ${id} er tilbakekalt: alle verifiseringstjenester avviser den fra nå av.`,
  loading: 'Laster…',
};

export const partnerKeyDetails = { en, nb };

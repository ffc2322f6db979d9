// The dashboard: counts by status, what needs action, the expiry chart.
import { pick } from '../format';

const en = {
  title: 'Dashboard',
  /** `n` credentials in `error`. */
  reconnect: (n: number) =>
    `Reconnection required for ${n} ${pick(n, { one: 'credential', other: 'credentials' }, 'en')}: the provider ` +
    `keeps refusing ${pick(n, { one: 'it', other: 'them' }, 'en')}. Open it below and update it with a working ` +
    'secret (an OAuth sign-in: re-authorize it) before the next sync run.',
  byStatus: 'Credentials by status',
  needsAction: 'Needs action first',
  nothingToDo: 'Nothing needs action: every credential is in date and working.',
  totals: (credentials: number, integrations: number) => `${credentials} credentials, ${integrations} integrations.`,
  expiringHeading: 'Expiring in the next 90 days',
  nothingExpires: 'Nothing expires in the next 90 days.',
  chart: {
    title: 'Credentials expiring per week',
    summary: (soon: number, warnDays: number, later: number) =>
      `${soon} within the ${warnDays}-day warning, ${later} later in the 90 days`,
    later: 'later',
    within: (warnDays: number) => `within ${warnDays} days`,
    weekFrom: 'Week from',
    credentials: 'Credentials',
  },
};

const nb: typeof en = {
  title: 'Oversikt',
  reconnect: (n: number) => {
    const keys = pick(n, { one: 'nøkkel', other: 'nøkler' }, 'nb');
    const it = pick(n, { one: 'den', other: 'dem' }, 'nb');
    return (
      `${n} ${keys} må kobles til på nytt: leverandøren avviser ${it} ` +
      `gang på gang. Åpne ${it} nedenfor og oppdater ${it} med en hemmelighet som virker (ved OAuth-pålogging: ` +
      'autoriser på nytt) før neste synkronisering.'
    );
  },
  byStatus: 'Nøkler etter status',
  needsAction: 'Må følges opp først',
  nothingToDo: 'Ingenting må følges opp: alle nøkler er gyldige og virker.',
  totals: (credentials: number, integrations: number) =>
    `${credentials} ${pick(credentials, { one: 'nøkkel', other: 'nøkler' }, 'nb')}, ${integrations} ` +
    `${pick(integrations, { one: 'integrasjon', other: 'integrasjoner' }, 'nb')}.`,
  expiringHeading: 'Utløper de neste 90 dagene',
  nothingExpires: 'Ingenting utløper de neste 90 dagene.',
  chart: {
    title: 'Nøkler som utløper, per uke',
    summary: (soon: number, warnDays: number, later: number) =>
      `${soon} innenfor varslingsperioden på ${warnDays} ${pick(warnDays, { one: 'dag', other: 'dager' }, 'nb')}, ` +
      `${later} senere i løpet av de 90 dagene`,
    later: 'senere',
    within: (warnDays: number) => `innen ${warnDays} ${pick(warnDays, { one: 'dag', other: 'dager' }, 'nb')}`,
    weekFrom: 'Uke fra',
    credentials: 'Nøkler',
  },
};

export const dashboard = { en, nb };

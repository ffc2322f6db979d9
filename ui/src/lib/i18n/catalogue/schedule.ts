// Scheduled live checks: the periods, and how the credential and
// integration pages say which one is in force and where it comes from.
import { count, num } from '../format';

const en = {
  /** The periods offered besides "inherit", by their hours. */
  periods: { '6': 'Every 6 hours', '24': 'Every day', '168': 'Every week', '0': 'Not scheduled' },
  /** A period inside a sentence: "checked every 2 days". */
  every: {
    never: 'not scheduled',
    day: 'every day',
    week: 'every week',
    days: (n: number) => `every ${count(n, { one: 'day', other: 'days' }, 'en')}`,
    hours: (n: number) => `every ${count(n, { one: 'hour', other: 'hours' }, 'en')}`,
  },
  credential: {
    saved: (every: string) => `Scheduled checks: ${every}.`,
    checkedAutomatically: 'Checked automatically',
    source: {
      credential: 'set for this credential',
      integration: "the integration's period",
      provider: "the provider's default",
      policy: 'held to the organisation policy',
    },
    nextAbout: (at: string) => `; next about ${at} UTC`,
    choose: 'Check automatically',
    inherit: "Integration's or provider's period",
    noLiveCheck: 'No live check is known for this credential, so it is not checked on a schedule.',
  },
  integration: {
    saved: (every: string) => `Its credentials are checked ${every}.`,
    checkedLive: 'Its credentials are checked live',
    source: {
      policy: (hours: number) =>
        `held to the organisation policy of at most ${count(hours, { one: 'hour', other: 'hours' }, 'en')}`,
      integration: 'set for this integration',
      other: "the provider's default",
    },
    overriding: (n: number) =>
      count(n, { one: 'credential sets its own period', other: 'credentials set their own period' }, 'en'),
    choose: 'Check its credentials automatically',
    inherit: (every: string) => `The provider's default (${every})`,
  },
};

const nb: typeof en = {
  periods: { '6': 'Hver 6. time', '24': 'Hver dag', '168': 'Hver uke', '0': 'Ikke planlagt' },
  every: {
    never: 'ikke planlagt',
    day: 'hver dag',
    week: 'hver uke',
    // "hver 2. dag", "hver 6. time": Norwegian counts the period by its ordinal.
    days: (n: number) => (n === 1 ? 'hver dag' : `hver ${num(n, 'nb')}. dag`),
    hours: (n: number) => (n === 1 ? 'hver time' : `hver ${num(n, 'nb')}. time`),
  },
  credential: {
    saved: (every: string) => `Planlagte kontroller: ${every}.`,
    checkedAutomatically: 'Kontrolleres automatisk',
    source: {
      credential: 'satt for denne nøkkelen',
      integration: 'integrasjonens periode',
      provider: 'leverandørens standard',
      policy: 'begrenset av organisasjonens retningslinjer',
    },
    nextAbout: (at: string) => `; neste omkring ${at} UTC`,
    choose: 'Kontroller automatisk',
    inherit: 'Integrasjonens eller leverandørens periode',
    noLiveCheck: 'Ingen direkte kontroll er kjent for denne nøkkelen, så den kontrolleres ikke etter en tidsplan.',
  },
  integration: {
    saved: (every: string) => `Nøklene kontrolleres ${every}.`,
    checkedLive: 'Nøklene kontrolleres direkte',
    source: {
      policy: (hours: number) =>
        `begrenset av organisasjonens retningslinjer til høyst ${count(hours, { one: 'time', other: 'timer' }, 'nb')}`,
      integration: 'satt for denne integrasjonen',
      other: 'leverandørens standard',
    },
    overriding: (n: number) =>
      count(n, { one: 'nøkkel har sin egen periode', other: 'nøkler har sin egen periode' }, 'nb'),
    choose: 'Kontroller nøklene automatisk',
    inherit: (every: string) => `Leverandørens standard (${every})`,
  },
};

export const checkPeriods = { en, nb };

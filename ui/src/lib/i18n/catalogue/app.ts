// The window's frame: navigation, the lock button, toasts the app itself
// says, and what the lock screen is told about why it shows.
import { count } from '../format';

const en = {
  nav: {
    dashboard: 'Dashboard',
    credentials: 'Credentials',
    integrations: 'Integrations',
    'partner-keys': 'Partner keys',
    team: 'Team',
    audit: 'Audit log',
    settings: 'Settings',
    support: 'Support',
  },
  mainNav: 'Main',
  brand: 'Keywarden',
  starting: 'Starting…',
  cannotOpen: 'Keywarden cannot open the vault',
  skip: 'Skip to content',
  notifications: 'Notifications',
  notificationsUnread: (n: number) => `Notifications, ${n} unread`,
  lock: 'Lock',
  message: 'Message',
  dismissMessage: 'Dismiss message',
  lockedTray: 'Locked from the tray. Your keys were removed from memory.',
  lockedIdle: 'Locked after being idle. Your keys were removed from memory.',
  lockedOnRequest: 'Locked on request. Your keys were removed from memory.',
  lockedElsewhere: 'The vault was locked.',
  needAttention: (n: number) =>
    n === 1
      ? 'A credential needs attention: see Notifications.'
      : `${count(n, { one: 'credential needs', other: 'credentials need' }, 'en')} attention: see Notifications.`,
  goneCredential: 'The credential that notification was about no longer exists.',
  noBackend: 'the app could not reach its backend',
};

const nb: typeof en = {
  nav: {
    dashboard: 'Oversikt',
    credentials: 'Nøkler',
    integrations: 'Integrasjoner',
    'partner-keys': 'Partnernøkler',
    team: 'Teamhvelv',
    audit: 'Revisjonslogg',
    settings: 'Innstillinger',
    support: 'Brukerstøtte',
  },
  mainNav: 'Hovedmeny',
  brand: 'Keywarden',
  starting: 'Starter…',
  cannotOpen: 'Keywarden får ikke åpnet hvelvet',
  skip: 'Hopp til innholdet',
  notifications: 'Varsler',
  notificationsUnread: (n: number) => `Varsler, ${n} uleste`,
  lock: 'Lås',
  message: 'Melding',
  dismissMessage: 'Lukk meldingen',
  lockedTray: 'Låst fra systemstatusfeltet. Nøklene dine er fjernet fra minnet.',
  lockedIdle: 'Låst etter inaktivitet. Nøklene dine er fjernet fra minnet.',
  lockedOnRequest: 'Låst på forespørsel. Nøklene dine er fjernet fra minnet.',
  lockedElsewhere: 'Hvelvet ble låst.',
  needAttention: (n: number) =>
    n === 1
      ? 'En nøkkel trenger oppfølging: se Varsler.'
      : `${count(n, { one: 'nøkkel trenger', other: 'nøkler trenger' }, 'nb')} oppfølging: se Varsler.`,
  goneCredential: 'Nøkkelen varselet gjaldt, finnes ikke lenger.',
  noBackend: 'appen nådde ikke bakgrunnsprosessen sin',
};

export const appText = { en, nb };

export const sameInBoth = ['brand'];

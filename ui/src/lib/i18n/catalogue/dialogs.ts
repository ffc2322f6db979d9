// The Delete dialog of a credential, the shown-once dialog of a new
// partner key, and a partner key's state.
import type { KeyState } from '../../ipc/types';
import { count } from '../format';

const deleteEn = {
  title: (name: string) => `Delete ${name}?`,
  checking: 'Checking what uses it…',
  willFail: 'Workflows using this credential will fail.',
  usedBy: 'It is used by:',
  nothing: 'Nothing depends on it. Its secret is erased and cannot be brought back.',
  /** "Type <name> to confirm": the words before and after the name. */
  typeBefore: 'Type',
  typeAfter: 'to confirm',
  delete: 'Delete',
  deleted: (name: string) => `Deleted "${name}". The deletion is in the audit log.`,
};

const deleteNb: typeof deleteEn = {
  title: (name: string) => `Slette ${name}?`,
  checking: 'Sjekker hva som bruker den…',
  willFail: 'Arbeidsflyter som bruker denne nøkkelen, vil mislykkes.',
  usedBy: 'Den brukes av:',
  nothing: 'Ingenting er avhengig av den. Hemmeligheten slettes og kan ikke gjenopprettes.',
  typeBefore: 'Skriv',
  typeAfter: 'for å bekrefte',
  delete: 'Slett',
  deleted: (name: string) => `Slettet «${name}». Slettingen står i revisjonsloggen.`,
};

export const deleteDialog = { en: deleteEn, nb: deleteNb };

const onceEn = {
  title: (application: string) => `Key for ${application}: shown once`,
  giveNow: 'Give this key to the partner now. Keywarden keeps only its hash: it cannot show it again.',
  replaces: (days: number) => `The key it replaces keeps working until ${days} days have passed.`,
  key: (id: string) => `Key ${id}`,
  envelope: 'The signed envelope, for delivery (valid 15 minutes)',
  saveEnvelope: 'Save envelope…',
  saved: (path: string) => `Saved the signed envelope to ${path}. It must be delivered within 15 minutes.`,
  notSaved: 'Not saved.',
  delivered: 'I have delivered or stored the key',
  done: 'Done',
};

const onceNb: typeof onceEn = {
  title: (application: string) => `Nøkkel for ${application}: vises én gang`,
  giveNow: 'Gi denne nøkkelen til partneren nå. Keywarden beholder bare hashen: den kan ikke vise den igjen.',
  replaces: (days: number) =>
    `Nøkkelen den erstatter, virker videre i ${count(days, { one: 'dag', other: 'dager' }, 'nb')}.`,
  key: (id: string) => `Nøkkel ${id}`,
  envelope: 'Den signerte konvolutten, for levering (gyldig i 15 minutter)',
  saveEnvelope: 'Lagre konvolutt…',
  saved: (path: string) => `Lagret den signerte konvolutten i ${path}. Den må leveres innen 15 minutter.`,
  notSaved: 'Ikke lagret.',
  delivered: 'Jeg har levert eller lagret nøkkelen',
  done: 'Ferdig',
};

export const showOnce = { en: onceEn, nb: onceNb };

const keyStateEn: Record<KeyState, string> = {
  active: 'Active',
  in_grace: 'In grace',
  expiring: 'Expiring',
  rotation_due: 'Rotation due',
  expired: 'Expired',
  retired: 'Retired',
  revoked: 'Revoked',
};

const keyStateNb: typeof keyStateEn = {
  active: 'Aktiv',
  in_grace: 'I respittid',
  expiring: 'Utløper snart',
  rotation_due: 'Skal roteres',
  expired: 'Utløpt',
  retired: 'Utfaset',
  revoked: 'Tilbakekalt',
};

/** A partner key's state, as its badge says it. */
export const keyState = { en: keyStateEn, nb: keyStateNb };

// A masked secret (copy through the backend) and a secret being typed.
import { num } from '../format';

const en = {
  copiedMarked: (field: string, seconds: number) =>
    `Copied ${field} to the clipboard, marked as a password (clipboard managers that honour the mark keep no copy ` +
    `in their history); it is cleared in ${seconds} s.`,
  copied: (field: string, seconds: number) =>
    `Copied ${field} to the clipboard; it is cleared in ${seconds} s. ` +
    `This system cannot keep it out of clipboard history: a clipboard manager may keep a copy.`,
  /** What a screen reader says instead of the mask. */
  hidden: (field: string, ending: string) => `${field}, hidden, ending ${ending}`,
  copy: 'Copy',
  show: 'Show',
  hide: 'Hide',
};

const nb: typeof en = {
  copiedMarked: (field: string, seconds: number) =>
    `Kopierte ${field} til utklippstavlen, merket som passord (utklippsbehandlere som respekterer merket, ` +
    `lagrer ingen kopi i historikken); den tømmes om ${num(seconds, 'nb')} s.`,
  copied: (field: string, seconds: number) =>
    `Kopierte ${field} til utklippstavlen; den tømmes om ${num(seconds, 'nb')} s. ` +
    `Dette systemet kan ikke holde den utenfor utklippshistorikken: en utklippsbehandler kan beholde en kopi.`,
  hidden: (field: string, ending: string) => `${field}, skjult, slutter på ${ending}`,
  copy: 'Kopier',
  show: 'Vis',
  hide: 'Skjul',
};

export const secret = { en, nb };

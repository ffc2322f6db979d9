// Update Credentials: the rotate dialog.
import { num } from '../format';

const en = {
  title: (name: string) => `Update Credentials – ${name}`,
  intro: (version: number) =>
    `The new secret is checked against the provider before it replaces the current one (version ${version}). ` +
    `If the check fails, nothing changes and the verdict says why.`,
  newField: (field: string) => `New ${field}`,
  newExpiry: 'New expiry date (optional)',
  liveRequired: 'The new secret is checked live against the provider before it is saved.',
  offlineOnly: 'Offline checks only (the provider cannot be reached)',
  validating: 'Validating…',
  validateAndSave: 'Validate and Save',
  /** Joins the names of the missing fields. */
  and: ' and ',
  missing: (fields: string) => `Enter the new ${fields}.`,
  done: (by: string, version: number, mask: string) =>
    `Validated (${by}) and saved: version ${version} is current, ending ${mask}. ` +
    `The integration and its schedule are unchanged.`,
  next: (what: string) => ` Next: ${what}`,
};

const nb: typeof en = {
  title: (name: string) => `Oppdater nøkkel – ${name}`,
  intro: (version: number) =>
    `Den nye hemmeligheten kontrolleres mot leverandøren før den erstatter den gjeldende (versjon ${num(version, 'nb')}). ` +
    `Hvis kontrollen mislykkes, endres ingenting, og resultatet forteller hvorfor.`,
  newField: (field: string) => `Ny verdi for ${field}`,
  newExpiry: 'Ny utløpsdato (valgfritt)',
  liveRequired: 'Den nye hemmeligheten kontrolleres direkte mot leverandøren før den lagres.',
  offlineOnly: 'Bare frakoblede kontroller (leverandøren kan ikke nås)',
  validating: 'Validerer…',
  validateAndSave: 'Valider og lagre',
  and: ' og ',
  missing: (fields: string) => `Skriv inn ny verdi for ${fields}.`,
  done: (by: string, version: number, mask: string) =>
    `Validert (${by}) og lagret: versjon ${num(version, 'nb')} er gjeldende, slutter på ${mask}. ` +
    `Integrasjonen og planen dens er uendret.`,
  next: (what: string) => ` Neste: ${what}`,
};

export const rotate = { en, nb };

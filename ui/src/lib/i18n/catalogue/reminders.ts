// A credential's check list ("To do") in the language shown. The backend
// writes each item in English (`detail`, what `kw` prints) with the values
// it is made of (`params`); English shows `detail` as written, Bokmål says
// it again from those values. An item from before the values were kept,
// or one this window does not know, stays as written.
import type { Reminder } from '../../ipc/types';
import type { Lang } from '../locale.svelte';

const confirm = 'test tilkoblingen for å få den bekreftet av leverandøren';

const bokmal = {
  offline: () => `Lagret etter bare frakoblede kontroller: ${confirm}.`,
  chosen: () => `Lagret uten direkte kontroll (administratoren valgte å lagre uten kontroll): ${confirm}.`,
  no_live_check: () =>
    `Lagret uten direkte kontroll (ingen direkte kontroll er kjent for leverandøren): ${confirm}.`,
  bulk: () => `Lagret uten direkte kontroll (lagret samlet): ${confirm}.`,
  imported: (p: Record<string, string>) =>
    p.origin ? `Importert fra en ${p.origin}-fil uten direkte kontroll: ${confirm}.` : null,
  moved: () => `Integrasjonen eller et endepunkt er endret etter siste direkte kontroll: ${confirm}.`,
  rotated_offline: () => `Rotert etter bare frakoblede kontroller: ${confirm}.`,
} as Record<string, (p: Record<string, string>) => string | null>;

function revokeOld(p: Record<string, string>): string | null {
  if (!p.version || !p.mask || !p.provider) return null;
  return (
    `Tilbakekall den erstattede hemmeligheten (versjon ${p.version}, ${p.mask}) hos ${p.provider}: ` +
    'den virker der til den er tilbakekalt. Merk dette som gjort når det er det.'
  );
}

/** What the item says in `l`. */
export function reminderText(r: Reminder, l: Lang): string {
  if (l === 'en') return r.detail;
  const p = r.params ?? {};
  const said = r.kind === 'revoke_old' ? revokeOld(p) : (bokmal[p.why ?? '']?.(p) ?? null);
  return said ?? r.detail;
}

// Numbers, dates and plural forms by locale, through `Intl`. Times are
// shown in UTC as the backend stores them, and say so.
import { lang, tag, type Lang } from './locale.svelte';

const numberFormats = new Map<string, Intl.NumberFormat>();
const pluralRules = new Map<string, Intl.PluralRules>();

function numberFormat(l: Lang): Intl.NumberFormat {
  let f = numberFormats.get(l);
  if (!f) {
    f = new Intl.NumberFormat(tag(l));
    numberFormats.set(l, f);
  }
  return f;
}

/** 10000 → "10,000" (English) or "10 000" (Bokmål). */
export function num(n: number, l: Lang = lang()): string {
  return numberFormat(l).format(n);
}

/** The forms of a counted word: `one` for 1 (and what the locale's
 * plural rules put with it), `other` for the rest. */
export type Forms = { one: string; other: string };

/** `count(3, {one: 'credential', other: 'credentials'})` → "3 credentials". */
export function count(n: number, forms: Forms, l: Lang = lang()): string {
  return `${num(n, l)} ${pick(n, forms, l)}`;
}

/** Just the word's form for `n`, without the number. */
export function pick(n: number, forms: Forms, l: Lang = lang()): string {
  let r = pluralRules.get(l);
  if (!r) {
    r = new Intl.PluralRules(tag(l));
    pluralRules.set(l, r);
  }
  return r.select(n) === 'one' ? forms.one : forms.other;
}

const dateFormats = new Map<string, Intl.DateTimeFormat>();

/** One formatter per language and style, made once: building one costs far
 * more than using it, and a list shows hundreds of dates. */
function dateFormat(l: Lang, style: 'when' | 'day' | 'short'): Intl.DateTimeFormat {
  const key = `${l}:${style}`;
  let f = dateFormats.get(key);
  if (!f) {
    const options: Intl.DateTimeFormatOptions =
      style === 'when'
        ? { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC', hourCycle: 'h23' }
        : style === 'day'
          ? { dateStyle: 'medium', timeZone: 'UTC' }
          : { day: 'numeric', month: 'short', timeZone: 'UTC' };
    f = new Intl.DateTimeFormat(tag(l), options);
    dateFormats.set(key, f);
  }
  return f;
}

function parse(t: string | null | undefined): Date | null {
  if (!t) return null;
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** A timestamp as date and time in UTC: "22 Nov 2026, 10:00" /
 * "22. nov. 2026, 10:00"; an em dash when there is none. */
export function when(t: string | null | undefined, l: Lang = lang()): string {
  const d = parse(t);
  if (!d) return '—';
  return dateFormat(l, 'when').format(d);
}

/** A timestamp's date in UTC: "22 Nov 2026" / "22. nov. 2026". */
export function day(t: string | null | undefined, l: Lang = lang()): string {
  const d = parse(t);
  if (!d) return '—';
  return dateFormat(l, 'day').format(d);
}

/** A short day for chart axes: "22 Nov" / "22. nov.". */
export function shortDay(t: string | Date, l: Lang = lang()): string {
  const d = typeof t === 'string' ? parse(t) : t;
  if (!d) return '—';
  return dateFormat(l, 'short').format(d);
}

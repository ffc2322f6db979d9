// The language the window speaks, and the catalogue reader every component
// uses. A catalogue is a pair `{ en, nb }` where `nb` is typed by `en`, so a
// key missing in Bokmål fails `svelte-check` (and catalogue.test.ts checks
// the same at run time, arity of every message function included).
//
// Why a hand-typed catalogue and no library: the type checker is the test
// of completeness, messages with numbers are plain functions using
// `Intl.PluralRules`, and switching is one `$state` write (no loading, no
// parsing of message syntax at run time). svelte-i18n would give untyped
// string keys; Paraglide would add a compiler step to the build.

export type Lang = 'en' | 'nb';
export const LANGS: Lang[] = ['en', 'nb'];

/** Each language's name in itself, as the switch lists it. */
export const LANG_NAMES: Record<Lang, string> = { en: 'English', nb: 'Norsk bokmål' };

export type Catalogue<T> = { en: T; nb: T };

const current = $state<{ lang: Lang }>({ lang: 'en' });

/** The language shown now. Reading it in a template or `$derived` makes
 * that place follow a switch. */
export function lang(): Lang {
  return current.lang;
}

/** The BCP 47 tag for `Intl` and `<html lang>`. */
export function tag(l: Lang = current.lang): string {
  return l === 'nb' ? 'nb-NO' : 'en-GB';
}

export function setLang(l: Lang) {
  if (current.lang === l) return;
  current.lang = l;
  if (typeof document !== 'undefined') document.documentElement.lang = l;
}

/**
 * The language of a setting ("" = follow the system) and the system's
 * locale (POSIX like `nb_NO.UTF-8`, or BCP 47 like `nb-NO`). Norwegian
 * (nb, no, nn — Nynorsk readers read Bokmål far better than English)
 * gives Bokmål; everything else English.
 */
export function resolveLang(setting: string | null | undefined, system: string | null | undefined): Lang {
  if (setting === 'en' || setting === 'nb') return setting;
  const s = (system ?? '').toLowerCase();
  return /^(nb|no|nn)([_.@-]|$)/.test(s) ? 'nb' : 'en';
}

/** The messages of `cat` in the language shown now. */
export function tr<T>(cat: Catalogue<T>): T {
  return cat[current.lang];
}

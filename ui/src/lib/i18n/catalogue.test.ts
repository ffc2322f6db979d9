// Every catalogue speaks both languages: the same keys, the same message
// functions (same number of parameters), no empty message, nothing that
// prints "undefined" or "NaN", and no Bokmål message left in English
// unless its module lists it in `sameInBoth`.
import { describe, expect, it } from 'vitest';
import { LANGS, resolveLang } from './locale.svelte';
import { count, num, when } from './format';

type Module = Record<string, unknown> & { sameInBoth?: string[] };
const modules = import.meta.glob<Module>('./catalogue/*.ts', { eager: true });

function isCatalogue(v: unknown): v is { en: unknown; nb: unknown } {
  return typeof v === 'object' && v !== null && 'en' in v && 'nb' in v && Object.keys(v).length === 2;
}

/** Every leaf of a catalogue: path → string or function. */
function leaves(v: unknown, path = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (typeof v === 'object' && v !== null) {
    for (const [k, child] of Object.entries(v)) {
      for (const [p, leaf] of leaves(child, path ? `${path}.${k}` : k)) out.set(p, leaf);
    }
  } else {
    out.set(path, v);
  }
  return out;
}

/** What a message function says for sample arguments. */
function sample(f: (...a: unknown[]) => unknown): string[] {
  const said: string[] = [];
  for (const n of [0, 1, 2, 5, 21, 1000]) {
    // Numbers for every parameter: a count prints as a number, and a name
    // or date given a number still prints something to look at.
    said.push(String(f(...Array.from({ length: f.length }, () => n))));
  }
  return said;
}

const catalogues = Object.entries(modules).flatMap(([file, m]) =>
  Object.entries(m)
    .filter(([, v]) => isCatalogue(v))
    .map(([name, v]) => ({ file, name, cat: v as { en: unknown; nb: unknown }, same: new Set(m.sameInBoth ?? []) })),
);

describe('catalogues', () => {
  it('are found', () => {
    expect(catalogues.length).toBeGreaterThan(10);
  });

  for (const { file, name, cat, same } of catalogues) {
    it(`${file} ${name}: Bokmål and English have the same messages`, () => {
      const en = leaves(cat.en);
      const nb = leaves(cat.nb);
      expect([...nb.keys()].sort()).toEqual([...en.keys()].sort());
      for (const [path, e] of en) {
        const b = nb.get(path);
        expect(typeof b, path).toBe(typeof e);
        if (typeof e === 'function' && typeof b === 'function') {
          expect(b.length, `${path} takes as many arguments in both`).toBe(e.length);
          for (const said of [...sample(e as never), ...sample(b as never)]) {
            expect(said, path).not.toMatch(/undefined|NaN|\[object/);
            expect(said.trim(), path).not.toBe('');
          }
        } else {
          expect(String(b).trim(), `${path} is empty in Bokmål`).not.toBe('');
          if (!same.has(path)) expect(b, `${path} is not translated (or list it in sameInBoth)`).not.toBe(e);
        }
      }
      for (const path of same) expect(en.has(path), `sameInBoth names ${path}, which is no message`).toBe(true);
    });
  }
});

describe('language', () => {
  it('follows the setting, else the system locale', () => {
    expect(resolveLang('nb', 'en_US.UTF-8')).toBe('nb');
    expect(resolveLang('en', 'nb_NO.UTF-8')).toBe('en');
    expect(resolveLang('', 'nb_NO.UTF-8')).toBe('nb');
    expect(resolveLang('', 'no_NO')).toBe('nb');
    expect(resolveLang('', 'nn_NO.UTF-8')).toBe('nb');
    expect(resolveLang(null, 'nb-NO')).toBe('nb');
    expect(resolveLang('', 'C.UTF-8')).toBe('en');
    expect(resolveLang('', 'de_DE.UTF-8')).toBe('en');
    expect(resolveLang('', 'nl_NL')).toBe('en');
    expect(resolveLang(undefined, undefined)).toBe('en');
  });

  it('formats numbers, counts and times by locale', () => {
    expect(LANGS).toEqual(['en', 'nb']);
    expect(num(10000, 'en')).toBe('10,000');
    expect(num(10000, 'nb')).toBe('10\u00a0000');
    expect(count(1, { one: 'credential', other: 'credentials' }, 'en')).toBe('1 credential');
    expect(count(2, { one: 'nøkkel', other: 'nøkler' }, 'nb')).toBe('2 nøkler');
    expect(count(0, { one: 'nøkkel', other: 'nøkler' }, 'nb')).toBe('0 nøkler');
    expect(when('2026-11-22T10:05:00Z', 'en')).toBe('22 Nov 2026, 10:05');
    expect(when('2026-11-22T10:05:00Z', 'nb')).toBe('22. nov. 2026, 10:05');
    expect(when(null, 'nb')).toBe('—');
  });
});

// No component says anything in its markup that is not from a catalogue:
// text between tags and the attributes a reader hears (aria-label, title,
// placeholder, alt) hold only `{expressions}`. A word typed into markup
// would be shown in English to a Bokmål reader.
import { describe, expect, it } from 'vitest';

const files = import.meta.glob<string>(['../../**/*.svelte'], { eager: true, query: '?raw', import: 'default' });

/** The markup with scripts, styles, comments and `{…}` taken out. */
function markup(source: string): string {
  const s = source
    .replace(/<script[\s\S]*?<\/script>/g, '')
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<!--[\s\S]*?-->/g, '');
  let out = '';
  let depth = 0;
  let quote: string | null = null;
  for (const ch of s) {
    if (depth > 0) {
      // Braces inside a string of an expression do not count.
      if (quote) {
        if (ch === quote) quote = null;
      } else if (ch === "'" || ch === '"' || ch === '`') quote = ch;
      else if (ch === '{') depth++;
      else if (ch === '}') depth--;
      continue;
    }
    if (ch === '{') {
      depth = 1;
      out += '\u0000';
      continue;
    }
    out += ch;
  }
  return out;
}

const WORD = /[A-Za-zÆØÅæøå]{2,}/;

function literals(source: string): string[] {
  const m = markup(source);
  const found: string[] = [];
  for (const [, text] of m.matchAll(/>([^<>]+)</g)) {
    if (WORD.test(text)) found.push(`text: ${text.trim()}`);
  }
  for (const [, attr, value] of m.matchAll(/\s(aria-label|aria-description|title|placeholder|alt)="([^"]*)"/g)) {
    if (WORD.test(value)) found.push(`${attr}: ${value}`);
  }
  return found;
}

describe('components', () => {
  it('are found', () => {
    expect(Object.keys(files).length).toBeGreaterThan(30);
  });
  for (const [file, source] of Object.entries(files)) {
    it(`${file} takes every word from a catalogue`, () => {
      expect(literals(source)).toEqual([]);
    });
  }
});

import { describe, expect, it } from 'vitest';
import { app } from './app.svelte';
import { PeriodChoice, every, periods } from './schedule.svelte';
import { setLang } from './i18n/locale.svelte';

type Period = { every_hours: number; own: number | null };

function select(value: string): Event {
  return { currentTarget: { value } } as unknown as Event;
}

describe('check periods', () => {
  it('are written as people say them', () => {
    expect([0, 6, 24, 48, 168, 336].map(every)).toEqual([
      'not scheduled',
      'every 6 hours',
      'every day',
      'every 2 days',
      'every week',
      'every 14 days'
    ]);
  });

  it('are written in Bokmål when the window speaks it', () => {
    setLang('nb');
    try {
      expect([0, 1, 6, 24, 48, 168, 336].map(every)).toEqual([
        'ikke planlagt',
        'hver time',
        'hver 6. time',
        'hver dag',
        'hver 2. dag',
        'hver uke',
        'hver 14. dag'
      ]);
      expect(periods().map(([h]) => h)).toEqual(['6', '24', '168', '0']);
      expect(periods()[1][1]).toBe('Hver dag');
    } finally {
      setLang('en');
    }
  });

  it('a choice sends hours, or null for "default", and says what is in force', async () => {
    const sent: (number | null)[] = [];
    const p = new PeriodChoice<Period>(
      async () => ({ every_hours: 24, own: null }),
      async (h) => {
        sent.push(h);
        return { every_hours: h ?? 24, own: h };
      },
      (e) => `checked ${e}`
    );
    await p.load();
    expect(p.schedule?.every_hours).toBe(24);
    expect(await p.choose(select('168'))).toBe(true);
    expect(await p.choose(select('default'))).toBe(true);
    expect(sent).toEqual([168, null]);
    expect(app.notice).toEqual({ text: 'checked every day', error: false });
    expect(p.saving).toBe(false);
  });

  it('a refused choice is shown and what is in force is loaded again', async () => {
    let loads = 0;
    const p = new PeriodChoice<Period>(
      async () => {
        loads += 1;
        return { every_hours: 48, own: null };
      },
      async () => {
        throw new Error('credentials are checked live at least every 48 hours here; choose a shorter period');
      },
      (e) => `checked ${e}`
    );
    await p.load();
    expect(await p.choose(select('0'))).toBe(false);
    expect(loads).toBe(2);
    expect(p.schedule?.every_hours).toBe(48);
    expect(app.notice?.error).toBe(true);
    expect(app.notice?.text).toContain('at least every 48 hours');
    expect(p.saving).toBe(false);
  });
});

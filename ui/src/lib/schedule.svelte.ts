// Periods of scheduled live checks, as the credential and integration
// pages write and offer them (hours; 0: not scheduled), and the one way
// both pages load and change one.
import { app } from '$lib/app.svelte';
import { tr } from '$lib/i18n/locale.svelte';
import { checkPeriods } from '$lib/i18n/catalogue/schedule';

/** The periods offered besides "inherit"; the backend bounds them by policy. */
export function periods(): [string, string][] {
  const p = tr(checkPeriods).periods;
  return [
    ['6', p['6']],
    ['24', p['24']],
    ['168', p['168']],
    ['0', p['0']]
  ];
}

export function every(hours: number): string {
  const e = tr(checkPeriods).every;
  if (hours === 0) return e.never;
  if (hours === 24) return e.day;
  if (hours === 168) return e.week;
  return hours % 24 === 0 ? e.days(hours / 24) : e.hours(hours);
}

/** A schedule shown on a page: loaded, and changed from a `<select>` whose
 *  value is hours or `default` (inherit). A refusal (the policy) is shown
 *  and the page reloads what is in force. */
export class PeriodChoice<T extends { every_hours: number }> {
  schedule = $state<T | null>(null);
  saving = $state(false);

  private readonly get: () => Promise<T>;
  private readonly set: (hours: number | null) => Promise<T>;
  private readonly said: (every: string) => string;

  constructor(
    get: () => Promise<T>,
    set: (hours: number | null) => Promise<T>,
    said: (every: string) => string
  ) {
    this.get = get;
    this.set = set;
    this.said = said;
  }

  async load() {
    try {
      this.schedule = await this.get();
    } catch (e) {
      app.fail(e);
    }
  }

  async choose(e: Event) {
    const value = (e.currentTarget as HTMLSelectElement).value;
    this.saving = true;
    try {
      const schedule = await this.set(value === 'default' ? null : Number(value));
      this.schedule = schedule;
      app.say(this.said(every(schedule.every_hours)));
      return true;
    } catch (err) {
      app.fail(err);
      await this.load();
      return false;
    } finally {
      this.saving = false;
    }
  }
}

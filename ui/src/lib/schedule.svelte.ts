// Periods of scheduled live checks, as the credential and integration
// pages write and offer them (hours; 0: not scheduled), and the one way
// both pages load and change one.
import { app } from '$lib/app.svelte';

/** The periods offered besides "inherit"; the backend bounds them by policy. */
export const PERIODS: [string, string][] = [
  ['6', 'Every 6 hours'],
  ['24', 'Every day'],
  ['168', 'Every week'],
  ['0', 'Not scheduled']
];

export function every(hours: number): string {
  if (hours === 0) return 'not scheduled';
  if (hours === 24) return 'every day';
  if (hours === 168) return 'every week';
  return hours % 24 === 0 ? `every ${hours / 24} days` : `every ${hours} hours`;
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

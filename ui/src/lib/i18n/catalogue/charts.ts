// The charts (components/BarChart.svelte) and the columns charts.ts draws.

const en = {
  checksPassed: { one: 'check passed', other: 'checks passed' },
  checksFailed: { one: 'check failed', other: 'checks failed' },
  /** An hour's column label: its short day and its UTC hour ("09"). */
  hour: (day: string, hour: string) => `${day} ${hour}h`,
  showTable: 'Show as a table',
  hideTable: 'Hide the table',
  peak: (n: number) => `peak ${n}`,
  marked: 'Marked',
};

const nb: typeof en = {
  checksPassed: { one: 'kontroll bestått', other: 'kontroller bestått' },
  checksFailed: { one: 'kontroll feilet', other: 'kontroller feilet' },
  hour: (day: string, hour: string) => `${day} kl. ${hour}`,
  showTable: 'Vis som tabell',
  hideTable: 'Skjul tabellen',
  peak: (n: number) => `topp ${n}`,
  marked: 'Markert',
};

export const charts = { en, nb };

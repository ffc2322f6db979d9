// The badge beside a setting the organisation's policy manages.

const en = {
  managed: 'Managed by your organization',
  /** The badge's title: where the policy sets it (a file and line). */
  setBy: (source: string) => `Set by ${source}`,
};

const nb: typeof en = {
  managed: 'Styrt av organisasjonen',
  setBy: (source: string) => `Satt i ${source}`,
};

export const policy = { en, nb };

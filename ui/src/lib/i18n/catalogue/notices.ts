// The notification centre's own words. The notices themselves come from
// the backend already in the language shown (src-tauri/src/i18n.rs says
// them again from their kind and values), the same words as the desktop
// notification they were shown in.
const en = {
  title: 'Notifications',
  empty: 'Nothing needs attention. Keywarden tells you 60, 30, 14, 7 and 1 days before a credential expires.',
  new: 'new',
  openKey: 'Open the key',
  act: 'Update Credentials',
  dismiss: 'Dismiss',
};

const nb: typeof en = {
  title: 'Varsler',
  empty: 'Ingenting trenger oppfølging. Keywarden varsler deg 60, 30, 14, 7 og 1 dag før en nøkkel utløper.',
  new: 'ny',
  openKey: 'Åpne nøkkelen',
  act: 'Oppdater nøkkel',
  dismiss: 'Fjern',
};

export const notices = { en, nb };

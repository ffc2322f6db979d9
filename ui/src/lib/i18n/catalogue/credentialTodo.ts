// What the dashboard's "needs action" list says of a credential (computed
// in filter.ts).
import { day } from '../format';

const en = {
  reauthorize: 'Reconnection required: the provider refused its sign-in; re-authorize it',
  update: 'Reconnection required: the provider keeps refusing it; update it',
  expired: (at: string) => `Expired ${day(at, 'en')}: rotate now`,
  overdue: (due: string) => `Rotation overdue since ${day(due, 'en')}: rotate now`,
  noSecret: 'No secret yet: enter it',
  expiring: (at: string) => `Expires ${day(at, 'en')}: rotate soon`,
  due: (due: string) => `Rotation due since ${day(due, 'en')}: rotate within the grace period`,
  disabled: 'Disabled as compromised: replace it',
};

const nb: typeof en = {
  reauthorize: 'Må kobles til på nytt: leverandøren avviste påloggingen; autoriser den på nytt',
  update: 'Må kobles til på nytt: leverandøren avviser den fortsatt; oppdater den',
  expired: (at: string) => `Utløpt ${day(at, 'nb')}: roter nå`,
  overdue: (due: string) => `Rotering på overtid siden ${day(due, 'nb')}: roter nå`,
  noSecret: 'Ingen hemmelighet ennå: legg den inn',
  expiring: (at: string) => `Utløper ${day(at, 'nb')}: roter snart`,
  due: (due: string) => `Rotering forfalt siden ${day(due, 'nb')}: roter innen respittiden`,
  disabled: 'Deaktivert som kompromittert: bytt den ut',
};

/** Why a credential is in the dashboard's "needs action" list. */
export const credentialTodo = { en, nb };

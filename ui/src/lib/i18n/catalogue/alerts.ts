// Settings → Alerts: channels beyond this desktop, the events they carry,
// and the latest deliveries.
import type { AlertEvent } from '../../ipc/types';

const en = {
  title: 'Alerts',
  intro:
    'Tell the team, not only this desktop: a Slack or Teams webhook, or email. An alert names the credential, its integration and what to do; never a secret.',
  /** The events, in the order the form offers them. */
  events: {
    expiring: 'Expiring',
    expired: 'Expired',
    reconnection_required: 'Reconnection required',
    disabled: 'Compromised / disabled',
    partner_key_anomaly: 'Partner-key anomaly',
    rotation_due: 'Rotation due',
    policy_broken: 'Policy broken',
  } as Record<AlertEvent, string>,
  /** A channel's kind inside "webhook to hooks.slack.com". */
  kind: { webhook: 'webhook', email: 'email' } as Record<string, string>,
  sendsTo: (kind: string, target: string) => `${kind} to ${target}`,
  sendTest: 'Send a test alert',
  /** Read after "Send a test alert" by a screen reader. */
  sendTestTo: (name: string) => ` to ${name}`,
  remove: 'Remove',
  none: 'No alert channel yet.',
  addTitle: 'Add a channel',
  kindLabel: 'Kind',
  kindWebhook: 'Webhook (Slack, Teams)',
  kindEmail: 'Email (SMTP with STARTTLS)',
  name: 'Name',
  nameExample: 'Finance Slack',
  webhookUrl: 'Webhook address (https; it is sealed and never shown again)',
  smtpHost: 'SMTP server',
  smtpHostExample: 'smtp.example.com',
  port: 'Port',
  from: 'From',
  to: 'To (comma-separated)',
  username: 'Sign in as (empty: no sign-in)',
  password: 'Password (sealed, never shown again)',
  eventsLegend: 'Events it carries',
  add: 'Add channel',
  added: (name: string) => `Alert channel '${name}' added.`,
  testSent: (name: string) => `A test alert is on its way to '${name}'.`,
  removed: (name: string) => `Alert channel '${name}' removed.`,
  latest: 'Latest alerts',
  sent: (at: string) => `sent ${at}`,
  waiting: 'waiting',
  retry: (error: string, next: string) => `not yet delivered (${error}); next try ${next}`,
  givenUp: (error: string) => `given up: ${error}`,
};

const nb: typeof en = {
  title: 'Varslinger',
  intro:
    'Si fra til teamet, ikke bare til dette skrivebordet: en Slack- eller Teams-webhook, eller e-post. En varsling navngir nøkkelen, integrasjonen og hva som må gjøres; aldri en hemmelighet.',
  events: {
    expiring: 'Utløper snart',
    expired: 'Utløpt',
    reconnection_required: 'Må kobles til på nytt',
    disabled: 'Kompromittert / deaktivert',
    partner_key_anomaly: 'Avvik for partnernøkkel',
    rotation_due: 'Skal roteres',
    policy_broken: 'Ødelagt retningslinjefil',
  },
  kind: { webhook: 'webhook', email: 'e-post' },
  sendsTo: (kind: string, target: string) => `${kind} til ${target}`,
  sendTest: 'Send en testvarsling',
  sendTestTo: (name: string) => ` til ${name}`,
  remove: 'Fjern',
  none: 'Ingen varslingskanal ennå.',
  addTitle: 'Legg til en kanal',
  kindLabel: 'Type',
  kindWebhook: 'Webhook (Slack, Teams)',
  kindEmail: 'E-post (SMTP med STARTTLS)',
  name: 'Navn',
  nameExample: 'Økonomi på Slack',
  webhookUrl: 'Webhook-adresse (https; den forsegles og vises aldri igjen)',
  smtpHost: 'SMTP-server',
  smtpHostExample: 'smtp.example.com',
  port: 'Port',
  from: 'Fra',
  to: 'Til (kommaseparert)',
  username: 'Logg på som (tomt: ingen pålogging)',
  password: 'Passord (forsegles, vises aldri igjen)',
  eventsLegend: 'Hendelser den varsler om',
  add: 'Legg til kanal',
  added: (name: string) => `Varslingskanalen «${name}» er lagt til.`,
  testSent: (name: string) => `En testvarsling er på vei til «${name}».`,
  removed: (name: string) => `Varslingskanalen «${name}» er fjernet.`,
  latest: 'Siste varslinger',
  sent: (at: string) => `sendt ${at}`,
  waiting: 'venter',
  retry: (error: string, next: string) => `ikke levert ennå (${error}); neste forsøk ${next}`,
  givenUp: (error: string) => `gitt opp: ${error}`,
};

export const alerts = { en, nb };

/** Messages the same in both languages on purpose (a loanword, names, a host). */
export const sameInBoth = ['kind.webhook', 'kindWebhook', 'smtpHostExample', 'port'];

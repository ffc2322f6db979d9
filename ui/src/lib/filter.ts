// Filtering and sorting of the credentials list, in memory: the whole list
// (10,000 rows and more) is loaded once, so a keystroke costs one pass.
import type { CredentialSummary, Status } from './ipc/types';
import { tr } from './i18n/locale.svelte';
import { credentialTodo } from './i18n/catalogue/credentialTodo';

export type SortKey = 'name' | 'kind' | 'status' | 'environment' | 'last_used_at' | 'last_validated_at' | 'expires_at';

export interface ListFilter {
  text: string;
  status: Status | '';
  kind: string;
  environment: string;
  sort: SortKey;
  descending: boolean;
}

export const EMPTY_FILTER: ListFilter = {
  text: '',
  status: '',
  kind: '',
  environment: '',
  sort: 'name',
  descending: false,
};

/** Lower-cased text a search matches: name, service, integration, tags, environment, type. */
export function searchText(c: CredentialSummary): string {
  return [c.name, c.provider, c.integration ?? '', c.environment, c.kind, ...c.tags].join('\u0000').toLowerCase();
}

export interface Indexed {
  row: CredentialSummary;
  text: string;
}

export function index(rows: CredentialSummary[]): Indexed[] {
  return rows.map((row) => ({ row, text: searchText(row) }));
}

const STATUS_RANK: Record<Status, number> = { expired: 0, error: 1, expiring: 2, rotation_due: 3, disabled: 4, revoked: 5, active: 6 };

// One collator for every comparison: `localeCompare` with options builds a
// new one per call, which made the first keystrokes over 10,000 rows slow.
const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });

function compare(a: CredentialSummary, b: CredentialSummary, key: SortKey): number {
  if (key === 'status') return STATUS_RANK[a.status] - STATUS_RANK[b.status];
  const x = (a[key] ?? '') as string;
  const y = (b[key] ?? '') as string;
  // Empty dates sort last whichever the direction.
  if (x === '' && y !== '') return 1;
  if (y === '' && x !== '') return -1;
  return collator.compare(x, y);
}

/** The rows in display order. Sorting does not depend on the search text,
 * so it runs when the sort changes, not on every keystroke. */
export function sortRows(rows: Indexed[], sort: SortKey, descending: boolean): Indexed[] {
  const dir = descending ? -1 : 1;
  return [...rows].sort((a, b) => dir * compare(a.row, b.row, sort) || collator.compare(a.row.name, b.row.name));
}

/** One pass over rows already in display order: what a keystroke costs. */
export function filterRows(sorted: Indexed[], f: ListFilter): CredentialSummary[] {
  const words = f.text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const out: CredentialSummary[] = [];
  for (const { row, text } of sorted) {
    if (f.status && row.status !== f.status) continue;
    if (f.kind && row.kind !== f.kind) continue;
    if (f.environment && row.environment !== f.environment) continue;
    if (words.length && !words.every((w) => text.includes(w))) continue;
    out.push(row);
  }
  return out;
}

export function apply(rows: Indexed[], f: ListFilter): CredentialSummary[] {
  return filterRows(sortRows(rows, f.sort, f.descending), f);
}

export function counts(rows: CredentialSummary[]): Record<Status, number> {
  const c: Record<Status, number> = { active: 0, expiring: 0, rotation_due: 0, expired: 0, error: 0, disabled: 0, revoked: 0 };
  for (const r of rows) c[r.status] += 1;
  return c;
}

/**
 * What needs action first: failing, expired, rotation overdue (past its
 * grace period), missing secrets, expiring and rotation due (soonest date
 * first, whichever of the two it is), disabled.
 */
export function needsAction(rows: CredentialSummary[], max = 8): { row: CredentialSummary; why: string }[] {
  const out: { row: CredentialSummary; why: string; rank: number; at: string }[] = [];
  const t = tr(credentialTodo);
  for (const row of rows) {
    const at = row.expires_at ?? '';
    const due = row.rotation_due_at ?? '';
    // A credential the provider keeps refusing breaks the next sync run:
    // it comes first, ahead of an expiry the user may already know about.
    if (row.status === 'error' && row.kind === 'oauth2') out.push({ row, why: t.reauthorize, rank: 0, at });
    else if (row.status === 'error') out.push({ row, why: t.update, rank: 0, at });
    else if (row.status === 'expired') out.push({ row, why: t.expired(at), rank: 1, at });
    else if (row.status === 'rotation_due' && row.rotation_overdue)
      out.push({ row, why: t.overdue(due), rank: 2, at: due });
    else if (row.needs_reentry) out.push({ row, why: t.noSecret, rank: 3, at });
    else if (row.status === 'expiring') out.push({ row, why: t.expiring(at), rank: 4, at });
    else if (row.status === 'rotation_due') out.push({ row, why: t.due(due), rank: 4, at: due });
    else if (row.status === 'disabled') out.push({ row, why: t.disabled, rank: 5, at });
  }
  out.sort((a, b) => a.rank - b.rank || a.at.localeCompare(b.at));
  return out.slice(0, max);
}

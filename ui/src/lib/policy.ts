// The organisation's policy as the settings page needs it: which keys it
// manages, and their values. The rows come from the core (`kw policy show`
// prints the same ones).
import type { PolicyEntry } from './ipc/types';

export function managedEntry(entries: PolicyEntry[] | undefined, key: string): PolicyEntry | undefined {
  return entries?.find((e) => e.key === key && e.managed);
}

/** A managed yes/no key that is set to "no" (export, clipboard, verifier). */
export function forbidden(entries: PolicyEntry[] | undefined, key: string): boolean {
  return managedEntry(entries, key)?.value === 'false';
}

/** A managed number (a maximum), or undefined. */
export function managedNumber(entries: PolicyEntry[] | undefined, key: string): number | undefined {
  const v = managedEntry(entries, key)?.value;
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

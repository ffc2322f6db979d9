// The one typed facade over the backend: components never call `invoke`.
// The commands, their argument names and types and their answers are
// generated from `src-tauri/src/command_list.rs` (`bindings/commands.ts`,
// checked by `cargo test`, rewritten by `make types`): a call the backend
// does not take fails `npm run check`.
import { invoke, type InvokeArgs } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { commands, type Commands } from './bindings/commands';
import { tr } from '../i18n/locale.svelte';
import { appText } from '../i18n/catalogue/app';
import type { ErrorCode } from './bindings/ErrorCode';

export type * from './types';
export type { Commands } from './bindings/commands';

/** A backend error the UI can branch on (`code`) and show (`message`). */
export class KwError extends Error {
  constructor(
    public code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

async function call<K extends keyof Commands>(command: K, args: Commands[K]['args']): Promise<Commands[K]['returns']> {
  try {
    return await invoke<Commands[K]['returns']>(command, args as InvokeArgs);
  } catch (e) {
    if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
      throw new KwError((e as { code: ErrorCode }).code, String((e as { message: unknown }).message));
    }
    throw new KwError('internal', typeof e === 'string' ? e : tr(appText).noBackend);
  }
}

/** Where a click on a native notification leads (notification_clicks.rs). */
export type OpenRequest = { screen: 'credential' | 'partner-key'; id: string; update: boolean };

export const api = {
  ...commands(call),

  /** The backend locked the vault (idle): show the lock screen. */
  onLocked: (f: (reason: string) => void): Promise<UnlistenFn> =>
    listen<string>('vault-locked', (e) => f(e.payload)),
  /** Expiry notices fired: `fired` new ones. */
  onNotices: (f: (fired: number) => void): Promise<UnlistenFn> =>
    listen<number>('notices-changed', (e) => f(e.payload)),
  /** A native notification was clicked: the window goes to what it is about. */
  onOpenRequest: (f: (r: OpenRequest) => void): Promise<UnlistenFn> =>
    listen<OpenRequest>('open-from-notification', (e) => f(e.payload)),
  /** A scheduled check ran: the credential's name. */
  onChecked: (f: (credential: string) => void): Promise<UnlistenFn> =>
    listen<string>('credential-checked', (e) => f(e.payload)),
};

// The session's state: vault status, the screen shown, and the loaded lists.
import { api, KwError, type OpenRequest } from './ipc';
import type { AppStatus, CredentialSummary, Integration, Notice } from './ipc/types';
import { lang, resolveLang, setLang, tr } from './i18n/locale.svelte';
import { appText } from './i18n/catalogue/app';

export type Screen =
  | { name: 'dashboard' }
  | { name: 'credentials' }
  | { name: 'credential'; id: string; action?: 'rotate' | 'reauthorize' }
  | { name: 'new-credential' }
  | { name: 'import' }
  | { name: 'integrations' }
  | { name: 'integration'; id: string }
  | { name: 'audit'; object?: string }
  | { name: 'settings' }
  | { name: 'support' }
  | { name: 'partner-keys' }
  | { name: 'partner-key'; id: string }
  | { name: 'team' };

class AppModel {
  status = $state<AppStatus | null>(null);
  screen = $state<Screen>({ name: 'dashboard' });
  credentials = $state.raw<CredentialSummary[]>([]);
  integrations = $state.raw<Integration[]>([]);
  /** Announced in the live region and shown in the toast. */
  notice = $state<{ text: string; error: boolean } | null>(null);
  /** Why the lock screen shows (idle, on demand). */
  lockReason = $state<string | null>(null);
  /** The recovery code, shown once after creation, then forgotten. */
  recoveryCode = $state<string | null>(null);
  startupError = $state<KwError | null>(null);
  /** The notification centre: expiry notices, newest first. */
  notices = $state.raw<Notice[]>([]);
  unreadNotices = $derived(this.notices.filter((n) => !n.read).length);
  /** A support bundle open without a vault (first run, lock screen). */
  bundleWithoutVault = $state(false);

  async refreshStatus() {
    this.status = await api.appStatus();
    this.applyLanguage();
  }

  /** Speaks the language of the settings (or the system's). The notices
   * come from the backend in that language, so they are asked again. */
  applyLanguage() {
    if (!this.status) return;
    const before = lang();
    setLang(resolveLang(this.status.settings.language, this.status.system_language));
    if (before !== lang() && this.status.vault === 'unlocked') {
      this.loadNotices().catch(() => {});
    }
  }

  async loadLists() {
    const [credentials, integrations, notices] = await Promise.all([
      api.listCredentials(),
      api.listIntegrations(),
      api.listNotices(false),
    ]);
    this.credentials = credentials;
    this.integrations = integrations;
    this.notices = notices;
  }

  async loadNotices() {
    this.notices = await api.listNotices(false);
  }

  go(screen: Screen) {
    this.screen = screen;
    this.notice = null;
  }

  say(text: string, error = false) {
    this.notice = { text, error };
  }

  fail(e: unknown) {
    if (e instanceof KwError && e.code === 'locked') {
      this.locked(tr(appText).lockedElsewhere);
      return;
    }
    this.say(e instanceof Error ? e.message : String(e), true);
  }

  locked(reason: string) {
    this.credentials = [];
    this.integrations = [];
    this.notices = [];
    this.lockReason = reason;
    if (this.status) this.status = { ...this.status, vault: 'locked' };
  }

  async unlocked() {
    this.lockReason = null;
    await this.refreshStatus();
    await this.loadLists();
    // A click while locked leads there if the unlock follows soon after,
    // not hours later.
    const asked = this.openAfterUnlock;
    this.openAfterUnlock = null;
    if (asked && Date.now() - asked.at < 5 * 60_000) this.open(asked.request);
  }

  /** A notification clicked while the vault was locked: where to go once it opens. */
  openAfterUnlock: { request: OpenRequest; at: number } | null = null;

  /** Goes where a clicked notification leads (after the unlock, if locked). */
  open(r: OpenRequest) {
    if (this.status?.vault !== 'unlocked') {
      this.openAfterUnlock = { request: r, at: Date.now() };
      return;
    }
    if (r.screen === 'partner-key') {
      this.go({ name: 'partner-key', id: r.id });
    } else if (!this.credentials.some((c) => c.id === r.id)) {
      // Deleted since the notification was shown.
      this.go({ name: 'credentials' });
      this.say(tr(appText).goneCredential);
    } else {
      this.go({ name: 'credential', id: r.id, action: r.update ? 'rotate' : undefined });
    }
  }
}

export const app = new AppModel();

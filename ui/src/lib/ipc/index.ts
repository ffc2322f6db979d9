// The one typed facade over the backend: components never call `invoke`.
// Command names match `src-tauri/src/command_list.rs`; types are generated
// from Rust by ts-rs (`bindings/`, checked by `cargo test`).
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type { AppStatus } from './bindings/AppStatus';
import type { AuditEvent } from './bindings/AuditEvent';
import type { AuditQuery } from './bindings/AuditQuery';
import type { AuditReport } from './bindings/AuditReport';
import type { Check } from './bindings/Check';
import type { CheckReport } from './bindings/CheckReport';
import type { CopyReceipt } from './bindings/CopyReceipt';
import type { Credential } from './bindings/Credential';
import type { ReminderKind } from './bindings/ReminderKind';
import type { CredentialPatchInput } from './bindings/CredentialPatchInput';
import type { CredentialSummary } from './bindings/CredentialSummary';
import type { ErrorCode } from './bindings/ErrorCode';
import type { ExportFormat } from './bindings/ExportFormat';
import type { ExportReceipt } from './bindings/ExportReceipt';
import type { Integration } from './bindings/Integration';
import type { IntegrationPatchInput } from './bindings/IntegrationPatchInput';
import type { SupportBundle } from './bindings/SupportBundle';
import type { Notice } from './bindings/Notice';
import type { IssueKeyInput } from './bindings/IssueKeyInput';
import type { IssuedKeyOut } from './bindings/IssuedKeyOut';
import type { PartnerKey } from './bindings/PartnerKey';
import type { PartnerKeyDetails } from './bindings/PartnerKeyDetails';
import type { Consumer } from './bindings/Consumer';
import type { NewCredentialInput } from './bindings/NewCredentialInput';
import type { NewIntegrationInput } from './bindings/NewIntegrationInput';
import type { RecoveryCodeOut } from './bindings/RecoveryCodeOut';
import type { RotateInput } from './bindings/RotateInput';
import type { RotationOutcome } from './bindings/RotationOutcome';
import type { Settings } from './bindings/Settings';
import type { TeamStatus } from './bindings/TeamStatus';
import type { TeamSignInInput } from './bindings/TeamSignInInput';
import type { TeamCredentialOut } from './bindings/TeamCredentialOut';
import type { TeamRotateInput } from './bindings/TeamRotateInput';
import type { Listing } from './bindings/Listing';

export type * from './types';

/** A backend error the UI can branch on (`code`) and show (`message`). */
export class KwError extends Error {
  constructor(
    public code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
      throw new KwError((e as { code: ErrorCode }).code, String((e as { message: unknown }).message));
    }
    throw new KwError('internal', typeof e === 'string' ? e : 'the app could not reach its backend');
  }
}

export const api = {
  appStatus: () => call<AppStatus>('app_status'),
  createVault: (passphrase?: string) => call<RecoveryCodeOut>('create_vault', { passphrase: passphrase || null }),
  unlockVault: (passphrase?: string) => call<null>('unlock_vault', { passphrase: passphrase || null }),
  lockVault: () => call<null>('lock_vault'),
  recoverVault: (recovery_code: string, passphrase?: string) =>
    call<null>('recover_vault', { recovery_code, passphrase: passphrase || null }),
  touch: () => call<null>('touch'),

  listCredentials: () => call<CredentialSummary[]>('list_credentials'),
  getCredential: (id: string) => call<Credential>('get_credential', { id }),
  addCredential: (input: NewCredentialInput) => call<Credential>('add_credential', { input }),
  updateCredential: (id: string, patch: CredentialPatchInput) => call<Credential>('update_credential', { id, patch }),
  rotateCredential: (id: string, input: RotateInput) => call<RotationOutcome>('rotate_credential', { id, input }),
  testConnection: (id: string, offline: boolean) => call<CheckReport>('test_connection', { id, offline }),
  listChecks: (id: string) => call<Check[]>('list_checks', { id }),
  dismissReminder: (id: string, kind: ReminderKind) => call<Credential>('dismiss_reminder', { id, kind }),
  disableCredential: (id: string, reason: string) => call<Credential>('disable_credential', { id, reason }),
  credentialDependents: (id: string) => call<string[]>('credential_dependents', { id }),
  deleteCredential: (id: string, confirm_name: string) => call<null>('delete_credential', { id, confirm_name }),
  copySecret: (id: string, field?: string) => call<CopyReceipt>('copy_secret', { id, field: field ?? null }),

  listIntegrations: () => call<Integration[]>('list_integrations'),
  getIntegration: (id: string) => call<Integration>('get_integration', { id }),
  addIntegration: (input: NewIntegrationInput) => call<Integration>('add_integration', { input }),
  updateIntegration: (id: string, patch: IntegrationPatchInput) =>
    call<Integration>('update_integration', { id, patch }),

  listAudit: (query: AuditQuery) => call<AuditEvent[]>('list_audit', { query }),
  verifyAudit: () => call<AuditReport>('verify_audit'),
  /** The backend asks where in the native save dialog; null: cancelled. */
  exportAudit: (query: AuditQuery, format: ExportFormat) =>
    call<ExportReceipt | null>('export_audit', { query, format }),
  exportConfig: () => call<ExportReceipt | null>('export_config'),
  openSupportBundle: (path: string) => call<SupportBundle>('open_support_bundle', { path }),

  getSettings: () => call<Settings>('get_settings'),
  saveSettings: (settings: Settings) => call<Settings>('save_settings', { settings }),

  /** The backend locked the vault (idle): show the lock screen. */
  onLocked: (f: (reason: string) => void): Promise<UnlistenFn> =>
    listen<string>('vault-locked', (e) => f(e.payload)),
  onNotices: (f: (fired: number) => void): Promise<UnlistenFn> =>
    listen<number>('notices-changed', (e) => f(e.payload)),
  listNotices: (includeDismissed = false) => call<Notice[]>('list_notices', { include_dismissed: includeDismissed }),
  markNoticesRead: () => call<number>('mark_notices_read'),
  dismissNotice: (id: number) => call<null>('dismiss_notice', { id }),
  listPartnerKeys: () => call<PartnerKey[]>('list_partner_keys'),
  getPartnerKey: (id: string) => call<PartnerKeyDetails>('get_partner_key', { id }),
  issuePartnerKey: (input: IssueKeyInput) => call<IssuedKeyOut>('issue_partner_key', { input }),
  rotatePartnerKey: (id: string, graceDays: number | null) => call<IssuedKeyOut>('rotate_partner_key', { id, grace_days: graceDays }),
  revokePartnerKey: (id: string, reason: string) => call<PartnerKey>('revoke_partner_key', { id, reason }),
  saveKeyEnvelope: (id: string) => call<ExportReceipt | null>('save_key_envelope', { id }),
  vaultPublicKey: () => call<string>('vault_public_key'),
  credentialConsumers: (id: string) => call<Consumer[]>('credential_consumers', { id }),
  takeKeyDelivery: (id: string) => call<IssuedKeyOut>('take_key_delivery', { id }),

  /** The team vault on OpenBao: the same sign-in as `kw team`. */
  teamStatus: () => call<TeamStatus>('team_status'),
  teamSignIn: (input: TeamSignInInput) => call<TeamStatus>('team_sign_in', { input }),
  teamSignOut: () => call<null>('team_sign_out'),
  teamList: () => call<Listing>('team_list'),
  teamShow: (name: string) => call<TeamCredentialOut>('team_show', { name }),
  teamRotate: (name: string, input: TeamRotateInput) => call<TeamCredentialOut>('team_rotate', { name, input }),
};

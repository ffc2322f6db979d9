// Re-exports of the generated bindings, for components.
export type { AppStatus } from './bindings/AppStatus';
export type { AuditEvent } from './bindings/AuditEvent';
export type { AuditQuery } from './bindings/AuditQuery';
export type { AuditReport } from './bindings/AuditReport';
export type { Credential } from './bindings/Credential';
export type { CredentialKind } from './bindings/CredentialKind';
export type { CredentialSummary } from './bindings/CredentialSummary';
export type { ErrorCode } from './bindings/ErrorCode';
export type { ExportFormat } from './bindings/ExportFormat';
export type { Integration } from './bindings/Integration';
export type { NewCredentialInput } from './bindings/NewCredentialInput';
export type { Settings } from './bindings/Settings';
export type { Status } from './bindings/Status';
export type { VersionInfo } from './bindings/VersionInfo';

// Words for a failed check: a short title, what is wrong, what to do. The
// backend's verdict carries no secret; this only phrases it, in the
// language shown now.
import type { Failure } from '$lib/ipc/types';
import { tr } from '$lib/i18n/locale.svelte';
import { verdict } from '$lib/i18n/catalogue/verdict';

export interface FailureText {
  title: string;
  message: string;
  next: string;
}

export function failureText(f: Failure): FailureText {
  const t = tr(verdict).failure;
  switch (f.kind) {
    case 'invalid_credential':
      return { ...t.invalid_credential, message: t.invalid_credential.message(f.detail) };
    case 'expired':
      return { ...t.expired, message: t.expired.message(f.detail) };
    case 'insufficient_scope': {
      const s = t.insufficient_scope;
      const message = f.missing.length ? s.message(f.missing.join(', ')) : s.messageAny;
      return { title: s.title, message, next: s.next };
    }
    case 'wrong_tenant':
      return { ...t.wrong_tenant, message: t.wrong_tenant.message(f.actual, f.expected) };
    case 'wrong_environment':
      return { ...t.wrong_environment, message: t.wrong_environment.message(f.actual, f.expected) };
    case 'rate_limited': {
      const s = t.rate_limited;
      const message = f.retry_after_secs ? s.message(f.retry_after_secs) : s.messageAny;
      return { title: s.title, message, next: s.next };
    }
    case 'unreachable':
      return { ...t.unreachable, message: t.unreachable.message(f.detail) };
    case 'tls':
      return { ...t.tls, message: t.tls.message(f.detail) };
    case 'unsafe':
      return { ...t.unsafe, message: f.detail };
    case 'format':
      return { ...t.format, message: f.detail };
    case 'provider':
      return { ...t.provider, message: f.status ? t.provider.message(f.status, f.detail) : f.detail };
  }
}

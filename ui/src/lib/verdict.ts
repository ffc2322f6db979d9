// Words for a failed check: a short title, what is wrong, what to do. The
// backend's verdict carries no secret; this only phrases it.
import type { Failure } from '$lib/ipc/types';

export interface FailureText {
  title: string;
  message: string;
  next: string;
}

export function failureText(f: Failure): FailureText {
  switch (f.kind) {
    case 'invalid_credential':
      return { title: 'not accepted', message: `The provider does not accept this credential (${f.detail}).`, next: "Check that the whole key was copied, or issue a new one in the provider's portal." };
    case 'expired':
      return { title: 'expired', message: `The credential has expired (${f.detail}).`, next: "Issue a new secret in the provider's portal and update the credential." };
    case 'insufficient_scope':
      return { title: 'missing scopes', message: f.missing.length ? `It lacks the scopes ${f.missing.join(', ')}.` : 'It lacks a scope the endpoint needs.', next: "Grant the missing scopes in the provider's portal, or issue a key with them." };
    case 'wrong_tenant':
      return { title: 'wrong company', message: `It belongs to '${f.actual}', but the integration is for '${f.expected}'.`, next: "Use a credential issued for the integration's company, or correct the integration." };
    case 'wrong_environment':
      return { title: 'wrong environment', message: `It works in ${f.actual}, but the integration is set up for ${f.expected}.`, next: "Use a credential from the integration's environment, or change the integration's environment." };
    case 'rate_limited':
      return { title: 'rate limited', message: f.retry_after_secs ? `The provider asks to wait ${f.retry_after_secs} s.` : 'The provider is limiting requests.', next: 'Test again later; the credential itself may be fine.' };
    case 'unreachable':
      return { title: 'provider unreachable', message: `The provider could not be reached (${f.detail}).`, next: "Check the network, proxy and base URL, or run the offline checks." };
    case 'tls':
      return { title: 'secure connection failed', message: `TLS failed (${f.detail}).`, next: "Check the base URL and the machine's clock; a proxy may be intercepting TLS." };
    case 'unsafe':
      return { title: 'refused to send', message: f.detail, next: "Use the provider's https URL; a secret never goes in a URL." };
    case 'format':
      return { title: 'invalid format', message: f.detail, next: 'Correct the value and try again.' };
    case 'provider':
      return { title: 'unexpected answer', message: f.status ? `The provider answered ${f.status}: ${f.detail}` : f.detail, next: "Test again later; if it persists, check the provider's status page." };
  }
}

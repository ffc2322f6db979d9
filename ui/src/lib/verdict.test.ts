import { describe, expect, it } from 'vitest';
import { failureText } from './verdict';
import type { Failure } from './ipc/types';

const every: Failure[] = [
  { kind: 'invalid_credential', detail: 'Pleo production answered 401 Unauthorized' },
  { kind: 'expired', detail: 'Pleo answered 401: the token has expired' },
  { kind: 'insufficient_scope', missing: ['export:write'] },
  { kind: 'wrong_tenant', expected: 'acme', actual: 'globex' },
  { kind: 'wrong_environment', expected: 'production', actual: 'staging' },
  { kind: 'rate_limited', retry_after_secs: 30, detail: '429' },
  { kind: 'unreachable', detail: 'connection refused' },
  { kind: 'tls', detail: 'invalid peer certificate' },
  { kind: 'unsafe', detail: 'plain http' },
  { kind: 'format', detail: 'api_key is too short' },
  { kind: 'provider', status: 500, detail: 'expected 200' },
];

describe('failureText', () => {
  it('gives_every_failure_a_title_a_message_and_a_next_step', () => {
    for (const f of every) {
      const t = failureText(f);
      expect(t.title.length, f.kind).toBeGreaterThan(0);
      expect(t.message.length, f.kind).toBeGreaterThan(0);
      expect(t.next.length, f.kind).toBeGreaterThan(0);
    }
  });

  it('names_the_missing_scopes_and_both_tenants', () => {
    expect(failureText(every[2]).message).toContain('export:write');
    const t = failureText(every[3]).message;
    expect(t).toContain('acme');
    expect(t).toContain('globex');
    expect(failureText(every[4]).message).toContain('staging');
  });
});

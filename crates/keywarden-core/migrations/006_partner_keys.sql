-- 006: the API keys Keywarden issues to partners. Only a keyed hash of a
-- key is stored (HMAC-SHA256 under a key derived from the vault key); the
-- plaintext exists once, in the issuance answer.
--
-- A rotation issues a successor (`replaced_by`) and keeps the old key valid
-- until `grace_until`. Revocation sets `revoked_at`, at once. Every change
-- to a key appends to `key_changes`, which running verifiers read to stay
-- current without a restart.

CREATE TABLE partner_keys (
    id            TEXT PRIMARY KEY,
    application   TEXT NOT NULL,
    environment   TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    scopes        TEXT NOT NULL,
    hash          BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    max_age_days  INTEGER NOT NULL,
    grace_days    INTEGER NOT NULL,
    replaces      TEXT,
    replaced_by   TEXT,
    grace_until   TEXT,
    revoked_at    TEXT,
    revoke_reason TEXT,
    last_used_at  TEXT,
    use_count     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX partner_keys_application ON partner_keys(application);

CREATE TABLE key_changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    key_id TEXT NOT NULL,
    at     TEXT NOT NULL
);

CREATE TABLE key_usage (
    key_id   TEXT NOT NULL,
    hour     TEXT NOT NULL,
    ok       INTEGER NOT NULL DEFAULT 0,
    failed   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, hour)
);

CREATE TABLE key_sources (
    key_id     TEXT NOT NULL,
    source     TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    PRIMARY KEY (key_id, source)
);

-- The notification centre also carries partner-key anomalies (a new source
-- address, a burst of failed verifications, use far above the hourly
-- baseline): the notices table is rebuilt with an optional credential, an
-- optional partner key, and one `dedupe` text that keeps any notice from
-- being recorded twice (for expiry notices: credential, version, kind,
-- threshold and expiry, as before).
CREATE TABLE notices_v6 (
    id              INTEGER PRIMARY KEY,
    credential_id   TEXT REFERENCES credentials(id) ON DELETE CASCADE,
    partner_key_id  TEXT,
    version         INTEGER NOT NULL DEFAULT 0,
    kind            TEXT    NOT NULL CHECK (kind IN ('expiring', 'expired', 'new_source', 'failure_burst', 'usage_spike')),
    threshold_days  INTEGER NOT NULL DEFAULT 0,
    expires_at      TEXT,
    due_at          TEXT    NOT NULL,
    fired_at        TEXT    NOT NULL,
    credential_name TEXT    NOT NULL,
    integration     TEXT,
    summary         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    read_at         TEXT,
    dismissed_at    TEXT,
    dedupe          TEXT    NOT NULL UNIQUE
);
INSERT INTO notices_v6 (id, credential_id, version, kind, threshold_days, expires_at, due_at, fired_at,
                        credential_name, integration, summary, body, read_at, dismissed_at, dedupe)
SELECT id, credential_id, version, kind, threshold_days, expires_at, due_at, fired_at,
       credential_name, integration, summary, body, read_at, dismissed_at,
       'expiry|' || credential_id || '|' || version || '|' || kind || '|' || threshold_days || '|' || expires_at
  FROM notices;
DROP TABLE notices;
ALTER TABLE notices_v6 RENAME TO notices;
CREATE INDEX notices_open ON notices(dismissed_at, id);

-- 001: the first schema. Secret values live only in secret_fields.sealed,
-- each sealed on its own (see src/crypto/sealed.rs); the whole file is
-- also encrypted by SQLCipher.

CREATE TABLE data_keys (
    key_id      INTEGER PRIMARY KEY,
    wrapped     BLOB    NOT NULL,
    use_count   INTEGER NOT NULL DEFAULT 0,
    is_current  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL
);
CREATE UNIQUE INDEX data_keys_one_current ON data_keys(is_current) WHERE is_current = 1;

CREATE TABLE integrations (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    provider      TEXT NOT NULL,
    environment   TEXT NOT NULL,
    tenant_id     TEXT,
    base_url      TEXT,
    scopes        TEXT NOT NULL DEFAULT '[]',
    sync_schedule TEXT,
    owner         TEXT,
    tags          TEXT NOT NULL DEFAULT '[]',
    notes         TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE credentials (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind              TEXT NOT NULL,
    integration_id    TEXT REFERENCES integrations(id),
    provider          TEXT NOT NULL,
    environment       TEXT NOT NULL,
    status            TEXT NOT NULL,
    config            TEXT NOT NULL DEFAULT '{}',
    secret_fields     TEXT NOT NULL DEFAULT '[]',
    tags              TEXT NOT NULL DEFAULT '[]',
    notes             TEXT,
    expires_at        TEXT,
    last_used_at      TEXT,
    last_validated_at TEXT,
    current_version   INTEGER NOT NULL DEFAULT 0,
    mask              TEXT,
    needs_reentry     INTEGER NOT NULL DEFAULT 0,
    search_text       TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX credentials_integration ON credentials(integration_id);
CREATE INDEX credentials_kind ON credentials(kind);
CREATE INDEX credentials_status ON credentials(status, expires_at);
CREATE INDEX credentials_provider ON credentials(provider);

CREATE TABLE credential_versions (
    credential_id TEXT    NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'current', 'retired')),
    masks         TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    activated_at  TEXT,
    retired_at    TEXT,
    PRIMARY KEY (credential_id, version)
);
-- Exactly one current version per credential, enforced by the database.
CREATE UNIQUE INDEX credential_versions_one_current
    ON credential_versions(credential_id) WHERE state = 'current';

CREATE TABLE secret_fields (
    credential_id TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    field         TEXT    NOT NULL,
    sealed        BLOB    NOT NULL,
    PRIMARY KEY (credential_id, version, field),
    FOREIGN KEY (credential_id, version)
        REFERENCES credential_versions(credential_id, version) ON DELETE CASCADE
);

CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    profile     TEXT NOT NULL,
    os_user     TEXT NOT NULL,
    host        TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_kind TEXT NOT NULL,
    object_id   TEXT,
    object_name TEXT,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    prev_mac    BLOB NOT NULL,
    mac         BLOB NOT NULL
);
CREATE INDEX audit_events_object ON audit_events(object_id);
CREATE INDEX audit_events_action ON audit_events(action);

-- The last event's seq and MAC, itself MACed: without it, deleting the
-- newest events would leave a chain that still verifies.
CREATE TABLE audit_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    seq      INTEGER NOT NULL,
    mac      BLOB    NOT NULL,
    head_mac BLOB    NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- 007: keys rotated by policy in the background. Nobody is there to see
-- the successor's plaintext, so it is kept sealed (like a secret field)
-- until an admin takes it, once, to deliver it; taking it deletes it.
-- The notification centre gains the kind that says so.

CREATE TABLE key_deliveries (
    key_id     TEXT PRIMARY KEY REFERENCES partner_keys(id) ON DELETE CASCADE,
    sealed     BLOB NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE notices_v7 (
    id              INTEGER PRIMARY KEY,
    credential_id   TEXT REFERENCES credentials(id) ON DELETE CASCADE,
    partner_key_id  TEXT,
    version         INTEGER NOT NULL DEFAULT 0,
    kind            TEXT    NOT NULL CHECK (kind IN ('expiring', 'expired', 'new_source', 'failure_burst',
                                                     'usage_spike', 'key_rotated')),
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
INSERT INTO notices_v7 SELECT id, credential_id, partner_key_id, version, kind, threshold_days, expires_at, due_at,
       fired_at, credential_name, integration, summary, body, read_at, dismissed_at, dedupe FROM notices;
DROP TABLE notices;
ALTER TABLE notices_v7 RENAME TO notices;
CREATE INDEX notices_open ON notices(dismissed_at, id);

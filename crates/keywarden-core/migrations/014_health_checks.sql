-- 014: scheduled health checks (issue 23).
--
-- How often a credential is checked live without anyone pressing a button:
-- its own `check_every_hours`, else its integration's, else the provider's
-- default (daily; Xledger weekly, for its request credits). 0 means "not
-- scheduled" (the policy may forbid that). When a check is next due is
-- computed from the last live check, so nothing here needs rescheduling.
ALTER TABLE credentials ADD COLUMN check_every_hours INTEGER;
ALTER TABLE integrations ADD COLUMN check_every_hours INTEGER;

-- Which checks the scheduler ran (the history shows them apart).
ALTER TABLE credential_checks ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0;

-- Never two checks at once against one provider, across programs (the app
-- and a `kw health check` timer): the program checking holds the
-- provider's lease until it is done or `until` passes.
CREATE TABLE check_leases (
    provider TEXT PRIMARY KEY,
    holder   TEXT NOT NULL,
    until    TEXT NOT NULL
);

-- The notification centre gains "reconnection required".
CREATE TABLE notices_v14 (
    id              INTEGER PRIMARY KEY,
    credential_id   TEXT REFERENCES credentials(id) ON DELETE CASCADE,
    partner_key_id  TEXT,
    version         INTEGER NOT NULL DEFAULT 0,
    kind            TEXT    NOT NULL CHECK (kind IN ('expiring', 'expired', 'new_source', 'failure_burst',
                                                     'usage_spike', 'key_rotated', 'reconnection_required')),
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
INSERT INTO notices_v14 SELECT id, credential_id, partner_key_id, version, kind, threshold_days, expires_at, due_at,
       fired_at, credential_name, integration, summary, body, read_at, dismissed_at, dedupe FROM notices;
DROP TABLE notices;
ALTER TABLE notices_v14 RENAME TO notices;
CREATE INDEX notices_open ON notices(dismissed_at, id);

-- 015: alerts that reach the team (issue 23): channels beyond this desktop
-- (a webhook, email over SMTP) and an outbox that delivers each event to
-- each channel once, across restarts, retried until the receiver is back.
--
-- A channel's secret (the webhook URL, which carries its token; or the
-- SMTP password) is sealed like a secret field: slot = the channel's id,
-- field "~alert_secret", version 0. `target` is what may be shown of it
-- (the webhook's host, the email's recipients).
CREATE TABLE alert_channels (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind       TEXT NOT NULL CHECK (kind IN ('webhook', 'email')),
    events     TEXT NOT NULL,
    config     TEXT NOT NULL,
    target     TEXT NOT NULL,
    sealed     BLOB NOT NULL,
    created_at TEXT NOT NULL
);

-- One row per event and channel; UNIQUE makes "at most once per event".
-- Only what a notice says (its summary and body: a credential's name, its
-- integration, what to do) is copied here, never a secret.
CREATE TABLE alert_outbox (
    id         INTEGER PRIMARY KEY,
    channel_id TEXT    NOT NULL REFERENCES alert_channels(id) ON DELETE CASCADE,
    event_key  TEXT    NOT NULL,
    category   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    TEXT,
    sent_at    TEXT,
    last_error TEXT,
    UNIQUE (channel_id, event_key)
);
CREATE INDEX alert_outbox_due ON alert_outbox(next_at) WHERE next_at IS NOT NULL;

-- The notification centre gains "disabled", "policy broken" and "rotation
-- due" (a credential past its rotation policy's age, once per version).
CREATE TABLE notices_v15 (
    id              INTEGER PRIMARY KEY,
    credential_id   TEXT REFERENCES credentials(id) ON DELETE CASCADE,
    partner_key_id  TEXT,
    version         INTEGER NOT NULL DEFAULT 0,
    kind            TEXT    NOT NULL CHECK (kind IN ('expiring', 'expired', 'new_source', 'failure_burst',
                                                     'usage_spike', 'key_rotated', 'reconnection_required',
                                                     'disabled', 'policy_broken', 'rotation_due')),
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
INSERT INTO notices_v15 SELECT id, credential_id, partner_key_id, version, kind, threshold_days, expires_at, due_at,
       fired_at, credential_name, integration, summary, body, read_at, dismissed_at, dedupe FROM notices;
DROP TABLE notices;
ALTER TABLE notices_v15 RENAME TO notices;
CREATE INDEX notices_open ON notices(dismissed_at, id);

-- Every notice, whichever code path fires it, is queued in the same
-- transaction for each channel that carries its category. The event key is
-- the notice's dedupe (unique forever), not its id, which SQLite may give
-- again after the newest notice is deleted with its credential.
CREATE TRIGGER notices_alert AFTER INSERT ON notices
BEGIN
    INSERT OR IGNORE INTO alert_outbox (channel_id, event_key, category, subject, body, created_at, next_at)
    SELECT c.id, 'notice:' || NEW.dedupe, k.category, NEW.summary, NEW.body, NEW.fired_at, NEW.fired_at
      FROM alert_channels c,
           (SELECT CASE NEW.kind
                WHEN 'expiring' THEN 'expiring'
                WHEN 'expired' THEN 'expired'
                WHEN 'reconnection_required' THEN 'reconnection_required'
                WHEN 'disabled' THEN 'disabled'
                WHEN 'new_source' THEN 'partner_key_anomaly'
                WHEN 'failure_burst' THEN 'partner_key_anomaly'
                WHEN 'usage_spike' THEN 'partner_key_anomaly'
                WHEN 'key_rotated' THEN 'rotation_due'
                WHEN 'rotation_due' THEN 'rotation_due'
                WHEN 'policy_broken' THEN 'policy_broken'
            END AS category) k
     WHERE EXISTS (SELECT 1 FROM json_each(c.events) WHERE json_each.value = k.category);
END;

-- 004: expiry notices, fired once per threshold and credential version.
--
-- Each credential carries when its next notice is due (`notice_next_at`,
-- indexed) and for which threshold (`notice_next_days`, 0 = "expired"), so
-- finding what is due among 100,000 credentials is one index range and the
-- scheduler can sleep until MIN(notice_next_at). The value '0' sorts before
-- every timestamp and means "schedule again": the triggers below set it
-- whenever the expiry, the current version or the status changes, so every
-- path that writes a credential (add, import, rotate, edit, a verdict that
-- reads an expiry) reschedules it without knowing about notices.
--
-- `notices` is the ledger and the in-app notification centre: its UNIQUE
-- key is what makes a threshold fire once, whatever the clock does.

ALTER TABLE credentials ADD COLUMN expiry_source TEXT;
ALTER TABLE credentials ADD COLUMN notice_next_at TEXT;
ALTER TABLE credentials ADD COLUMN notice_next_days INTEGER;
UPDATE credentials SET expiry_source = 'user' WHERE expires_at IS NOT NULL;
UPDATE credentials SET notice_next_at = '0' WHERE expires_at IS NOT NULL;
CREATE INDEX credentials_notice_next ON credentials(notice_next_at) WHERE notice_next_at IS NOT NULL;

CREATE TRIGGER credentials_notice_on_insert AFTER INSERT ON credentials
WHEN NEW.expires_at IS NOT NULL
BEGIN
    UPDATE credentials SET notice_next_at = '0' WHERE id = NEW.id;
END;

CREATE TRIGGER credentials_notice_on_change AFTER UPDATE OF expires_at, current_version, status ON credentials
WHEN OLD.expires_at IS NOT NEW.expires_at
  OR OLD.current_version IS NOT NEW.current_version
  OR OLD.status IS NOT NEW.status
BEGIN
    UPDATE credentials
       SET notice_next_at = CASE WHEN NEW.expires_at IS NULL THEN NULL ELSE '0' END
     WHERE id = NEW.id;
END;

CREATE TABLE notices (
    id              INTEGER PRIMARY KEY,
    credential_id   TEXT    NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
    version         INTEGER NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('expiring', 'expired')),
    threshold_days  INTEGER NOT NULL,
    expires_at      TEXT    NOT NULL,
    due_at          TEXT    NOT NULL,
    fired_at        TEXT    NOT NULL,
    credential_name TEXT    NOT NULL,
    integration     TEXT,
    summary         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    read_at         TEXT,
    dismissed_at    TEXT,
    UNIQUE (credential_id, version, kind, threshold_days, expires_at)
);
CREATE INDEX notices_open ON notices(dismissed_at, id);

-- Settings that belong to the vault file rather than to one machine's
-- settings.json: the notice thresholds last scheduled with.
CREATE TABLE vault_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

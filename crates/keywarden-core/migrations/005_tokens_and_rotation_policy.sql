-- 005: cached OAuth 2.0 access tokens, and the rotation policy.
--
-- The access token an OAuth 2.0 credential last obtained is sealed like
-- a secret field (slot: credential, "~access_token", version) and bound to
-- the version whose secrets obtained it. Disposable: rotating the data key
-- empties it, and the next use refreshes.

CREATE TABLE token_cache (
    credential_id TEXT PRIMARY KEY REFERENCES credentials(id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    sealed        BLOB    NOT NULL,
    expires_at    TEXT,
    obtained_at   TEXT    NOT NULL
);

-- Rotation policy: a maximum age for the current secret, per credential,
-- else per integration, else the vault's (settings; 90 days by default).
-- NULL inherits; 0 means "no maximum". `rotated_at` is when the current
-- version became current.
ALTER TABLE credentials ADD COLUMN rotated_at TEXT;
ALTER TABLE credentials ADD COLUMN max_age_days INTEGER;
ALTER TABLE integrations ADD COLUMN max_age_days INTEGER;
UPDATE credentials
   SET rotated_at = COALESCE(
       (SELECT COALESCE(v.activated_at, v.created_at) FROM credential_versions v
         WHERE v.credential_id = credentials.id AND v.version = credentials.current_version),
       created_at)
 WHERE current_version > 0;

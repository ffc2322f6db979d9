-- What an admin still has to do about a credential, a check list on its
-- details page until done (issue 19): revoke the replaced secret at the
-- provider after a rotation (`revoke_old`, until dismissed), and a secret
-- saved without a live check (`unchecked`, until a live check passes).
CREATE TABLE credential_reminders (
    credential_id TEXT NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('revoke_old', 'unchecked')),
    detail TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (credential_id, kind)
);

-- Saving without a live check was the default before this migration: a
-- credential that never passed one says so.
INSERT INTO credential_reminders (credential_id, kind, detail, created_at)
    SELECT id, 'unchecked', 'saved without a live check', updated_at
      FROM credentials
     WHERE last_validated_at IS NULL AND needs_reentry = 0;

-- 003: every check of a credential (live or offline) with its verdict.
-- Monitoring counts consecutive authentication failures from it, and
-- support staff see the last live verdict and its age without contacting
-- the provider. A verdict is what the provider said about a secret (tenant,
-- scopes, an error code), never the secret.

CREATE TABLE credential_checks (
    id             INTEGER PRIMARY KEY,
    credential_id  TEXT NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    checked_at     TEXT NOT NULL,
    offline        INTEGER NOT NULL,
    code           TEXT NOT NULL,
    verdict        TEXT NOT NULL
);

CREATE INDEX credential_checks_by_credential ON credential_checks(credential_id, id);

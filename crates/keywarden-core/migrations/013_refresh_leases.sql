-- One refresh of an OAuth 2.0 access token at a time across programs (issue
-- 22): the program that refreshes a credential's token holds its lease
-- until it is done or `until` passes (a program that died mid-refresh);
-- the others wait for the token it caches. Nothing here is a secret.
CREATE TABLE refresh_leases (
    credential_id TEXT PRIMARY KEY REFERENCES credentials(id) ON DELETE CASCADE,
    holder TEXT NOT NULL,
    until TEXT NOT NULL
);

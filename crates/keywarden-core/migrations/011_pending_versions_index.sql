-- Every open looks for rotations interrupted long ago (state 'pending'):
-- without an index that read the whole version table, some 400 pages of a
-- 10,000-credential vault, decrypted and MAC-checked one by one, before
-- each `kw` command (issue 11's profile: 12 ms instead of 7).
CREATE INDEX credential_versions_pending ON credential_versions(created_at) WHERE state = 'pending';

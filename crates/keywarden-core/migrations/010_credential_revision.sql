-- 010: optimistic versions of credentials. `revision` grows by one each
-- time something an admin sees of a credential changes (name, links,
-- configuration, tags, notes, expiry, status, its current secret), not when
-- it is merely used or checked. Every write names the revision it read, so a
-- change prepared against an older revision — by another admin, the app and
-- `kw` at once, or a slow live check — is refused as a conflict instead of
-- silently overwriting the newer one.
ALTER TABLE credentials ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;

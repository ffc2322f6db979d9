-- 009: service accounts: our own jobs' tokens (`kws_…`), issued, rotated
-- and revoked like partner keys, with a grant of the integrations whose
-- credentials they may take from the broker (integration ids, JSON).
ALTER TABLE partner_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'partner' CHECK (kind IN ('partner', 'service'));
ALTER TABLE partner_keys ADD COLUMN grants TEXT NOT NULL DEFAULT '[]';

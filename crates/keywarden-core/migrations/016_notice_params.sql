-- The values a notice's text is made of (a JSON object of strings), so the
-- app can say it in the reader's language; '{}' for notices from before.
ALTER TABLE notices ADD COLUMN params TEXT NOT NULL DEFAULT '{}';

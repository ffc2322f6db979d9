-- The values a notice's or a check-list item's text is made of (a JSON
-- object of strings), so the app can say it in the reader's language; '{}'
-- for those from before.
ALTER TABLE notices ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
ALTER TABLE credential_reminders ADD COLUMN params TEXT NOT NULL DEFAULT '{}';

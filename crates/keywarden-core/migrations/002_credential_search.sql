-- 002: a trigram full-text index over credentials.search_text, so a
-- substring search over 100,000 credentials reads the index instead of
-- every row. The index lives in the same SQLCipher file (encrypted) and
-- holds only non-secret text (names, provider, type, environment, tags,
-- integration name). Triggers keep it in step with the table.

CREATE VIRTUAL TABLE credential_search USING fts5(
    search_text,
    content = 'credentials',
    content_rowid = 'rowid',
    tokenize = 'trigram'
);

INSERT INTO credential_search(credential_search) VALUES ('rebuild');

CREATE TRIGGER credentials_search_insert AFTER INSERT ON credentials BEGIN
    INSERT INTO credential_search(rowid, search_text) VALUES (new.rowid, new.search_text);
END;

CREATE TRIGGER credentials_search_delete AFTER DELETE ON credentials BEGIN
    INSERT INTO credential_search(credential_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;

CREATE TRIGGER credentials_search_update AFTER UPDATE OF search_text ON credentials BEGIN
    INSERT INTO credential_search(credential_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO credential_search(rowid, search_text) VALUES (new.rowid, new.search_text);
END;

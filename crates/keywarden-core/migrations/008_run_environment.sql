-- 008: how `kw run` names a credential's fields in a child's environment,
-- per integration: {"api_key": "PLEO_API_KEY"}. A field without a name
-- gets <INTEGRATION>_<FIELD> in capitals.
ALTER TABLE integrations ADD COLUMN env_names TEXT NOT NULL DEFAULT '{}';

-- ThreatScope knowledge base, PostgreSQL schema version 4 (older databases are upgraded by
-- postgres_migrations.py). The same tables as the SQLite schema (schema.sql, which explains
-- each), with the object JSON as jsonb.
--
-- `import_id` names the imports row the same transaction inserted, so it carries no FOREIGN KEY
-- here: checking one per copied row made the ATT&CK upsert 26% slower (1.39 s against 1.10 s).
--
-- Every text column compares byte-wise (COLLATE "C"): `ORDER BY id` and `ORDER BY name` then
-- give SQLite's order whatever the database's locale, so both backends list objects and actors
-- alike.

CREATE TABLE IF NOT EXISTS imports (
    id BIGINT PRIMARY KEY,  -- the next number, as SQLite's: no gap after a failed import
    source TEXT COLLATE "C" NOT NULL,
    path TEXT COLLATE "C" NOT NULL,
    started TEXT COLLATE "C" NOT NULL,
    finished TEXT COLLATE "C",
    received INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    older INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS objects (
    id TEXT COLLATE "C" PRIMARY KEY,
    type TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C",
    created TEXT COLLATE "C",
    modified TEXT COLLATE "C" NOT NULL,
    revoked SMALLINT NOT NULL DEFAULT 0,
    deprecated SMALLINT NOT NULL DEFAULT 0,
    source TEXT COLLATE "C" NOT NULL,
    import_id BIGINT NOT NULL,
    json JSONB NOT NULL,
    tlp_rank INTEGER NOT NULL DEFAULT 4,  -- as SQLite's schema.sql explains
    date_added TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS objects_by_type ON objects(type, revoked);
CREATE INDEX IF NOT EXISTS objects_by_added ON objects(date_added, id);
CREATE INDEX IF NOT EXISTS objects_by_source_added ON objects(source, date_added, id);
CREATE INDEX IF NOT EXISTS objects_by_tlp_added ON objects(tlp_rank, date_added, id);

CREATE TABLE IF NOT EXISTS provenance (
    object_id TEXT COLLATE "C" NOT NULL,
    modified TEXT COLLATE "C" NOT NULL,
    import_id BIGINT NOT NULL,
    PRIMARY KEY (object_id, modified)
);

CREATE TABLE IF NOT EXISTS relationships (
    id TEXT COLLATE "C" PRIMARY KEY,
    source_ref TEXT COLLATE "C" NOT NULL,
    relationship_type TEXT COLLATE "C" NOT NULL,
    target_ref TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS relationships_by_source ON relationships(source_ref, relationship_type);
CREATE INDEX IF NOT EXISTS relationships_by_target ON relationships(target_ref, relationship_type);

CREATE TABLE IF NOT EXISTS external_ids (
    object_id TEXT COLLATE "C" NOT NULL,
    source_name TEXT COLLATE "C" NOT NULL,
    external_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (object_id, source_name, external_id)
);
CREATE INDEX IF NOT EXISTS external_ids_by_value ON external_ids(external_id);

CREATE TABLE IF NOT EXISTS aliases (
    object_id TEXT COLLATE "C" NOT NULL,
    alias TEXT COLLATE "C" NOT NULL,
    alias_norm TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (object_id, alias_norm)
);
CREATE INDEX IF NOT EXISTS aliases_by_norm ON aliases(alias_norm);

CREATE TABLE IF NOT EXISTS actors (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    nexus TEXT COLLATE "C",
    doc JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS actors_by_nexus ON actors(nexus);

CREATE TABLE IF NOT EXISTS actor_members (
    object_id TEXT COLLATE "C" PRIMARY KEY,
    actor_id TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C" NOT NULL
);

CREATE TABLE IF NOT EXISTS actor_lookup (
    name_norm TEXT COLLATE "C" NOT NULL,
    actor_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (name_norm, actor_id)
);

CREATE TABLE IF NOT EXISTS actor_splits (
    object_id TEXT COLLATE "C" PRIMARY KEY,
    from_actor TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL
);

-- Derived actor -> CVE links (actors/cves.py); part of the schema from the start here.
CREATE TABLE IF NOT EXISTS actor_cves (
    holder TEXT COLLATE "C" NOT NULL,
    cve TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    via TEXT COLLATE "C" NOT NULL,
    label TEXT COLLATE "C" NOT NULL,
    origin TEXT COLLATE "C" NOT NULL,
    citations TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (holder, cve, via)
);
CREATE INDEX IF NOT EXISTS actor_cves_by_cve ON actor_cves(cve);

CREATE TABLE IF NOT EXISTS incident_facts (
    fact BIGINT PRIMARY KEY,
    incident_id TEXT COLLATE "C" NOT NULL UNIQUE,
    day INTEGER,
    source TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_facts_by_day ON incident_facts(day);
CREATE INDEX IF NOT EXISTS incident_facts_by_source ON incident_facts(source, day);

CREATE TABLE IF NOT EXISTS incident_initiators (
    fact BIGINT NOT NULL,
    day INTEGER,
    category TEXT COLLATE "C" NOT NULL,
    country TEXT COLLATE "C",
    actor_ref TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS incident_initiators_by_day
    ON incident_initiators(day, category, fact, country, actor_ref);

CREATE TABLE IF NOT EXISTS incident_victims (
    fact BIGINT NOT NULL,
    victim INTEGER NOT NULL,
    country TEXT COLLATE "C",
    sector TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS incident_victims_by_fact ON incident_victims(fact, sector, country);

CREATE TABLE IF NOT EXISTS incident_sources (
    source TEXT COLLATE "C" PRIMARY KEY,
    incidents INTEGER NOT NULL,
    dated INTEGER NOT NULL,
    first_day INTEGER,
    last_day INTEGER
);

CREATE TABLE IF NOT EXISTS incident_labels (
    fact BIGINT NOT NULL,
    kind TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_labels_by_fact ON incident_labels(fact, kind, value);
CREATE INDEX IF NOT EXISTS incident_labels_by_kind ON incident_labels(kind, value);

-- What this database is and which schema version it holds: the one row says it is ours, so
-- --db never adopts another application's database (SQLite's application_id and user_version).
CREATE TABLE IF NOT EXISTS threatscope_schema (
    application TEXT NOT NULL,
    version INTEGER NOT NULL
);

-- User accounts (threatscope.access; postgres_migrations.py step 3).
CREATE TABLE IF NOT EXISTS users (
    name TEXT COLLATE "C" PRIMARY KEY,
    role TEXT COLLATE "C" NOT NULL,
    clearance TEXT COLLATE "C" NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    revoked TEXT COLLATE "C"
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username TEXT COLLATE "C" NOT NULL REFERENCES users(name),
    prefix TEXT COLLATE "C" NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    last_used TEXT COLLATE "C",
    revoked TEXT COLLATE "C"
);
CREATE INDEX IF NOT EXISTS api_tokens_by_user ON api_tokens(username);
CREATE TABLE IF NOT EXISTS audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time TEXT COLLATE "C" NOT NULL,
    username TEXT COLLATE "C" NOT NULL,
    action TEXT COLLATE "C" NOT NULL,
    target TEXT COLLATE "C",
    remote TEXT COLLATE "C",
    detail JSONB NOT NULL DEFAULT '{}'
);

-- TAXII state (postgres_migrations.py step 4): user-defined collections, import resume points.
CREATE TABLE IF NOT EXISTS taxii_collections (
    id TEXT COLLATE "C" PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    filter TEXT NOT NULL,
    created TEXT COLLATE "C" NOT NULL,
    created_by TEXT COLLATE "C" NOT NULL
);
CREATE TABLE IF NOT EXISTS taxii_resume (
    url TEXT COLLATE "C" NOT NULL,
    collection TEXT COLLATE "C" NOT NULL,
    added_last TEXT COLLATE "C" NOT NULL,
    import_id BIGINT NOT NULL,
    PRIMARY KEY (url, collection)
);

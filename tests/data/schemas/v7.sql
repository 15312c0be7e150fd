-- Schema version 7: version 6 plus the TAXII state (taxii_collections, taxii_resume).
-- Verbatim: src/threatscope/store/schema.sql of the taxiiclient branch
-- ThreatScope knowledge base, SQLite schema version 7 (older files are
-- upgraded by migrations.py).
-- `objects` holds the current version of every STIX object; everything else is derived from it
-- on import (relationships, external_ids, aliases) or by actor resolution (actor_*), except
-- `imports`, `provenance` and `actor_splits`, which record history and analyst decisions.

CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    received INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    older INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    name TEXT,
    created TEXT,
    modified TEXT NOT NULL,          -- normalised (fixed-width, sortable); '' for observables
    revoked INTEGER NOT NULL DEFAULT 0,
    deprecated INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL,            -- the importer that brought the current version
    import_id INTEGER NOT NULL REFERENCES imports(id),
    json TEXT NOT NULL,
    tlp_rank INTEGER NOT NULL DEFAULT 4,
    date_added TEXT NOT NULL DEFAULT ''
);
-- For the TAXII server (stix/tlp.py): tlp_rank is the object's TLP rank (0 CLEAR .. 4 RED; RED
-- by default, so a row no writer ranked is hidden), date_added when its current version was
-- added (its import's start: imports are serialised, so it only grows).
CREATE INDEX IF NOT EXISTS objects_by_type ON objects(type, revoked);
CREATE INDEX IF NOT EXISTS objects_by_added ON objects(date_added, id);
CREATE INDEX IF NOT EXISTS objects_by_source_added ON objects(source, date_added, id);
CREATE INDEX IF NOT EXISTS objects_by_tlp_added ON objects(tlp_rank, date_added, id);

CREATE TABLE IF NOT EXISTS provenance (
    object_id TEXT NOT NULL,
    modified TEXT NOT NULL,
    import_id INTEGER NOT NULL REFERENCES imports(id),
    PRIMARY KEY (object_id, modified)
);

CREATE TABLE IF NOT EXISTS relationships (
    id TEXT PRIMARY KEY,
    source_ref TEXT NOT NULL,
    relationship_type TEXT NOT NULL,
    target_ref TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS relationships_by_source ON relationships(source_ref, relationship_type);
CREATE INDEX IF NOT EXISTS relationships_by_target ON relationships(target_ref, relationship_type);

CREATE TABLE IF NOT EXISTS external_ids (
    object_id TEXT NOT NULL,
    source_name TEXT NOT NULL,
    external_id TEXT NOT NULL,
    PRIMARY KEY (object_id, source_name, external_id)
);
CREATE INDEX IF NOT EXISTS external_ids_by_value ON external_ids(external_id);

CREATE TABLE IF NOT EXISTS aliases (
    object_id TEXT NOT NULL,
    alias TEXT NOT NULL,
    alias_norm TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (object_id, alias_norm)
);
CREATE INDEX IF NOT EXISTS aliases_by_norm ON aliases(alias_norm);

CREATE TABLE IF NOT EXISTS actors (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    nexus TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actors_by_nexus ON actors(nexus);

CREATE TABLE IF NOT EXISTS actor_members (
    object_id TEXT PRIMARY KEY,
    actor_id TEXT NOT NULL,
    source TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS actor_lookup (
    name_norm TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    PRIMARY KEY (name_norm, actor_id)
);

-- Analyst decisions: an object split out of an actor stays an actor of its own until rejoined.
CREATE TABLE IF NOT EXISTS actor_splits (
    object_id TEXT PRIMARY KEY,
    from_actor TEXT NOT NULL,
    created TEXT NOT NULL
);

-- Incident facts, derived from `incident` objects after every import that changes one: the
-- flat rows landscape analytics aggregate. `day` counts days since 1970-01-01 (NULL: undated).
CREATE TABLE IF NOT EXISTS incident_facts (
    fact INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL UNIQUE,
    day INTEGER,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_facts_by_day ON incident_facts(day);
CREATE INDEX IF NOT EXISTS incident_facts_by_source ON incident_facts(source, day);

-- One row per initiator; `actor_ref` is the threat-actor object, linked to its resolved actor
-- (and that actor's nexus) through actor_members at query time. `day` repeats the incident's
-- so that selecting a window is one range scan of the covering index.
CREATE TABLE IF NOT EXISTS incident_initiators (
    fact INTEGER NOT NULL,
    day INTEGER,
    category TEXT NOT NULL,
    country TEXT,
    actor_ref TEXT
);
CREATE INDEX IF NOT EXISTS incident_initiators_by_day
    ON incident_initiators(day, category, fact, country, actor_ref);

-- One row per victim and sector (sector NULL when the victim has none).
CREATE TABLE IF NOT EXISTS incident_victims (
    fact INTEGER NOT NULL,
    victim INTEGER NOT NULL,
    country TEXT,
    sector TEXT
);
CREATE INDEX IF NOT EXISTS incident_victims_by_fact ON incident_victims(fact, sector, country);

-- Per importer: how many incidents and which dates they cover (the report's method notes).
CREATE TABLE IF NOT EXISTS incident_sources (
    source TEXT PRIMARY KEY,
    incidents INTEGER NOT NULL,
    dated INTEGER NOT NULL,
    first_day INTEGER,
    last_day INTEGER
);

-- Everything else an incident is counted by: kind is type, technique, cve, zero-day,
-- unmapped-sector or unmapped-country.
CREATE TABLE IF NOT EXISTS incident_labels (
    fact INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_labels_by_fact ON incident_labels(fact, kind, value);
CREATE INDEX IF NOT EXISTS incident_labels_by_kind ON incident_labels(kind, value);

-- User accounts (threatscope.access): who may use the server, their API tokens (argon2
-- hashes only, never the secret) and the audit log of every write.
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    clearance TEXT NOT NULL,
    created TEXT NOT NULL,
    revoked TEXT
);
CREATE TABLE IF NOT EXISTS api_tokens (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL REFERENCES users(name),
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created TEXT NOT NULL,
    last_used TEXT,
    revoked TEXT
);
CREATE INDEX IF NOT EXISTS api_tokens_by_user ON api_tokens(username);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    username TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    remote TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);

-- TAXII state (store/taxii_state.py): collections an admin defined (a filter over the objects,
-- as JSON) and where `import taxii` resumes each (API root URL, collection) it pulled.
CREATE TABLE IF NOT EXISTS taxii_collections (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    filter TEXT NOT NULL,
    created TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS taxii_resume (
    url TEXT NOT NULL,
    collection TEXT NOT NULL,
    added_last TEXT NOT NULL,
    import_id INTEGER NOT NULL REFERENCES imports(id),
    PRIMARY KEY (url, collection)
);

-- 'TSKB: marks the file as ours, so --db never adopts another application's database.
PRAGMA application_id = 1414744898;
PRAGMA user_version = 7;

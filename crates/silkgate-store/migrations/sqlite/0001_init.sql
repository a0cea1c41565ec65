-- Portable SQL: plain types, no SQLite-only syntax beyond what PostgreSQL also accepts.
CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE organisations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    registration_number TEXT NOT NULL,
    sector TEXT NOT NULL,
    contact TEXT NOT NULL,
    hpke_public_key TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    cert_sha256 TEXT NOT NULL
);

CREATE TABLE dataset_versions (
    dataset_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    provider TEXT NOT NULL REFERENCES organisations(id),
    state TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    sector TEXT NOT NULL,
    format TEXT NOT NULL,
    schema_json TEXT NOT NULL,
    visibility_json TEXT NOT NULL,
    size BIGINT NOT NULL,
    published_at BIGINT NOT NULL,
    blob_key TEXT NOT NULL,
    PRIMARY KEY (dataset_id, sha256)
);

CREATE TABLE transfers (
    id TEXT NOT NULL,
    role TEXT NOT NULL,
    consumer TEXT NOT NULL,
    provider TEXT NOT NULL,
    dataset_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    purpose TEXT NOT NULL,
    consumer_hpke_key TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    requested_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    report_json TEXT,
    manifest_json TEXT,
    receipt_json TEXT,
    cipher_blob TEXT,
    PRIMARY KEY (id, role)
);
CREATE INDEX transfers_status ON transfers (status);
CREATE INDEX transfers_consumer ON transfers (consumer);
CREATE INDEX transfers_provider ON transfers (provider);

CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX events_subject ON events (subject);

CREATE TABLE idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

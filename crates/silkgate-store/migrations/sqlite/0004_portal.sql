-- People's accounts of the web portal and their sessions. Portable SQL, like 0001.
CREATE TABLE portal_accounts (
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    org_id TEXT REFERENCES organisations(id),
    password_phc TEXT NOT NULL,
    totp_secret TEXT NOT NULL,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE portal_sessions (
    id_sha256 TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES portal_accounts(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX portal_sessions_account ON portal_sessions (account_id);

-- Supervision reads transfers by time.
CREATE INDEX transfers_requested_at ON transfers (requested_at);

-- Ids of the signed federation messages this node accepted, kept until the message expires,
-- so a captured message replayed before its expiry is refused (after it, its expiry refuses it).
CREATE TABLE federation_seen (
    message_id TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX federation_seen_expiry ON federation_seen (expires_at);

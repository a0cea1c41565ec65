-- The node's transparency log (silkgate-log): entries, complete-subtree hashes, the latest
-- signed checkpoint, and the witness side's memory of other logs. Portable SQL.
CREATE TABLE log_entries (
    idx BIGINT PRIMARY KEY,
    data BLOB NOT NULL
);

-- Hash of the complete subtree of 2^level leaves at index (RFC 6962 / tlog-tiles numbering).
CREATE TABLE log_hashes (
    level INTEGER NOT NULL,
    idx BIGINT NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);

-- One row per log: entries stored, last event logged, latest signed checkpoint.
CREATE TABLE log_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    checkpoint_size BIGINT NOT NULL,
    checkpoint BLOB
);
INSERT INTO log_head (id, size, last_seq, checkpoint_size, checkpoint) VALUES (1, 0, 0, 0, NULL);

-- Every checkpoint this node published, so tests and auditors can check the tree stays
-- consistent with all of them.
CREATE TABLE log_published (
    size BIGINT PRIMARY KEY,
    checkpoint BLOB NOT NULL
);

-- Witness side: the last checkpoint this node cosigned for each other log.
CREATE TABLE witness_state (
    origin TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    checkpoint BLOB NOT NULL
);

-- Operator alerts: two signed checkpoints of one log that are not consistent, kept as evidence.
CREATE TABLE log_alerts (
    id INTEGER PRIMARY KEY,
    at BIGINT NOT NULL,
    origin TEXT NOT NULL,
    reason TEXT NOT NULL,
    known_checkpoint BLOB NOT NULL,
    offered_checkpoint BLOB NOT NULL
);

-- Messages this node owes a peer node (today: usage reports to the provider's node, issue 6).
-- A message is written in the same transaction as the event it reports, so a report is never
-- lost and never sent for a change that was rolled back; the node's outbox task sends it and
-- retries with backoff until the peer acknowledges. `id` is the message's own id, by which the
-- peer de-duplicates; `next_attempt_ms` is Unix milliseconds.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    peer_state TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL,
    last_error TEXT,
    acknowledged_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (acknowledged_at, next_attempt_ms);

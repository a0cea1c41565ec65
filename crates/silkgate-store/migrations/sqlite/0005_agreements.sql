-- Data-sharing agreements (issue 6). `state_json` is the whole signed lifecycle state
-- (`silkgate_model::AgreementState`: the document, both parties' signatures, the authority
-- approvals, and who suspended or ended it); `status` and `revision` repeat what it says so a
-- change can be made compare-and-set. Every change is written with its event.
CREATE TABLE agreements (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    consumer TEXT NOT NULL,
    status TEXT NOT NULL,
    revision BIGINT NOT NULL,
    state_json TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX agreements_provider ON agreements (provider);
CREATE INDEX agreements_consumer ON agreements (consumer);

-- Data subjects delivered under each agreement per calendar year (UTC), against the terms'
-- `max_subjects_per_year`. Updated in the transaction that records the delivery's receipt.
CREATE TABLE agreement_usage (
    agreement_id TEXT NOT NULL REFERENCES agreements (id),
    year BIGINT NOT NULL,
    subjects BIGINT NOT NULL,
    transfers BIGINT NOT NULL,
    PRIMARY KEY (agreement_id, year)
);

-- Per-exporter counts of data subjects sent abroad per calendar year (UTC), which thresholds
-- such as China's 2024 Provisions read cumulatively. Updated in the transaction that records
-- the delivery, so a count never includes a transfer that was not delivered.
CREATE TABLE year_to_date (
    exporter TEXT NOT NULL,
    year BIGINT NOT NULL,
    subjects BIGINT NOT NULL,
    sensitive_subjects BIGINT NOT NULL,
    transfers BIGINT NOT NULL,
    PRIMARY KEY (exporter, year)
);

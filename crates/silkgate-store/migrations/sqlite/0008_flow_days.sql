-- The supervision dashboard's counts, kept as the transfers change rather than counted when
-- the page is asked for. SQLite only (triggers); a PostgreSQL port keeps the same table with
-- its own triggers.
--
-- flow_days: transfers per UTC day, side of this node (role), provider's and consumer's state
-- and status. A year of it is a few tens of thousands of rows whatever the number of
-- transfers, so the chart over time sums it rather than grouping every transfer. The triggers
-- run inside the statement that inserts, changes or deletes the transfer, so the counts
-- change in the same transaction as the transfer's state and can never disagree with it.
CREATE TABLE flow_days (
    day BIGINT NOT NULL,
    role TEXT NOT NULL,
    provider_state TEXT NOT NULL,
    consumer_state TEXT NOT NULL,
    status TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (day, role, provider_state, consumer_state, status)
) WITHOUT ROWID;

INSERT INTO flow_days (day, role, provider_state, consumer_state, status, count)
SELECT requested_at / 86400, role, substr(provider, 1, 2), substr(consumer, 1, 2), status, COUNT(*)
FROM transfers GROUP BY 1, 2, 3, 4, 5;

CREATE TRIGGER flow_days_insert AFTER INSERT ON transfers BEGIN
    INSERT INTO flow_days (day, role, provider_state, consumer_state, status, count)
    VALUES (NEW.requested_at / 86400, NEW.role, substr(NEW.provider, 1, 2), substr(NEW.consumer, 1, 2), NEW.status, 1)
    ON CONFLICT (day, role, provider_state, consumer_state, status) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER flow_days_update AFTER UPDATE OF requested_at, role, provider, consumer, status ON transfers BEGIN
    UPDATE flow_days SET count = count - 1
    WHERE day = OLD.requested_at / 86400 AND role = OLD.role
      AND provider_state = substr(OLD.provider, 1, 2) AND consumer_state = substr(OLD.consumer, 1, 2)
      AND status = OLD.status;
    INSERT INTO flow_days (day, role, provider_state, consumer_state, status, count)
    VALUES (NEW.requested_at / 86400, NEW.role, substr(NEW.provider, 1, 2), substr(NEW.consumer, 1, 2), NEW.status, 1)
    ON CONFLICT (day, role, provider_state, consumer_state, status) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER flow_days_delete AFTER DELETE ON transfers BEGIN
    UPDATE flow_days SET count = count - 1
    WHERE day = OLD.requested_at / 86400 AND role = OLD.role
      AND provider_state = substr(OLD.provider, 1, 2) AND consumer_state = substr(OLD.consumer, 1, 2)
      AND status = OLD.status;
END;

-- The dashboard's counts by organisations and status read this index in its own order, so
-- the database groups as it reads instead of sorting every transfer of the period.
CREATE INDEX transfers_parties ON transfers (provider, consumer, role, status, requested_at);

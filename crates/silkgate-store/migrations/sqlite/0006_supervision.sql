-- The supervision dashboard counts the flows of a period from this index alone (a covering
-- index: it holds every column the counts read), so it never reads the transfers' rows with
-- their reports, and seeks to the period's start.
CREATE INDEX transfers_flow ON transfers (requested_at, role, provider, consumer, status);
-- It starts with requested_at, so it also serves what the 0004 index served.
DROP INDEX transfers_requested_at;

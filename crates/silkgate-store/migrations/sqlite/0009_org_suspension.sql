-- An organisation suspended by its state's authority: while set, no transfer it asks for or
-- provides is accepted by its node. NULL means not suspended; the text is the authority's reason.
ALTER TABLE organisations ADD COLUMN suspended_reason TEXT;

-- 0002_pair_resident: help pairs found by the helped resident, whatever
-- their status.  Applied by onegridd migrate as version 2 of schema
-- "volunteer".
--
-- Why: "needs a pair and has none on the report date" tests the pairs open
-- on that date, closed since or not; pair_open_resident only holds the
-- open ones, so a community's summary hashed every pair of the database
-- to test its few residents in need.
CREATE INDEX pair_resident ON volunteer.pair (resident_id);

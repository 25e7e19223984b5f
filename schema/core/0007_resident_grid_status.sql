-- schema/core/0007_resident_grid_status.sql — a grid's residents by id,
-- with their life status in the index.
--
-- A grid worker's list (GET /api/v1/residents?region=<grid>, active
-- residents by id, a page at a time) picks its page from this index alone:
-- the grid's ids in order and whether each is active, with no visit to the
-- table's rows (an index-only scan: a grid's residents are spread over the
-- whole table, one heap page each).  Only the page's 50 rows are then read.
-- It replaces resident_grid (grid_id, id), which every other use of that
-- index reads the same way, so there is still one index to maintain per
-- insert.
CREATE INDEX resident_grid_status ON core.resident (grid_id, id) INCLUDE (life_status);
DROP INDEX core.resident_grid;

-- 0002_parallel_safe: the party functions are PARALLEL SAFE.  Applied by
-- onegridd migrate as version 2 of schema "party".
--
-- Why: CREATE FUNCTION makes a function PARALLEL UNSAFE unless told, and
-- PostgreSQL plans a whole statement without parallel workers when it names
-- one such function anywhere.  A report summary (core/reports.c) is one
-- statement carrying every plugin's figures, so member_on and stage_on in
-- the party figures kept the core's passes over a district's million
-- residents on one CPU.  These functions only read: they are safe.
ALTER FUNCTION party.member_on(party.member, date) PARALLEL SAFE;
ALTER FUNCTION party.stage_on(party.candidate, date) PARALLEL SAFE;
ALTER FUNCTION party.org_grid(bigint) PARALLEL SAFE;
ALTER FUNCTION party.org_in_scope(bigint, text) PARALLEL SAFE;
ALTER FUNCTION party.quarter_of(date) PARALLEL SAFE;

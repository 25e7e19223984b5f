-- 0002_case_member_case: the members a case counted, found by case.
-- Applied by onegridd migrate as version 2 of schema "civil".
--
-- Why: a report summary counts, for each 低保 case of the region, the
-- members it counted on the report date, removed since or not.
-- case_member_current only holds the members not removed, so without this
-- index a community's summary aggregated the members of every case of the
-- database to read its few.
CREATE INDEX case_member_case ON civil.case_member (case_id);

-- 0003_reports: what reports and ledgers (一表通, 电子台账) need in the
-- database.  No summary tables: every figure is computed from the rows
-- when it is asked for (one pass over core.resident per report), so a
-- report never shows a figure the data no longer supports.  Here: the
-- Chinese words ledgers and traceability rows show for the model's codes
-- (one place, used by the core's SQL and free for plugins to use), and an
-- index for the per-grid pass.

-- Readable values.  IMMUTABLE SQL functions are inlined by the planner.
CREATE FUNCTION core.label_gender(g text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE g WHEN 'male' THEN '男' WHEN 'female' THEN '女' END
$$;

CREATE FUNCTION core.label_residence(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE s WHEN 'registered' THEN '户籍' WHEN 'resident' THEN '常住'
                  WHEN 'floating' THEN '流动' END
$$;

CREATE FUNCTION core.label_life_status(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE s WHEN 'active' THEN '在册' WHEN 'moved_out' THEN '迁出'
                  WHEN 'deceased' THEN '死亡' END
$$;

CREATE FUNCTION core.label_household_kind(k text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE k WHEN 'registered' THEN '户籍户' WHEN 'resident' THEN '常住户'
                  WHEN 'rented' THEN '租住户' WHEN 'collective' THEN '集体户' END
$$;

-- A household's address as a ledger shows it: its free-text address when
-- it has one, else building, unit and room as entered ("3号楼 2单元 301").
CREATE FUNCTION core.household_address(address text, building text, unit text, room text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(nullif(address, ''),
                    nullif(concat_ws(' ', nullif(building, ''), nullif(unit, ''),
                                     nullif(room, '')), ''))
$$;

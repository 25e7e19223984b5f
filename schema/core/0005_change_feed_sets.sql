-- 0005_change_feed_sets: the change feed of buildings, households,
-- residents and resident tags recorded once per statement instead of once
-- per row.  Applied with search_path = core, public inside one transaction
-- by onegridd migrate.
--
-- Why: core.change_record (0002) runs per row — a PL/pgSQL call, a region
-- lookup, an INSERT into core.change and an INSERT ... ON CONFLICT into
-- core.change_tx for every row — and was half the time of a bulk import
-- (docs/performance.md, "Bulk import").  A statement-level trigger with
-- transition tables sees every row the statement wrote and records them
-- with one set-based INSERT ... SELECT, the region paths found by one join,
-- and touches core.change_tx once.
--
-- The feed does not change: the same core.change rows as change_record
-- wrote (entity, entity_id, op, region_path, data — to_jsonb of the row, or
-- the same jsonb_build_object shapes), in the same order within a statement
-- (the transition tables hold the rows in the order the statement wrote
-- them; row_number() over a scan of one keeps that order and ORDER BY
-- carries it into core.change.id, which is the order the commit numbers
-- them in).  An UPDATE still records, per row, a 'remove' under the old
-- region path before the 'upsert' when the row left its region.
-- Numbering is untouched: core.change_commit, deferred to commit under the
-- advisory lock, still gives seq in commit order, so a reader's cursor
-- never skips a transaction that commits late.  A statement that wrote no
-- row records nothing and does not touch core.change_tx (so it takes no
-- commit-time lock, as before when no row trigger fired).
--
-- When these triggers fire: like the row triggers they replace, after the
-- statement, seeing the rows as the statement left them.  Regions keep
-- their row-level trigger (0004): region_away, region_change and
-- region_moved must interleave per row, and regions are written one at a
-- time.  Residents, as before, have no DELETE trigger (never hard-deleted).
--
-- PostgreSQL allows transition tables only on single-event triggers, hence
-- one trigger per event.

CREATE FUNCTION core.change_record_set() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ent text := TG_ARGV[0];
BEGIN
    IF ent = 'resident_tag' THEN
        -- A tag row has no id of its own: it is keyed by resident and tag;
        -- its path is its resident's grid's.  An update records the new row
        -- as an upsert (as change_record did).
        IF TG_OP = 'DELETE' THEN
            INSERT INTO core.change (entity, entity_id, op, region_path, data)
            SELECT ent, (t.r).resident_id, 'remove', g.path,
                   jsonb_build_object('resident_id', (t.r).resident_id, 'tag', (t.r).tag,
                                      'source', (t.r).source)
              FROM (SELECT o AS r, row_number() OVER () AS ord FROM old_rows o) t
              LEFT JOIN core.resident x ON x.id = (t.r).resident_id
              LEFT JOIN core.region g ON g.id = x.grid_id
             ORDER BY t.ord;
        ELSE
            INSERT INTO core.change (entity, entity_id, op, region_path, data)
            SELECT ent, (t.r).resident_id, 'upsert', g.path,
                   jsonb_build_object('resident_id', (t.r).resident_id, 'tag', (t.r).tag,
                                      'source', (t.r).source)
              FROM (SELECT n AS r, row_number() OVER () AS ord FROM new_rows n) t
              LEFT JOIN core.resident x ON x.id = (t.r).resident_id
              LEFT JOIN core.region g ON g.id = x.grid_id
             ORDER BY t.ord;
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO core.change (entity, entity_id, op, region_path, data)
        SELECT ent, (t.r).id, 'upsert', g.path, to_jsonb(t.r)
          FROM (SELECT n AS r, row_number() OVER () AS ord FROM new_rows n) t
          LEFT JOIN core.region g ON g.id = (t.r).grid_id
         ORDER BY t.ord;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO core.change (entity, entity_id, op, region_path, data)
        SELECT ent, (t.r).id, 'remove', g.path, jsonb_build_object('id', (t.r).id)
          FROM (SELECT o AS r, row_number() OVER () AS ord FROM old_rows o) t
          LEFT JOIN core.region g ON g.id = (t.r).grid_id
         ORDER BY t.ord;
    ELSE
        -- UPDATE: old and new rows paired by id.  (An update that changed
        -- an id — nothing does — would record the old id removed and the
        -- new one upserted.)
        WITH n AS (SELECT x AS r, row_number() OVER () AS ord FROM new_rows x),
             o AS (SELECT x AS r, row_number() OVER () AS ord FROM old_rows x),
             p AS (SELECT n.r AS nr, o.r AS orow, coalesce(n.ord, o.ord) AS ord,
                          gn.path AS new_path, go.path AS old_path
                     FROM n FULL JOIN o ON (o.r).id = (n.r).id
                     LEFT JOIN core.region gn ON gn.id = (n.r).grid_id
                     LEFT JOIN core.region go ON go.id = (o.r).grid_id)
        INSERT INTO core.change (entity, entity_id, op, region_path, data)
        SELECT ent, c.id, c.op, c.path, c.data
          FROM (SELECT (orow).id AS id, 'remove' AS op, old_path AS path,
                       jsonb_build_object('id', (orow).id) AS data, ord, 0 AS k
                  FROM p
                 WHERE (orow).id IS NOT NULL
                   AND ((nr).id IS NULL OR old_path IS DISTINCT FROM new_path)
                UNION ALL
                SELECT (nr).id, 'upsert', new_path, to_jsonb(nr), ord, 1
                  FROM p WHERE (nr).id IS NOT NULL) c
         ORDER BY c.ord, c.k;
    END IF;
    IF FOUND THEN
        INSERT INTO core.change_tx VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER building_change ON core.building;
DROP TRIGGER household_change ON core.household;
DROP TRIGGER resident_change ON core.resident;
DROP TRIGGER resident_tag_change ON core.resident_tag;

CREATE TRIGGER building_change_ins AFTER INSERT ON core.building
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.change_record_set('building');
CREATE TRIGGER building_change_upd AFTER UPDATE ON core.building
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.change_record_set('building');
CREATE TRIGGER building_change_del AFTER DELETE ON core.building
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.change_record_set('building');

CREATE TRIGGER household_change_ins AFTER INSERT ON core.household
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.change_record_set('household');
CREATE TRIGGER household_change_upd AFTER UPDATE ON core.household
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.change_record_set('household');
CREATE TRIGGER household_change_del AFTER DELETE ON core.household
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.change_record_set('household');

CREATE TRIGGER resident_change_ins AFTER INSERT ON core.resident
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.change_record_set('resident');
CREATE TRIGGER resident_change_upd AFTER UPDATE ON core.resident
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.change_record_set('resident');

CREATE TRIGGER resident_tag_change_ins AFTER INSERT ON core.resident_tag
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.change_record_set('resident_tag');
CREATE TRIGGER resident_tag_change_upd AFTER UPDATE ON core.resident_tag
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.change_record_set('resident_tag');
CREATE TRIGGER resident_tag_change_del AFTER DELETE ON core.resident_tag
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION core.change_record_set('resident_tag');

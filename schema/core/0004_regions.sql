-- 0004_regions: the change feed follows the region tree when a region is
-- deleted or moves.  Applied with search_path = core, public inside one
-- transaction by onegridd migrate.
--
-- 0002 records region inserts and updates only: a deleted region (the API
-- deletes only regions nothing references) must reach clients as a
-- 'remove' too.
DROP TRIGGER region_change ON core.region;
CREATE TRIGGER region_change AFTER INSERT OR UPDATE OR DELETE ON core.region
    FOR EACH ROW EXECUTE FUNCTION core.change_record('region');

-- A moved grid keeps its buildings, households and residents: they refer
-- to it by id and are not rewritten, yet their region path (and so which
-- scopes see them) changed with the grid's.  A client scoped to the old
-- community must drop them and one scoped to the new community must get
-- them, so the move records, for every row of the moved region, a 'remove'
-- under the old path and an 'upsert' under the new one, in the shapes
-- core.change_record writes.  Triggers of one event fire in name order:
-- region_away (removes, children before parents) runs before region_change
-- records the region itself, region_moved (upserts, parents before
-- children) after it.
CREATE FUNCTION core.region_contents_away() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO core.change (entity, entity_id, op, region_path, data)
    SELECT 'resident_tag', t.resident_id, 'remove', OLD.path,
           jsonb_build_object('resident_id', t.resident_id, 'tag', t.tag, 'source', t.source)
      FROM core.resident_tag t JOIN core.resident x ON x.id = t.resident_id
     WHERE x.grid_id = OLD.id ORDER BY t.resident_id, t.tag;
    INSERT INTO core.change (entity, entity_id, op, region_path, data)
    SELECT 'resident', x.id, 'remove', OLD.path, jsonb_build_object('id', x.id)
      FROM core.resident x WHERE x.grid_id = OLD.id ORDER BY x.id;
    INSERT INTO core.change (entity, entity_id, op, region_path, data)
    SELECT 'household', h.id, 'remove', OLD.path, jsonb_build_object('id', h.id)
      FROM core.household h WHERE h.grid_id = OLD.id ORDER BY h.id;
    INSERT INTO core.change (entity, entity_id, op, region_path, data)
    SELECT 'building', b.id, 'remove', OLD.path, jsonb_build_object('id', b.id)
      FROM core.building b WHERE b.grid_id = OLD.id ORDER BY b.id DESC;
    INSERT INTO core.change_tx VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE FUNCTION core.region_contents_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO core.change (entity, entity_id, op, region_path, data)
    SELECT 'building', b.id, 'upsert', NEW.path, to_jsonb(b)
      FROM core.building b WHERE b.grid_id = NEW.id ORDER BY b.id;
    INSERT INTO core.change (entity, entity_id, op, region_path, data)
    SELECT 'household', h.id, 'upsert', NEW.path, to_jsonb(h)
      FROM core.household h WHERE h.grid_id = NEW.id ORDER BY h.id;
    INSERT INTO core.change (entity, entity_id, op, region_path, data)
    SELECT 'resident', x.id, 'upsert', NEW.path, to_jsonb(x)
      FROM core.resident x WHERE x.grid_id = NEW.id ORDER BY x.id;
    INSERT INTO core.change (entity, entity_id, op, region_path, data)
    SELECT 'resident_tag', t.resident_id, 'upsert', NEW.path,
           jsonb_build_object('resident_id', t.resident_id, 'tag', t.tag, 'source', t.source)
      FROM core.resident_tag t JOIN core.resident x ON x.id = t.resident_id
     WHERE x.grid_id = NEW.id ORDER BY t.resident_id, t.tag;
    INSERT INTO core.change_tx VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER region_away AFTER UPDATE OF path ON core.region
    FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path)
    EXECUTE FUNCTION core.region_contents_away();
CREATE TRIGGER region_moved AFTER UPDATE OF path ON core.region
    FOR EACH ROW WHEN (OLD.path IS DISTINCT FROM NEW.path)
    EXECUTE FUNCTION core.region_contents_moved();

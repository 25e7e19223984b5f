-- 0002_shared_model: buildings, households, residents, life events, tags on
-- residents, idempotent POSTs and the change feed.  The one population
-- model every plugin references by id (DESIGN.md §4): no plugin copies a
-- name, an ID number, an address or household membership.

CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;

-- Courtyards (楼院) and buildings (楼栋) inside a grid; a building may
-- stand in a courtyard.
CREATE TABLE core.building (
    id           bigserial PRIMARY KEY,
    grid_id      bigint NOT NULL REFERENCES core.region(id),
    kind         text NOT NULL DEFAULT 'building' CHECK (kind IN ('courtyard', 'building')),
    parent_id    bigint REFERENCES core.building(id),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    address      text NOT NULL DEFAULT '' CHECK (length(address) <= 200),
    floors       integer CHECK (floors BETWEEN 1 AND 200),
    units        integer CHECK (units BETWEEN 1 AND 100),
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX building_grid ON core.building (grid_id);
CREATE UNIQUE INDEX building_grid_name ON core.building (grid_id, coalesce(parent_id, 0), name);

-- A household (户) belongs to exactly one grid; its address is a
-- building, a unit and a room (or a free-text address where there is no
-- building record).
CREATE TABLE core.household (
    id                bigserial PRIMARY KEY,
    grid_id           bigint NOT NULL REFERENCES core.region(id),
    building_id       bigint REFERENCES core.building(id),
    unit              text CHECK (length(unit) <= 20),
    room              text CHECK (length(room) <= 20),
    address           text NOT NULL DEFAULT '' CHECK (length(address) <= 200),
    kind              text NOT NULL CHECK (kind IN ('registered', 'resident', 'rented', 'collective')),
    household_number  text CHECK (length(household_number) <= 40),
    head_resident_id  bigint,
    version           integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX household_grid ON core.household (grid_id);
CREATE INDEX household_building ON core.household (building_id);

-- Moves of a household to another grid or address, kept for history.
CREATE TABLE core.household_move (
    id                bigserial PRIMARY KEY,
    household_id      bigint NOT NULL REFERENCES core.household(id),
    from_grid_id      bigint NOT NULL REFERENCES core.region(id),
    to_grid_id        bigint NOT NULL REFERENCES core.region(id),
    from_address      jsonb NOT NULL,
    to_address        jsonb NOT NULL,
    moved_on          date NOT NULL,
    reason            text,
    recorded_by       bigint REFERENCES core.app_user(id),
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX household_move_household ON core.household_move (household_id);

-- A resident.  grid_id is where the person lives (and what scopes access);
-- it equals the household's grid whenever there is a household.  Never
-- hard-deleted: moving out and death are life_status changes.
CREATE TABLE core.resident (
    id                   bigserial PRIMARY KEY,
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    id_type              text NOT NULL CHECK (id_type IN ('resident_id', 'passport', 'hmt_permit',
                                                        'foreign_permanent', 'none')),
    id_number            text CHECK (length(id_number) <= 40),
    gender               text CHECK (gender IN ('male', 'female')),
    birth_date           date,
    ethnicity            text CHECK (length(ethnicity) <= 20),
    phone                text CHECK (length(phone) <= 20),
    residence_status     text NOT NULL CHECK (residence_status IN ('registered', 'resident', 'floating')),
    registered_province  text CHECK (length(registered_province) <= 20),
    grid_id              bigint NOT NULL REFERENCES core.region(id),
    household_id         bigint REFERENCES core.household(id),
    relation             text CHECK (length(relation) <= 20),
    life_status          text NOT NULL DEFAULT 'active'
                         CHECK (life_status IN ('active', 'moved_out', 'deceased')),
    life_status_date     date,
    version              integer NOT NULL DEFAULT 1,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((id_type = 'none') = (id_number IS NULL))
);
-- One person, one row, district-wide (and database-wide).
CREATE UNIQUE INDEX resident_id_number ON core.resident (id_number) WHERE id_number IS NOT NULL;
CREATE INDEX resident_grid ON core.resident (grid_id, id);
CREATE INDEX resident_household ON core.resident (household_id);
CREATE INDEX resident_name_trgm ON core.resident USING gin (name gin_trgm_ops);
CREATE INDEX resident_name_prefix ON core.resident (name text_pattern_ops);
CREATE INDEX resident_phone ON core.resident (phone) WHERE phone IS NOT NULL;
CREATE INDEX resident_birth ON core.resident (birth_date);

ALTER TABLE core.household
    ADD CONSTRAINT household_head_fk FOREIGN KEY (head_resident_id) REFERENCES core.resident(id);

-- Life events: moved in, moved out, deceased, household changed.
CREATE TABLE core.resident_event (
    id            bigserial PRIMARY KEY,
    resident_id   bigint NOT NULL REFERENCES core.resident(id),
    kind          text NOT NULL CHECK (kind IN ('moved_in', 'moved_out', 'deceased', 'household_changed')),
    occurred_on   date NOT NULL,
    details       jsonb,
    recorded_by   bigint REFERENCES core.app_user(id),
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resident_event_resident ON core.resident_event (resident_id, id);

-- Tags on residents.  A tag owned by a plugin is set only by that plugin;
-- source names the record that gives it ("civil.case:17").
CREATE TABLE core.resident_tag (
    resident_id  bigint NOT NULL REFERENCES core.resident(id),
    tag          text NOT NULL REFERENCES core.tag(code),
    source       text,
    created_by   bigint REFERENCES core.app_user(id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (resident_id, tag)
);
CREATE INDEX resident_tag_tag ON core.resident_tag (tag, resident_id);

-- Idempotent POSTs: a retried create with the same key returns the first
-- answer.  Keys are per user; the hash tells a retry from a reused key.
CREATE TABLE core.idempotency (
    user_id       bigint NOT NULL REFERENCES core.app_user(id),
    key           text NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    request_hash  text NOT NULL,
    status        integer NOT NULL,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

-- The change feed.  Triggers record every change to the shared model in
-- core.change; a deferred trigger numbers a transaction's changes (seq)
-- at commit under a short advisory lock, so seq order is commit order and
-- a reader that has seen seq N has seen every change committed before it.
-- A row that leaves a region is recorded as a 'remove' under its old
-- region path, so a client scoped to that region drops it.
CREATE SEQUENCE core.change_seq;
CREATE TABLE core.change (
    id           bigserial PRIMARY KEY,
    seq          bigint,
    txid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    entity       text NOT NULL,
    entity_id    bigint NOT NULL,
    op           text NOT NULL CHECK (op IN ('upsert', 'remove')),
    region_path  public.ltree,
    data         jsonb,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX change_by_seq ON core.change (seq) WHERE seq IS NOT NULL;
CREATE INDEX change_unnumbered ON core.change (txid) WHERE seq IS NULL;
CREATE TABLE core.change_tx (txid xid8 PRIMARY KEY);

CREATE FUNCTION core.change_region_path(entity text, r jsonb) RETURNS public.ltree
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN entity = 'region' THEN (r->>'path')::public.ltree
                WHEN entity = 'resident_tag' THEN
                    (SELECT g.path FROM core.resident x JOIN core.region g ON g.id = x.grid_id
                      WHERE x.id = (r->>'resident_id')::bigint)
                ELSE (SELECT path FROM core.region WHERE id = (r->>'grid_id')::bigint) END
$$;

CREATE FUNCTION core.change_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ent text := TG_ARGV[0];
    new_path public.ltree;
    old_path public.ltree;
BEGIN
    IF ent = 'resident_tag' THEN
        -- A tag row has no id of its own: it is keyed by resident and tag.
        INSERT INTO core.change (entity, entity_id, op, region_path, data)
        SELECT ent, t.resident_id, CASE WHEN TG_OP = 'DELETE' THEN 'remove' ELSE 'upsert' END,
               core.change_region_path(ent, to_jsonb(t)),
               jsonb_build_object('resident_id', t.resident_id, 'tag', t.tag, 'source', t.source)
          FROM (SELECT (CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END).*) t;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO core.change (entity, entity_id, op, region_path, data)
        VALUES (ent, OLD.id, 'remove', core.change_region_path(ent, to_jsonb(OLD)),
                jsonb_build_object('id', OLD.id));
    ELSE
        new_path := core.change_region_path(ent, to_jsonb(NEW));
        IF TG_OP = 'UPDATE' THEN
            old_path := core.change_region_path(ent, to_jsonb(OLD));
            IF old_path IS DISTINCT FROM new_path THEN
                INSERT INTO core.change (entity, entity_id, op, region_path, data)
                VALUES (ent, OLD.id, 'remove', old_path, jsonb_build_object('id', OLD.id));
            END IF;
        END IF;
        INSERT INTO core.change (entity, entity_id, op, region_path, data)
        VALUES (ent, NEW.id, 'upsert', new_path, to_jsonb(NEW));
    END IF;
    INSERT INTO core.change_tx VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE FUNCTION core.change_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Held until the transaction ends: the next writer numbers its
    -- changes only after this one is visible.
    PERFORM pg_advisory_xact_lock(5723436342497059918);
    UPDATE core.change c SET seq = s.seq
      FROM (SELECT o.id, nextval('core.change_seq') AS seq
              FROM (SELECT id FROM core.change
                     WHERE txid = NEW.txid AND seq IS NULL ORDER BY id) o) s
     WHERE c.id = s.id;
    DELETE FROM core.change_tx WHERE txid = NEW.txid;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER change_commit AFTER INSERT ON core.change_tx
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION core.change_commit();

CREATE TRIGGER region_change AFTER INSERT OR UPDATE ON core.region
    FOR EACH ROW EXECUTE FUNCTION core.change_record('region');
CREATE TRIGGER building_change AFTER INSERT OR UPDATE OR DELETE ON core.building
    FOR EACH ROW EXECUTE FUNCTION core.change_record('building');
CREATE TRIGGER household_change AFTER INSERT OR UPDATE OR DELETE ON core.household
    FOR EACH ROW EXECUTE FUNCTION core.change_record('household');
CREATE TRIGGER resident_change AFTER INSERT OR UPDATE ON core.resident
    FOR EACH ROW EXECUTE FUNCTION core.change_record('resident');
CREATE TRIGGER resident_tag_change AFTER INSERT OR UPDATE OR DELETE ON core.resident_tag
    FOR EACH ROW EXECUTE FUNCTION core.change_record('resident_tag');

-- 0001_notes: the example plugin's one table.  Applied by onegridd migrate
-- in its own transaction and recorded as version 1 of schema "example".
--
-- A plugin's tables live in a schema named after the plugin and refer to
-- the shared model (core.region, core.resident, core.household, ...) by id;
-- they never copy its columns.  Every mutable row carries a version for
-- optimistic concurrency (PATCH sends the version it read).  The migrate
-- engine creates the schema and sets search_path = example, core, public;
-- names are qualified anyway so the file reads the same everywhere.

CREATE TABLE example.note (
    id          bigserial PRIMARY KEY,
    region_id   bigint NOT NULL REFERENCES core.region(id),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    version     integer NOT NULL DEFAULT 1,
    created_by  bigint REFERENCES core.app_user(id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Lists join the region to filter by scope; the indicator groups by it.
CREATE INDEX note_region ON example.note (region_id);

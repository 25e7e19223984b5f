-- 0001_init: the region tree, users, roles, permissions, tokens, audit,
-- plugin enablement and the tag vocabulary.  Applied with
-- search_path = core, public inside one transaction by onegridd migrate.

CREATE EXTENSION IF NOT EXISTS ltree WITH SCHEMA public;

-- The region tree district -> street -> community -> grid.  path is the
-- chain of ids ("1.4.9"), so "everything under a region" is one indexed
-- ltree predicate (path <@ $scope).
CREATE TABLE core.region (
    id          bigserial PRIMARY KEY,
    parent_id   bigint REFERENCES core.region(id),
    level       text NOT NULL CHECK (level IN ('district', 'street', 'community', 'grid')),
    code        text NOT NULL,
    name        text NOT NULL,
    path        public.ltree NOT NULL,
    closed_on   date,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((level = 'district') = (parent_id IS NULL))
);
CREATE UNIQUE INDEX region_sibling_code ON core.region (coalesce(parent_id, 0), code);
CREATE INDEX region_path_gist ON core.region USING gist (path);
CREATE INDEX region_parent ON core.region (parent_id);

-- Roles, ranked: a user may only manage users of a lower rank.
CREATE TABLE core.role (
    name   text PRIMARY KEY,
    label  text NOT NULL,
    rank   integer NOT NULL UNIQUE
);
INSERT INTO core.role (name, label, rank) VALUES
    ('admin',       '系统管理员', 0),
    ('district',    '区级用户',   1),
    ('street',      '街道用户',   2),
    ('community',   '社区工作者', 3),
    ('grid_worker', '网格员',     4);

-- Permissions are registered by the core and by plugins at start-up
-- (owner = 'core' or the plugin name); role grants say which role holds
-- which.  The admin role holds every permission implicitly.
CREATE TABLE core.permission (
    code   text PRIMARY KEY,
    label  text NOT NULL,
    owner  text NOT NULL
);
CREATE TABLE core.role_permission (
    role        text NOT NULL REFERENCES core.role(name),
    permission  text NOT NULL REFERENCES core.permission(code) ON DELETE CASCADE,
    PRIMARY KEY (role, permission)
);

CREATE TABLE core.app_user (
    id               bigserial PRIMARY KEY,
    username         text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    display_name     text NOT NULL DEFAULT '',
    password_hash    text NOT NULL,
    role             text NOT NULL REFERENCES core.role(name),
    scope_region_id  bigint REFERENCES core.region(id),
    active           boolean NOT NULL DEFAULT true,
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'admin') OR scope_region_id IS NOT NULL)
);

-- Bearer tokens are stored only as their SHA-256.
CREATE TABLE core.token (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES core.app_user(id),
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX token_user ON core.token (user_id);

-- Login attempts, for rate limiting per user and per address across every
-- worker and host.
CREATE TABLE core.login_attempt (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    username  text NOT NULL,
    address   text NOT NULL,
    success   boolean NOT NULL
);
CREATE INDEX login_attempt_user ON core.login_attempt (username, at);
CREATE INDEX login_attempt_addr ON core.login_attempt (address, at);

-- Audit: every write, in the transaction of the write.
CREATE TABLE core.audit (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    user_id      bigint,
    username     text,
    request_id   text,
    action       text NOT NULL,
    entity       text NOT NULL,
    entity_id    text,
    region_path  public.ltree,
    before       jsonb,
    after        jsonb
);
CREATE INDEX audit_entity ON core.audit (entity, entity_id, id);
CREATE INDEX audit_region ON core.audit USING gist (region_path);

-- Plugins a district has switched off or on; no row means enabled.
CREATE TABLE core.plugin_enablement (
    district_id  bigint NOT NULL REFERENCES core.region(id),
    plugin       text NOT NULL,
    enabled      boolean NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   bigint REFERENCES core.app_user(id),
    PRIMARY KEY (district_id, plugin)
);

-- One vocabulary of resident labels, each owned by the core or a plugin.
CREATE TABLE core.tag (
    code   text PRIMARY KEY,
    label  text NOT NULL,
    owner  text NOT NULL
);

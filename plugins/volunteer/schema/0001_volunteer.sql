-- 0001_volunteer: the volunteer service (志愿服务) plugin's tables.  Applied
-- by onegridd migrate in its own transaction as version 1 of schema
-- "volunteer".
--
-- Teams attached to a region with a leader; volunteers, who are residents
-- of the shared model (by id: never a copied name, ID number, phone or
-- address); service records (who served whom or what, when, how many
-- hours, verified by whom: only verified hours count anywhere); help pairs
-- (结对帮扶) between a volunteer and a resident who needs help; and help
-- requests that a grid worker files for a resident, a team leader assigns
-- and a service record closes.
--
-- Nothing here depends on the party or civil plugins: party membership and
-- extreme hardship (特困) are read from core.resident_tag when those
-- plugins have put their tags there.

CREATE TABLE volunteer.team (
    id                  bigserial PRIMARY KEY,
    region_id           bigint NOT NULL REFERENCES core.region(id),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    leader_resident_id  bigint NOT NULL REFERENCES core.resident(id),
    description         text CHECK (length(description) <= 500),
    active              boolean NOT NULL DEFAULT true,
    version             integer NOT NULL DEFAULT 1,
    created_by          bigint REFERENCES core.app_user(id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- A team's name is unique within its region.
CREATE UNIQUE INDEX team_region_name ON volunteer.team (region_id, name);

-- One row per person: a resident is a volunteer once (in one team or none).
CREATE TABLE volunteer.volunteer (
    id            bigserial PRIMARY KEY,
    resident_id   bigint NOT NULL UNIQUE REFERENCES core.resident(id),
    team_id       bigint REFERENCES volunteer.team(id),
    skills        text[] NOT NULL DEFAULT '{}',
    availability  text CHECK (length(availability) <= 200),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    joined_on     date NOT NULL DEFAULT current_date,
    note          text CHECK (length(note) <= 500),
    version       integer NOT NULL DEFAULT 1,
    created_by    bigint REFERENCES core.app_user(id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX volunteer_team ON volunteer.volunteer (team_id);

-- 结对帮扶: one open pair per helped resident (the candidates list is
-- "needs a pair and has none").
CREATE TABLE volunteer.pair (
    id            bigserial PRIMARY KEY,
    volunteer_id  bigint NOT NULL REFERENCES volunteer.volunteer(id),
    resident_id   bigint NOT NULL REFERENCES core.resident(id),
    started_on    date NOT NULL DEFAULT current_date,
    basis         text[] NOT NULL DEFAULT '{}',  -- why: age_80_plus, lives_alone, disabled, tekun
    note          text CHECK (length(note) <= 500),
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_on     date,
    close_kind    text CHECK (close_kind IN ('resident_deceased', 'resident_moved_out',
                                             'volunteer_left', 'manual')),
    close_reason  text CHECK (length(close_reason) <= 500),
    closed_by     bigint REFERENCES core.app_user(id),
    version       integer NOT NULL DEFAULT 1,
    created_by    bigint REFERENCES core.app_user(id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'closed') = (closed_on IS NOT NULL)),
    CHECK (closed_on IS NULL OR closed_on >= started_on)
);
CREATE UNIQUE INDEX pair_open_resident ON volunteer.pair (resident_id) WHERE status = 'open';
CREATE INDEX pair_volunteer ON volunteer.pair (volunteer_id);

-- A help request (求助): filed by a grid worker for a resident, assigned
-- to a volunteer, closed by the service record of the help given — or
-- cancelled with a reason (by hand, or when the resident dies or moves
-- out).  closed_on is the day it stopped being open either way.
CREATE TABLE volunteer.request (
    id                     bigserial PRIMARY KEY,
    resident_id            bigint NOT NULL REFERENCES core.resident(id),
    kind                   text NOT NULL,
    need                   text NOT NULL CHECK (length(need) BETWEEN 1 AND 500),
    requested_on           date NOT NULL DEFAULT current_date,
    status                 text NOT NULL DEFAULT 'open'
                           CHECK (status IN ('open', 'assigned', 'closed', 'cancelled')),
    cancel_reason          text CHECK (length(cancel_reason) <= 500),
    team_id                bigint REFERENCES volunteer.team(id),
    assigned_volunteer_id  bigint REFERENCES volunteer.volunteer(id),
    assigned_by            bigint REFERENCES core.app_user(id),
    assigned_at            timestamptz,
    closed_on              date,
    closed_by              bigint REFERENCES core.app_user(id),
    version                integer NOT NULL DEFAULT 1,
    created_by             bigint REFERENCES core.app_user(id),
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'open' OR assigned_volunteer_id IS NULL),
    CHECK (status NOT IN ('assigned', 'closed') OR assigned_volunteer_id IS NOT NULL),
    CHECK ((status IN ('closed', 'cancelled')) = (closed_on IS NOT NULL)),
    CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL))
);
CREATE INDEX request_resident ON volunteer.request (resident_id);

-- Service records: hours count only once verified_at is set (by someone
-- other than the recorder, checked by the API).
CREATE TABLE volunteer.service_record (
    id                  bigserial PRIMARY KEY,
    volunteer_id        bigint NOT NULL REFERENCES volunteer.volunteer(id),
    team_id             bigint REFERENCES volunteer.team(id),
    served_resident_id  bigint REFERENCES core.resident(id),
    subject             text CHECK (length(subject) <= 200),  -- what, when not whom
    kind                text NOT NULL,
    served_on           date NOT NULL,
    hours               numeric(5, 2) NOT NULL CHECK (hours > 0 AND hours <= 24),
    note                text CHECK (length(note) <= 500),
    pair_id             bigint REFERENCES volunteer.pair(id),
    request_id          bigint UNIQUE REFERENCES volunteer.request(id),
    verified_by         bigint REFERENCES core.app_user(id),
    verified_at         timestamptz,
    version             integer NOT NULL DEFAULT 1,
    created_by          bigint REFERENCES core.app_user(id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (served_resident_id IS NOT NULL OR subject IS NOT NULL),
    CHECK ((verified_by IS NULL) = (verified_at IS NULL))
);
CREATE INDEX service_record_volunteer ON volunteer.service_record (volunteer_id, served_on);
CREATE INDEX service_record_pair ON volunteer.service_record (pair_id);

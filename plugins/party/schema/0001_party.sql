-- 0001_party: the party building (党建) plugin's tables.  Applied by
-- onegridd migrate in its own transaction as version 1 of schema "party".
--
-- Organisations (committee / general branch / branch) in a tree, each
-- attached to one or more regions (a grid party branch to its grid(s), a
-- community committee to its community); members, who are residents of
-- the shared model referenced by id; transfers between branches (history,
-- never overwritten); the development pipeline with the date of each step;
-- quarterly thought reports; meetings (三会一课) with attendance; volunteer
-- activities of in-service members with the feedback to their employer.
--
-- Nothing here copies a name, an ID number, a phone, a birth date or an
-- address: every reader joins core.resident.  Gender and age in the
-- indicators come from the shared model on the report date.

-- ---------------------------------------------------------------------
-- Organisations.  region_ids: the regions the organisation is attached
-- to, the first being its home (audit rows and scope use all of them);
-- officers are residents by id.
CREATE TABLE party.org (
    id                     bigserial PRIMARY KEY,
    parent_id              bigint REFERENCES party.org(id),
    kind                   text NOT NULL CHECK (kind IN ('committee', 'general_branch', 'branch')),
    name                   text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    region_ids             bigint[] NOT NULL CHECK (cardinality(region_ids) BETWEEN 1 AND 50),
    secretary_resident_id  bigint REFERENCES core.resident(id),
    committee_resident_ids bigint[] NOT NULL DEFAULT '{}',
    dissolved_on           date,
    version                integer NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX org_parent ON party.org (parent_id);
CREATE INDEX org_regions ON party.org USING gin (region_ids);

-- Is organisation o attached to a region inside scope s ('' = everything)?
CREATE FUNCTION party.org_in_scope(o bigint, s text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT s = '' OR EXISTS (SELECT 1 FROM party.org x JOIN core.region r
                              ON r.id = ANY (x.region_ids)
                             WHERE x.id = o AND r.path <@ s::ltree)
$$;

-- The grid an organisation's figures are counted in: its first attached
-- grid (NULL for an organisation attached to no grid, e.g. a committee).
CREATE FUNCTION party.org_grid(o bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT r.id FROM party.org x, unnest(x.region_ids) WITH ORDINALITY AS u(id, n)
      JOIN core.region r ON r.id = u.id
     WHERE x.id = o AND r.level = 'grid' ORDER BY u.n LIMIT 1
$$;

-- ---------------------------------------------------------------------
-- Members.  One row per resident (one person, one membership record);
-- category and dates as the branch keeps them; status follows transfers
-- out and the shared model's death event.
CREATE TABLE party.member (
    id               bigserial PRIMARY KEY,
    resident_id      bigint NOT NULL UNIQUE REFERENCES core.resident(id),
    org_id           bigint NOT NULL REFERENCES party.org(id),
    category         text NOT NULL CHECK (category IN ('full', 'probationary')),
    join_date        date NOT NULL,
    conversion_date  date CHECK (conversion_date >= join_date + interval '1 year'),
    origin           text NOT NULL CHECK (origin IN ('community', 'in_service', 'retired',
                                                      'floating')),
    employer         text CHECK (length(employer) <= 100),
    reported_on      date,   -- 在职党员报到: the day an in-service member reported
    status           text NOT NULL DEFAULT 'normal'
                     CHECK (status IN ('normal', 'transferred_out', 'deceased')),
    status_date      date,
    note             text CHECK (length(note) <= 500),
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (category = 'full' OR conversion_date IS NULL),
    CHECK ((status = 'normal') = (status_date IS NULL))
);
CREATE INDEX member_org ON party.member (org_id);

-- Transfers (组织关系转接): every move between branches, and out.
CREATE TABLE party.transfer (
    id              bigserial PRIMARY KEY,
    member_id       bigint NOT NULL REFERENCES party.member(id),
    from_org_id     bigint REFERENCES party.org(id),
    to_org_id       bigint REFERENCES party.org(id),  -- NULL: out of the district's tree
    destination     text CHECK (length(destination) <= 200),
    transferred_on  date NOT NULL,
    note            text CHECK (length(note) <= 500),
    by_user         bigint REFERENCES core.app_user(id),
    recorded_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transfer_member ON party.transfer (member_id, id);

-- ---------------------------------------------------------------------
-- The development pipeline: applicant (入党申请人) -> activist (积极分子)
-- -> target (发展对象) -> probationary (预备党员) -> full (正式党员); the
-- date of each step is kept, so the stage on any date is known.
CREATE TABLE party.candidate (
    id               bigserial PRIMARY KEY,
    resident_id      bigint NOT NULL REFERENCES core.resident(id),
    org_id           bigint NOT NULL REFERENCES party.org(id),
    stage            text NOT NULL CHECK (stage IN ('applicant', 'activist', 'target',
                                                   'probationary', 'full', 'withdrawn')),
    applied_on       date NOT NULL,
    activist_on      date,
    target_on        date,
    probationary_on  date,
    full_on          date,
    withdrawn_on     date,
    withdrawn_reason text CHECK (length(withdrawn_reason) <= 200),
    member_id        bigint REFERENCES party.member(id),
    version          integer NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- One open record per person.
CREATE UNIQUE INDEX candidate_open ON party.candidate (resident_id)
    WHERE stage NOT IN ('full', 'withdrawn');
CREATE INDEX candidate_org ON party.candidate (org_id);

-- The stage of candidate c on date d (NULL before the application).
CREATE FUNCTION party.stage_on(c party.candidate, d date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN c.applied_on > d THEN NULL
        WHEN c.withdrawn_on <= d THEN 'withdrawn'
        WHEN c.full_on <= d THEN 'full'
        WHEN c.probationary_on <= d THEN 'probationary'
        WHEN c.target_on <= d THEN 'target'
        WHEN c.activist_on <= d THEN 'activist'
        ELSE 'applicant' END
$$;

-- Quarterly thought reports (思想汇报), one per person and quarter.
CREATE TABLE party.thought_report (
    id            bigserial PRIMARY KEY,
    candidate_id  bigint NOT NULL REFERENCES party.candidate(id),
    quarter       text NOT NULL CHECK (quarter ~ '^[0-9]{4}Q[1-4]$'),
    submitted_on  date NOT NULL,
    summary       text CHECK (length(summary) <= 500),
    by_user       bigint REFERENCES core.app_user(id),
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (candidate_id, quarter)
);

-- The quarter of a date, written 2026Q4.
CREATE FUNCTION party.quarter_of(d date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT extract(year FROM d)::int || 'Q' || extract(quarter FROM d)::int
$$;

-- ---------------------------------------------------------------------
-- Meetings: 三会一课.  The minimum a branch holds per quarter is a row of
-- meeting_kind (支部党员大会 quarterly, 支委会 and 党小组会 monthly, 党课
-- quarterly).
CREATE TABLE party.meeting_kind (
    code         text PRIMARY KEY,
    label        text NOT NULL,
    per_quarter  integer NOT NULL CHECK (per_quarter >= 0),
    ord          integer NOT NULL
);
INSERT INTO party.meeting_kind (code, label, per_quarter, ord) VALUES
    ('branch_meeting', '支部党员大会', 1, 1),
    ('committee_meeting', '支部委员会', 3, 2),
    ('group_meeting', '党小组会', 3, 3),
    ('lecture', '党课', 1, 4);

CREATE TABLE party.meeting (
    id          bigserial PRIMARY KEY,
    org_id      bigint NOT NULL REFERENCES party.org(id),
    kind        text NOT NULL REFERENCES party.meeting_kind(code),
    held_on     date NOT NULL,
    topic       text NOT NULL CHECK (length(topic) BETWEEN 1 AND 200),
    note        text CHECK (length(note) <= 500),
    created_by  bigint REFERENCES core.app_user(id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX meeting_org ON party.meeting (org_id, held_on);

CREATE TABLE party.attendance (
    meeting_id  bigint NOT NULL REFERENCES party.meeting(id),
    member_id   bigint NOT NULL REFERENCES party.member(id),
    PRIMARY KEY (meeting_id, member_id)
);
CREATE INDEX attendance_member ON party.attendance (member_id);

-- Volunteer activities of members (在职党员活动登记与反馈): what they did
-- in the community, and when it was reported back to their employer.
CREATE TABLE party.activity (
    id             bigserial PRIMARY KEY,
    member_id      bigint NOT NULL REFERENCES party.member(id),
    held_on        date NOT NULL,
    title          text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    hours          numeric(5,1) NOT NULL DEFAULT 0 CHECK (hours >= 0 AND hours <= 24),
    fed_back_on    date,
    created_by     bigint REFERENCES core.app_user(id),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_member ON party.activity (member_id, held_on);

-- A member counted on date d: joined by then, and not yet gone.
CREATE FUNCTION party.member_on(m party.member, d date) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT m.join_date <= d AND (m.status = 'normal' OR m.status_date > d)
$$;

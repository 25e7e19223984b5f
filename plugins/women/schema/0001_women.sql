-- 0001_women: the women's federation (妇联) plugin's tables.  Applied by
-- onegridd migrate in its own transaction as version 1 of schema "women".
--
-- Counts of women, girls and children are not kept here at all: they are
-- read from core.resident (gender, birth date, residence status).  What is
-- kept: rights-protection cases (维权) with their parties, actions and
-- referrals; children's care follow-up (流动儿童, 困境儿童) with visits;
-- activities (三八, 六一, family education, health) with their participants;
-- honours (最美家庭, 平安家庭) given to households.
--
-- Nothing here copies a resident's name, ID number, phone or address: rows
-- point at core.resident / core.household / core.region by id.  The one
-- exception is by design: a party of a rights case who is not in the shared
-- model (a spouse living elsewhere, say) is named in women.case_party.name,
-- kept only with the case and never shown outside it.

-- ---------------------------------------------------------------------
-- Rights-protection cases (维权).  Sensitive: the API shows them only to
-- their handler and to holders of women.case.read in scope, and audits
-- every read.  A case belongs to a grid (where the complainant lives, or
-- where it was taken in), which scopes it.
CREATE TABLE women.rights_case (
    id          bigserial PRIMARY KEY,
    grid_id     bigint NOT NULL REFERENCES core.region(id),
    intake_on   date NOT NULL,
    channel     text NOT NULL CHECK (channel IN ('visit', 'phone', 'referral')),
    category    text NOT NULL CHECK (category IN ('domestic_violence', 'marriage_family',
                                                  'property', 'employment', 'other')),
    summary     text CHECK (length(summary) <= 2000),
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_on   date,
    closure     text CHECK (length(closure) <= 1000),
    handler_id  bigint NOT NULL REFERENCES core.app_user(id),
    created_by  bigint REFERENCES core.app_user(id),
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'closed') = (closed_on IS NOT NULL)),
    CHECK (closed_on IS NULL OR closed_on >= intake_on)
);
CREATE INDEX rights_case_grid ON women.rights_case (grid_id, id);
CREATE INDEX rights_case_handler ON women.rights_case (handler_id, id);

-- Parties: a resident of the shared model by id, or (someone not in it) a
-- name kept only here.
CREATE TABLE women.case_party (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES women.rights_case(id),
    role         text NOT NULL CHECK (role IN ('complainant', 'respondent', 'child', 'other')),
    resident_id  bigint REFERENCES core.resident(id),
    name         text CHECK (length(name) BETWEEN 1 AND 100),
    note         text CHECK (length(note) <= 500),
    CHECK ((resident_id IS NULL) <> (name IS NULL))
);
CREATE INDEX case_party_case ON women.case_party (case_id, id);
CREATE INDEX case_party_resident ON women.case_party (resident_id) WHERE resident_id IS NOT NULL;

-- Actions taken and referrals made, dated, by whom.
CREATE TABLE women.case_action (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES women.rights_case(id),
    acted_on     date NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('action', 'referral')),
    referral_to  text CHECK (referral_to IN ('police', 'court', 'legal_aid', 'shelter')),
    note         text NOT NULL CHECK (length(note) BETWEEN 1 AND 1000),
    by_user      bigint REFERENCES core.app_user(id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'referral') = (referral_to IS NOT NULL))
);
CREATE INDEX case_action_case ON women.case_action (case_id, id);

-- ---------------------------------------------------------------------
-- Children's care follow-up: one record per child and programme while
-- open (floating children 流动儿童, children in difficulty 困境儿童).
CREATE TABLE women.child_care (
    id            bigserial PRIMARY KEY,
    resident_id   bigint NOT NULL REFERENCES core.resident(id),
    programme     text NOT NULL CHECK (programme IN ('floating', 'disadvantaged')),
    project       text CHECK (length(project) <= 100),   -- 青苗计划, 大手拉小手 ...
    needs         text CHECK (length(needs) <= 1000),
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    started_on    date NOT NULL,
    closed_on     date,
    created_by    bigint REFERENCES core.app_user(id),
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'closed') = (closed_on IS NOT NULL))
);
CREATE UNIQUE INDEX child_care_open ON women.child_care (resident_id, programme)
    WHERE status = 'open';

CREATE TABLE women.child_visit (
    id          bigserial PRIMARY KEY,
    care_id     bigint NOT NULL REFERENCES women.child_care(id),
    visited_on  date NOT NULL,
    needs       text CHECK (length(needs) <= 1000),
    help        text CHECK (length(help) <= 1000),
    helper      text NOT NULL CHECK (length(helper) BETWEEN 1 AND 100),  -- who helped
    by_user     bigint REFERENCES core.app_user(id),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX child_visit_care ON women.child_visit (care_id, id);

-- ---------------------------------------------------------------------
-- Activities, held in a grid (their venue, which scopes them).
CREATE TABLE women.activity (
    id          bigserial PRIMARY KEY,
    grid_id     bigint NOT NULL REFERENCES core.region(id),
    kind        text NOT NULL CHECK (kind IN ('womens_day', 'childrens_day',
                                              'family_education', 'health', 'other')),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    held_on     date NOT NULL,
    organiser   text NOT NULL CHECK (length(organiser) BETWEEN 1 AND 100),
    note        text CHECK (length(note) <= 1000),
    created_by  bigint REFERENCES core.app_user(id),
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_grid ON women.activity (grid_id, held_on);

-- A resident takes part in an activity once, however often added.
CREATE TABLE women.activity_participant (
    activity_id  bigint NOT NULL REFERENCES women.activity(id),
    resident_id  bigint NOT NULL REFERENCES core.resident(id),
    added_by     bigint REFERENCES core.app_user(id),
    added_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (activity_id, resident_id)
);

-- ---------------------------------------------------------------------
-- Honours given to households, one per household, title and year.
CREATE TABLE women.honour (
    id            bigserial PRIMARY KEY,
    household_id  bigint NOT NULL REFERENCES core.household(id),
    title         text NOT NULL CHECK (title IN ('most_beautiful_family', 'safe_family')),
    year          integer NOT NULL CHECK (year BETWEEN 1990 AND 2999),
    awarded_on    date NOT NULL,
    awarded_by    text NOT NULL CHECK (length(awarded_by) BETWEEN 1 AND 100),
    note          text CHECK (length(note) <= 500),
    created_by    bigint REFERENCES core.app_user(id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (household_id, title, year)
);

-- 0001_civil: the civil affairs (民政) plugin's tables.  Applied by
-- onegridd migrate in its own transaction as version 1 of schema "civil".
--
-- Programmes (低保, 特困, 高龄津贴, 残疾人两项补贴) with their required
-- document checklists; benefit cases that belong to a household (低保) or
-- a resident (the others) and move through a state machine whose legal
-- steps are rows of civil.transition (the API and a trigger read the same
-- table, so no code path can take a step that is not listed); every step
-- as a dated case_event; the documents on file; the flags the shared
-- model's events raise; the members a case counts (ids only); and one
-- setting per district (the elderly allowance age).
--
-- Nothing here copies a name, an ID number, an address or household
-- membership: cases point at core.household / core.resident by id and every
-- reader joins.  case_member keeps only ids and dates: which residents the
-- case counted from when to when (the members are the shared model's; the
-- snapshot is what lets a later change be noticed and reviewed instead of
-- silently followed).  Money is integer fen (bigint), never floating point.

-- ---------------------------------------------------------------------
-- Programmes and their checklists.  Seeded here; an administrator may
-- change the notice days, review interval and default amount through
-- PATCH /api/v1/civil/programmes/{code}.
CREATE TABLE civil.programme (
    code                text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,31}$'),
    name                text NOT NULL,
    short_name          text NOT NULL,
    unit                text NOT NULL CHECK (unit IN ('household', 'person')),
    notice_days         integer NOT NULL CHECK (notice_days BETWEEN 0 AND 60),
    review_months       integer NOT NULL CHECK (review_months BETWEEN 1 AND 60),
    default_amount_fen  bigint CHECK (default_amount_fen BETWEEN 0 AND 100000000),
    tag                 text,            -- the resident tag an active case gives, or NULL
    ord                 integer NOT NULL,
    version             integer NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- 公示 7 days (民政部《最低生活保障审核确认办法》); 低保 reviewed every 6
-- months (households with unstable income), the others yearly.
INSERT INTO civil.programme
    (code, name, short_name, unit, notice_days, review_months, default_amount_fen, tag, ord)
VALUES
    ('dibao', '城乡最低生活保障', '低保', 'household', 7, 6, NULL, 'dibao', 1),
    ('tekun', '特困人员救助供养', '特困', 'person', 7, 12, NULL, 'tekun', 2),
    ('elderly', '高龄津贴', '高龄津贴', 'person', 7, 12, 10000, NULL, 3),
    ('disability', '残疾人两项补贴', '残疾人两项补贴', 'person', 7, 12, NULL, NULL, 4);

CREATE TABLE civil.programme_document (
    programme  text NOT NULL REFERENCES civil.programme(code),
    code       text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{0,31}$'),
    label      text NOT NULL,
    ord        integer NOT NULL,
    PRIMARY KEY (programme, code)
);

INSERT INTO civil.programme_document (programme, code, label, ord) VALUES
    ('dibao', 'application', '低保申请书', 1),
    ('dibao', 'id_card', '家庭成员身份证复印件', 2),
    ('dibao', 'hukou', '户口簿复印件', 3),
    ('dibao', 'income', '家庭收入证明', 4),
    ('dibao', 'property', '家庭财产申报及经济状况核对授权书', 5),
    ('dibao', 'investigation', '入户调查表', 6),
    ('tekun', 'application', '特困人员救助供养申请书', 1),
    ('tekun', 'id_card', '身份证复印件', 2),
    ('tekun', 'hukou', '户口簿复印件', 3),
    ('tekun', 'income', '收入及财产状况证明', 4),
    ('tekun', 'incapacity', '丧失劳动能力证明', 5),
    ('tekun', 'investigation', '入户调查表', 6),
    ('elderly', 'application', '高龄津贴申请表', 1),
    ('elderly', 'id_card', '身份证复印件', 2),
    ('elderly', 'hukou', '户口簿复印件', 3),
    ('elderly', 'bank', '社会保障卡(银行账户)复印件', 4),
    ('disability', 'application', '残疾人两项补贴申请表', 1),
    ('disability', 'id_card', '身份证复印件', 2),
    ('disability', 'disability_cert', '残疾人证复印件', 3),
    ('disability', 'hukou', '户口簿复印件', 4);

-- ---------------------------------------------------------------------
-- The state machine.  permission: what the caller needs to take the step
-- (community staff investigate, street staff approve; see civil.c).
CREATE TABLE civil.transition (
    from_status  text NOT NULL,
    to_status    text NOT NULL,
    permission   text NOT NULL,
    ord          integer NOT NULL,
    PRIMARY KEY (from_status, to_status)
);

INSERT INTO civil.transition (from_status, to_status, permission, ord) VALUES
    ('application', 'investigation', 'civil.case.investigate', 1),
    ('application', 'rejected', 'civil.case.approve', 2),
    ('investigation', 'public_notice', 'civil.case.investigate', 1),
    ('investigation', 'rejected', 'civil.case.approve', 2),
    ('public_notice', 'approved', 'civil.case.approve', 1),
    ('public_notice', 'rejected', 'civil.case.approve', 2),
    ('approved', 'active', 'civil.case.approve', 1),
    ('active', 'review_due', 'civil.case.investigate', 1),
    ('active', 'suspended', 'civil.case.approve', 2),
    ('active', 'terminated', 'civil.case.approve', 3),
    ('review_due', 'active', 'civil.case.approve', 1),
    ('review_due', 'suspended', 'civil.case.approve', 2),
    ('review_due', 'terminated', 'civil.case.approve', 3),
    ('suspended', 'active', 'civil.case.approve', 1),
    ('suspended', 'terminated', 'civil.case.approve', 2);

-- ---------------------------------------------------------------------
-- A benefit case.  Exactly one of household_id (programme unit household)
-- and resident_id (unit person); the API checks which one the programme
-- takes.  notice_*: the public notice (公示), from notice_start for
-- notice_days days; approval is possible from notice_start + notice_days.
CREATE TABLE civil.benefit_case (
    id                  bigserial PRIMARY KEY,
    programme           text NOT NULL REFERENCES civil.programme(code),
    household_id        bigint REFERENCES core.household(id),
    resident_id         bigint REFERENCES core.resident(id),
    status              text NOT NULL DEFAULT 'application'
                        CHECK (status IN ('application', 'investigation', 'public_notice',
                                          'approved', 'rejected', 'active', 'review_due',
                                          'suspended', 'terminated')),
    applied_on          date NOT NULL,
    notice_start        date,
    notice_days         integer CHECK (notice_days BETWEEN 0 AND 60),
    monthly_amount_fen  bigint CHECK (monthly_amount_fen BETWEEN 0 AND 100000000),
    start_on            date,
    next_review_on      date,
    note                text CHECK (length(note) <= 500),
    version             integer NOT NULL DEFAULT 1,
    created_by          bigint REFERENCES core.app_user(id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(household_id, resident_id) = 1)
);
-- One open case per programme and household / resident: a second
-- application while one is in progress (or paid) is a duplicate.
CREATE UNIQUE INDEX benefit_case_open_household ON civil.benefit_case (programme, household_id)
    WHERE household_id IS NOT NULL AND status NOT IN ('rejected', 'terminated');
CREATE UNIQUE INDEX benefit_case_open_resident ON civil.benefit_case (programme, resident_id)
    WHERE resident_id IS NOT NULL AND status NOT IN ('rejected', 'terminated');
CREATE INDEX benefit_case_household ON civil.benefit_case (household_id);
CREATE INDEX benefit_case_resident ON civil.benefit_case (resident_id);
CREATE INDEX benefit_case_status ON civil.benefit_case (status, programme);

-- The status column changes only along civil.transition, whoever writes.
CREATE FUNCTION civil.check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'application' THEN
            RAISE EXCEPTION 'a civil case starts as an application, not %', NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
            SELECT 1 FROM civil.transition t
             WHERE t.from_status = OLD.status AND t.to_status = NEW.status) THEN
        RAISE EXCEPTION 'civil case %: % -> % is not a step of the state machine',
            OLD.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER benefit_case_transition BEFORE INSERT OR UPDATE OF status ON civil.benefit_case
    FOR EACH ROW EXECUTE FUNCTION civil.check_transition();

-- Every step of a case: dated (occurred_on, the server's date), by whom,
-- with a reason, and the case's amount and next review date after it, so
-- the state on any past date is the last event on or before it
-- (civil.cases_on, which the indicators read).
CREATE TABLE civil.case_event (
    id                  bigserial PRIMARY KEY,
    case_id             bigint NOT NULL REFERENCES civil.benefit_case(id),
    from_status         text,
    to_status           text NOT NULL,
    occurred_on         date NOT NULL DEFAULT current_date,
    by_user             bigint REFERENCES core.app_user(id),
    reason              text CHECK (length(reason) <= 500),
    monthly_amount_fen  bigint,
    next_review_on      date,
    details             jsonb,
    recorded_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_event_case ON civil.case_event (case_id, occurred_on, id);

-- The documents on file for a case (one row per checklist item).
CREATE TABLE civil.case_document (
    case_id      bigint NOT NULL REFERENCES civil.benefit_case(id),
    code         text NOT NULL,
    received_on  date NOT NULL,
    note         text CHECK (length(note) <= 200),
    recorded_by  bigint REFERENCES core.app_user(id),
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, code)
);

-- Flags raised by shared-model events (a member died, moved out, left or
-- joined the household, the household moved): the case goes to review,
-- the flag says why, and it is resolved when the review ends.  reason
-- names residents by id only.
CREATE TABLE civil.case_flag (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES civil.benefit_case(id),
    kind         text NOT NULL CHECK (kind IN ('member_deceased', 'member_moved_out',
                                               'member_left_household', 'member_joined',
                                               'household_moved')),
    resident_id  bigint REFERENCES core.resident(id),
    occurred_on  date NOT NULL,
    reason       text NOT NULL,
    created_by   bigint REFERENCES core.app_user(id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    resolved_by  bigint REFERENCES core.app_user(id),
    resolution   text
);
-- One open flag per case, kind and resident: an event seen twice flags once.
CREATE UNIQUE INDEX case_flag_open ON civil.case_flag (case_id, kind, (coalesce(resident_id, 0)))
    WHERE resolved_at IS NULL;
CREATE INDEX case_flag_case ON civil.case_flag (case_id, id);

-- The residents a case counts, from added_on until removed_on, and the
-- household each was in when counted (ids only).  Written when a case
-- becomes active (and again when a review confirms it); a member leaving
-- closes the row.
CREATE TABLE civil.case_member (
    id            bigserial PRIMARY KEY,
    case_id       bigint NOT NULL REFERENCES civil.benefit_case(id),
    resident_id   bigint NOT NULL REFERENCES core.resident(id),
    household_id  bigint REFERENCES core.household(id),
    added_on      date NOT NULL,
    removed_on    date
);
CREATE UNIQUE INDEX case_member_current ON civil.case_member (case_id, resident_id)
    WHERE removed_on IS NULL;
CREATE INDEX case_member_resident ON civil.case_member (resident_id) WHERE removed_on IS NULL;

-- Per-district settings; a district without a row uses the defaults.
CREATE TABLE civil.setting (
    district_id  bigint PRIMARY KEY REFERENCES core.region(id),
    elderly_age  integer NOT NULL DEFAULT 80 CHECK (elderly_age BETWEEN 60 AND 120),
    version      integer NOT NULL DEFAULT 1,
    updated_by   bigint REFERENCES core.app_user(id),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------
-- Every case as it stood at the end of day d: its status, amount and next
-- review date after the last event on or before d, and the grid it
-- belongs to now (its household's or resident's).  Cases not yet applied
-- for on d are absent.
CREATE FUNCTION civil.cases_on(d date)
RETURNS TABLE (case_id bigint, programme text, status text, monthly_amount_fen bigint,
               next_review_on date, household_id bigint, resident_id bigint, grid_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT c.id, c.programme, e.to_status, e.monthly_amount_fen, e.next_review_on,
           c.household_id, c.resident_id, coalesce(h.grid_id, x.grid_id)
      FROM civil.benefit_case c
      JOIN LATERAL (SELECT ev.to_status, ev.monthly_amount_fen, ev.next_review_on
                      FROM civil.case_event ev
                     WHERE ev.case_id = c.id AND ev.occurred_on <= d
                     ORDER BY ev.occurred_on DESC, ev.id DESC LIMIT 1) e ON true
      LEFT JOIN core.household h ON h.id = c.household_id
      LEFT JOIN core.resident x ON x.id = c.resident_id
$$;

#!/usr/bin/env python3
"""test_party — the party building (党建) plugin end to end, against the
real daemon loading plugins ["example", "party"]:

  - organisations attached to regions (a grid party branch to its grid),
    scope (another grid's worker gets 404), permissions (grid workers read,
    community staff manage);
  - a resident becomes a member without retyping any shared field (a body
    with "name" is refused; name, gender, age come from the shared model),
    the 党员 tag is set by the plugin; transfers keep history;
  - pipeline steps refused out of order (409) or too early (422 with the
    earliest date); probationary creates the member, full converts it;
  - overdue thought reports and due conversions listed exactly;
  - a member's death in the shared model updates status and clears the tag;
  - 三会一课 counts per quarter against the minimum;
  - indicators exact on a known population (ages from birth dates on the
    report date) by running the plugin's own SQL, and in the one report
    when the reports engine is in the build; ledgers.

Residents are inserted with SQL; life events go through the API (hooks)."""
import datetime
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
SRC = fx.srcdir()
BUILD = ogtest.BUILDDIR
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example", "party"])
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d)
R = w.r
T = w.tokens
P = "/api/v1/party"


def sql1(query):
    rows = pg.sql(query)
    return rows[0][0] if rows else None


def q(s):
    return "'" + str(s).replace("'", "''") + "'"


TODAY = datetime.date.fromisoformat(sql1("SELECT current_date"))


def shift(date, years=0, months=0, days=0):
    return sql1("SELECT (%s::date + make_interval(years => %d, months => %d, days => %d))::date"
                % (q(date), years, months, days))


def resident(name, grid, birth, gender="male"):
    return int(sql1(
        "INSERT INTO core.resident (name, id_type, residence_status, grid_id, gender, "
        "birth_date, life_status) VALUES (%s, 'none', 'registered', %d, %s, %s, 'active') "
        "RETURNING id" % (q(name), grid, q(gender), q(birth))))


def tag_of(rid):
    rows = pg.sql("SELECT coalesce(source, '') FROM core.resident_tag WHERE resident_id = %d "
                  "AND tag = 'party_member'" % rid)
    return rows[0][0] if rows else None


def age_birth(years, days_extra=0):
    """a birth date making someone exactly `years` old today (+days_extra days older)."""
    return shift(TODAY.isoformat(), years=-years, days=-days_extra)


CE = T["community_e1"]

# ============================================================================
# organisations
r = d.post(P + "/orgs", {"kind": "committee", "name": "东街道一社区党委",
                         "region_ids": [R.comm_e1]}, token=CE)
t.status(r, 201, "community staff create the community party committee")
COM = (r.json or {}).get("id")
r = d.post(P + "/orgs", {"kind": "branch", "name": "第1网格党支部", "parent_id": COM,
                         "region_ids": [R.grid_a]}, token=CE)
t.status(r, 201, "a grid party branch attached to its grid")
BA = (r.json or {}).get("id")
t.eq([x["name"] for x in (r.json or {}).get("regions", [])], ["东街道一社区第1网格"],
     "the branch names its grid")
r = d.post(P + "/orgs", {"kind": "branch", "name": "第2网格党支部", "parent_id": COM,
                         "region_ids": [R.grid_b]}, token=CE)
BB = (r.json or {}).get("id")
for body, field, what in [
    ({"name": "x", "region_ids": [R.grid_a]}, "kind", "kind required"),
    ({"kind": "branch", "name": "x"}, "region_ids", "region_ids required"),
    ({"kind": "branch", "name": "x", "region_ids": [R.grid_w]}, "region_ids",
     "a region outside the caller's scope"),
    ({"kind": "branch", "name": "x", "region_ids": [R.grid_a], "parent_id": BA}, "parent_id",
     "a branch has nothing under it"),
]:
    fx.check_error(t, d.post(P + "/orgs", body, token=CE), 422, "invalid", "org: " + what,
                   field=field)
fx.check_error(t, d.post(P + "/orgs", {"kind": "branch", "name": "x", "region_ids": [R.grid_a]},
                         token=T["grid_a"]), 403, None, "a grid worker cannot create organisations")
r = d.get(P + "/orgs/%d" % BA, token=T["grid_a"])
t.status(r, 200, "grid A's worker reads its grid's branch")
fx.check_error(t, d.get(P + "/orgs/%d" % BA, token=T["grid_b"]), 404, "not_found",
               "grid B's worker gets 404 for grid A's branch")
fx.check_error(t, d.get(P + "/orgs/%d" % COM, token=T["street_w"]), 404, "not_found",
               "another street gets 404 for the committee")
t.eq([x["id"] for x in fx.items_of(d.get(P + "/orgs", token=T["grid_b"]))], [BB],
     "grid B's worker lists only its grid's branch")
r = d.patch(P + "/orgs/%d" % BA, {"version": 9, "name": "y"}, token=CE)
fx.check_error(t, r, 409, "version_conflict", "stale org version", field="version")
r = d.patch(P + "/orgs/%d" % COM, {"version": 1, "parent_id": BA}, token=CE)
fx.check_error(t, r, 422, "invalid", "the committee cannot go under a branch", field="parent_id")

# ============================================================================
# members: a resident becomes a member without retyping
old = resident("王大爷", R.grid_a, age_birth(82), "male")
r = d.post(P + "/members", {"resident_id": old, "org_id": BA, "category": "full",
                            "join_date": "1968-07-01", "origin": "retired", "name": "王大爷"},
           token=CE)
fx.check_error(t, r, 422, "invalid", "a member body with a name is refused (never retyped)",
               field="name")
r = d.post(P + "/members", {"resident_id": old, "org_id": BA, "category": "full",
                            "join_date": "1968-07-01", "origin": "retired"}, token=CE)
t.status(r, 201, "a resident becomes a member by resident_id")
M_OLD = (r.json or {}).get("id")
t.ok(r.json.get("name") == "王大爷" and r.json.get("age") == 82
     and r.json.get("gender") == "male", "name, age, gender come from the shared model",
     repr(r.json))
t.eq(tag_of(old), "party.member:%s" % M_OLD, "the 党员 tag is set by the plugin with its source")
n = sql1("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'party' "
         "AND table_name NOT IN ('org', 'meeting_kind') "
         "AND column_name IN ('name', 'id_number', 'phone', 'address', 'birth_date', 'gender')")
t.eq(n, "0", "no party table copies a shared field")
r = d.post(P + "/members", {"resident_id": old, "org_id": BA, "category": "full",
                            "join_date": "1968-07-01", "origin": "retired"}, token=CE)
fx.check_error(t, r, 409, "duplicate", "one resident, one member record", field="resident_id")
young = resident("小李", R.grid_a, age_birth(17))
r = d.post(P + "/members", {"resident_id": young, "org_id": BA, "category": "probationary",
                            "join_date": TODAY.isoformat(), "origin": "community"}, token=CE)
fx.check_error(t, r, 422, "invalid", "a member under 18 on join_date", field="join_date")
r = d.post(P + "/members", {"resident_id": old, "org_id": BA, "category": "full",
                            "join_date": "2020-01-01", "conversion_date": "2020-06-01",
                            "origin": "retired"}, token=CE)
fx.check_error(t, r, 422, "invalid", "conversion less than a year after joining",
               field="conversion_date")
r = d.req("PUT", "/api/v1/residents/%d/tags/party_member" % young, body={}, token=CE)
fx.check_error(t, r, 403, None, "the 党员 tag cannot be set through the core tag route")
fx.check_error(t, d.get(P + "/members/%d" % M_OLD, token=T["grid_b"]), 404, "not_found",
               "grid B's worker gets 404 for grid A's member")
t.status(d.get(P + "/members/%d" % M_OLD, token=T["grid_a"]), 200,
         "grid A's worker reads its member")
r = d.post(P + "/members/%d/transfer" % M_OLD, {"to_org_id": BB}, token=CE)
t.ok(r.status == 200 and r.json.get("org_id") == BB and len(r.json.get("transfers", [])) == 1
     and r.json["transfers"][0]["from_org_id"] == BA, "a transfer between branches keeps history",
     repr(r))
r = d.post(P + "/members/%d/transfer" % M_OLD, {"to_org_id": BA}, token=CE)
t.eq([(x["from_org_id"], x["to_org_id"]) for x in (r.json or {}).get("transfers", [])],
     [(BA, BB), (BB, BA)], "and back: both moves kept")

r = d.patch(P + "/members/%d" % M_OLD, {"version": 1, "note": "x"}, token=CE)
fx.check_error(t, r, 409, "version_conflict", "a stale member version", field="version")
t.eq((d.get(P + "/members/%d" % M_OLD, token=CE).json or {}).get("note"), None,
     "and nothing changed")
cur = (d.get(P + "/members/%d" % M_OLD, token=CE).json or {}).get("version")
r = d.patch(P + "/members/%d" % M_OLD, {"version": cur, "note": "老党员", "employer": "原纺织厂"},
            token=CE)
t.ok(r.status == 200 and r.json.get("note") == "老党员" and r.json.get("version") == cur + 1,
     "a member's own fields are changed with the version", repr(r))
r = d.patch(P + "/members/%d" % M_OLD, {"version": cur + 1, "reported_on": "2020-01-01"},
            token=CE)
fx.check_error(t, r, 422, "invalid", "reported_on is for in-service members only",
               field="reported_on")
r = d.post(P + "/members", {"resident_id": young, "org_id": BA, "category": "full",
                            "join_date": TODAY.isoformat(), "origin": "community"},
           token=T["grid_a"])
fx.check_error(t, r, 403, None, "a grid worker cannot register members (party.write)")
fx.check_error(t, d.get(P + "/members?limit=0", token=CE), 422, None, "limit=0 is refused",
               field="limit")
fx.check_error(t, d.get(P + "/members?origin=martian", token=CE), 422, "invalid",
               "an unknown origin filter", field="origin")
mover = resident("调出者", R.grid_a, age_birth(50))
r = d.post(P + "/members", {"resident_id": mover, "org_id": BA, "category": "full",
                            "join_date": "2010-05-01", "origin": "community"}, token=CE)
M_MOVER = (r.json or {}).get("id")
r = d.get(P + "/members?limit=1", token=CE)
r2 = d.get(P + "/members?limit=1&cursor=%s" % (r.json or {}).get("next_cursor"), token=CE)
t.ok(r.status == 200 and [x["id"] for x in fx.items_of(r)] == [M_OLD]
     and [x["id"] for x in fx.items_of(r2)] == [M_MOVER] and r2.json.get("next_cursor") is None,
     "keyset pagination", repr(r) + repr(r2))
r = d.post(P + "/members/%s/transfer" % M_MOVER, {"destination": "外区某街道党工委",
                                                  "transferred_on": TODAY.isoformat()}, token=CE)
t.ok(r.status == 200 and r.json.get("status") == "transferred_out"
     and r.json.get("status_date") == TODAY.isoformat(), "a transfer out of the district",
     repr(r))
t.eq(tag_of(mover), None, "clears the 党员 tag")
r = d.post(P + "/members/%s/transfer" % M_MOVER, {"to_org_id": BB}, token=CE)
fx.check_error(t, r, 409, "not_normal", "a transferred-out member cannot be moved again")

# a known population in grid A and B for the indicators
POP = []  # (grid, age, gender, origin)
for i, (grid, years, extra, gender, origin) in enumerate([
        (R.grid_a, 30, 0, "female", "in_service"),
        (R.grid_a, 35, -1, "male", "community"),        # 34 today, 35 tomorrow
        (R.grid_a, 35, 0, "female", "community"),
        (R.grid_a, 65, -1, "male", "retired"),          # 64, 65 tomorrow
        (R.grid_a, 65, 0, "female", "retired"),         # turns 65 today
        (R.grid_b, 80, -1, "male", "retired"),          # 79, 80 tomorrow
        (R.grid_b, 80, 0, "female", "retired"),
        (R.grid_b, 91, 0, "male", "floating")]):
    rid = resident("党员%d" % i, grid, age_birth(years, extra), gender)
    r = d.post(P + "/members", {"resident_id": rid, "org_id": BA if grid == R.grid_a else BB,
                                "category": "full", "join_date": "2020-01-01", "origin": origin,
                                "reported_on": TODAY.isoformat() if origin == "in_service"
                                else None}, token=CE)
    if r.status != 201:
        t.ok(False, "population member %d" % i, repr(r))
    POP.append(((r.json or {}).get("id"), rid))

# ============================================================================
# the development pipeline
cand_r = resident("张申请", R.grid_a, age_birth(25), "female")
applied = shift(TODAY.isoformat(), years=-3)
r = d.post(P + "/pipeline", {"resident_id": cand_r, "org_id": BA, "applied_on": applied},
           token=CE)
t.status(r, 201, "an application is recorded")
K = (r.json or {}).get("id")
t.eq((r.json or {}).get("next"), {"to": "activist", "earliest_on": shift(applied, months=6)},
     "next step and its earliest date")
r = d.post(P + "/pipeline", {"resident_id": young, "org_id": BA}, token=CE)
fx.check_error(t, r, 422, "invalid", "an applicant under 18", field="applied_on")


def step(to, date=None, **kw):
    body = dict(kw, to=to)
    if date:
        body["date"] = date
    return d.post(P + "/pipeline/%d/steps" % K, body, token=CE)


r = step("target", shift(applied, years=1))
fx.check_error(t, r, 409, "illegal_step", "applicant -> target is out of order", field="to")
t.eq((fx.error_of(r) or {}).get("allowed"), ["activist", "withdrawn"], "the allowed steps")
r = step("full", shift(applied, years=2))
fx.check_error(t, r, 409, "illegal_step", "applicant -> full is out of order", field="to")
r = step("activist", shift(applied, months=5))
fx.check_error(t, r, 422, "too_early", "activist 5 months after applying is too early",
               field="date")
t.eq((fx.error_of(r) or {}).get("earliest_on"), shift(applied, months=6), "names the earliest")
r = step("activist", shift(TODAY.isoformat(), days=1))
fx.check_error(t, r, 422, "invalid", "a step in the future", field="date")
act = shift(applied, months=6)
r = step("activist", act)
t.ok(r.status == 200 and r.json.get("stage") == "activist" and r.json.get("activist_on") == act,
     "activist exactly 6 months after applying", repr(r))
r = step("target", shift(act, months=11))
fx.check_error(t, r, 422, "too_early", "development target after 11 months as activist",
               field="date")
tgt = shift(act, years=1)
t.status(step("target", tgt), 200, "development target after one year as activist")
r = step("full", tgt)
fx.check_error(t, r, 409, "illegal_step", "target -> full skips probation", field="to")
prob = shift(TODAY.isoformat(), months=-13)
r = step("probationary", prob)
t.ok(r.status == 200 and r.json.get("member_id"), "admitted as probationary member", repr(r))
MK = (r.json or {}).get("member_id")
m = d.get(P + "/members/%s" % MK, token=CE).json or {}
t.ok(m.get("category") == "probationary" and m.get("join_date") == prob
     and m.get("name") == "张申请", "the member record is created from the pipeline", repr(m))
t.eq(tag_of(cand_r), "party.member:%s" % MK, "and carries the 党员 tag")

# a second candidate, overdue thought reports
c2r = resident("李积极", R.grid_b, age_birth(40), "male")
r = d.post(P + "/pipeline", {"resident_id": c2r, "org_id": BB,
                             "applied_on": shift(TODAY.isoformat(), years=-1)}, token=CE)
K2 = (r.json or {}).get("id")
c3r = resident("赵新", R.grid_b, age_birth(30), "female")
r = d.post(P + "/pipeline", {"resident_id": c3r, "org_id": BB, "applied_on": TODAY.isoformat()},
           token=CE)
K3 = (r.json or {}).get("id")
r = d.post(P + "/pipeline/%d/thought-reports" % K, {}, token=CE)
t.status(r, 201, "a thought report for this quarter")
r = d.post(P + "/pipeline/%d/thought-reports" % K, {}, token=CE)
fx.check_error(t, r, 409, "duplicate", "a second report for the same quarter", field="quarter")
r = d.post(P + "/pipeline/%d/thought-reports" % K, {"quarter": "2026-3"}, token=CE)
fx.check_error(t, r, 422, "invalid", "a malformed quarter", field="quarter")
r = d.get(P + "/pipeline/overdue", token=CE)
t.status(r, 200, "GET /pipeline/overdue")
ov = r.json or {}
t.eq([x["id"] for x in ov.get("thought_reports_missing", [])], [K2],
     "missing report: K2 only (K reported; K3 applied this quarter)")
t.eq([(x["id"], x["due_on"]) for x in ov.get("conversions_due", [])],
     [(K, shift(prob, years=1))], "due conversion: K, one year after admission")
r = d.get(P + "/pipeline/overdue", token=T["grid_a"])
t.eq([x["id"] for x in (r.json or {}).get("thought_reports_missing", [])], [],
     "grid A's worker does not see grid B's candidate")
r = step("full", shift(prob, months=11))
fx.check_error(t, r, 422, "too_early", "conversion before a year of probation", field="date")
conv = shift(prob, years=1)
r = step("full", conv)
t.status(r, 200, "converted after one year")
m = d.get(P + "/members/%s" % MK, token=CE).json or {}
t.ok(m.get("category") == "full" and m.get("conversion_date") == conv, "the member is full",
     repr(m))
t.eq(d.get(P + "/pipeline/overdue", token=CE).json.get("conversions_due"), [],
     "no conversion due any more")
r = step("activist")
fx.check_error(t, r, 409, "illegal_step", "nothing after full", field="to")

# a probationary member overdue for conversion who dies
c4r = resident("钱预备", R.grid_b, age_birth(30), "male")
a4 = shift(TODAY.isoformat(), years=-4)
r = d.post(P + "/pipeline", {"resident_id": c4r, "org_id": BB, "applied_on": a4}, token=CE)
K4 = (r.json or {}).get("id")
for to, date in [("activist", shift(a4, months=6)), ("target", shift(a4, months=18)),
                 ("probationary", shift(TODAY.isoformat(), months=-14))]:
    r = d.post(P + "/pipeline/%d/steps" % K4, {"to": to, "date": date}, token=CE)
t.ok(r.status == 200 and r.json.get("stage") == "probationary", "K4 is probationary", repr(r))
M4 = (r.json or {}).get("member_id")
t.eq([x["id"] for x in d.get(P + "/pipeline/overdue", token=CE).json.get("conversions_due")],
     [K4], "K4's conversion is due")
v4 = (d.get(P + "/members/%s" % M4, token=CE).json or {}).get("version")
r = d.patch(P + "/members/%s" % M4, {"version": v4, "category": "full",
                                     "conversion_date": TODAY.isoformat()}, token=CE)
fx.check_error(t, r, 409, "in_pipeline", "a pipeline member converts through the pipeline, "
               "not by PATCH", field="category")
r = d.post("/api/v1/residents/%d/events" % c4r,
           {"kind": "deceased", "occurred_on": shift(TODAY.isoformat(), days=-3)},
           token=T["grid_b"])
t.status(r, 201, "K4 dies")
ov = d.get(P + "/pipeline/overdue", token=CE).json or {}
t.eq(([x["id"] for x in ov.get("conversions_due")],
      [x["id"] for x in ov.get("thought_reports_missing")]), ([], [K2]),
     "a member who died is no longer due for conversion")
t.eq(((d.get(P + "/members/%s" % M4, token=CE).json or {}).get("status"),
      (d.get(P + "/pipeline/%d" % K4, token=CE).json or {}).get("stage"), tag_of(c4r)),
     ("deceased", "withdrawn", None), "status deceased, pipeline closed, tag cleared")

# ============================================================================
# death in the shared model
dead_mid, dead_rid = POP[7]
r = d.post("/api/v1/residents/%d/events" % dead_rid,
           {"kind": "deceased", "occurred_on": shift(TODAY.isoformat(), days=-1)},
           token=T["grid_b"])
t.status(r, 201, "the grid worker records a member's death")
m = d.get(P + "/members/%s" % dead_mid, token=CE).json or {}
t.ok(m.get("status") == "deceased" and m.get("status_date") == shift(TODAY.isoformat(), days=-1),
     "the member's status is deceased on the day of death", repr(m))
t.eq(tag_of(dead_rid), None, "the 党员 tag is cleared")
r = d.post("/api/v1/residents/%d/events" % c2r, {"kind": "deceased",
           "occurred_on": TODAY.isoformat()}, token=T["grid_b"])
t.status(r, 201, "a candidate's death is recorded")
t.eq((d.get(P + "/pipeline/%d" % K2, token=CE).json or {}).get("stage"), "withdrawn",
     "a candidate who dies leaves the pipeline")

# ============================================================================
# meetings
q0 = sql1("SELECT date_trunc('quarter', current_date)::date")
ids_a = [POP[0][0], POP[1][0]]
for kind, n in [("branch_meeting", 1), ("committee_meeting", 3), ("lecture", 1),
                ("group_meeting", 2)]:
    for i in range(n):
        r = d.post(P + "/meetings", {"org_id": BA, "kind": kind, "held_on": q0,
                                     "topic": "学习 %s %d" % (kind, i),
                                     "attendee_member_ids": ids_a if kind == "lecture" else []},
                   token=CE)
        if r.status != 201:
            t.ok(False, "meeting", repr(r))
r = d.post(P + "/meetings", {"org_id": BA, "kind": "lecture", "held_on": q0, "topic": "x",
                             "attendee_member_ids": [POP[6][0]]}, token=CE)
fx.check_error(t, r, 422, "invalid", "an attendee from another branch",
               field="attendee_member_ids")
r = d.post(P + "/meetings", {"org_id": BA, "kind": "party", "held_on": q0, "topic": "x"},
           token=CE)
fx.check_error(t, r, 422, "invalid", "an unknown meeting kind", field="kind")
r = d.get(P + "/orgs/%d/meetings/quarterly" % BA, token=T["grid_a"])
t.status(r, 200, "quarterly meeting counts")
qn = int(sql1("SELECT extract(quarter FROM current_date)"))
qq = (r.json or {}).get("quarters", [{}] * 4)[qn - 1]
t.eq({k["kind"]: (k["held"], k["required"], k["met"]) for k in qq.get("kinds", [])},
     {"branch_meeting": (1, 1, True), "committee_meeting": (3, 3, True),
      "lecture": (1, 1, True), "group_meeting": (2, 3, False)},
     "held vs required per kind this quarter")
t.eq(qq.get("all_met"), False, "the quarter is not complete (one group meeting missing)")
r = d.post(P + "/activities", {"member_id": POP[2][0], "held_on": TODAY.isoformat(),
                               "title": "社区清洁", "hours": 2}, token=CE)
t.status(r, 201, "a member's activity is registered")
ACT = (r.json or {}).get("id")
r = d.post(P + "/activities/%s/feedback" % ACT, {}, token=CE)
t.ok(r.status == 200 and r.json.get("fed_back_on") == TODAY.isoformat(),
     "its feedback to the employer is recorded", repr(r))
fx.check_error(t, d.post(P + "/activities/%s/feedback" % ACT, {}, token=CE), 409, "duplicate",
               "feedback once only", field="fed_back_on")

# ============================================================================
# indicators: the plugin's own SQL, exact
GRIDS = sorted(int(x[0]) for x in pg.sql("SELECT id FROM core.region WHERE level = 'grid'"))
A, B = R.grid_a, R.grid_b
# grid A: 王大爷 82 m retired, 30 f, 34 m, 35 f, 64 m, 65 f, 张申请 25 f (converted)
# grid B: 79 m, 80 f (91 m deceased)
WANT = {
    "party.members": {A: 7, B: 2},
    "party.members_probationary": {},
    "party.members_full": {A: 7, B: 2},
    "party.members_male": {A: 3, B: 1},
    "party.members_female": {A: 4, B: 1},
    "party.members_under35": {A: 3},
    "party.members_35_64": {A: 2},
    "party.members_65plus": {A: 2, B: 2},
    "party.members_80plus": {A: 1, B: 1},
    "party.members_retired": {A: 3, B: 2},
    "party.members_in_service": {A: 1},
    "party.members_in_service_reported": {A: 1},
    "party.members_active_quarter": {A: 3},
    "party.applicants": {B: 1},
    "party.activists": {},
    "party.meetings_held_quarter": {A: 7},
    "party.meetings_required_quarter": {A: 8, B: 8},
}
work = tempfile.mkdtemp(prefix="og-party-", dir="/tmp")
if os.environ.get("ONEGRID_TEST_KEEP") != "1":
    import atexit
    atexit.register(shutil.rmtree, work, True)
DUMP_C = r"""#include "party.c"
#define N(a) (sizeof(a) / sizeof((a)[0]))
int main(void)
{
	const og_ledger_def *l[] = {&party_ledger_roster, &party_ledger_pipeline,
	                            &party_ledger_meetings};

	for (size_t i = 0; i < N(party_indicators); i++)
		if (party_indicators[i].sql)
			printf("I\x1f%s\x1f%s\x1e", party_indicators[i].code, party_indicators[i].sql);
	for (size_t i = 0; i < N(party_indicators); i++)
		if (party_indicators[i].rows_sql)
			printf("R\x1f%s\x1f%s\x1e", party_indicators[i].code,
			       party_indicators[i].rows_sql);
	for (size_t i = 0; i < N(l); i++)
		printf("L\x1f%s\x1f%s\x1e", l[i]->name, l[i]->sql);
	return 0;
}
"""
with open(os.path.join(work, "dump.c"), "w") as f:
    f.write(DUMP_C)
jcflags = subprocess.run(["pkg-config", "--cflags", "--libs", "jansson"], capture_output=True,
                         text=True).stdout.split()
p = subprocess.run(["cc", "-std=c11", "-w", "-o", os.path.join(work, "dump"),
                    os.path.join(work, "dump.c"), "-I", os.path.join(SRC, "include"),
                    "-I", os.path.join(SRC, "plugins", "party"),
                    "-I", os.path.join(BUILD, "plugins", "party")] + jcflags,
                   capture_output=True, text=True, timeout=120)
sqls = {}
if p.returncode == 0:
    out = subprocess.run([os.path.join(work, "dump")], capture_output=True, text=True).stdout
    for rec in out.split("\x1e"):
        if rec:
            kind, name, text = rec.split("\x1f")
            sqls[(kind, name)] = text
t.ok(("I", "party.members") in sqls, "the indicator SQL is read from party.c", p.stderr[-2000:])


def run_indicator(code, date):
    rows = pg.sql("PREPARE ind(text) AS %s;\nEXECUTE ind(%s);" % (sqls[("I", code)], q(date)))
    return {int(g): v for g, v in rows}


got_all = {}
for code, want in WANT.items():
    if ("I", code) not in sqls:
        t.ok(False, "indicator %s declared" % code)
        continue
    got = {g: int(float(v)) for g, v in run_indicator(code, TODAY.isoformat()).items()}
    got_all[code] = got
    t.eq(got, {g: want.get(g, 0) for g in GRIDS}, "%s: exact per grid today" % code)
tomorrow = shift(TODAY.isoformat(), days=1)
got = run_indicator("party.members_under35", tomorrow)
t.eq(int(got[A]), 2, "tomorrow the 34-year-old turns 35: ages are taken on the report date")
got = run_indicator("party.members_65plus", shift(TODAY.isoformat(), days=-2))
t.eq((int(got[A]), int(got[B])), (1, 3), "two days ago: the 65-year-old was 64, the "
     "91-year-old (died yesterday) still counted")
got = run_indicator("party.members", shift(TODAY.isoformat(), days=-1))
t.eq(int(got[B]), 2, "on the day of death the member is no longer counted")
got = run_indicator("party.members_probationary", shift(conv, days=-1))
t.eq(int(got[A]), 1, "the day before conversion, 张申请 was probationary")
dpath = sql1("SELECT path::text FROM core.region WHERE id = %d" % R.district)
rows = pg.sql("PREPARE rws(text, text) AS %s;\nEXECUTE rws(%s, %s);"
              % (sqls[("R", "party.members_80plus")], q(TODAY.isoformat()), q(dpath)))
t.eq(sorted(x[1] for x in rows), sorted(["王大爷", "党员6"]), "the rows behind 80+ are named")

paths_now = (d.get("/openapi.json").json or {}).get("paths", {})
if "/api/v1/reports/summary" not in paths_now:
    t.skip("the party indicators in GET /api/v1/reports/summary",
           "the reports engine is not in this build yet")
else:
    r = d.get("/api/v1/reports/summary?region=%d" % R.comm_e1, token=T["district"])
    t.status(r, 200, "GET /api/v1/reports/summary for the community")
    vals = {row["region"]["id"]: row["values"] for row in (r.json or {}).get("rows", [])}
    c = vals.get(R.comm_e1, {})
    t.eq({k: (None if c.get(k) is None else float(c.get(k))) for k in
          ("party.members", "party.members_under35", "party.members_35_64",
           "party.members_65plus", "party.members_80plus",
           "party.share_65plus", "party.share_80plus", "party.share_retired")},
         {"party.members": 9.0, "party.members_under35": 3.0, "party.members_35_64": 2.0,
          "party.members_65plus": 4.0, "party.members_80plus": 2.0,
          "party.share_65plus": 44.44, "party.share_80plus": 22.22, "party.share_retired": 55.56},
         "the one report: counts summed for the community and shares as ratios")
    r = d.get("/api/v1/reports/indicators/party.members_80plus/rows?region=%d" % R.comm_e1,
              token=T["community_e1"])
    t.ok(r.status == 200 and sorted(i.get("name") for i in fx.items_of(r)) ==
         sorted(["王大爷", "党员6"]), "the rows behind 80岁以上党员 through the API", repr(r)[:400])


def run_ledger(name, path):
    return pg.sql("PREPARE led(text) AS %s;\nEXECUTE led(%s);" % (sqls[("L", name)], q(path)))


rows = run_ledger("roster", dpath)
t.eq(len(rows), 12, "党员花名册 lists every member (incl. the deceased and transferred, "
     "with status)")
if "/api/v1/reports/summary" in paths_now:
    r = d.get("/api/v1/ledgers/party/roster?region=%d" % R.grid_a, token=T["grid_a"])
    t.ok(r.status == 200 and len(fx.items_of(r)) == 8, "the roster through the ledger API for "
         "grid A's worker", repr(r)[:500])
else:
    t.skip("the roster through GET /api/v1/ledgers", "no reports engine")
rows = run_ledger("pipeline", dpath)
t.eq([int(x[0]) for x in rows], [K, K2, K3, K4], "发展党员台账 lists the pipeline")
rows = run_ledger("meetings", dpath)
t.eq(len(rows), 7, "三会一课记录 lists the meetings")

# audit and openapi
n = sql1("SELECT count(*) FROM core.audit WHERE entity LIKE 'party.%'")
t.ok(int(n) > 20, "writes are audited", n)
spec = d.get("/openapi.json").json or {}
paths = spec.get("paths", {})
want_ops = [("get", P + "/orgs"), ("post", P + "/orgs"), ("patch", P + "/orgs/{id}"),
            ("post", P + "/members"), ("post", P + "/pipeline/{id}/steps"),
            ("get", P + "/pipeline/overdue"), ("post", P + "/meetings"),
            ("get", P + "/orgs/{id}/meetings/quarterly"), ("post", P + "/activities")]
t.eq([op for op in want_ops if op[0] not in paths.get(op[1], {})], [],
     "openapi lists the party routes")

t.eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
d.check_log_clean(t)
t.done()

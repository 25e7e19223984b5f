#!/usr/bin/env python3
"""test_volunteer — the volunteer service (志愿服务) plugin end to end, against
the real daemon, twice: with plugins ["volunteer"] alone (party and civil
absent) and with ["civil", "party", "volunteer"] (both present; party may
still be a placeholder, whose missing party_member tag is then a skip).

Each run, on a known population:
  - teams (region, leader within it), volunteers (residents by id, skills,
    availability), validation 422s naming the field, duplicates 409, scope
    404s, stale versions 409;
  - service records: hours count only once verified, by someone other than
    the recorder (403 for the recorder, 403 without volunteer.verify);
    hours this year and in total exact;
  - the candidates list exact (80 today in, 80 tomorrow out, living alone,
    disabled, deceased out, other street out; 特困 only while civil is there
    and enabled for the district) and shrinking as pairs are made;
  - visits under a pair are service records; the helped resident's death
    (and a move out) closes the pair by itself with the reason;
  - requests filed, assigned, closed with a service record;
  - the indicators exact (the plugin's own SQL run with psql, and the one
    report GET /api/v1/reports/summary when the reports engine is there),
    the rows behind them, and the three ledgers;
  - /openapi.json describes every route; the daemon log is clean.

Residents are inserted with SQL (fast); life events go through the API
because that is what fires the hooks."""
import datetime
import json
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
V = "/api/v1/volunteer"

work = tempfile.mkdtemp(prefix="og-volunteer-", dir="/tmp")
if os.environ.get("ONEGRID_TEST_KEEP") != "1":
    import atexit
    atexit.register(shutil.rmtree, work, True)

# The plugin's indicator and ledger SQL, read from volunteer.c by compiling
# a small program against it: the figures are computed by exactly what the
# daemon runs.
DUMP_C = r"""#include "volunteer.c"
#define N(a) (sizeof(a) / sizeof((a)[0]))
int main(void)
{
	const og_ledger_def *l[] = {&vol_ledger_roster, &vol_ledger_hours, &vol_ledger_pairs};

	for (size_t i = 0; i < N(vol_indicators); i++)
		printf("I\x1f%s\x1f%s\x1e", vol_indicators[i].code, vol_indicators[i].sql);
#if OG_ABI_MINOR >= 2
	for (size_t i = 0; i < N(vol_indicators); i++)
		printf("R\x1f%s\x1f%s\x1e", vol_indicators[i].code, vol_indicators[i].rows_sql);
#endif
	for (size_t i = 0; i < N(l); i++)
		printf("L\x1f%s\x1f%s\x1e", l[i]->name, l[i]->sql);
	return 0;
}
"""
with open(os.path.join(work, "dump.c"), "w") as f:
    f.write(DUMP_C)
jflags = subprocess.run(["pkg-config", "--cflags", "--libs", "jansson"], capture_output=True,
                        text=True).stdout.split()
p = subprocess.run(["cc", "-std=c11", "-w", "-o", os.path.join(work, "dump"),
                    os.path.join(work, "dump.c"), "-I", os.path.join(SRC, "include"),
                    "-I", os.path.join(SRC, "plugins", "volunteer"),
                    "-I", os.path.join(BUILD, "plugins", "volunteer")] + jflags,
                   capture_output=True, text=True, timeout=120)
SQLS = {}
if p.returncode == 0:
    out = subprocess.run([os.path.join(work, "dump")], capture_output=True, text=True).stdout
    for rec in out.split("\x1e"):
        if rec:
            kind, name, text = rec.split("\x1f")
            SQLS[(kind, name)] = text
t.ok(len([k for k in SQLS if k[0] == "I"]) == 6 and len([k for k in SQLS if k[0] == "L"]) == 3,
     "the indicator and ledger SQL is read from volunteer.c", p.stderr[-2000:])


def q(s):
    return "'" + str(s).replace("'", "''") + "'"


def ids(r, key="id"):
    return sorted(i[key] for i in fx.items_of(r))


def scenario(plugins):
    """One daemon with `plugins`; every check.  Tags: [none] or [all]."""
    with_civil = "civil" in plugins
    tag = "[all]" if with_civil else "[none]"
    pg = ogtest.Postgres()
    d = ogtest.Daemon(pg, plugins=plugins)
    d.migrate()
    d.create_admin(password="Admin-pass-2024")
    d.start()
    w = fx.setup(pg, d)
    R = w.r
    T = w.tokens

    def ok(cond, name, diag=None):
        return t.ok(cond, "%s %s" % (tag, name), diag)

    def eq(got, want, name):
        return t.eq(got, want, "%s %s" % (tag, name))

    def status(r, want, name):
        return t.status(r, want, "%s %s" % (tag, name))

    def err(r, st, code, name, field=None):
        return fx.check_error(t, r, st, code, "%s %s" % (tag, name), field=field)

    def skip(name, reason):
        return t.skip("%s %s" % (tag, name), reason)

    def sql1(query):
        rows = pg.sql(query)
        return rows[0][0] if rows else None

    TODAY = datetime.date.fromisoformat(sql1("SELECT current_date"))

    def day(n):
        return (TODAY + datetime.timedelta(days=n)).isoformat()

    def years_ago(n, plus_days=0):
        return sql1("SELECT (current_date - make_interval(years => %d))::date + %d"
                    % (n, plus_days))

    def resident(name, grid, birth, gender="male", life="active"):
        return int(sql1(
            "INSERT INTO core.resident (name, id_type, residence_status, grid_id, gender, "
            "birth_date, life_status, life_status_date) VALUES (%s, 'none', 'registered', %d, "
            "%s, %s, %s, %s) RETURNING id"
            % (q(name), grid, q(gender), q(birth), q(life),
               "NULL" if life == "active" else "current_date - 30")))

    def tag_resident(rid, code, source=None):
        pg.sql("INSERT INTO core.resident_tag (resident_id, tag, source) VALUES (%d, %s, %s)"
               % (rid, q(code), "NULL" if source is None else q(source)))

    # ------------------------------------------------------------------
    # the population
    vr1 = resident("志愿甲", R.grid_a, "1975-03-01")
    vr2 = resident("志愿乙", R.grid_b, "1990-05-05", "female")
    vrw = resident("志愿西", R.grid_w, "1980-01-01")
    p80 = resident("高龄甲", R.grid_a, years_ago(80))
    p79 = resident("差一天", R.grid_a, years_ago(80, 1))
    alone = resident("独居乙", R.grid_a, "1955-02-02", "female")
    tag_resident(alone, "lives_alone")
    dis = resident("残疾丙", R.grid_b, "1985-08-08")
    tag_resident(dis, "disabled")
    both = resident("高龄独居", R.grid_b, "1940-04-04", "female")
    tag_resident(both, "lives_alone")
    dead = resident("已故老人", R.grid_a, "1935-01-01", life="deceased")
    plain = resident("普通居民", R.grid_a, "1975-07-07")
    west = resident("西高龄", R.grid_w, "1938-03-03")
    tk = None
    if with_civil:
        n = sql1("SELECT count(*) FROM core.tag WHERE code = 'tekun' AND owner = 'civil'")
        eq(n, "1", "the civil plugin's 特困 tag is in the vocabulary")
        tk = resident("特困丁", R.grid_c, "1965-06-06")
        tag_resident(tk, "tekun", "civil.case:0")
    else:
        eq(sql1("SELECT count(*) FROM core.tag WHERE code IN ('tekun', 'party_member')"), "0",
           "without civil and party, neither 特困 nor party_member is in the vocabulary")
    _ = (p79, dead, plain)

    # ------------------------------------------------------------------
    # candidates, before any pair
    C = V + "/candidates"
    r = d.get(C, token=T["street_e"])
    status(r, 200, "the candidates list answers")
    east = sorted([p80, alone, dis, both] + ([tk] if tk else []))
    eq(ids(r, "resident_id"), east,
       "east street candidates: 80 today, living alone, disabled, 80+ and alone%s "
       "(not 80 tomorrow, not deceased, not 50, not the west street)"
       % (", 特困 (civil present)" if tk else ""))
    reasons = {i["resident_id"]: i["reasons"] for i in fx.items_of(r)}
    want_reasons = {p80: ["age_80_plus"], alone: ["lives_alone"], dis: ["disabled"],
                    both: ["age_80_plus", "lives_alone"]}
    if tk:
        want_reasons[tk] = ["tekun"]
    eq(reasons, want_reasons, "each candidate says why")
    item = {i["resident_id"]: i for i in fx.items_of(r)}.get(p80, {})
    ok(item.get("age") == 80 and item.get("name") == "高龄甲" and item.get("grid_id") == R.grid_a,
       "with name, age and grid from the shared model", repr(item))
    eq(ids(d.get(C, token=T["grid_a"]), "resident_id"), sorted([p80, alone]),
       "a grid worker sees its grid's candidates")
    eq(ids(d.get(C, token=T["district"]), "resident_id"), sorted(east + [west]),
       "the district sees the whole district")
    eq(ids(d.get(C + "?region=%d" % R.grid_b, token=T["street_e"]), "resident_id"),
       sorted([dis, both]), "?region= narrows it")
    err(d.get(C + "?region=%d" % R.grid_w, token=T["street_e"]), 404, "not_found",
        "a region outside the scope", field="region")
    err(d.get(C + "?region=x", token=T["street_e"]), 422, "invalid", "a malformed region",
        field="region")
    r = d.get(C + "?limit=2", token=T["district"])
    ok(len(fx.items_of(r)) == 2 and r.json.get("next_cursor"), "the list pages", repr(r))
    err(d.get(C + "?limit=501", token=T["district"]), 422, None, "limit above 500",
        field="limit")
    if with_civil:
        SW = "/api/v1/regions/%d/plugins/civil" % R.district
        r = d.req("PUT", SW, body={"enabled": False}, token=T["district"])
        status(r, 200, "the district disables civil")
        eq(ids(d.get(C, token=T["street_e"]), "resident_id"), sorted([p80, alone, dis, both]),
           "with civil disabled for the district, 特困 no longer makes a candidate")
        d.req("PUT", SW, body={"enabled": True}, token=T["district"])
        eq(ids(d.get(C, token=T["street_e"]), "resident_id"), east, "enabled again, it does")

    # ------------------------------------------------------------------
    # teams
    TM = V + "/teams"
    body = {"region_id": R.comm_e1, "name": "帮帮团", "leader_resident_id": vr1,
            "description": "社区党员助老志愿者服务队"}
    for bad, st, code, field, what in [
        ({"name": "x", "leader_resident_id": vr1}, 422, "invalid", "region_id",
         "region_id is required"),
        (dict(body, name=""), 422, "invalid", "name", "an empty name"),
        (dict(body, leader_resident_id=vrw), 422, "invalid", "leader_resident_id",
         "a leader outside the caller's scope"),
        (dict(body, leader_resident_id=dis, region_id=R.grid_a), 422, "invalid",
         "leader_resident_id", "a leader living outside the team's region"),
        (dict(body, region_id=R.comm_w1), 422, "invalid", "region_id",
         "a region outside the scope"),
        (dict(body, colour="red"), 422, "invalid", "colour", "an unknown field is named"),
    ]:
        err(d.post(TM, bad, token=T["community_e1"]), st, code, "team create: " + what,
            field=field)
    r = d.post(TM, body, token=T["community_e1"])
    status(r, 201, "the community creates the 帮帮团 team")
    team = r.json or {}
    TEAM = team.get("id")
    ok(team.get("leader_name") == "志愿甲" and team.get("region_id") == R.comm_e1
       and team.get("version") == 1 and r.headers.get("location") == "%s/%s" % (TM, TEAM),
       "with its leader read from the shared model", repr(team))
    err(d.post(TM, body, token=T["community_e1"]), 409, "duplicate",
        "a second team of the same name in the region", field="name")
    err(d.post(TM, body, token=T["district"]), 403, None, "the district has no volunteer.write")
    r = d.get("%s/%d" % (TM, TEAM), token=T["grid_a"])
    status(r, 200, "a grid worker under the community sees the community's team")
    err(d.get("%s/%d" % (TM, TEAM), token=T["grid_w"]), 404, "not_found",
        "the west grid worker does not")
    r = d.patch("%s/%d" % (TM, TEAM), {"version": 1, "description": "帮帮团助老服务队"},
                token=T["community_e1"])
    ok(r.status == 200 and r.json.get("version") == 2, "the team is changed", repr(r))
    err(d.patch("%s/%d" % (TM, TEAM), {"version": 1, "name": "新名"}, token=T["community_e1"]),
        409, "version_conflict", "a stale team version", field="version")
    eq((d.get("%s/%d" % (TM, TEAM), token=T["community_e1"]).json or {}).get("name"), "帮帮团",
       "and the stale write changed nothing")
    err(d.patch("%s/%d" % (TM, TEAM), {"version": 2, "name": "x"}, token=T["grid_a"]), 404,
        "not_found", "a grid worker cannot change a community's team")
    eq(ids(d.get(TM, token=T["grid_a"])), [TEAM], "the team list")

    # ------------------------------------------------------------------
    # volunteers
    VO = V + "/volunteers"
    r = d.post(VO, {"resident_id": vr1, "team_id": TEAM, "skills": ["理发", "陪聊"],
                    "availability": "周末上午"}, token=T["grid_a"])
    status(r, 201, "the grid worker registers a volunteer of its grid")
    v1 = r.json or {}
    V1 = v1.get("id")
    ok(v1.get("name") == "志愿甲" and v1.get("skills") == ["理发", "陪聊"]
       and v1.get("team_name") == "帮帮团" and v1.get("hours_total") == 0
       and v1.get("party_member") is False and v1.get("status") == "active",
       "a volunteer is a resident: name from the shared model, skills, team", repr(v1))
    for bad, st, code, field, what in [
        ({"resident_id": vr1}, 409, "duplicate", "resident_id", "the same resident twice"),
        ({"resident_id": dis}, 422, "invalid", "resident_id",
         "a resident of another grid"),
        ({"resident_id": dead}, 422, "invalid", "resident_id", "a deceased resident"),
        ({"resident_id": plain, "skills": "理发"}, 422, "invalid", "skills",
         "skills that are not a list"),
        ({"resident_id": plain, "skills": ["a", "a"]}, 422, "invalid", "skills",
         "a skill twice"),
        ({"resident_id": plain, "team_id": 99999}, 422, "invalid", "team_id", "an unknown team"),
        ({"resident_id": plain, "joined_on": "2024-02-30"}, 422, "invalid", "joined_on",
         "an impossible date"),
        ({}, 422, "invalid", "resident_id", "resident_id is required"),
    ]:
        err(d.post(VO, bad, token=T["grid_a"]), st, code, "volunteer create: " + what,
            field=field)
    r = d.post(VO, {"resident_id": vr1}, token=T["grid_a"])
    eq((fx.error_of(r) or {}).get("existing_id"), V1, "the duplicate names the volunteer")
    r = d.post(VO, {"resident_id": vr2, "team_id": TEAM, "skills": ["跑腿"]}, token=T["grid_b"])
    status(r, 201, "grid B's worker registers its volunteer")
    V2 = (r.json or {}).get("id")
    r = d.post(VO, {"resident_id": vrw}, token=T["grid_w"])
    status(r, 201, "the west grid worker registers one without a team")
    VW = (r.json or {}).get("id")
    err(d.get("%s/%d" % (VO, V1), token=T["grid_b"]), 404, "not_found",
        "grid B's worker gets 404 for grid A's volunteer")
    eq(ids(d.get(VO, token=T["community_e1"])), sorted([V1, V2]),
       "the community lists its volunteers")
    eq(ids(d.get(VO + "?skill=理发", token=T["community_e1"])), [V1], "?skill= filters")
    r = d.patch("%s/%d" % (VO, V2), {"version": 1, "availability": "工作日晚上"},
                token=T["grid_b"])
    ok(r.status == 200 and r.json.get("availability") == "工作日晚上"
       and r.json.get("version") == 2, "availability changed", repr(r))
    err(d.patch("%s/%d" % (VO, V2), {"version": 1, "status": "inactive"}, token=T["grid_b"]),
        409, "version_conflict", "a stale volunteer version", field="version")
    err(d.patch("%s/%d" % (VO, V2), {"version": 2, "status": "gone"}, token=T["grid_b"]),
        422, "invalid", "an unknown status", field="status")
    err(d.patch("%s/%d" % (VO, V2), {"status": "inactive"}, token=T["grid_b"]),
        422, "invalid", "the version is required", field="version")

    # party membership: read from the party plugin's tag, when there is one
    has_party_tag = sql1("SELECT count(*) FROM core.tag WHERE code = 'party_member'") == "1"
    if has_party_tag:
        tag_resident(vr1, "party_member", "party.member:0")
        ok((d.get("%s/%d" % (VO, V1), token=T["grid_a"]).json or {}).get("party_member") is True,
           "a party member (party plugin's tag) reads as one")
        eq(ids(d.get(VO + "?party_member=true", token=T["community_e1"])), [V1],
           "?party_member=true lists the party-member volunteers")
    elif "party" in plugins:
        skip("party_member read from the party plugin's tag",
             "the party plugin is still a placeholder without the party_member tag")
        eq(ids(d.get(VO + "?party_member=true", token=T["community_e1"])), [],
           "with the placeholder party plugin, nobody is a party member")
    else:
        eq(ids(d.get(VO + "?party_member=true", token=T["community_e1"])), [],
           "without the party plugin, nobody is a party member (and nothing fails)")

    # ------------------------------------------------------------------
    # service records: only verified hours count
    RC = V + "/records"

    def vol(vid, token=None):
        return d.get("%s/%d" % (VO, vid), token=token or w.admin).json or {}

    def hours(vid):
        v = vol(vid)
        return (v.get("hours_this_year"), v.get("hours_total"), v.get("hours_unverified"))

    rec = {"volunteer_id": V1, "served_resident_id": alone, "kind": "companionship",
           "served_on": TODAY.isoformat(), "hours": 2}
    for bad, field, what in [
        (dict(rec, hours=0), "hours", "zero hours"),
        (dict(rec, hours=25), "hours", "more than 24 hours"),
        (dict(rec, hours=1.333), "hours", "hours finer than a hundredth"),
        (dict(rec, hours="2"), "hours", "hours as a string"),
        (dict(rec, served_on=day(1)), "served_on", "a service tomorrow"),
        (dict(rec, kind="fun"), "kind", "an unknown kind"),
        ({k: v for k, v in rec.items() if k != "served_resident_id"}, "served_resident_id",
         "neither whom nor what"),
        (dict(rec, served_resident_id=vr1), "served_resident_id", "serving oneself"),
        (dict(rec, volunteer_id=V2), "volunteer_id", "another grid's volunteer"),
    ]:
        err(d.post(RC, bad, token=T["grid_a"]), 422, "invalid", "record create: " + what,
            field=field)
    r = d.post(RC, rec, token=T["grid_a"])
    status(r, 201, "the grid worker records 2 hours of companionship")
    r1 = r.json or {}
    ok(r1.get("verified") is False and r1.get("served_name") == "独居乙"
       and float(r1.get("hours") or 0) == 2.0 and r1.get("team_id") == TEAM,
       "unverified, for whom, in the volunteer's team", repr(r1))
    eq(hours(V1), (0, 0, 2), "unverified hours do not count (2 pending)")
    R1 = r1.get("id")
    err(d.post("%s/%d/verify" % (RC, R1), {"version": 1}, token=T["grid_a"]), 403, None,
        "a grid worker cannot verify (volunteer.verify)")
    err(d.post("%s/%d/verify" % (RC, R1), {"version": 9}, token=T["community_e1"]), 409,
        "version_conflict", "a stale record version", field="version")
    r = d.post("%s/%d/verify" % (RC, R1), {"version": 1}, token=T["community_e1"])
    ok(r.status == 200 and r.json.get("verified") is True
       and r.json.get("verified_by_username") == "community_e1" and r.json.get("verified_at"),
       "the community verifies it", repr(r))
    err(d.post("%s/%d/verify" % (RC, R1), {"version": 2}, token=T["community_e1"]), 409,
        "already_verified", "verifying twice")
    eq(hours(V1), (2, 2, 0), "verified, the 2 hours count this year and in total")
    last_year = "%d-06-01" % (TODAY.year - 1)
    r = d.post(RC, {"volunteer_id": V1, "subject": "社区环境清扫", "kind": "environment",
                    "served_on": last_year, "hours": 1.5}, token=T["grid_a"])
    status(r, 201, "a service last year, for something rather than someone")
    R2 = (r.json or {}).get("id")
    d.post("%s/%d/verify" % (RC, R2), {"version": 1}, token=T["community_e1"])
    eq(hours(V1), (2, 3.5, 0), "last year's verified hours count in the total only")
    r = d.post(RC, {"volunteer_id": V2, "served_resident_id": dis, "kind": "errand",
                    "served_on": day(-2), "hours": 3}, token=T["community_e1"])
    R3 = (r.json or {}).get("id")
    err(d.post("%s/%d/verify" % (RC, R3), {"version": 1}, token=T["community_e1"]), 403,
        "forbidden", "the recorder cannot verify its own record")
    status(d.post("%s/%d/verify" % (RC, R3), {"version": 1}, token=T["street_e"]), 200,
           "the street verifies it")
    r = d.post(RC, {"volunteer_id": V2, "served_resident_id": dis, "kind": "errand",
                    "served_on": TODAY.isoformat(), "hours": 1}, token=T["grid_b"])
    status(r, 201, "grid B records an hour that nobody verifies")
    eq(hours(V2), (3, 3, 1), "volunteer 2: 3 verified hours, 1 pending")
    eq(ids(d.get(RC + "?verified=false", token=T["community_e1"])), [(r.json or {}).get("id")],
       "?verified=false lists what waits for verification")
    err(d.get("%s/%d" % (RC, R1), token=T["grid_w"]), 404, "not_found",
        "another street cannot read the record")
    eq(ids(d.get(RC, token=T["grid_b"])), sorted([R3, (r.json or {}).get("id")]),
       "grid B's worker sees its volunteer's records")

    # ------------------------------------------------------------------
    # pairs
    PR = V + "/pairs"
    r = d.post(PR, {"volunteer_id": V1, "resident_id": p80, "note": "每周走访"},
               token=T["grid_a"])
    status(r, 201, "volunteer 1 is paired with the 80-year-old")
    P1 = (r.json or {}).get("id")
    ok((r.json or {}).get("basis") == ["age_80_plus"] and r.json.get("status") == "open"
       and r.json.get("resident_name") == "高龄甲", "the pair says why", repr(r.json))
    east.remove(p80)
    eq(ids(d.get(C, token=T["street_e"]), "resident_id"), sorted(east),
       "the candidates list shrinks by the paired resident")
    r = d.post(PR, {"volunteer_id": V1, "resident_id": p80}, token=T["grid_a"])
    err(r, 409, "duplicate", "a second open pair for the same resident", field="resident_id")
    eq((fx.error_of(r) or {}).get("existing_id"), P1, "naming the open pair")
    err(d.post(PR, {"volunteer_id": V1, "resident_id": vr1}, token=T["grid_a"]), 422, "invalid",
        "a volunteer paired with themself", field="resident_id")
    err(d.post(PR, {"volunteer_id": V1, "resident_id": both}, token=T["grid_a"]), 422,
        "invalid", "a resident outside the grid worker's scope", field="resident_id")
    err(d.post(PR, {"volunteer_id": V1, "resident_id": alone, "started_on": day(1)},
               token=T["grid_a"]), 422, "invalid", "a pair starting tomorrow",
        field="started_on")
    r = d.post(PR, {"volunteer_id": V2, "resident_id": both}, token=T["grid_b"])
    status(r, 201, "volunteer 2 is paired with the resident 80+ living alone")
    P2 = (r.json or {}).get("id")
    eq((r.json or {}).get("basis"), ["age_80_plus", "lives_alone"], "with both reasons")
    east.remove(both)
    eq(ids(d.get(C, token=T["street_e"]), "resident_id"), sorted(east), "and shrinks again")

    r = d.post("%s/%d/visits" % (PR, P1), {"served_on": TODAY.isoformat(), "hours": 1,
                                           "note": "陪同就医"}, token=T["grid_a"])
    status(r, 201, "a visit under the pair")
    vis = r.json or {}
    ok(vis.get("pair_id") == P1 and vis.get("kind") == "visit"
       and vis.get("served_resident_id") == p80 and vis.get("verified") is False,
       "is a service record for the helped resident", repr(vis))
    err(d.post("%s/%d/visits" % (PR, P1), {"served_on": day(-3), "hours": 1}, token=T["grid_a"]),
        422, "invalid", "a visit before the pair started", field="served_on")
    eq((d.get("%s/%d" % (PR, P1), token=T["grid_a"]).json or {}).get("verified_hours"), 0,
       "the visit's hour does not count until verified")
    d.post("%s/%d/verify" % (RC, vis.get("id")), {"version": 1}, token=T["community_e1"])
    p1 = d.get("%s/%d" % (PR, P1), token=T["grid_a"]).json or {}
    ok(p1.get("visits") == 1 and p1.get("verified_hours") == 1
       and p1.get("last_visit_on") == TODAY.isoformat(), "verified, it counts", repr(p1))
    eq(hours(V1), (3, 4.5, 0), "and in the volunteer's hours")

    # the helped resident dies: the pair closes by itself
    r = d.post("/api/v1/residents/%d/events" % p80,
               {"kind": "deceased", "occurred_on": TODAY.isoformat()}, token=T["grid_a"])
    status(r, 201, "the grid worker records the death of the paired resident")
    p1 = d.get("%s/%d" % (PR, P1), token=T["grid_a"]).json or {}
    ok(p1.get("status") == "closed" and p1.get("close_kind") == "resident_deceased"
       and p1.get("closed_on") == TODAY.isoformat()
       and TODAY.isoformat() in (p1.get("close_reason") or "")
       and "去世" in (p1.get("close_reason") or ""),
       "the pair is closed with the reason and date", repr(p1))
    eq(p1.get("version"), 2, "its version moved on")
    err(d.post("%s/%d/visits" % (PR, P1), {"served_on": TODAY.isoformat(), "hours": 1},
               token=T["grid_a"]), 409, "pair_closed", "no visit under a closed pair")
    eq(sql1("SELECT count(*) FROM core.audit WHERE entity = 'volunteer.pair' AND entity_id = "
            "'%d' AND action = 'close'" % P1), "1", "the automatic closing is audited")
    r = d.post("/api/v1/residents/%d/events" % both,
               {"kind": "moved_out", "occurred_on": TODAY.isoformat()}, token=T["grid_b"])
    status(r, 201, "the other paired resident moves out")
    p2 = d.get("%s/%d" % (PR, P2), token=T["grid_b"]).json or {}
    ok(p2.get("status") == "closed" and p2.get("close_kind") == "resident_moved_out"
       and "迁出" in (p2.get("close_reason") or ""), "that pair closes too", repr(p2))
    eq(ids(d.get(C, token=T["street_e"]), "resident_id"), sorted(east),
       "neither comes back as a candidate")
    err(d.post("%s/%d/close" % (PR, P2), {"version": 2, "reason": "x"}, token=T["grid_b"]), 409,
        "pair_closed", "closing a closed pair")
    r = d.post(PR, {"volunteer_id": V1, "resident_id": alone}, token=T["grid_a"])
    status(r, 201, "volunteer 1 is paired with the resident living alone")
    P3 = (r.json or {}).get("id")
    east.remove(alone)
    eq(ids(d.get(C, token=T["street_e"]), "resident_id"), sorted(east),
       "the candidates list is down to %d" % len(east))
    r = d.post(PR, {"volunteer_id": V2, "resident_id": dis}, token=T["grid_b"])
    P4 = (r.json or {}).get("id")
    err(d.post("%s/%d/close" % (PR, P4), {"version": 1}, token=T["grid_b"]), 422, "invalid",
        "closing needs a reason", field="reason")
    r = d.post("%s/%d/close" % (PR, P4), {"version": 1, "reason": "家属接回照顾"},
               token=T["grid_b"])
    ok(r.status == 200 and r.json.get("close_kind") == "manual", "a pair closed by hand",
       repr(r))
    eq(ids(d.get(PR + "?status=open", token=T["street_e"])), [P3], "?status=open")
    err(d.get("%s/%d" % (PR, P3), token=T["grid_b"]), 404, "not_found",
        "grid B's worker gets 404 for grid A's pair")

    # ------------------------------------------------------------------
    # requests
    RQ = V + "/requests"
    err(d.post(RQ, {"resident_id": dis, "kind": "errand"}, token=T["grid_b"]), 422, "invalid",
        "a request needs what is needed", field="need")
    err(d.post(RQ, {"resident_id": alone, "kind": "errand", "need": "x"}, token=T["grid_b"]),
        422, "invalid", "a request for a resident outside the scope", field="resident_id")
    r = d.post(RQ, {"resident_id": dis, "kind": "errand", "need": "代买药品"}, token=T["grid_b"])
    status(r, 201, "grid B's worker files a request for the disabled resident")
    q1 = r.json or {}
    Q1 = q1.get("id")
    ok(q1.get("status") == "open" and q1.get("resident_name") == "残疾丙",
       "open, for the resident", repr(q1))
    err(d.post("%s/%d/close" % (RQ, Q1), {"version": 1, "served_on": TODAY.isoformat(),
                                          "hours": 1}, token=T["community_e1"]),
        409, "not_assigned", "a request cannot close before it is assigned")
    err(d.post("%s/%d/assign" % (RQ, Q1), {"version": 1, "volunteer_id": VW},
               token=T["community_e1"]), 422, "invalid",
        "a volunteer outside the scope cannot be assigned", field="volunteer_id")
    r = d.post("%s/%d/assign" % (RQ, Q1), {"version": 1, "volunteer_id": V2},
               token=T["community_e1"])
    ok(r.status == 200 and r.json.get("status") == "assigned"
       and r.json.get("assigned_volunteer_id") == V2 and r.json.get("team_id") == TEAM,
       "the team leader (community) assigns volunteer 2", repr(r))
    r = d.post("%s/%d/close" % (RQ, Q1), {"version": 2, "served_on": TODAY.isoformat(),
                                          "hours": 1.5, "note": "已送达"},
               token=T["community_e1"])
    ok(r.status == 200 and r.json.get("status") == "closed"
       and (r.json.get("record") or {}).get("request_id") == Q1
       and (r.json.get("record") or {}).get("verified") is False
       and r.json.get("record_id") == (r.json.get("record") or {}).get("id"),
       "closed with a service record (unverified like every record)", repr(r))
    err(d.post("%s/%d/assign" % (RQ, Q1), {"version": 3, "volunteer_id": V2},
               token=T["community_e1"]), 409, "request_closed", "a closed request stays closed")
    r = d.post(RQ, {"resident_id": alone, "kind": "housework", "need": "打扫卫生"},
               token=T["grid_a"])
    Q2 = (r.json or {}).get("id")
    eq(ids(d.get(RQ + "?status=open", token=T["street_e"])), [Q2], "?status=open")
    err(d.get("%s/%d" % (RQ, Q2), token=T["grid_b"]), 404, "not_found",
        "grid B's worker gets 404 for grid A's request")
    n = sql1("SELECT count(*) FROM core.audit WHERE entity LIKE 'volunteer.%'")
    ok(int(n) >= 20, "every write is audited (%s rows)" % n)

    # ------------------------------------------------------------------
    # indicators, exact
    GRIDS = sorted(int(x[0]) for x in pg.sql("SELECT id FROM core.region WHERE level = 'grid'"))
    A, B, Cg, W = R.grid_a, R.grid_b, R.grid_c, R.grid_w
    WANT = {
        "volunteer.active_volunteers": {A: 1, B: 1},
        "volunteer.verified_hours": {A: "3.00", B: "3.00"},
        "volunteer.help_pairs": {A: 1},
        "volunteer.unpaired_in_need": {B: 1, W: 1},
        "volunteer.requests_open": {A: 1},
        "volunteer.requests_closed": {B: 1},
    }
    # dis's pair P4 was closed by hand today: dis needs a pair again.
    if tk:
        WANT["volunteer.unpaired_in_need"][Cg] = 1

    def run_indicator(code, date):
        rows = pg.sql("PREPARE ind(text) AS %s;\nEXECUTE ind(%s);" % (SQLS[("I", code)], q(date)))
        return {int(g): v for g, v in rows}

    for code, want in WANT.items():
        if ("I", code) not in SQLS:
            ok(False, "indicator %s declared" % code)
            continue
        got = run_indicator(code, TODAY.isoformat())
        full = {g: str(want.get(g, "0.00" if code.endswith("hours") else 0)) for g in GRIDS}
        got_s = {g: str(v) for g, v in got.items()}
        if code.endswith("hours"):
            got_s = {g: "%.2f" % float(v) for g, v in got.items()}
        eq(got_s, full, "%s: one row per grid, exact figures today" % code)
    if ("I", "volunteer.help_pairs") in SQLS:
        eq(sum(int(v) for v in run_indicator("volunteer.help_pairs", day(-1)).values()), 0,
           "yesterday no pair was open")
        eq(run_indicator("volunteer.unpaired_in_need", day(-1)).get(B), "2",
           "yesterday grid B had two residents needing a pair (one has moved out since)")
    dpath = sql1("SELECT path::text FROM core.region WHERE id = %d" % R.district)

    def run_rows(code, date, path):
        return pg.sql("PREPARE rws(text, text) AS %s;\nEXECUTE rws(%s, %s);"
                      % (SQLS[("R", code)], q(date), q(path)))

    if any(k[0] == "R" for k in SQLS):
        for code, want in WANT.items():
            if code.endswith("hours"):
                continue
            rows = run_rows(code, TODAY.isoformat(), dpath)
            rid = [int(x[0]) for x in rows]
            ok(len(rows) == sum(want.values()) and rid == sorted(set(rid)),
               "%s: the rows behind the figure, one per record" % code, repr(rows))
        rows = run_rows("volunteer.unpaired_in_need", TODAY.isoformat(), dpath)
        eq(sorted(x[1] for x in rows), sorted(["残疾丙", "西高龄"] + (["特困丁"] if tk else [])),
           "the residents needing a pair are named")
        rows = run_rows("volunteer.verified_hours", TODAY.isoformat(), dpath)
        eq(sorted(int(x[0]) for x in rows), sorted([R1, R3, vis.get("id")]),
           "the hours behind the figure are the verified records of this year")
    else:
        skip("rows_sql", "built against ABI 1.1 headers")

    paths_now = (d.get("/openapi.json").json or {}).get("paths", {})
    if "/api/v1/reports/summary" not in paths_now:
        skip("the volunteer indicators in GET /api/v1/reports/summary",
             "the reports engine is not in this build yet")
    else:
        r = d.get("/api/v1/reports/summary?region=%d" % R.comm_e1, token=T["district"])
        status(r, 200, "GET /api/v1/reports/summary for the community")
        vals = {row["region"]["id"]: row["values"] for row in (r.json or {}).get("rows", [])}
        got = {c: {g: vals.get(g, {}).get(c) for g in (A, B, R.comm_e1)} for c in WANT}
        want = {c: {g: float(WANT[c].get(g, 0)) for g in (A, B)} for c in WANT}
        for c in WANT:
            want[c][R.comm_e1] = want[c][A] + want[c][B]
        eq({c: {g: (None if v is None else float(v)) for g, v in m.items()}
            for c, m in got.items()}, want,
           "the one report: every volunteer indicator per grid and summed for the community")
        r = d.get("/api/v1/reports/indicators/volunteer.unpaired_in_need/rows?region=%d"
                  % R.district, token=T["district"])
        ok(r.status == 200 and len(fx.items_of(r)) == (3 if tk else 2),
           "the rows behind 需结对未结对人数 through the API", repr(r))

    # ------------------------------------------------------------------
    # ledgers
    def run_ledger(name, path):
        return pg.sql("PREPARE led(text) AS %s;\nEXECUTE led(%s);" % (SQLS[("L", name)], q(path)))

    if ("L", "roster") in SQLS:
        epath = sql1("SELECT path::text FROM core.region WHERE id = %d" % R.street_e)
        rows = run_ledger("roster", epath)
        eq([(int(x[0]), x[1], x[4], x[5], x[7], float(x[11]), float(x[12])) for x in rows],
           [(V1, "志愿甲", "是" if has_party_tag else "否", "帮帮团", "理发、陪聊", 3.0, 4.5),
            (V2, "志愿乙", "否", "帮帮团", "跑腿", 3.0, 3.0)],
           "志愿者花名册: team, skills, verified hours this year and in total")
        rows = run_ledger("hours", epath)
        eq(len(rows), 6, "志愿服务时长登记簿 lists every record of the street")
        eq(sorted(x[7] for x in rows).count("已核实"), 4, "four of them verified")
        rows = run_ledger("pairs", epath)
        eq([(int(x[0]), x[1], x[9]) for x in rows],
           [(P1, "高龄甲", "已解除"), (P2, "高龄独居", "已解除"), (P3, "独居乙", "结对中"),
            (P4, "残疾丙", "已解除")], "结对帮扶台账: every pair with its status")
        ok("去世" in rows[0][11] and rows[1][4] == "80岁以上、独居老人",
           "with the closing reason and the basis in words", repr(rows[:2]))
    if "/api/v1/ledgers/{plugin}/{name}" in paths_now:
        r = d.get("/api/v1/ledgers/volunteer/pairs?region=%d" % R.street_e, token=T["street_e"])
        ok(r.status == 200 and len(fx.items_of(r)) == 4, "the pairs ledger through the API",
           repr(r))
        r = d.get("/api/v1/ledgers/volunteer/roster?region=%d" % R.street_w, token=T["street_w"])
        ok(r.status == 200 and [i.get("id") for i in fx.items_of(r)] == [VW],
           "the west street's roster", repr(r))
    else:
        skip("the volunteer ledgers through GET /api/v1/ledgers", "no ledgers route")

    # ------------------------------------------------------------------
    # after the figures: a volunteer who dies, a team renamed onto another
    vr9 = resident("志愿丁", R.grid_a, "1960-09-09")
    r = d.post(VO, {"resident_id": vr9, "team_id": TEAM}, token=T["grid_a"])
    V9 = (r.json or {}).get("id")
    r = d.post(PR, {"volunteer_id": V9, "resident_id": dis}, token=T["community_e1"])
    status(r, 201, "the community pairs a grid A volunteer with a grid B resident")
    P9 = (r.json or {}).get("id")
    ok(dis not in ids(d.get(C, token=T["street_e"]), "resident_id"), "dis is paired again")
    status(d.get("%s/%d" % (PR, P9), token=T["grid_b"]), 200,
           "both grid workers see the pair (the helped resident's grid)")
    r = d.post("%s/%d/visits" % (PR, P9), {"served_on": TODAY.isoformat(), "hours": 0.5},
               token=T["grid_b"])
    status(r, 201, "the helped resident's grid worker records a visit of the volunteer "
           "from the next grid")
    R9 = (r.json or {}).get("id")
    err(d.delete("%s/%d" % (RC, R9), token=T["grid_b"]), 422, "invalid",
        "deleting needs the version", field="version")
    err(d.delete("%s/%d" % (RC, R9), token=T["grid_b"], headers={"If-Match": '"5"'}), 409,
        "version_conflict", "deleting with a stale version", field="version")
    r = d.delete("%s/%d" % (RC, R9), token=T["grid_b"], headers={"If-Match": '"1"'})
    ok(r.status == 200 and r.json.get("deleted") is True, "an unverified record entered by "
       "mistake is deleted", repr(r))
    err(d.get("%s/%d" % (RC, R9), token=T["grid_b"]), 404, "not_found", "it is gone")
    eq(sql1("SELECT count(*) FROM core.audit WHERE entity = 'volunteer.record' AND entity_id = "
            "'%d' AND action = 'delete'" % R9), "1", "and the deletion audited")
    err(d.delete("%s/%d" % (RC, R1), token=T["grid_a"], headers={"If-Match": '"2"'}), 409,
        "already_verified", "a verified record cannot be deleted")
    q1rec = (d.get("%s/%d" % (RQ, Q1), token=T["grid_b"]).json or {}).get("record_id")
    err(d.delete("%s/%d" % (RC, q1rec), token=T["grid_b"], headers={"If-Match": '"1"'}), 409,
        "closes_request", "the record that closed a request cannot be deleted")
    r = d.post("%s/%d/assign" % (RQ, Q2), {"version": 1, "volunteer_id": V9},
               token=T["community_e1"])
    status(r, 200, "grid A's open request is assigned to that volunteer")
    r = d.post("/api/v1/residents/%d/events" % vr9,
               {"kind": "deceased", "occurred_on": TODAY.isoformat()}, token=T["grid_a"])
    status(r, 201, "the volunteer dies")
    q2 = d.get("%s/%d" % (RQ, Q2), token=T["grid_a"]).json or {}
    ok(q2.get("status") == "open" and q2.get("assigned_volunteer_id") is None
       and q2.get("version") == 3, "the request assigned to them is open again for the "
       "team leader to reassign", repr(q2))
    p9 = d.get("%s/%d" % (PR, P9), token=T["grid_b"]).json or {}
    ok(p9.get("status") == "closed" and p9.get("close_kind") == "volunteer_left"
       and "志愿者去世" in (p9.get("close_reason") or ""),
       "the volunteer's pair closes with the reason", repr(p9))
    eq((d.get("%s/%d" % (VO, V9), token=T["grid_a"]).json or {}).get("status"), "inactive",
       "and the volunteer is no longer active")
    ok(dis in ids(d.get(C, token=T["street_e"]), "resident_id"),
       "the helped resident is a candidate again")
    v9 = d.get("%s/%d" % (VO, V9), token=T["grid_a"]).json or {}
    err(d.patch("%s/%d" % (VO, V9), {"version": v9.get("version"), "status": "active"},
                token=T["grid_a"]), 422, "invalid", "a deceased volunteer cannot be made active",
        field="status")
    err(d.post(RC, {"volunteer_id": V9, "subject": "x", "kind": "other",
                    "served_on": TODAY.isoformat(), "hours": 1}, token=T["grid_a"]), 422,
        "invalid", "nor record new service", field="volunteer_id")
    r = d.post(RQ, {"resident_id": p79, "kind": "repair", "need": "修水龙头"}, token=T["grid_a"])
    Q3 = (r.json or {}).get("id")
    err(d.post("%s/%d/cancel" % (RQ, Q3), {"version": 1}, token=T["grid_a"]), 422, "invalid",
        "cancelling needs a reason", field="reason")
    r = d.post("%s/%d/cancel" % (RQ, Q3), {"version": 1, "reason": "物业已修好"},
               token=T["grid_a"])
    ok(r.status == 200 and r.json.get("status") == "cancelled"
       and r.json.get("cancel_reason") == "物业已修好" and r.json.get("closed_on") ==
       TODAY.isoformat(), "a request is cancelled with the reason", repr(r))
    err(d.post("%s/%d/assign" % (RQ, Q3), {"version": 2, "volunteer_id": V1},
               token=T["community_e1"]), 409, "request_closed", "a cancelled request takes no step")
    r = d.post(RQ, {"resident_id": plain, "kind": "health", "need": "量血压"}, token=T["grid_a"])
    Q4 = (r.json or {}).get("id")
    r = d.post("/api/v1/residents/%d/events" % plain,
               {"kind": "deceased", "occurred_on": TODAY.isoformat()}, token=T["grid_a"])
    status(r, 201, "a resident with an open request dies")
    q4 = d.get("%s/%d" % (RQ, Q4), token=T["grid_a"]).json or {}
    ok(q4.get("status") == "cancelled" and "求助人去世" in (q4.get("cancel_reason") or ""),
       "the request is cancelled by itself with the reason", repr(q4))
    eq(sql1("SELECT count(*) FROM core.audit WHERE entity = 'volunteer.request' AND entity_id = "
            "'%d' AND action = 'cancel'" % Q4), "1", "and that is audited")
    if ("I", "volunteer.requests_open") in SQLS:
        eq(run_indicator("volunteer.requests_open", TODAY.isoformat()).get(A), "1",
           "cancelled requests are not open (grid A: the reopened one)")
        eq(sum(int(v) for v in run_indicator("volunteer.requests_closed",
                                             TODAY.isoformat()).values()), 1,
           "nor closed (served): still one")
    r = d.post(TM, {"region_id": R.comm_e1, "name": "第二队", "leader_resident_id": vr1},
               token=T["community_e1"])
    T2 = (r.json or {}).get("id")
    err(d.patch("%s/%d" % (TM, T2), {"version": 1, "name": "帮帮团"}, token=T["community_e1"]),
        409, "duplicate", "renaming a team onto another's name", field="name")
    status(d.patch("%s/%d" % (TM, T2), {"version": 1, "name": "第三队"},
                   token=T["community_e1"]), 200, "a free name is fine")

    # ------------------------------------------------------------------
    # OpenAPI
    want_ops = [("get", "/teams"), ("post", "/teams"), ("get", "/teams/{id}"),
                ("patch", "/teams/{id}"), ("get", "/volunteers"), ("post", "/volunteers"),
                ("get", "/volunteers/{id}"), ("patch", "/volunteers/{id}"),
                ("get", "/records"), ("post", "/records"), ("get", "/records/{id}"),
                ("post", "/records/{id}/verify"), ("delete", "/records/{id}"),
                ("get", "/candidates"), ("get", "/pairs"),
                ("post", "/pairs"), ("get", "/pairs/{id}"), ("post", "/pairs/{id}/visits"),
                ("post", "/pairs/{id}/close"), ("get", "/requests"), ("post", "/requests"),
                ("get", "/requests/{id}"), ("post", "/requests/{id}/assign"),
                ("post", "/requests/{id}/close"), ("post", "/requests/{id}/cancel")]
    eq([op for op in want_ops if op[0] not in paths_now.get(V + op[1], {})], [],
       "openapi lists every volunteer route")
    rc = paths_now.get(V + "/records", {}).get("post", {})
    schema = rc.get("requestBody", {}).get("content", {}).get("application/json", {}) \
        .get("schema", {})
    ok(schema.get("required") == ["volunteer_id", "kind", "served_on", "hours"]
       and "enum" in schema.get("properties", {}).get("kind", {}),
       "the record body is described with its enum", json.dumps(schema)[:300])

    eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
    d.check_log_clean(t, "%s daemon log has no sanitizer report, alert or CRIT line" % tag)
    d.close()
    pg.close()


scenario(["volunteer"])
scenario(["civil", "party", "volunteer"])
t.done()

#!/usr/bin/env python3
"""test_women — the women's federation (妇联) plugin end to end, against the
real daemon loading plugins ["example", "women"]:

  - GET /api/v1/women/overview: women, girls and children by age band and
    residence status, exact on a known population (deceased and unknown
    ages handled), for the district, a community and a grid worker's grid;
  - rights-protection cases (维权): taken in by community staff with
    parties in and out of the shared model; invisible (404) to a grid
    worker without the grant, to staff of another community and to the
    district without women.case.read; visible to their handler even
    without the grant; visible to a grid worker once the role is granted
    women.case.read, in scope only; every read (one case or a list page)
    audited, and the audit images carry no party or narrative; actions,
    referrals, closure, stale versions; cases absent from the residents
    export and from ledgers beyond anonymised lines;
  - children's care records with visits; activities whose participation
    counts each resident once, however often added; honours to households;
  - the indicators, run by their own SQL (read from women.c) and through
    GET /api/v1/reports/summary when the reports engine is in the build;
    the ledgers; /openapi.json describes every route.

Not for: the shared model's own rules or the reports engine's rendering
(their own tests).  Residents are inserted with SQL (fast, exact dates)."""
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
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example", "women"])
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d)
R = w.r
T = w.tokens
CASES = "/api/v1/women/cases"


def sql1(query):
    rows = pg.sql(query)
    return rows[0][0] if rows else None


def q(s):
    return "'" + str(s).replace("'", "''") + "'"


TODAY = datetime.date.fromisoformat(sql1("SELECT current_date"))


def day(n):
    return (TODAY + datetime.timedelta(days=n)).isoformat()


# ============================================================================
# a known population
# (key, grid, gender, age or None, residence status, life status)
POP = [
    ("a_f30", R.grid_a, "female", 30, "registered", "active"),
    ("a_f40", R.grid_a, "female", 40, "floating", "active"),
    ("a_f70", R.grid_a, "female", 70, "resident", "active"),
    ("a_f5", R.grid_a, "female", 5, "floating", "active"),
    ("a_f12", R.grid_a, "female", 12, "registered", "active"),
    ("a_m8", R.grid_a, "male", 8, "floating", "active"),
    ("a_m2", R.grid_a, "male", 2, "registered", "active"),
    ("a_m45", R.grid_a, "male", 45, "registered", "active"),
    ("a_fnull", R.grid_a, "female", None, "registered", "active"),
    ("a_f50dead", R.grid_a, "female", 50, "registered", "deceased"),
    ("b_f16", R.grid_b, "female", 16, "resident", "active"),
    ("b_m14", R.grid_b, "male", 14, "floating", "active"),
    ("b_f25", R.grid_b, "female", 25, "registered", "active"),
    ("w_f33", R.grid_w, "female", 33, "floating", "active"),
    ("w_m6", R.grid_w, "male", 6, "registered", "active"),
]
NAMES = {}
ID = {}
for i, (key, grid, gender, age, rs, life) in enumerate(POP):
    birth = ("NULL" if age is None else
             "((current_date - make_interval(years => %d))::date - 30)" % age)
    name = "居民%s" % key
    ID[key] = int(sql1(
        "INSERT INTO core.resident (name, id_type, residence_status, grid_id, gender, birth_date,"
        " life_status, life_status_date) VALUES (%s, 'none', %s, %d, %s, %s, %s, %s) RETURNING id"
        % (q(name), q(rs), grid, q(gender), birth, q(life),
           "current_date" if life != "active" else "NULL")))
    NAMES[key] = name


def band(age, adult):
    if age is None:
        return None
    if adult:
        return "18-34" if age <= 34 else "35-59" if age <= 59 else "60+"
    return "0-3" if age <= 3 else "4-9" if age <= 9 else "10-14" if age <= 14 else "15-17"


def expected_overview(grids):
    people = [p for p in POP if p[1] in grids and p[5] == "active"]
    res = lambda ps: {s: sum(1 for p in ps if p[4] == s) for s in ("registered", "resident",
                                                                    "floating")}
    fem = [p for p in people if p[2] == "female"]
    women = [p for p in fem if p[3] is not None and p[3] >= 18]
    kids = [p for p in people if p[3] is not None and p[3] < 18]
    girls = [p for p in kids if p[2] == "female"]
    bands = lambda ps, adult, keys: {k: sum(1 for p in ps if band(p[3], adult) == k) for k in keys}
    cb = ("0-3", "4-9", "10-14", "15-17")
    return {
        "residents": len(people),
        "female": {"total": len(fem), "by_residence": res(fem),
                   "age_unknown": sum(1 for p in fem if p[3] is None)},
        "women": {"total": len(women), "by_age": bands(women, True, ("18-34", "35-59", "60+")),
                  "by_residence": res(women)},
        "girls": {"total": len(girls), "by_age": bands(girls, False, cb),
                  "by_residence": res(girls)},
        "children": {"total": len(kids), "by_age": bands(kids, False, cb),
                     "by_residence": res(kids), "boys": len(kids) - len(girls),
                     "girls": len(girls),
                     "floating": sum(1 for p in kids if p[4] == "floating")},
        "age_unknown": sum(1 for p in people if p[3] is None),
    }


def strip(ov):
    return {k: v for k, v in (ov or {}).items() if k not in ("as_of", "region_id")}


# ============================================================================
# overview
OV = "/api/v1/women/overview"
ALL = [R.grid_a, R.grid_b, R.grid_c, R.grid_w, R.by_name["西街道一社区第2网格"],
       R.by_name["西街道二社区第1网格"], R.by_name["西街道二社区第2网格"],
       R.by_name["东街道二社区第2网格"]]
r = d.get(OV, token=T["district"])
t.status(r, 200, "the district reads the overview")
t.eq(strip(r.json), expected_overview(ALL), "district overview exact: bands, residence, "
     "deceased excluded, unknown ages apart")
t.ok(r.json and r.json.get("as_of") == TODAY.isoformat() and r.json.get("region_id") == R.district,
     "as_of today, region_id the caller's scope", repr(r.json)[:300])
r = d.get(OV, token=T["community_e1"])
t.eq(strip(r.json), expected_overview([R.grid_a, R.grid_b]),
     "a community sees its own grids only")
r = d.get(OV + "?region=%d" % R.grid_b, token=T["community_e1"])
t.eq(strip(r.json), expected_overview([R.grid_b]), "?region= narrows to one grid")
r = d.get(OV, token=T["grid_a"])
ov = r.json or {}
t.eq(strip(ov), expected_overview([R.grid_a]), "a grid worker sees their grid")
t.ok(ov.get("women", {}).get("total") == 3 and ov.get("children", {}).get("by_age", {}).get(
    "4-9") == 2 and ov.get("children", {}).get("floating") == 2 and
    ov.get("female", {}).get("total") == 6, "grid A by hand: 3 women, 2 children 4-9, "
    "2 floating children, 6 living females", repr(ov)[:400])
r = d.get(OV + "?region=%d" % R.grid_w, token=T["grid_a"])
fx.check_error(t, r, 404, "not_found", "a region outside the caller's scope is a 404",
               field="region")
r = d.get(OV + "?region=abc", token=T["grid_a"])
fx.check_error(t, r, 422, "invalid", "a malformed region is a 422", field="region")

# ============================================================================
# rights cases
SECRET = "丈夫多次殴打,申请人身安全保护令"
OUTSIDER = "王某某"
body = {"channel": "visit", "category": "domestic_violence", "summary": SECRET,
        "parties": [{"role": "complainant", "resident_id": ID["a_f30"]},
                    {"role": "respondent", "name": OUTSIDER, "note": "居住在外区"}]}
r = d.post(CASES, body, token=T["grid_a"])
fx.check_error(t, r, 403, None, "a grid worker may not take in a case (no women.case.write)")
r = d.post(CASES, body, token=T["community_e1"])
t.status(r, 201, "community staff take in a case")
k1 = r.json or {}
K1 = k1.get("id")
me_e1 = w.users["community_e1"]["id"]
t.ok(k1.get("grid_id") == R.grid_a and k1.get("status") == "open" and
     k1.get("intake_on") == TODAY.isoformat() and k1.get("handler_id") == me_e1 and
     k1.get("version") == 1 and r.headers.get("location") == "%s/%s" % (CASES, K1),
     "the case lies in the complainant's grid, held by its taker, open today", repr(k1)[:400])
t.eq([(p.get("role"), p.get("name"), p.get("in_model")) for p in k1.get("parties", [])],
     [("complainant", NAMES["a_f30"], True), ("respondent", OUTSIDER, False)],
     "parties: a resident read from the shared model, an outsider named in the case only")
n = sql1("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'women' "
         "AND column_name IN ('id_number', 'phone', 'address', 'birth_date')")
t.eq(n, "0", "no women table copies an ID number, phone, address or birth date")

for b, field, what in [
    (dict(body, channel="email"), "channel", "an unknown channel"),
    (dict(body, category=None), "category", "a missing category"),
    (dict(body, intake_on=day(1)), "intake_on", "an intake in the future"),
    (dict(body, intake_on="2024-02-30"), "intake_on", "an impossible date"),
    (dict(body, parties=[{"role": "complainant", "resident_id": ID["a_f30"], "name": "x"}]),
     "parties[0].name", "a party both resident and name"),
    (dict(body, parties=[{"role": "complainant", "resident_id": ID["w_f33"]}]),
     "parties[0].resident_id", "a party outside the caller's scope"),
    (dict(body, parties=[{"role": "boss", "name": "x"}]), "parties[0].role", "an unknown role"),
    (dict(body, colour="red"), "colour", "an unknown field"),
    ({"channel": "phone", "category": "other"}, "grid_id",
     "no grid and no resident party"),
    (dict(body, handler_id=w.users["grid_w"]["id"]), "handler_id",
     "a handler whose scope does not cover the grid"),
]:
    r = d.post(CASES, b, token=T["community_e1"])
    fx.check_error(t, r, 422, "invalid", "create: %s is a 422" % what, field=field)
t.eq(sql1("SELECT count(*) FROM women.rights_case"), "1", "and nothing half-written")


def audit_count(action, case_id=None):
    return int(sql1("SELECT count(*) FROM core.audit WHERE entity = 'women.case' AND action = %s"
                    "%s" % (q(action), "" if case_id is None else
                            " AND entity_id = %s" % q(case_id))))


reads0 = audit_count("read", K1)
r = d.get("%s/%d" % (CASES, K1), token=T["grid_a"])
fx.check_error(t, r, 404, "not_found", "a grid worker without the grant: 404 for a case of "
               "their own grid")
r = d.get(CASES, token=T["grid_a"])
t.ok(r.status == 200 and fx.items_of(r) == [], "and their case list is empty", repr(r))
r = d.get("%s/%d" % (CASES, K1), token=T["community_w1"])
fx.check_error(t, r, 404, "not_found", "another community's staff (women.case.read, out of "
               "scope): 404")
r = d.get("%s/%d" % (CASES, K1), token=T["district"])
fx.check_error(t, r, 404, "not_found", "the district without women.case.read: 404")
t.eq(audit_count("read", K1), reads0, "refused reads leave no read audit row")

r = d.get("%s/%d" % (CASES, K1), token=T["community_e1"])
t.ok(r.status == 200 and (r.json or {}).get("summary") == SECRET,
     "its handler reads it", repr(r))
t.eq(audit_count("read", K1), reads0 + 1, "the read is audited")
row = pg.sql("SELECT username, region_path::text, coalesce(after::text, '') FROM core.audit "
             "WHERE entity = 'women.case' AND action = 'read' ORDER BY id DESC LIMIT 1")[0]
t.ok(row[0] == "community_e1" and row[1].endswith(str(R.grid_a)),
     "by whom, in the case's grid", repr(row))

# a second case, handed to the grid worker of grid B (who holds no grant)
r = d.post(CASES, {"channel": "phone", "category": "marriage_family", "grid_id": R.grid_b,
                   "handler_id": w.users["grid_b"]["id"],
                   "parties": [{"role": "complainant", "resident_id": ID["b_f25"]}]},
           token=T["community_e1"])
t.status(r, 201, "a case handed to grid B's worker at intake")
K2 = (r.json or {}).get("id")
r = d.get("%s/%d" % (CASES, K2), token=T["grid_b"])
t.ok(r.status == 200 and r.json.get("handler_id") == w.users["grid_b"]["id"],
     "its handler reads it without women.case.read", repr(r))
r = d.get(CASES, token=T["grid_b"])
t.eq([i.get("id") for i in fx.items_of(r)], [K2], "the handler's list holds their own case only")
t.eq(audit_count("read", K2), 1, "the handler's read is audited too")
lst = pg.sql("SELECT after::text FROM core.audit WHERE entity = 'women.case' AND action = 'list'"
             " AND username = 'grid_b' ORDER BY id DESC LIMIT 1")
t.ok(lst and json.loads(lst[0][0]).get("ids") == [K2],
     "a list read is audited with the ids it showed", repr(lst))
r = d.get("%s/%d" % (CASES, K2), token=T["grid_a"])
fx.check_error(t, r, 404, "not_found", "another grid worker still gets 404")
r = d.post("%s/%d/actions" % (CASES, K2), {"kind": "action", "note": "电话回访当事人"},
           token=T["grid_b"])
t.ok(r.status == 201 and len(r.json.get("actions", [])) == 1, "the handler records an action",
     repr(r))
r = d.post("%s/%d/actions" % (CASES, K1), {"kind": "action", "note": "x"}, token=T["grid_b"])
fx.check_error(t, r, 404, "not_found", "but not on a case they do not hold")
r = d.patch("%s/%d" % (CASES, K2), {"version": 2, "handler_id": me_e1}, token=T["grid_b"])
t.ok(r.status == 200 and r.json.get("handed_over") is True and "parties" not in r.json and
     "summary" not in r.json, "the handler hands the case back: the answer shows nothing of it",
     repr(r))
r = d.get("%s/%d" % (CASES, K2), token=T["grid_b"])
fx.check_error(t, r, 404, "not_found", "and the former handler sees it no more")
r = d.get("%s/%d" % (CASES, K2), token=T["community_e1"])
t.ok(r.status == 200 and r.json.get("handler_id") == me_e1 and r.json.get("version") == 3,
     "the new handler holds it", repr(r)[:300])
t.eq(audit_count("handover", K2), 1, "the handover is audited")

# a grid worker granted women.case.read reads cases of their grid only
GRANT = "/api/v1/roles/grid_worker/permissions/women.case.read"
r = d.req("PUT", GRANT, token=w.admin)
t.ok(r.status in (200, 201, 204), "the admin grants grid workers women.case.read", repr(r))
r = fx.wait_for(lambda: (lambda x: x if x.status == 200 else None)(
    d.get("%s/%d" % (CASES, K1), token=T["grid_a"])), 5) or d.get("%s/%d" % (CASES, K1),
                                                                  token=T["grid_a"])
t.status(r, 200, "with the grant, grid A's worker reads grid A's case")
r = d.get("%s/%d" % (CASES, K1), token=T["grid_w"])
fx.check_error(t, r, 404, "not_found", "a granted grid worker of another grid still gets 404")
r = d.get(CASES, token=T["grid_a"])
t.eq([i.get("id") for i in fx.items_of(r)], [K1], "and lists only the cases of their grid")
r = d.post("%s/%d/actions" % (CASES, K1), {"kind": "action", "note": "x"}, token=T["grid_a"])
fx.check_error(t, r, 403, "forbidden", "reading is not writing: 403 without women.case.write")
d.req("DELETE", GRANT, token=w.admin)
fx.wait_for(lambda: d.get("%s/%d" % (CASES, K1), token=T["grid_a"]).status == 404, 5)
r = d.get("%s/%d" % (CASES, K1), token=T["grid_a"])
fx.check_error(t, r, 404, "not_found", "the grant revoked, 404 again")

# actions, referrals, closure, versions
A1 = "%s/%d/actions" % (CASES, K1)
r = d.post(A1, {"kind": "referral", "note": "转介派出所"}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "a referral needs referral_to", field="referral_to")
r = d.post(A1, {"kind": "action", "referral_to": "court", "note": "x"}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "an action takes no referral_to", field="referral_to")
r = d.post(A1, {"kind": "action", "note": "x", "acted_on": day(1)}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "an action in the future", field="acted_on")
r = d.post(A1, {"kind": "referral", "referral_to": "police", "note": "转介派出所出警"},
           token=T["community_e1"])
r2 = d.post(A1, {"kind": "referral", "referral_to": "legal_aid", "note": "法律援助中心"},
            token=T["community_e1"])
t.ok(r.status == 201 and r2.status == 201 and r2.json.get("referrals") == ["legal_aid", "police"]
     and r2.json.get("version") == 3, "referrals to the police and legal aid recorded",
     repr(r2)[:300])
P1 = "%s/%d" % (CASES, K1)
r = d.patch(P1, {"version": 1, "status": "closed", "closure": "x"}, token=T["community_e1"])
fx.check_error(t, r, 409, "version_conflict", "a stale version is a 409", field="version")
t.eq(sql1("SELECT status || version FROM women.rights_case WHERE id = %d" % K1), "open3",
     "and the case is unchanged")
r = d.patch(P1, {"version": 3, "status": "closed"}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "closing needs a closure", field="closure")
r = d.patch(P1, {"version": 3, "status": "closed", "closure": "取得人身安全保护令,调解结案"},
            token=T["community_e1"])
t.ok(r.status == 200 and r.json.get("status") == "closed" and
     r.json.get("closed_on") == TODAY.isoformat() and r.json.get("version") == 4,
     "the handler closes the case", repr(r)[:300])
r = d.post(A1, {"kind": "action", "note": "x"}, token=T["community_e1"])
fx.check_error(t, r, 409, "closed", "no action on a closed case")
r = d.patch(P1, {"version": 4}, headers={}, token=T["grid_b"])
fx.check_error(t, r, 404, "not_found", "someone else's case cannot be patched (404)")
r = d.patch(P1, {"status": "closed"}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "PATCH without a version is a 422", field="version")
r = d.patch(P1, {"version": 4, "status": "open", "closure": "x"}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "reopening takes no closure", field="closure")
r = d.patch(P1, {"version": 4, "status": "open"}, token=T["community_e1"])
t.ok(r.status == 200 and r.json.get("status") == "open" and r.json.get("closed_on") is None
     and r.json.get("closure") is None, "the case is reopened", repr(r)[:300])
PP = "%s/%d/parties" % (CASES, K1)
r = d.post(PP, {"role": "other"}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "a party needs a resident or a name", field="name")
r = d.post(PP, {"role": "child", "resident_id": ID["w_f33"]}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "a party outside scope", field="resident_id")
r = d.post(PP, {"role": "child", "resident_id": ID["a_f5"]}, token=T["community_e1"])
t.ok(r.status == 201 and len(r.json.get("parties", [])) == 3 and r.json.get("version") == 6,
     "a child is added as a party", repr(r)[:300])
r = d.patch(P1, {"version": 6, "status": "closed", "closure": "调解结案", "closed_on": day(1)},
            token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "a closure in the future", field="closed_on")
r = d.patch(P1, {"version": 6, "status": "closed", "closure": "取得人身安全保护令,调解结案"},
            token=T["community_e1"])
t.ok(r.status == 200 and r.json.get("status") == "closed", "and closed again", repr(r)[:200])
r = d.post(PP, {"role": "other", "name": "张某"}, token=T["community_e1"])
fx.check_error(t, r, 409, "closed", "no party added to a closed case")

# a third case, open, property
r = d.post(CASES, {"channel": "referral", "category": "property", "grid_id": R.grid_a,
                   "parties": [{"role": "complainant", "name": "李某"}]}, token=T["community_e1"])
t.status(r, 201, "a case whose only party is outside the shared model")
K3 = (r.json or {}).get("id")

r = d.get(CASES + "?status=open", token=T["community_e1"])
t.eq(sorted(i["id"] for i in fx.items_of(r)), sorted([K2, K3]), "?status=open lists the open "
     "cases in scope")
r = d.get(CASES + "?category=domestic_violence", token=T["community_e1"])
t.eq([i["id"] for i in fx.items_of(r)], [K1], "?category= filters")
r = d.get(CASES + "?limit=1", token=T["community_e1"])
r2 = d.get(CASES + "?limit=1&cursor=%s" % (r.json or {}).get("next_cursor"),
           token=T["community_e1"])
t.ok(len(fx.items_of(r)) == 1 and fx.items_of(r2)[0]["id"] > fx.items_of(r)[0]["id"],
     "keyset pages", repr(r2)[:200])
r = d.get(CASES + "?status=shut", token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "an unknown status filter", field="status")

# nothing sensitive outside the cases
rows = pg.sql("SELECT count(*) FROM core.audit WHERE entity = 'women.case' AND "
              "(coalesce(before::text, '') || coalesce(after::text, '')) ~ %s"
              % q("%s|%s|李某|殴打|保护令" % (OUTSIDER, NAMES["a_f30"])))
t.eq(rows[0][0], "0", "audit images of cases carry no party name and no narrative")
r = d.get("/api/v1/export/residents?format=ndjson", token=T["district"], timeout=60)
t.status(r, 200, "the district exports its residents")
t.ok(r.status == 200 and OUTSIDER not in r.text and SECRET not in r.text and
     "women" not in r.text and "李某" not in r.text and NAMES["a_f30"] in r.text,
     "cases are absent from the residents export (no party, no summary, no tag)")
r = d.get("/api/v1/export/residents?format=csv", token=T["district"], timeout=60)
t.ok(r.status == 200 and OUTSIDER not in r.text and "domestic" not in r.text,
     "nor in its CSV form", repr(r)[:200])
t.eq(sql1("SELECT count(*) FROM core.resident_tag WHERE source LIKE 'women%'"), "0",
     "rights cases set no resident tag")

# ============================================================================
# children's care
CH = "/api/v1/women/children"
r = d.post(CH, {"resident_id": ID["a_f5"], "programme": "floating", "project": "青苗计划",
                "needs": "课后辅导"}, token=T["grid_a"])
t.status(r, 201, "a grid worker opens a floating-child record")
c1 = r.json or {}
C1 = c1.get("id")
t.ok(c1.get("name") == NAMES["a_f5"] and c1.get("age") == 5 and c1.get("residence_status") ==
     "floating" and c1.get("visit_count") == 0, "the child is read from the shared model",
     repr(c1)[:300])
r = d.post(CH, {"resident_id": ID["a_f5"], "programme": "floating"}, token=T["grid_a"])
fx.check_error(t, r, 409, "duplicate", "a second open record of the programme is a 409",
               field="resident_id")
r = d.post(CH, {"resident_id": ID["a_f30"], "programme": "disadvantaged"}, token=T["grid_a"])
fx.check_error(t, r, 422, "invalid", "an adult is refused", field="resident_id")
r = d.post(CH, {"resident_id": ID["b_m14"], "programme": "disadvantaged"}, token=T["grid_a"])
fx.check_error(t, r, 422, "invalid", "a child of another grid is refused", field="resident_id")
r = d.post(CH, {"resident_id": ID["a_m8"], "programme": "orphans"}, token=T["grid_a"])
fx.check_error(t, r, 422, "invalid", "an unknown programme", field="programme")
r = d.post("%s/%d/visits" % (CH, C1), {"helper": "志愿者小刘", "help": "辅导作业",
                                       "needs": "学习用品"}, token=T["grid_a"])
t.ok(r.status == 201 and r.json.get("visit_count") == 1 and
     r.json.get("visits", [{}])[0].get("helper") == "志愿者小刘", "a visit: who helped, how",
     repr(r)[:300])
r = d.post("%s/%d/visits" % (CH, C1), {"help": "x"}, token=T["grid_a"])
fx.check_error(t, r, 422, "invalid", "a visit says who helped", field="helper")
r = d.get("%s/%d" % (CH, C1), token=T["grid_b"])
fx.check_error(t, r, 404, "not_found", "another grid's worker: 404")
r = d.patch("%s/%d" % (CH, C1), {"version": 1, "needs": "x"}, token=T["grid_a"])
fx.check_error(t, r, 409, "version_conflict", "stale version: 409", field="version")
r = d.patch("%s/%d" % (CH, C1), {"version": 2, "status": "closed"}, token=T["grid_a"])
t.ok(r.status == 200 and r.json.get("status") == "closed" and
     r.json.get("closed_on") == TODAY.isoformat(), "the record is closed", repr(r)[:300])
r = d.get(CH + "?programme=floating", token=T["community_e1"])
t.eq([i["id"] for i in fx.items_of(r)], [C1], "the community lists it")

# ============================================================================
# activities: participation counted once per resident
AC = "/api/v1/women/activities"
r = d.post(AC, {"grid_id": R.grid_a, "kind": "womens_day", "title": "铿锵玫瑰嘉年华运动会",
                "held_on": TODAY.isoformat(), "organiser": "社区妇联"}, token=T["community_e1"])
t.status(r, 201, "an activity for 8 March")
AC1 = (r.json or {}).get("id")
P = "%s/%d/participants" % (AC, AC1)
r = d.post(P, {"resident_ids": [ID["a_f30"], ID["a_f40"], ID["a_f30"]]}, token=T["community_e1"])
t.ok(r.status == 200 and r.json.get("added") == 2 and r.json.get("already") == 0 and
     r.json.get("participant_count") == 2, "a resident named twice is added once", repr(r)[:300])
r = d.post(P, {"resident_ids": [ID["a_f40"], ID["b_f25"]]}, token=T["community_e1"])
t.ok(r.status == 200 and r.json.get("added") == 1 and r.json.get("already") == 1 and
     r.json.get("participant_count") == 3, "added again: counted once", repr(r)[:300])
r = d.post(P, {"resident_ids": [ID["a_f70"], ID["w_f33"]]}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "a resident outside scope is named by position",
               field="resident_ids[1]")
t.eq(sql1("SELECT count(*) FROM women.activity_participant WHERE activity_id = %d" % AC1), "3",
     "and nothing of that call was added")
r = d.delete("%s/%d" % (P, ID["a_m45"]), token=T["community_e1"])
fx.check_error(t, r, 404, "not_found", "removing a non-participant is a 404",
               field="resident_id")
r = d.post(P, {"resident_ids": []}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "an empty list", field="resident_ids")
r = d.get("%s/%d" % (AC, AC1), token=T["community_e1"])
t.eq(sorted(p["name"] for p in (r.json or {}).get("participants", [])),
     sorted([NAMES["a_f30"], NAMES["a_f40"], NAMES["b_f25"]]), "participants by name")
r = d.post(AC, {"grid_id": R.grid_b, "kind": "childrens_day", "title": "圆梦行动",
                "held_on": "%d-06-01" % (TODAY.year - 1), "organiser": "社区妇联"},
           token=T["community_e1"])
AC2 = (r.json or {}).get("id")
r = d.post("%s/%d/participants" % (AC, AC2), {"resident_ids": [ID["b_m14"]]},
           token=T["community_e1"])
t.status(r, 200, "last year's 六一 activity with one child")
r = d.post(AC, {"grid_id": R.grid_w, "kind": "health", "title": "x", "held_on": day(0),
                "organiser": "y"}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "an activity in a grid outside scope", field="grid_id")
r = d.post(AC, {"grid_id": R.grid_a, "kind": "party", "title": "x", "held_on": day(0),
                "organiser": "y"}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "an unknown kind", field="kind")
r = d.patch("%s/%d" % (AC, AC1), {"version": 9, "title": "x"}, token=T["community_e1"])
fx.check_error(t, r, 409, "version_conflict", "activity: stale version 409", field="version")
r = d.get(AC + "?year=%d" % TODAY.year, token=T["community_e1"])
t.eq([i["id"] for i in fx.items_of(r)], [AC1], "?year= lists this year's activities")

# ============================================================================
# honours
h1 = int(sql1("INSERT INTO core.household (grid_id, kind, address, head_resident_id) VALUES "
              "(%d, 'registered', '幸福路1号', %d) RETURNING id" % (R.grid_a, ID["a_m45"])))
h2 = int(sql1("INSERT INTO core.household (grid_id, kind, address) VALUES "
              "(%d, 'registered', '和平街8号') RETURNING id" % R.grid_b))
HO = "/api/v1/women/honours"
r = d.post(HO, {"household_id": h1, "title": "most_beautiful_family", "awarded_by": "区妇联"},
           token=T["community_e1"])
t.ok(r.status == 201 and r.json.get("year") == TODAY.year and r.json.get("head_name") ==
     NAMES["a_m45"] and r.json.get("address") == "幸福路1号", "a household is honoured 最美家庭",
     repr(r)[:300])
r = d.post(HO, {"household_id": h1, "title": "most_beautiful_family", "awarded_by": "区妇联"},
           token=T["community_e1"])
fx.check_error(t, r, 409, "duplicate", "the same honour twice in a year is a 409")
r = d.post(HO, {"household_id": h1, "title": "safe_family", "awarded_by": "街道"},
           token=T["community_e1"])
t.status(r, 201, "and 平安家庭 too")
r = d.post(HO, {"household_id": h2, "title": "safe_family", "awarded_by": "街道",
                "awarded_on": "%d-12-01" % (TODAY.year - 1)}, token=T["community_e1"])
t.ok(r.status == 201 and r.json.get("year") == TODAY.year - 1, "last year's honour",
     repr(r)[:200])
r = d.post(HO, {"household_id": h2, "title": "safe_family", "awarded_by": "x"},
           token=T["grid_a"])
fx.check_error(t, r, 422, "invalid", "a household outside scope", field="household_id")
r = d.post(HO, {"household_id": h2, "title": "most_beautiful_family", "awarded_by": "x",
                "note": "录入错误"}, token=T["community_e1"])
HX = (r.json or {}).get("id")
r = d.delete("%s/%d" % (HO, HX), token=T["grid_a"])
fx.check_error(t, r, 404, "not_found", "another grid's honour cannot be removed (404)")
r = d.delete("%s/%d" % (HO, HX), token=T["community_e1"])
t.ok(r.status == 200 and r.json.get("deleted") is True, "an honour recorded by mistake is "
     "removed", repr(r))
t.eq(sql1("SELECT count(*) FROM core.audit WHERE entity = 'women.honour' AND action = 'delete'"),
     "1", "and the removal audited")
r = d.get(HO + "?year=%d" % TODAY.year, token=T["grid_a"])
t.eq(len(fx.items_of(r)), 2, "grid A's worker lists this year's honours of grid A")

# ============================================================================
# indicators and ledgers: the plugin's own SQL
GRIDS = sorted(int(x[0]) for x in pg.sql("SELECT id FROM core.region WHERE level = 'grid'"))
A, B, W = R.grid_a, R.grid_b, R.grid_w
WANT = {
    "women.women": {A: 3, B: 1, W: 1},
    "women.children_4_9": {A: 2, W: 1},
    "women.children_10_14": {A: 1, B: 1},
    "women.floating_children": {A: 2, B: 1},
    "women.rights_open": {A: 1, B: 1},
    "women.rights_open_domestic_violence": {},
    "women.rights_open_marriage_family": {B: 1},
    "women.rights_open_property": {A: 1},
    "women.rights_open_employment": {},
    "women.rights_open_other": {},
    "women.rights_closed": {A: 1},
    "women.rights_closed_domestic_violence": {A: 1},
    "women.rights_closed_marriage_family": {},
    "women.rights_closed_property": {},
    "women.rights_closed_employment": {},
    "women.rights_closed_other": {},
    "women.activities": {A: 1},
    "women.activity_participants": {A: 3},
    "women.honoured_households": {A: 1},
}
work = tempfile.mkdtemp(prefix="og-women-", dir="/tmp")
if os.environ.get("ONEGRID_TEST_KEEP") != "1":
    import atexit
    atexit.register(shutil.rmtree, work, True)
DUMP_C = r"""#include "women.c"
#define N(a) (sizeof(a) / sizeof((a)[0]))
int main(void)
{
	const og_ledger_def *l[] = {&women_ledger_cases, &women_ledger_activities,
	                            &women_ledger_honours};

	for (size_t i = 0; i < N(women_indicators); i++)
		printf("I\x1f%s\x1f%s\x1e", women_indicators[i].code, women_indicators[i].sql);
#if OG_ABI_MINOR >= 2
	for (size_t i = 0; i < N(women_indicators); i++)
		printf("R\x1f%s\x1f%s\x1e", women_indicators[i].code, women_indicators[i].rows_sql);
#endif
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
                    "-I", os.path.join(SRC, "plugins", "women"),
                    "-I", os.path.join(BUILD, "plugins", "women")] + jcflags,
                   capture_output=True, text=True, timeout=120)
sqls = {}
if p.returncode == 0:
    out = subprocess.run([os.path.join(work, "dump")], capture_output=True, text=True).stdout
    for rec in out.split("\x1e"):
        if rec:
            kind, name, text = rec.split("\x1f")
            sqls[(kind, name)] = text
t.ok(len([k for k in sqls if k[0] == "I"]) == len(WANT) and ("L", "rights_cases") in sqls,
     "the indicator and ledger SQL is read from women.c", p.stderr[-2000:])


def run_indicator(code, date):
    rows = pg.sql("PREPARE ind(text) AS %s;\nEXECUTE ind(%s);" % (sqls[("I", code)], q(date)))
    return {int(g): v for g, v in rows}


for code, want in WANT.items():
    if ("I", code) not in sqls:
        t.ok(False, "indicator %s declared" % code)
        continue
    got = run_indicator(code, TODAY.isoformat())
    t.eq({g: int(v) for g, v in got.items()}, {g: want.get(g, 0) for g in GRIDS},
         "%s: one row per grid, exact figures today" % code)
got = run_indicator("women.activities", "%d-12-31" % (TODAY.year - 1))
t.eq({g: int(v) for g, v in got.items() if int(v)}, {B: 1}, "last year's report counts last "
     "year's activity")
dpath = sql1("SELECT path::text FROM core.region WHERE id = %d" % R.district)


def run_rows(code, path):
    return pg.sql("PREPARE rws(text, text) AS %s;\nEXECUTE rws(%s, %s);"
                  % (sqls[("R", code)], q(TODAY.isoformat()), q(path)))


if any(k[0] == "R" for k in sqls):
    bad = []
    for code, want in WANT.items():
        rows = run_rows(code, dpath)
        ids = [int(x[0]) for x in rows]
        if len(rows) != sum(want.values()) or ids != sorted(set(ids)):
            bad.append((code, rows))
    t.eq(bad, [], "rows_sql: as many rows as the figure, unique ids in order")
    rows = run_rows("women.rights_open", dpath)
    flat = json.dumps(rows, ensure_ascii=False)
    t.ok(len(rows) == 2 and OUTSIDER not in flat and "李某" not in flat and
         NAMES["b_f25"] not in flat and "community_e1" not in flat,
         "the rows behind a rights-case figure are anonymised", flat)
    rows = run_rows("women.women", dpath)
    t.ok(NAMES["a_f30"] in json.dumps(rows, ensure_ascii=False),
         "the rows behind 妇女人数 name the residents")
else:
    t.skip("rows_sql", "built against ABI 1.1 headers")


def run_ledger(name, path):
    return pg.sql("PREPARE led(text) AS %s;\nEXECUTE led(%s);" % (sqls[("L", name)], q(path)))


rows = run_ledger("rights_cases", dpath)
flat = json.dumps(rows, ensure_ascii=False)
t.eq([(int(x[0]), x[4], x[5], x[6]) for x in rows],
     [(K1, "家庭暴力", "公安、法律援助", "已结案"), (K2, "婚姻家庭", "", "在办"),
      (K3, "财产权益", "", "在办")],
     "the rights-case register: one anonymised line per case")
t.ok(OUTSIDER not in flat and SECRET not in flat and NAMES["a_f30"] not in flat and
     "李某" not in flat and NAMES["b_f25"] not in flat, "no party, no narrative in it", flat)
rows = run_ledger("activities", dpath)
t.eq([(int(x[0]), x[2], x[6]) for x in rows], [(AC2, "六一儿童节", "1"), (AC1, "三八妇女节", "3")],
     "the activity register with participant counts")
rows = run_ledger("honoured_families", dpath)
t.eq(sorted((x[2], x[4], x[5]) for x in rows if x[1] == str(TODAY.year)),
     sorted([("最美家庭", "幸福路1号", NAMES["a_m45"]), ("平安家庭", "幸福路1号", NAMES["a_m45"])]),
     "the honoured families")

# The one report, when the reports engine is in the build.
paths_now = (d.get("/openapi.json").json or {}).get("paths", {})
if "/api/v1/reports/summary" not in paths_now:
    t.skip("the women indicators in GET /api/v1/reports/summary", "reports engine not in this "
           "build")
    t.skip("the rights-case ledger through GET /api/v1/ledgers", "reports engine not in this "
           "build")
else:
    def values_by_region(r):
        return {row["region"]["id"]: row["values"] for row in (r.json or {}).get("rows", [])}

    r = d.get("/api/v1/reports/summary?region=%d" % R.comm_e1, token=T["district"])
    t.status(r, 200, "GET /api/v1/reports/summary for a community")
    vals = values_by_region(r)
    got = {c: {g: (None if vals.get(g, {}).get(c) is None else float(vals[g][c]))
               for g in (A, B, R.comm_e1)} for c in WANT}
    want = {c: {A: float(WANT[c].get(A, 0)), B: float(WANT[c].get(B, 0)),
                R.comm_e1: float(WANT[c].get(A, 0) + WANT[c].get(B, 0))} for c in WANT}
    t.eq(got, want, "the one report: every women indicator, exact per grid and summed for "
         "the community")
    r = d.get("/api/v1/ledgers/women/rights_cases?region=%d" % R.grid_a, token=T["grid_a"])
    t.ok(r.status == 200 and len(fx.items_of(r)) == 2 and OUTSIDER not in r.text and
         SECRET not in r.text, "a grid worker without the grant sees the register's "
         "anonymised lines (counts), no party", repr(r)[:300])
    r = d.get("/api/v1/ledgers/women/rights_cases?region=%d" % R.comm_e1,
              token=T["community_e1"])
    t.ok(r.status == 200 and len(fx.items_of(r)) == 3 and OUTSIDER not in r.text and
         SECRET not in r.text, "even for a case reader the ledger shows anonymised lines only",
         repr(r)[:300])

# ============================================================================
# a district that disables the plugin
SW = "/api/v1/regions/%d/plugins/women" % R.district
r = d.req("PUT", SW, body={"enabled": False}, token=T["district"])
t.status(r, 200, "the district disables women")
r = d.get("%s/%d" % (CASES, K1), token=T["community_e1"])
fx.check_error(t, r, 404, None, "its routes answer 404, cases included")
r = d.req("PUT", SW, body={"enabled": True}, token=T["district"])
r = d.get(OV, token=T["grid_a"])
t.status(r, 200, "enabled again, they answer")

# ============================================================================
# OpenAPI
spec = d.get("/openapi.json").json or {}
paths = spec.get("paths", {})
want_ops = [("get", "/api/v1/women/overview"), ("get", CASES), ("post", CASES),
            ("get", CASES + "/{id}"), ("patch", CASES + "/{id}"),
            ("post", CASES + "/{id}/actions"), ("post", CASES + "/{id}/parties"),
            ("get", CH), ("post", CH), ("get", CH + "/{id}"), ("patch", CH + "/{id}"),
            ("post", CH + "/{id}/visits"), ("get", AC), ("post", AC), ("get", AC + "/{id}"),
            ("patch", AC + "/{id}"), ("post", AC + "/{id}/participants"),
            ("delete", AC + "/{id}/participants/{resident_id}"), ("get", HO), ("post", HO),
            ("delete", HO + "/{id}")]
t.eq([op for op in want_ops if op[0] not in paths.get(op[1], {})], [],
     "openapi lists every women route")
cr = paths.get(CASES, {}).get("post", {})
schema = cr.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
t.ok(schema.get("required") == ["channel", "category"] and
     "enum" in schema.get("properties", {}).get("category", {}),
     "the case body is described with its enums", json.dumps(schema)[:300])

t.eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
d.check_log_clean(t)

# only the public SDK, one exported symbol
inc = subprocess.run(["grep", "-h", "^#include", os.path.join(SRC, "plugins", "women", "women.c")],
                     capture_output=True, text=True).stdout.split("\n")
t.eq(sorted(x for x in inc if "onegrid" in x), ["#include <onegrid/plugin.h>"],
     "the only OneGrid header women.c includes is the public SDK")
so = os.path.join(BUILD, "plugins", ".libs", "women.so")
n = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True)
defined = {line.split()[-1] for line in n.stdout.splitlines() if line.split()}
t.eq(sorted(defined - {"_init", "_fini", "_edata", "_end", "__bss_start"}), ["og_plugin_desc"],
     "nm -D: og_plugin_desc is its only exported symbol")
t.done()

#!/usr/bin/env python3
"""test_residents — registering and keeping residents as grid staff do:
ID numbers checked by their check character with birth date and gender
derived (contradictions are a 422 naming the field), one person one row
(409 with the existing id only for a caller who may see it), grids that
look absent outside the caller's scope, optimistic concurrency, life
events (moved out, deceased, household changed) and the lists they leave
residents in, the history of events and field changes, masking of ID
numbers and phones with audited full reads, search by name, ID number and
phone, the age, tag and other filters, a failing plugin hook rolling the
registration back, and the OpenAPI description of the routes.

Not for: Idempotency-Key (test_idempotency.py), tag routes (test_tags.py),
households and their moves (test_households.py), bulk import/export
(test_import.py) or the change feed (test_changes.py).  Households and
tags are set with SQL here so this file depends only on the resident
routes."""
import datetime
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"], fixtures=["faulty"])
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d)
R = w.r
T = w.tokens
RES = "/api/v1/residents"
TODAY = datetime.date.today()

# --------------------------------------------------------------------------
# Helpers

_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_seq = [100]


def idnum(birth="19800101", male=True, area="110105", check_ok=True):
    """A fresh 18-character resident ID number (GB 11643) for that birth
    date and sex; check_ok=False gives it a wrong check character."""
    _seq[0] += 1
    s = _seq[0] % 1000
    # The 17th digit tells the sex: odd male, even female.
    if (s % 2 == 1) != male:
        s = (s + 1) % 1000
        _seq[0] += 1
    body = "%s%s%03d" % (area, birth, s)
    c = "10X98765432"[sum(int(ch) * wt for ch, wt in zip(body, _W)) % 11]
    if not check_ok:
        c = "10X98765432"[("10X98765432".index(c) + 1) % 11]
    return body + c


def sql1(query):
    rows = pg.sql(query)
    return rows[0][0] if rows else None


def create(token, **fields):
    return d.post(RES, fields, token=token)


def ids_of(r):
    return [i.get("id") for i in fx.items_of(r)]


def lst(token, **params):
    return d.get(RES + "?" + urllib.parse.urlencode(params), token=token)


def masked(v):
    return isinstance(v, str) and "*" in v


def household(grid):
    return int(sql1("INSERT INTO core.household (grid_id, kind, address) VALUES (%d, 'registered', "
                    "'测试路1号') RETURNING id" % grid))


def audit_count(action, entity_id=None, username=None):
    q = "SELECT count(*) FROM core.audit WHERE entity = 'resident' AND action = '%s'" % action
    if entity_id is not None:
        q += " AND entity_id = '%s'" % entity_id
    if username is not None:
        q += " AND username = '%s'" % username
    return int(sql1(q))


# --------------------------------------------------------------------------
# Registering: derivation and normalisation

zs_id = idnum("19800101", male=True)
r = create(T["grid_a"], name="张三", id_number=zs_id, grid_id=R.grid_a, phone="138 1234 5678",
           ethnicity="汉族")
t.status(r, 201, "a grid worker registers a resident in its grid")
zs = r.json or {}
t.ok(zs.get("id_type") == "resident_id" and zs.get("gender") == "male"
     and zs.get("birth_date") == "1980-01-01" and zs.get("id_number") == zs_id,
     "id_type defaults to resident_id; gender and birth date come from the number", repr(zs))
t.ok(zs.get("phone") == "13812345678" and zs.get("residence_status") == "registered"
     and zs.get("life_status") == "active" and zs.get("tags") == [] and zs.get("version") == 1
     and isinstance(zs.get("age"), int) and zs.get("age") >= 44,
     "the phone is normalised, residence defaults to registered, life status active, age "
     "computed", repr(zs))
t.eq(audit_count("create", str(zs.get("id"))), 1, "the registration is audited")

# A woman born on 29 February whose check character is X, to see it upper-cased.
x_full = next(b + "X" for b in ("11010519920229%03d" % k for k in range(0, 1000, 2))
              if "10X98765432"[sum(int(ch) * wt for ch, wt in zip(b, _W)) % 11] == "X")
r = create(T["grid_a"], name="李四", id_number=x_full.lower(), grid_id=R.grid_a,
           gender="女", residence_status="流动", registered_province="河北省",
           birth_date="1992-02-29", relation="本人")
t.status(r, 201, "Chinese spellings of gender and residence are accepted")
ls = r.json or {}
t.ok(ls.get("id_number") == x_full and ls.get("gender") == "female"
     and ls.get("residence_status") == "floating" and ls.get("registered_province") == "河北省"
     and ls.get("relation") == "户主",
     "canonical values: upper-case X, female, floating, 本人 -> 户主", repr(ls))

r = create(T["grid_a"], name="  王五  ", id_type="passport", id_number="e12345678",
           grid_id=R.grid_a, gender="male", birth_date="1975-06-30", id=999, version=7,
           age=3, tags=["x"], created_at="whenever")
t.status(r, 201, "a passport holder; read-only fields sent back are ignored")
ww = r.json or {}
t.ok(ww.get("name") == "王五" and ww.get("id_number") == "E12345678"
     and ww.get("id_type") == "passport" and ww.get("version") == 1 and ww.get("id") != 999,
     "name trimmed, passport number upper-cased, id and version are the server's", repr(ww))

r = create(T["grid_a"], name="赵六", grid_id=R.grid_a, birth_date="1940-03-15", gender="female")
t.status(r, 201, "a resident without any ID number")
zl = r.json or {}
t.ok(zl.get("id_type") == "none" and zl.get("id_number") is None,
     "id_type is none when no number is given", repr(zl))

# --------------------------------------------------------------------------
# Validation: every bad field is a 422 naming it

bad = [
    ({"name": "甲", "id_number": idnum(check_ok=False), "grid_id": R.grid_a}, "id_number",
     "an invalid check character"),
    ({"name": "甲", "id_number": "11010519800101001", "grid_id": R.grid_a}, "id_number",
     "a 17-character resident ID number"),
    ({"name": "甲", "id_number": idnum("19800101", male=True), "gender": "female",
      "grid_id": R.grid_a}, "gender", "a gender contradicting the number"),
    ({"name": "甲", "id_number": idnum("19800101"), "birth_date": "1980-01-02",
      "grid_id": R.grid_a}, "birth_date", "a birth date contradicting the number"),
    ({"name": "甲", "birth_date": (TODAY + datetime.timedelta(days=1)).isoformat(),
      "grid_id": R.grid_a}, "birth_date", "a birth date in the future"),
    ({"name": "甲", "birth_date": "2001-02-29", "grid_id": R.grid_a}, "birth_date",
     "a date that is not on the calendar"),
    ({"name": "甲", "birth_date": "1.1.1990", "grid_id": R.grid_a}, "birth_date",
     "a date in another format"),
    ({"nmae": "甲", "name": "甲", "grid_id": R.grid_a}, "nmae", "an unknown field (a typo)"),
    ({"grid_id": R.grid_a}, "name", "a missing name"),
    ({"name": "   ", "grid_id": R.grid_a}, "name", "a blank name"),
    ({"name": "名" * 51, "grid_id": R.grid_a}, "name", "a name of 51 characters"),
    ({"name": 5, "grid_id": R.grid_a}, "name", "a name that is not a string"),
    ({"name": "甲"}, "grid_id", "a missing grid"),
    ({"name": "甲", "grid_id": "abc"}, "grid_id", "a grid id that is not a number"),
    ({"name": "甲", "grid_id": R.comm_e1}, "grid_id", "a community instead of a grid"),
    ({"name": "甲", "grid_id": R.grid_b}, "grid_id", "a grid outside the caller's scope"),
    ({"name": "甲", "grid_id": 987654}, "grid_id", "a grid that does not exist"),
    ({"name": "甲", "grid_id": R.grid_a, "id_type": "driving_licence", "id_number": "X1"},
     "id_type", "an unknown id_type"),
    ({"name": "甲", "grid_id": R.grid_a, "id_type": "none", "id_number": idnum()},
     "id_number", "a number with id_type none"),
    ({"name": "甲", "grid_id": R.grid_a, "id_type": "passport"}, "id_number",
     "a passport without its number"),
    ({"name": "甲", "grid_id": R.grid_a, "gender": "x"}, "gender", "an unknown gender"),
    ({"name": "甲", "grid_id": R.grid_a, "phone": "12345"}, "phone", "a bad phone"),
    ({"name": "甲", "grid_id": R.grid_a, "phone": "1381234567"}, "phone",
     "a mobile number one digit short"),
    ({"name": "甲", "grid_id": R.grid_a, "residence_status": "visitor"}, "residence_status",
     "an unknown residence status"),
    ({"name": "甲", "grid_id": R.grid_a, "registered_province": "河北省"}, "registered_province",
     "a registered province for a registered (not floating) resident"),
    ({"name": "甲", "grid_id": R.grid_a, "residence_status": "floating",
      "registered_province": "省" * 21}, "registered_province", "a province of 21 characters"),
    ({"name": "甲", "grid_id": R.grid_a, "ethnicity": "族" * 21}, "ethnicity",
     "an ethnicity of 21 characters"),
    ({"name": "甲", "grid_id": R.grid_a, "relation": "关" * 21}, "relation",
     "a relation of 21 characters"),
    ({"name": "甲", "grid_id": R.grid_a, "household_id": -3}, "household_id",
     "a negative household id"),
    ({"name": "甲", "grid_id": R.grid_a, "household_id": 987654}, "household_id",
     "a household that does not exist"),
]
before = int(sql1("SELECT count(*) FROM core.resident"))
for body, field, what in bad:
    r = d.post(RES, body, token=T["grid_a"])
    fx.check_error(t, r, 422, None, "422 for %s" % what, field=field)
t.eq(int(sql1("SELECT count(*) FROM core.resident")), before, "no invalid resident was stored")

r = d.post(RES, [1, 2], token=T["grid_a"])
fx.check_error(t, r, 400, None, "a body that is not an object is 400")

hh_a = household(R.grid_a)
hh_b = household(R.grid_b)
r = create(T["community_e1"], name="甲", grid_id=R.grid_a, household_id=hh_b)
fx.check_error(t, r, 422, None, "a household of another grid is refused", field="household_id")
r = create(T["grid_a"], name="甲", grid_id=R.grid_a, household_id=hh_b)
fx.check_error(t, r, 422, None, "a household outside the caller's scope is refused",
               field="household_id")
r = create(T["grid_a"], name="钱七", grid_id=R.grid_a, household_id=hh_a, relation="spouse")
t.status(r, 201, "a resident in a household of its grid")
qq = r.json or {}
t.ok(qq.get("household_id") == hh_a and qq.get("relation") == "配偶",
     "household kept, relation spelled the usual way", repr(qq))

# --------------------------------------------------------------------------
# One person, one row

r = create(T["grid_a"], name="张三重复", id_number=zs_id.lower(), grid_id=R.grid_a)
fx.check_error(t, r, 409, "duplicate", "the same ID number again is 409 duplicate",
               field="id_number")
t.eq((fx.error_of(r) or {}).get("existing_id"), zs.get("id"),
     "a caller who may see the existing resident is told its id")
r = create(T["community_e1"], name="张三重复", id_number=zs_id, grid_id=R.grid_b)
t.eq((r.status, (fx.error_of(r) or {}).get("existing_id")), (409, zs.get("id")),
     "a community worker whose scope holds it is told the id too")
r = create(T["grid_b"], name="张三重复", id_number=zs_id, grid_id=R.grid_b)
fx.check_error(t, r, 409, "duplicate", "a grid worker of another grid also gets 409",
               field="id_number")
t.ok("existing_id" not in (fx.error_of(r) or {}) and str(zs.get("id")) not in r.text,
     "but is told nothing more than duplicate", repr(r))
t.eq(sql1("SELECT count(*) FROM core.resident WHERE id_number = '%s'" % zs_id), "1",
     "one row for the person")

# --------------------------------------------------------------------------
# Scope: another grid's resident looks absent

zid = zs.get("id")
r = d.get("%s/%d" % (RES, zid), token=T["grid_b"])
fx.check_error(t, r, 404, "not_found", "a grid worker of grid B gets 404 for grid A's resident")
r = d.get("%s/%d" % (RES, zid), token=T["grid_w"])
fx.check_error(t, r, 404, "not_found", "so does a grid worker of another street")
r = d.get("%s/%d" % (RES, zid), token=T["street_w"])
fx.check_error(t, r, 404, "not_found", "and the other street's user")
for who in ("grid_a", "community_e1", "street_e", "district"):
    t.status(d.get("%s/%d" % (RES, zid), token=T[who]), 200, "%s reads the resident" % who)
r = lst(T["grid_b"], status="all", limit=500)
t.ok(r.status == 200 and zid not in ids_of(r), "grid B's list does not hold it", repr(r))
for q in ("张三", zs_id, "13812345678"):
    r = lst(T["grid_b"], q=q)
    t.ok(r.status == 200 and ids_of(r) == [], "grid B's search for %s finds nothing" % q, repr(r))
r = lst(T["grid_b"], region=R.grid_a)
fx.check_error(t, r, 404, "not_found", "grid B may not list grid A by region", field="region")
r = d.patch("%s/%d" % (RES, zid), {"name": "改名", "version": 1}, token=T["grid_b"])
fx.check_error(t, r, 404, "not_found", "grid B may not change it")
r = d.post("%s/%d/events" % (RES, zid), {"kind": "moved_out", "occurred_on": "2024-01-01"},
           token=T["grid_b"])
fx.check_error(t, r, 404, "not_found", "nor record its life events")
r = d.get("%s/%d/history" % (RES, zid), token=T["grid_b"])
fx.check_error(t, r, 404, "not_found", "nor read its history")
for bad_id in ("0", "-1", "abc", "99999999"):
    r = d.get("%s/%s" % (RES, bad_id), token=T["grid_a"])
    fx.check_error(t, r, 404, "not_found", "resident id %s is 404" % bad_id)

# --------------------------------------------------------------------------
# PATCH: version, validation, re-derivation

path = "%s/%d" % (RES, zid)
r = d.patch(path, {"name": "张三丰"}, token=T["grid_a"])
fx.check_error(t, r, 422, None, "PATCH without a version is 422", field="version")
r = d.patch(path, {"name": "张三丰", "version": 1}, token=T["grid_a"])
t.status(r, 200, "PATCH with the version read")
t.ok((r.json or {}).get("name") == "张三丰" and (r.json or {}).get("version") == 2,
     "the name changed and the version went up", repr(r))
r = d.patch(path, {"name": "张三疯", "version": 1}, token=T["grid_a"])
fx.check_error(t, r, 409, "version_conflict", "a stale version is 409", field="version")
t.eq(pg.sql("SELECT name, version FROM core.resident WHERE id = %d" % zid)[0], ("张三丰", "2"),
     "and the row is unchanged")
r = d.patch(path, {"ethnicity": "回族"}, token=T["grid_a"], headers={"If-Match": '"2"'})
t.ok(r.status == 200 and (r.json or {}).get("ethnicity") == "回族"
     and (r.json or {}).get("version") == 3, "If-Match carries the version too", repr(r))
r = d.patch(path, {"life_status": "deceased", "version": 3}, token=T["grid_a"])
fx.check_error(t, r, 422, None, "life status is not PATCHed", field="life_status")
t.ok("life event" in ((fx.error_of(r) or {}).get("message") or ""),
     "the error says to record a life event instead", repr(r))
r = d.patch(path, {"gender": "female", "version": 3}, token=T["grid_a"])
fx.check_error(t, r, 422, None, "a PATCHed gender contradicting the number", field="gender")
r = d.patch(path, {"birth_date": "1981-01-01", "version": 3}, token=T["grid_a"])
fx.check_error(t, r, 422, None, "a PATCHed birth date contradicting the number",
               field="birth_date")
r = d.patch(path, {"phnoe": "13900000000", "version": 3}, token=T["grid_a"])
fx.check_error(t, r, 422, None, "a PATCH with an unknown field", field="phnoe")
r = d.patch(path, {"registered_province": "山东省", "version": 3}, token=T["grid_a"])
fx.check_error(t, r, 422, None, "a province for a resident who is not floating",
               field="registered_province")
r = d.patch(path, {"grid_id": R.grid_b, "version": 3}, token=T["grid_a"])
fx.check_error(t, r, 422, None, "moving to a grid outside the scope", field="grid_id")
r = d.patch(path, {"id_number": x_full, "version": 3}, token=T["grid_a"])
fx.check_error(t, r, 409, "duplicate", "taking another resident's number", field="id_number")
t.eq((fx.error_of(r) or {}).get("existing_id"), ls.get("id"), "with the existing id")
t.eq(pg.sql("SELECT name, version, gender FROM core.resident WHERE id = %d" % zid)[0],
     ("张三丰", "3", "male"), "none of the refused PATCHes changed the row")
new_num = idnum("19850615", male=False)
r = d.patch(path, {"id_number": new_num, "version": 3}, token=T["grid_a"])
t.ok(r.status == 200 and (r.json or {}).get("birth_date") == "1985-06-15"
     and (r.json or {}).get("gender") == "female" and (r.json or {}).get("version") == 4,
     "a new number re-derives birth date and gender", repr(r))
r = d.patch(path, {"version": 4, "name": "张三丰"}, token=T["grid_a"])
t.ok(r.status == 200 and (r.json or {}).get("version") == 4,
     "a PATCH that changes nothing writes nothing (same version)", repr(r))
r = d.patch(path, {"phone": None, "residence_status": "floating",
                   "registered_province": "河南省", "version": 4}, token=T["grid_a"])
t.ok(r.status == 200 and (r.json or {}).get("phone") is None
     and (r.json or {}).get("registered_province") == "河南省", "phone cleared, floating", repr(r))
r = d.patch(path, {"residence_status": "resident", "version": 5}, token=T["grid_a"])
t.ok(r.status == 200 and (r.json or {}).get("registered_province") is None,
     "leaving floating drops the registered province", repr(r))
r = d.patch(path, {"phone": "13812345678", "household_id": hh_a, "relation": "户主",
                   "version": 6}, token=T["grid_a"])
t.ok(r.status == 200 and (r.json or {}).get("household_id") == hh_a,
     "joins a household of its grid", repr(r))
t.eq(audit_count("update", str(zid)), 6, "every applied PATCH left one audit row")
row = pg.sql("SELECT before->>'name', after->>'name' FROM core.audit WHERE entity = 'resident' "
             "AND action = 'update' AND entity_id = '%d' ORDER BY id LIMIT 1" % zid)
t.eq(row, [("张三", "张三丰")], "the audit row has the before and after images")

# --------------------------------------------------------------------------
# Life events

r = create(T["grid_a"], name="孙八", id_number=idnum("19500505"), grid_id=R.grid_a)
sb = r.json or {}
sid = sb.get("id")
ev = "%s/%d/events" % (RES, sid)
for body, field, what in [
    ({"occurred_on": "2024-01-01"}, "kind", "no kind"),
    ({"kind": "emigrated", "occurred_on": "2024-01-01"}, "kind", "an unknown kind"),
    ({"kind": "moved_out"}, "occurred_on", "no date"),
    ({"kind": "moved_out", "occurred_on": (TODAY + datetime.timedelta(days=2)).isoformat()},
     "occurred_on", "a date in the future"),
    ({"kind": "moved_out", "occurred_on": "1949-01-01"}, "occurred_on",
     "a date before the birth"),
    ({"kind": "moved_out", "occurred_on": "2024-01-01", "details": "x"}, "details",
     "details that are not an object"),
    ({"kind": "moved_out", "occurred_on": "2024-01-01", "household_id": hh_a}, "household_id",
     "a household with moved_out"),
    ({"kind": "household_changed", "occurred_on": "2024-01-01"}, "household_id",
     "household_changed without a household"),
    ({"kind": "household_changed", "occurred_on": "2024-01-01", "household_id": hh_b},
     "household_id", "household_changed to a household outside the scope"),
    ({"kind": "moved_out", "occurred_on": "2024-01-01", "when": "now"}, "when",
     "an unknown field"),
]:
    fx.check_error(t, d.post(ev, body, token=T["grid_a"]), 422, None,
                   "event with %s is 422" % what, field=field)

r = d.post(ev, {"kind": "household_changed", "occurred_on": "2024-02-01", "household_id": hh_a,
                "relation": "父母"}, token=T["grid_a"])
t.status(r, 201, "household_changed")
t.ok((r.json or {}).get("resident", {}).get("household_id") == hh_a
     and (r.json or {}).get("resident", {}).get("relation") == "父母"
     and (r.json or {}).get("event", {}).get("details", {}).get("to_household_id") == hh_a,
     "the resident joined the household; the event records the move", repr(r))

r = d.post(ev, {"kind": "moved_out", "occurred_on": "2024-03-01",
                "details": {"to": "上海市"}}, token=T["grid_a"])
t.status(r, 201, "moved_out")
res = (r.json or {}).get("resident", {})
t.ok(res.get("life_status") == "moved_out" and res.get("life_status_date") == "2024-03-01"
     and (r.json or {}).get("event", {}).get("kind") == "moved_out",
     "the resident is moved out as of the event's date", repr(r))
t.status(d.get("%s/%d" % (RES, sid), token=T["grid_a"]), 200, "a moved-out resident is readable")
t.ok(sid not in ids_of(lst(T["grid_a"], limit=500)), "and not in the default (active) list")
t.ok(sid in ids_of(lst(T["grid_a"], status="moved_out", limit=500)), "but with status=moved_out")
t.ok(sid in ids_of(lst(T["grid_a"], status="all", limit=500)), "and with status=all")
r = d.post(ev, {"kind": "moved_out", "occurred_on": "2024-03-02"}, token=T["grid_a"])
fx.check_error(t, r, 409, None, "moving out twice is refused")
r = d.post(ev, {"kind": "moved_in", "occurred_on": "2024-04-01"}, token=T["grid_a"])
t.ok(r.status == 201 and (r.json or {}).get("resident", {}).get("life_status") == "active",
     "moved_in makes the resident active again", repr(r))
t.ok(sid in ids_of(lst(T["grid_a"], limit=500)), "back in the active list")

r = d.post(ev, {"kind": "deceased", "occurred_on": "2024-05-01", "version": 1},
           token=T["grid_a"])
fx.check_error(t, r, 409, "version_conflict", "an event with a stale version is refused")
r = d.post(ev, {"kind": "deceased", "occurred_on": "2024-05-01"}, token=T["grid_a"])
t.status(r, 201, "deceased")
t.eq((r.json or {}).get("resident", {}).get("life_status"), "deceased", "life status deceased")
r = d.get("%s/%d" % (RES, sid), token=T["grid_a"])
t.ok(r.status == 200 and (r.json or {}).get("life_status") == "deceased",
     "a deceased resident stays readable", repr(r))
t.ok(sid not in ids_of(lst(T["grid_a"], limit=500)), "and is excluded from the active list")
t.ok(sid not in ids_of(lst(T["grid_a"], status="active", limit=500)),
     "also when status=active is explicit")
t.ok(sid in ids_of(lst(T["grid_a"], status="deceased", limit=500)), "present with status=deceased")
t.ok(sid in ids_of(lst(T["grid_a"], status="all", limit=500)), "and with status=all")
for kind in ("moved_in", "moved_out", "deceased"):
    r = d.post(ev, {"kind": kind, "occurred_on": "2024-06-01"}, token=T["grid_a"])
    fx.check_error(t, r, 409, "deceased", "%s after death is refused" % kind)
r = d.post(ev, {"kind": "household_changed", "occurred_on": "2024-06-01", "household_id": None},
           token=T["grid_a"])
fx.check_error(t, r, 409, "deceased", "household_changed after death is refused")
t.eq(sql1("SELECT count(*) FROM core.resident_event WHERE resident_id = %d" % sid), "4",
     "four events recorded, none of the refused ones")
t.eq(sql1("SELECT count(*) FROM core.resident WHERE id = %d" % sid), "1",
     "the resident is never deleted")

# --------------------------------------------------------------------------
# History

r = d.get("%s/%d/history" % (RES, zid), token=T["grid_a"])
t.status(r, 200, "history of a resident")
items = fx.items_of(r)
kinds = [i.get("kind") for i in items]
t.ok(kinds[:1] == ["created"] and kinds.count("change") == 6, "created first, then 6 changes",
     repr(kinds))
first = next((i for i in items if i.get("kind") == "change"), {})
t.ok({"field": "name", "from": "张三", "to": "张三丰"} in (first.get("changes") or [])
     and first.get("by") == "grid_a" and first.get("at"),
     "a change lists field, from and to, who and when", repr(first))
idch = [c for i in items for c in (i.get("changes") or []) if c.get("field") == "id_number"
        and i.get("kind") == "change"]
t.ok(idch and idch[0].get("from") == zs_id and idch[0].get("to") == new_num,
     "the ID number change is in full for the grid worker", repr(idch))
t.ok(all(i["at"] <= j["at"] for i, j in zip(items, items[1:])), "in time order")

r = d.get("%s/%d/history" % (RES, sid), token=T["grid_a"])
items = fx.items_of(r)
t.eq([i.get("event") for i in items if i.get("kind") == "event"],
     ["household_changed", "moved_out", "moved_in", "deceased"], "history lists the events")
mo = next((i for i in items if i.get("event") == "moved_out"), {})
t.ok(mo.get("occurred_on") == "2024-03-01" and mo.get("details", {}).get("to") == "上海市"
     and mo.get("by") == "grid_a", "an event item has its date, details and recorder", repr(mo))
t.ok(any(i.get("kind") == "created" for i in items), "and the registration")

r = d.get("%s/%d/history" % (RES, zid), token=T["community_e1"])
idch = [c for i in fx.items_of(r) for c in (i.get("changes") or [])
        if c.get("field") in ("id_number", "phone")]
t.ok(r.status == 200 and idch and all(c.get("from") is None or masked(c.get("from"))
                                      for c in idch)
     and all(c.get("to") is None or masked(c.get("to")) for c in idch),
     "ID number and phone changes are masked for a community worker without the grant",
     repr(idch))

# --------------------------------------------------------------------------
# Privacy: masked without the grant, full with it, full reads audited

phone_id = ww.get("id")
r = d.patch("%s/%d" % (RES, phone_id), {"phone": "13987654321", "version": 1}, token=T["grid_a"])
t.status(r, 200, "give the passport holder a phone")
r = d.get("%s/%d" % (RES, zid), token=T["community_e1"])
cm = r.json or {}
t.ok(r.status == 200 and masked(cm.get("id_number")) and cm.get("id_number") != new_num
     and cm.get("id_number", "").startswith(new_num[:6])
     and cm.get("id_number", "").endswith(new_num[-4:]) and cm.get("phone") == "138****5678",
     "a community worker without the grant sees masked ID number and phone", repr(cm))
t.eq(audit_count("read_sensitive", username="community_e1"), 0, "a masked read is not audited")
r = lst(T["community_e1"], q="王五")
t.ok(r.status == 200 and all(masked(i.get("id_number")) and masked(i.get("phone"))
                             for i in fx.items_of(r)) and fx.items_of(r),
     "lists are masked for it too", repr(r))
r = d.post(RES, {"name": "社区登记", "grid_id": R.grid_a, "id_number": idnum("19660606"),
                 "phone": "13700001111"}, token=T["community_e1"])
t.ok(r.status == 201 and masked((r.json or {}).get("id_number"))
     and masked((r.json or {}).get("phone")), "and so is its own registration's reply", repr(r))

n0 = audit_count("read_sensitive", str(zid), "grid_a")
r = d.get("%s/%d" % (RES, zid), token=T["grid_a"])
t.ok(r.status == 200 and (r.json or {}).get("id_number") == new_num
     and (r.json or {}).get("phone") == "13812345678",
     "the grid worker sees its own grid's resident in full", repr(r))
t.eq(audit_count("read_sensitive", str(zid), "grid_a"), n0 + 1, "and that read is audited")
n0 = audit_count("read_sensitive", username="grid_a")
r = lst(T["grid_a"], q="王五")
t.ok(r.status == 200 and [i.get("id_number") for i in fx.items_of(r)] == ["E12345678"],
     "a list is in full for the grid worker", repr(r))
t.eq(audit_count("read_sensitive", username="grid_a"), n0 + 1, "and audited once per page")

r = d.req("PUT", "/api/v1/roles/community/permissions/residents.read_sensitive", token=w.admin)
t.status(r, 200, "the admin grants residents.read_sensitive to the community role")
got = fx.wait_for(lambda: (d.get("%s/%d" % (RES, zid), token=T["community_e1"]).json or {})
                  .get("id_number") == new_num, 10)
t.ok(got, "the community worker now sees the ID number in full")
r = d.get("%s/%d" % (RES, zid), token=T["community_e1"])
t.eq((r.json or {}).get("phone"), "13812345678", "and the phone")
t.ok(audit_count("read_sensitive", str(zid), "community_e1") >= 1,
     "and its full read is audited")
row = pg.sql("SELECT region_path::text, after::text FROM core.audit WHERE action = "
             "'read_sensitive' AND username = 'community_e1' AND entity_id = '%d' "
             "ORDER BY id DESC LIMIT 1" % zid)
t.ok(row and row[0][0].endswith(".%d" % R.grid_a) and new_num not in row[0][1],
     "the audit row is scoped to the resident's grid and does not copy the number", repr(row))
r = d.req("DELETE", "/api/v1/roles/community/permissions/residents.read_sensitive",
          token=w.admin)
t.status(r, 200, "the grant is revoked again")
got = fx.wait_for(lambda: masked((d.get("%s/%d" % (RES, zid), token=T["community_e1"]).json
                                  or {}).get("id_number")), 10)
t.ok(got, "and the community worker sees masked numbers again")

# --------------------------------------------------------------------------
# Search and filters

people = {}
for name, birth, male, phone, grid, tok in [
    ("欧阳娜娜", "19400101", False, "13600000001", R.grid_a, "grid_a"),
    ("欧阳修", "20150301", True, "13600000002", R.grid_a, "grid_a"),
    ("司马光", "19800202", True, "13600000003", R.grid_a, "grid_a"),
    ("王娜", "20000101", False, "010-62345678", R.grid_b, "grid_b"),
    ("100%_纯", "19900101", True, None, R.grid_a, "grid_a"),
]:
    num = idnum(birth, male)
    body = {"name": name, "id_number": num, "grid_id": grid}
    if phone:
        body["phone"] = phone
    r = d.post(RES, body, token=T[tok])
    t.status(r, 201, "register %s" % name)
    people[name] = dict(r.json or {}, num=num)


def names(r):
    return sorted(i.get("name") for i in fx.items_of(r))


r = lst(T["community_e1"], q="欧阳")
t.eq(names(r), sorted(["欧阳娜娜", "欧阳修"]), "search by name prefix (Chinese)")
r = lst(T["community_e1"], q="娜")
t.eq(names(r), sorted(["欧阳娜娜", "王娜"]), "search by substring finds both grids' 娜 for the community")
r = lst(T["grid_a"], q="娜")
t.eq(names(r), ["欧阳娜娜"], "but only its own grid's for grid A's worker")
r = lst(T["grid_a"], q="阳娜")
t.eq(names(r), ["欧阳娜娜"], "a substring in the middle of a name")
r = lst(T["community_e1"], q=people["司马光"]["num"])
t.eq(names(r), ["司马光"], "search by full ID number")
r = lst(T["community_e1"], q=people["司马光"]["num"][:17] + people["司马光"]["num"][17].lower())
t.eq(names(r), ["司马光"], "a lower-case x of an ID number still matches")
r = lst(T["community_e1"], q="13600000002")
t.eq(names(r), ["欧阳修"], "search by phone")
r = lst(T["community_e1"], q="+86 136 0000 0002")
t.eq(names(r), ["欧阳修"], "search by phone written another way")
r = lst(T["community_e1"], q="010-62345678")
t.eq(names(r), ["王娜"], "search by landline")
r = lst(T["community_e1"], q="%")
t.eq(names(r), ["100%_纯"], "% in q is a literal character, not a wildcard")
r = lst(T["community_e1"], q="_")
t.eq(names(r), ["100%_纯"], "and so is _")
r = lst(T["community_e1"], q="E12345678")
t.eq(names(r), ["王五"], "search by a passport number")
r = lst(T["community_e1"], q="无此人")
t.eq(fx.items_of(r), [], "a name nobody has finds nothing")

ages = {}
for n, p in people.items():
    b = datetime.date(*map(int, p["birth_date"].split("-")))
    ages[n] = TODAY.year - b.year - ((TODAY.month, TODAY.day) < (b.month, b.day))
t.eq(people["欧阳修"].get("age"), ages["欧阳修"], "age is computed from the birth date")
r = lst(T["community_e1"], age_min=60, limit=500)
t.ok("欧阳娜娜" in names(r) and "欧阳修" not in names(r) and "司马光" not in names(r)
     and all(i.get("age") is not None and i["age"] >= 60 for i in fx.items_of(r)),
     "age_min=60", repr(names(r)))
r = lst(T["community_e1"], age_max=17, limit=500)
t.ok("欧阳修" in names(r) and all(i.get("age") is not None and i["age"] <= 17
                                  for i in fx.items_of(r)), "age_max=17", repr(names(r)))
a = ages["司马光"]
r = lst(T["community_e1"], age_min=a, age_max=a, limit=500)
t.ok("司马光" in names(r) and all(i.get("age") == a for i in fx.items_of(r)),
     "age_min = age_max = %d" % a, repr(names(r)))
r = lst(T["community_e1"], residence="floating", limit=500)
t.ok(names(r) == ["李四"], "residence=floating", repr(names(r)))
r = lst(T["community_e1"], household=hh_a, limit=500)
t.eq(names(r), sorted(["张三丰", "钱七"]), "household filter (the deceased member excluded)")
r = lst(T["community_e1"], region=R.grid_b, limit=500)
t.eq(names(r), ["王娜"], "region filter")
r = lst(T["district"], region=R.comm_e1, q="娜", limit=500)
t.eq(names(r), sorted(["欧阳娜娜", "王娜"]), "region filter on a community, combined with q")
r = lst(T["district"], region=R.comm_w1, q="娜", limit=500)
t.eq(names(r), [], "a region holding no match")

pg.sql("INSERT INTO core.resident_tag (resident_id, tag, source) VALUES (%d, 'lives_alone', "
       "'test'), (%d, 'disabled', 'test')" % (people["欧阳娜娜"]["id"], people["司马光"]["id"]))
r = lst(T["community_e1"], tag="lives_alone", limit=500)
t.eq(names(r), ["欧阳娜娜"], "tag filter")
t.eq(fx.items_of(r)[0].get("tags") if fx.items_of(r) else None, ["lives_alone"],
     "list items carry their tags")
r = d.get("%s/%d" % (RES, people["司马光"]["id"]), token=T["grid_a"])
t.eq((r.json or {}).get("tags"), ["disabled"], "a resident's tags")
r = lst(T["community_e1"], tag="lives_alone", age_min=80, limit=500)
t.eq(names(r), ["欧阳娜娜"] if ages["欧阳娜娜"] >= 80 else [], "tag and age together")

for params, field, what in [
    ({"age_min": "-1"}, "age_min", "a negative age"),
    ({"age_max": "151"}, "age_max", "an age over 150"),
    ({"age_min": "abc"}, "age_min", "an age that is not a number"),
    ({"age_min": "50", "age_max": "40"}, "age_max", "age_max below age_min"),
    ({"status": "dead"}, "status", "an unknown status"),
    ({"residence": "visitor"}, "residence", "an unknown residence"),
    ({"region": "abc"}, "region", "a region that is not an id"),
    ({"household": "-2"}, "household", "a household that is not an id"),
    ({"tag": "no_such_tag"}, "tag", "an unknown tag"),
    ({"limit": "0"}, "limit", "limit 0"),
    ({"limit": "501"}, "limit", "limit 501"),
    ({"cursor": "x"}, "cursor", "a bad cursor"),
    ({"q": "名" * 51}, "q", "a q of 51 characters"),
    ({"sort": "name"}, "sort", "an unknown parameter"),
]:
    fx.check_error(t, lst(T["community_e1"], **params), 422, None,
                   "list with %s is 422" % what, field=field)
r = lst(T["community_e1"], region=987654)
fx.check_error(t, r, 404, "not_found", "an unknown region is 404", field="region")

# Keyset pagination walks the whole list once.
seen, cursor, pages = [], None, 0
while pages < 50:
    params = {"limit": 2, "status": "all"}
    if cursor:
        params["cursor"] = cursor
    r = lst(T["community_e1"], **params)
    seen += ids_of(r)
    pages += 1
    cursor = (r.json or {}).get("next_cursor")
    if not cursor:
        break
want = [int(x[0]) for x in pg.sql(
    "SELECT x.id FROM core.resident x JOIN core.region g ON g.id = x.grid_id "
    "WHERE g.path <@ (SELECT path FROM core.region WHERE id = %d) ORDER BY x.id" % R.comm_e1)]
t.eq(seen, want, "pages of 2 list every resident of the community once, in id order")

# The same walk for a caller who sees every field (its pages are written by
# PostgreSQL and passed through), with one audit row per page naming the
# residents it showed in full.
seen, cursor, pages = [], None, 0
a0 = audit_count("read_sensitive", username="grid_a")
shown_ids = []
while pages < 50:
    params = {"limit": 2, "status": "all", "region": R.grid_a}
    if cursor:
        params["cursor"] = cursor
    r = lst(T["grid_a"], **params)
    if pages == 0:
        t.ok(r.status == 200 and isinstance((r.json or {}).get("items"), list)
             and set(r.json) == {"items", "next_cursor"},
             "an unmasked page has items and next_cursor only", repr(r))
    seen += ids_of(r)
    shown_ids += [i["id"] for i in fx.items_of(r) if i.get("id_number") or i.get("phone")]
    pages += 1
    cursor = (r.json or {}).get("next_cursor")
    if not cursor:
        break
want = [int(x[0]) for x in pg.sql(
    "SELECT id FROM core.resident WHERE grid_id = %d ORDER BY id" % R.grid_a)]
t.eq(seen, want, "unmasked pages of 2 list every resident of the grid once, in id order")
audited = [int(i) for (j,) in pg.sql(
    "SELECT after::text FROM core.audit WHERE action = 'read_sensitive' AND username = "
    "'grid_a' ORDER BY id OFFSET %d" % a0) for i in json.loads(j).get("ids", [])]
t.eq(audited, shown_ids, "each page's audit row names exactly the residents it showed in full")

# --------------------------------------------------------------------------
# A failing hook rolls the registration back

n_res = sql1("SELECT count(*) FROM core.resident")
fail_num = idnum("19700707")
r = create(T["grid_a"], name="FAIL-HOOK", id_number=fail_num, grid_id=R.grid_a)
t.ok(r.status == 422 and "faulty" in r.text, "a hook that fails answers 422 naming the plugin",
     repr(r))
t.eq(sql1("SELECT count(*) FROM core.resident"), n_res, "no resident row was left")
t.eq(sql1("SELECT count(*) FROM core.audit WHERE entity = 'resident' AND after->>'name' = "
          "'FAIL-HOOK'"), "0", "no audit row")
t.eq(sql1("SELECT count(*) FROM core.change WHERE entity = 'resident' AND data->>'name' = "
          "'FAIL-HOOK'"), "0", "no change-feed row")
r = create(T["grid_a"], name="不失败", id_number=fail_num, grid_id=R.grid_a)
t.status(r, 201, "the same number registers once the hook has no objection")

# --------------------------------------------------------------------------
# OpenAPI

r = d.get("/openapi.json")
paths = (r.json or {}).get("paths", {})
post = paths.get(RES, {}).get("post", {})
schema = (post.get("requestBody", {}).get("content", {}).get("application/json", {})
          .get("schema", {}))
t.ok(set(schema.get("required", [])) == {"name", "grid_id"}
     and schema.get("properties", {}).get("name", {}).get("maxLength") == 50
     and "floating" in schema.get("properties", {}).get("residence_status", {}).get("enum", []),
     "POST /residents describes its body", json.dumps(schema)[:300])
qnames = {p.get("name") for p in paths.get(RES, {}).get("get", {}).get("parameters", [])}
t.ok({"q", "region", "household", "tag", "status", "age_min", "age_max", "residence", "limit",
      "cursor"} <= qnames, "GET /residents describes its parameters", repr(qnames))
t.ok("requestBody" in paths.get(RES + "/{id}", {}).get("patch", {})
     and "requestBody" in paths.get(RES + "/{id}/events", {}).get("post", {})
     and "get" in paths.get(RES + "/{id}/history", {}),
     "PATCH, events and history are described")
t.ok("masked" in paths.get(RES + "/{id}", {}).get("get", {}).get("description", ""),
     "GET /residents/{id} says what is masked")
t.eq(fx.log_lines_with(d, "OpenAPI detail"), [], "every OpenAPI detail was accepted")

d.check_log_clean(t)
t.done()

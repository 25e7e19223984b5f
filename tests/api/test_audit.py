#!/usr/bin/env python3
"""test_audit — every write leaves one audit row in its own transaction, and
a failed write leaves neither row nor audit: the example plugin's notes
(create, update, stale update, scope of who sees a note and its audit
rows), the faulty fixture's write-then-fail route, and a hook that vetoes a
note.  GET /api/v1/audit is newest first and filtered to the caller's scope.

Not for: which roles hold audit.read in general (test_auth.py checks the
permission matrix)."""
import os
import sys

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
NOTES = "/api/v1/example/notes"


def audit(token, entity, eid, **extra):
    q = "/api/v1/audit?entity=%s&id=%s" % (entity, eid)
    for k, v in extra.items():
        q += "&%s=%s" % (k, v)
    return d.get(q, token=token)


def count(sql):
    return int(pg.sql(sql)[0][0])


# --- a note's create is audited with who, which request and what --------------------------
BODY = "3号楼电梯故障，已通知物业"
r = d.post(NOTES, body={"region_id": w.r.grid_a, "body": BODY}, token=w.tokens["grid_a"])
t.status(r, 201, "grid worker creates a note in its grid (201)")
note = r.json if isinstance(r.json, dict) else {}
nid = note.get("id")
rid = r.headers.get("x-request-id")
t.ok(isinstance(nid, int), "the note has an id", repr(r))
t.eq(note.get("body"), BODY, "the note echoes its body")
t.ok(rid, "the create carries X-Request-Id")

r = audit(w.admin, "example.note", nid)
t.status(r, 200, "admin reads the note's audit rows")
rows = fx.items_of(r)
t.eq(len(rows), 1, "exactly one audit row for the created note")
row = rows[0] if rows else {}
t.eq(row.get("action"), "create", "its action is create")
t.eq(row.get("request_id"), rid, "its request_id is the create's X-Request-Id")
t.eq((row.get("after") or {}).get("body"), BODY, "its after image has the body")
t.eq(row.get("username"), "grid_a", "it names the grid worker who wrote")
t.eq(row.get("user_id"), w.users["grid_a"]["id"], "and the grid worker's user id")
t.eq(str(row.get("entity_id")), str(nid), "entity_id is the note id")

# --- update, stale update -----------------------------------------------------------------
BODY2 = "电梯已修复"
r = d.patch("%s/%d" % (NOTES, nid), body={"version": note.get("version"), "body": BODY2},
            token=w.tokens["grid_a"])
t.status(r, 200, "grid worker updates the note with the version it read")
upd_rid = r.headers.get("x-request-id")
new_version = (r.json or {}).get("version")
t.ok(isinstance(new_version, int) and new_version != note.get("version"),
     "the update bumps the version", repr(r))
r = d.patch("%s/%d" % (NOTES, nid), body={"version": note.get("version"), "body": "旧版本覆盖"},
            token=w.tokens["grid_a"])
fx.check_error(t, r, 409, None, "updating with the stale version is 409")
r = d.get("%s/%d" % (NOTES, nid), token=w.tokens["grid_a"])
t.eq((r.json or {}).get("body"), BODY2, "the stale update changed nothing")
r = audit(w.admin, "example.note", nid)
rows = fx.items_of(r)
t.eq([x.get("action") for x in rows], ["update", "create"],
     "two audit rows, newest first; the refused stale update left none")
if len(rows) == 2:
    t.eq(rows[0].get("request_id"), upd_rid, "the update row has the update's request id")
    t.eq(((rows[0].get("before") or {}).get("body"), (rows[0].get("after") or {}).get("body")),
         (BODY, BODY2), "the update row has before and after bodies")
    t.ok(rows[0].get("id", 0) > rows[1].get("id", 0), "newest row has the larger id", repr(rows))
else:
    t.ok(False, "update row details", repr(rows))

# --- who sees the note and its audit ----------------------------------------------------------
r = d.get("%s/%d" % (NOTES, nid), token=w.tokens["grid_b"])
fx.check_error(t, r, 404, None, "a grid worker of the neighbouring grid gets 404 for the note")
r = d.get(NOTES, token=w.tokens["grid_b"])
t.ok(r.status == 200 and all(x.get("id") != nid for x in fx.items_of(r)),
     "and does not see it in the list", repr(r))
r = d.patch("%s/%d" % (NOTES, nid), body={"version": new_version, "body": "越权修改"},
            token=w.tokens["grid_b"])
fx.check_error(t, r, 404, None, "nor may update it (404)")
r = d.get(NOTES, token=w.tokens["grid_a"])
t.ok(any(x.get("id") == nid for x in fx.items_of(r)), "the author's list has the note", repr(r))
r = d.get(NOTES, token=w.tokens["community_e1"])
t.ok(any(x.get("id") == nid for x in fx.items_of(r)), "the community above sees it", repr(r))
r = d.post(NOTES, body={"region_id": w.r.grid_b, "body": "写到别人的网格"},
           token=w.tokens["grid_a"])
t.ok(r.status in (403, 404, 422) and fx.has_error_shape(r),
     "a grid worker cannot create a note in another grid", repr(r))
t.eq(count("SELECT count(*) FROM example.note WHERE body = '写到别人的网格'"), 0,
     "no such note was stored")

for who, n in (("district", 2), ("street_e", 2), ("community_e1", 2), ("street_w", 0),
               ("community_w1", 0)):
    r = audit(w.tokens[who], "example.note", nid)
    t.ok(r.status == 200 and len(fx.items_of(r)) == n,
         "%s sees %d audit rows of the note" % (who, n), repr(r))
r = audit(w.tokens["grid_a"], "example.note", nid)
fx.check_error(t, r, 403, "forbidden", "a grid worker may not read the audit log")

# --- a write that fails after writing leaves nothing ------------------------------------------
r = d.post("/api/v1/faulty/fail-after-write", body={}, token=w.admin)
t.status(r, 422, "faulty fail-after-write answers 422")
t.eq(count("SELECT count(*) FROM core.audit WHERE entity LIKE 'faulty%'"), 0,
     "its audit row was rolled back")
t.eq(count("SELECT count(*) FROM faulty.mark"), 0, "its faulty.mark row was rolled back")
r = d.post("/api/v1/faulty/write", body={}, token=w.admin)
t.status(r, 201, "faulty write answers 201")
t.eq(count("SELECT count(*) FROM core.audit WHERE entity LIKE 'faulty%'"), 1,
     "its audit row was committed")
t.eq(count("SELECT count(*) FROM faulty.mark"), 1, "its faulty.mark row was committed")

# --- a hook vetoes a note: neither note nor audit row ---------------------------------------
notes_before = count("SELECT count(*) FROM example.note")
audit_before = count("SELECT count(*) FROM core.audit WHERE entity = 'example.note'")
r = d.post(NOTES, body={"region_id": w.r.grid_a, "body": "FAIL-HOOK"}, token=w.tokens["grid_a"])
fx.check_error(t, r, 422, None, "a note the faulty hook rejects is 422")
t.eq(count("SELECT count(*) FROM example.note WHERE body = 'FAIL-HOOK'"), 0,
     "the rejected note was not stored")
t.eq(count("SELECT count(*) FROM example.note"), notes_before, "no note row was added")
t.eq(count("SELECT count(*) FROM core.audit WHERE entity = 'example.note'"), audit_before,
     "no audit row was added")
t.eq(count("SELECT count(*) FROM core.audit WHERE after->>'body' = 'FAIL-HOOK'"), 0,
     "no audit row mentions the rejected body")
r = d.post(NOTES, body={"region_id": w.r.grid_a, "body": "正常记录"}, token=w.tokens["grid_a"])
t.status(r, 201, "the next ordinary note is stored (201)")
t.eq(count("SELECT count(*) FROM core.audit WHERE entity = 'example.note'"), audit_before + 1,
     "and audited once")

# --- core writes are audited too, without secrets -------------------------------------------------
r = d.post("/api/v1/users", body={"username": "audited_user", "password": "Some-pass-2024",
                                  "role": "grid_worker", "scope_region_id": w.r.grid_c},
           token=w.tokens["street_e"])
t.status(r, 201, "street user creates a grid worker")
uid = (r.json or {}).get("id")
r = audit(w.tokens["street_e"], "user", uid)
rows = fx.items_of(r)
t.ok(len(rows) == 1 and rows[0].get("action") == "create" and
     (rows[0].get("after") or {}).get("username") == "audited_user",
     "the user creation is audited with the new user", repr(r))
t.eq(fx.hash_leak(rows), None, "the audit row holds no password or hash")
t.eq(count("SELECT count(*) FROM core.audit WHERE before::text LIKE '%argon2%' "
           "OR after::text LIKE '%argon2%'"), 0, "no audit row anywhere holds a password hash")

# --- paging the audit log --------------------------------------------------------------
r1 = d.get("/api/v1/audit?limit=1", token=w.admin)
c1 = (r1.json or {}).get("next_cursor")
t.ok(r1.status == 200 and len(fx.items_of(r1)) == 1 and isinstance(c1, str) and c1,
     "limit=1 gives one row and a next_cursor", repr(r1))
r2 = d.get("/api/v1/audit?limit=1&cursor=%s" % c1, token=w.admin)
i1, i2 = fx.items_of(r1), fx.items_of(r2)
t.ok(r2.status == 200 and len(i2) == 1 and i1 and i2[0].get("id") < i1[0].get("id"),
     "the next page holds the next older row", repr(r2))
r = d.get("/api/v1/audit?limit=501", token=w.admin)
fx.check_error(t, r, 422, None, "limit above 500 is 422", field="limit")

# --- audit rows keep writes whole, so reading them masks what the reader may not see ----------
ID, PHONE = "11010519491231002X", "13812345678"
r = d.post("/api/v1/residents", token=w.tokens["grid_a"],
           body={"name": "审计测试", "id_number": ID, "phone": PHONE, "grid_id": w.r.grid_a})
t.status(r, 201, "a grid worker registers a resident with an ID number and phone")
rid = (r.json or {}).get("id")
rows = fx.items_of(audit(w.tokens["community_e1"], "resident", rid))
after = (rows[0].get("after") or {}) if rows else {}
t.ok(rows and after.get("id_number") == "110105********002X" and after.get("phone") == "138****5678",
     "community staff (audit.read, no residents.read_sensitive) see the audit row masked",
     repr(rows))
t.ok(ID not in repr(rows) and PHONE not in repr(rows), "nowhere in the rows is the full number")
rows = fx.items_of(audit(w.admin, "resident", rid))
after = (rows[0].get("after") or {}) if rows else {}
t.ok(after.get("id_number") == ID and after.get("phone") == PHONE,
     "the admin (every permission) sees the audit row in full", repr(rows))

t.eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
d.check_log_clean(t)
t.done()

#!/usr/bin/env python3
"""test_users — managing accounts as a district's staff do: who sees which
users, who may create whom where, duplicates, optimistic concurrency on
PATCH, out-of-scope ids that look absent, paging, validation, and that no
reply ever shows a password hash.

Not for: login and tokens (test_auth.py) or the audit rows of user writes
(test_audit.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"])
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d)
# A neighbouring district and its district user.
w2 = fx.setup(pg, d, users=["district", "grid_a"], prefix="d2_", district="邻区",
              code="110106000000")
U = "/api/v1/users"
PW = w.password
replies = []  # every user-bearing reply, checked for hashes at the end


def keep(r):
    replies.append(r)
    return r


def usernames(r):
    return {u.get("username") for u in fx.items_of(r)}


def list_all(token, limit=500):
    r = keep(d.get("%s?limit=%d" % (U, limit), token=token))
    return r, usernames(r)


# --- who sees whom ----------------------------------------------------------------------
r, names = list_all(w.tokens["district"])
t.status(r, 200, "district user lists users")
own = set(fx.CAST)
t.eq(sorted(names - {"district"}), sorted(own - {"district"}),
     "the district user sees its district's users and no one else")
t.ok(not names & {"admin", "d2_district", "d2_grid_a"},
     "the district user sees neither the admin nor the other district's users", repr(names))
r, names = list_all(w.tokens["street_e"])
t.ok({"community_e1", "grid_a", "grid_b"} <= names and not names & {
    "street_w", "community_w1", "grid_w", "district", "admin", "d2_grid_a"},
    "the east street user sees only users inside its street", repr(names))
r, names = list_all(w.admin)
t.ok(own | {"admin", "d2_district", "d2_grid_a"} <= names, "the admin sees everyone",
     repr(names))

# --- creating ----------------------------------------------------------------------------
def new_user(token, username, role, region, password=PW):
    return keep(d.post(U, body={"username": username, "password": password, "role": role,
                                "scope_region_id": region}, token=token))


r = new_user(w.tokens["street_e"], "bad_district", "district", w.r.district)
fx.check_error(t, r, 403, "forbidden", "a street user may not create a district user",
               field="role")
r = new_user(w.tokens["street_e"], "bad_street", "street", w.r.street_e)
fx.check_error(t, r, 403, "forbidden", "nor a user of its own rank", field="role")
r = new_user(w.tokens["street_e"], "west_worker", "grid_worker", w.r.grid_w)
fx.check_error(t, r, 422, None, "a street user may not scope a user outside its street",
               field="scope_region_id")
r = new_user(w.tokens["district"], "foreign_worker", "grid_worker", w2.r.grid_a)
fx.check_error(t, r, 422, None, "a district user may not scope a user in another district",
               field="scope_region_id")
r = new_user(w.tokens["street_e"], "ghost_region", "grid_worker", 987654)
fx.check_error(t, r, 422, None, "an unknown region is 422", field="scope_region_id")
t.eq(pg.sql("SELECT count(*) FROM core.app_user WHERE username IN "
            "('bad_district', 'bad_street', 'west_worker', 'foreign_worker', 'ghost_region')"),
     [("0",)], "none of the refused users exists")

r = new_user(w.tokens["street_e"], "east_worker", "grid_worker", w.r.grid_c)
t.status(r, 201, "a street user creates a grid worker in its street (201)")
east = r.json if isinstance(r.json, dict) else {}
t.eq((east.get("username"), east.get("role"), east.get("scope_region_id")),
     ("east_worker", "grid_worker", w.r.grid_c), "the reply describes the new user")
t.ok(isinstance(east.get("id"), int) and isinstance(east.get("version"), int),
     "the new user has an id and a version", repr(east))
t.status(d.post("/api/v1/auth/login", body={"username": "east_worker", "password": PW}), 200,
         "the new user can log in")
r, names = list_all(w.tokens["street_e"])
t.ok("east_worker" in names, "the street user now lists the new user")
r = new_user(w.tokens["district"], "east_worker", "grid_worker", w.r.grid_a)
fx.check_error(t, r, 409, None, "a duplicate username is 409")
r = new_user(w.tokens["street_e"], "short_pw", "grid_worker", w.r.grid_c, password="short")
fx.check_error(t, r, 422, None, "a too short password is 422", field="password")
r = new_user(w.tokens["street_e"], "bad name!", "grid_worker", w.r.grid_c)
fx.check_error(t, r, 422, None, "a username with spaces is 422", field="username")
r = new_user(w.tokens["street_e"], "norole", "mayor", w.r.grid_c)
fx.check_error(t, r, 422, None, "an unknown role is 422", field="role")
r = keep(d.post(U, body={"username": "noscope", "password": PW, "role": "grid_worker"},
                token=w.tokens["street_e"]))
fx.check_error(t, r, 422, None, "a grid worker needs a scope region", field="scope_region_id")

# --- reading one ------------------------------------------------------------------------------
eid = east.get("id")
r = keep(d.get("%s/%d" % (U, eid), token=w.tokens["district"]))
t.ok(r.status == 200 and (r.json or {}).get("username") == "east_worker",
     "the district user reads the new user", repr(r))
west_id = w.users["grid_w"]["id"]
r = d.get("%s/%d" % (U, west_id), token=w.tokens["street_e"])
fx.check_error(t, r, 404, None, "a user outside the caller's street is 404")
r = d.get("%s/%d" % (U, w2.users["grid_a"]["id"]), token=w.tokens["district"])
fx.check_error(t, r, 404, None, "a user of another district is 404")
r = d.get("%s/%d" % (U, 424242), token=w.tokens["district"])
fx.check_error(t, r, 404, None, "a user id that does not exist is 404 too")

# --- PATCH and versions -----------------------------------------------------------------
v1 = east.get("version")
r = keep(d.patch("%s/%d" % (U, eid), body={"version": v1, "display_name": "东网格员"},
                 token=w.tokens["street_e"]))
t.status(r, 200, "PATCH with the version read is 200")
v2 = (r.json or {}).get("version")
t.ok(isinstance(v2, int) and v2 > v1, "PATCH bumps the version", repr(r))
t.eq((r.json or {}).get("display_name"), "东网格员", "PATCH changed the display name")
r = keep(d.patch("%s/%d" % (U, eid), body={"version": v1, "display_name": "过时的写入"},
                 token=w.tokens["street_e"]))
fx.check_error(t, r, 409, "version_conflict", "PATCH with a stale version is 409 version_conflict")
r = keep(d.get("%s/%d" % (U, eid), token=w.tokens["street_e"]))
t.eq(((r.json or {}).get("display_name"), (r.json or {}).get("version")), ("东网格员", v2),
     "the stale PATCH changed nothing")
r = d.patch("%s/%d" % (U, eid), body={"display_name": "没有版本"}, token=w.tokens["street_e"])
fx.check_error(t, r, 422, None, "PATCH without a version is 422", field="version")
r = keep(d.patch("%s/%d" % (U, eid), body={"display_name": "用If-Match"},
                 headers={"If-Match": '"%d"' % v2}, token=w.tokens["street_e"]))
t.status(r, 200, "PATCH with the version in If-Match is 200")
v3 = (r.json or {}).get("version", v2)
r = d.patch("%s/%d" % (U, west_id), body={"version": 1, "display_name": "越权"},
            token=w.tokens["street_e"])
fx.check_error(t, r, 404, None, "PATCH of a user outside the caller's scope is 404")
t.eq(pg.sql("SELECT display_name FROM core.app_user WHERE username = 'grid_w'"), [("",)],
     "and that user is unchanged")
r = d.patch("%s/%d" % (U, w.users["street_w"]["id"]),
            body={"version": w.users["street_w"]["version"], "display_name": "同级"},
            token=w.tokens["district"])
t.status(r, 200, "the district user may change a street user")
r = d.patch("%s/%d" % (U, w.users["district"]["id"]),
            body={"version": w.users["district"]["version"], "role": "admin"},
            token=w.tokens["district"])
t.ok(r.status in (403, 404), "the district user may not promote itself", repr(r))
r = d.patch("%s/%d" % (U, eid), body={"version": v3, "scope_region_id": w.r.grid_w},
            token=w.tokens["street_e"])
fx.check_error(t, r, 422, None, "PATCH may not move a user outside the caller's scope",
               field="scope_region_id")

# A password change signs the user out everywhere.
tok = d.login("east_worker", PW)
r = keep(d.get("%s/%d" % (U, eid), token=w.tokens["street_e"]))
r = keep(d.patch("%s/%d" % (U, eid), body={"version": (r.json or {}).get("version"),
                                           "password": "New-pass-2024"},
                 token=w.tokens["street_e"]))
t.status(r, 200, "the street user resets the worker's password")
r = fx.wait_status(d, "GET", "/api/v1/me", 401, 3, token=tok)
fx.check_error(t, r, 401, None, "the worker's old token is revoked by the password change")
r = fx.login_from(d, "127.0.0.9", "east_worker", PW)
fx.check_error(t, r, 401, "invalid_credentials", "the old password no longer works")
t.ok(d.login("east_worker", "New-pass-2024"), "the new password works")

# --- paging and list validation ------------------------------------------------------------
seen, cursor, pages = [], None, 0
while pages < 20:
    path = "%s?limit=3" % U + ("&cursor=%s" % cursor if cursor else "")
    r = keep(d.get(path, token=w.admin))
    if r.status != 200:
        break
    seen += [u.get("id") for u in fx.items_of(r)]
    pages += 1
    cursor = (r.json or {}).get("next_cursor")
    if not cursor:
        break
t.ok(r.status == 200 and pages > 1, "limit=3 pages through the users", repr(r))
t.eq(len(seen), len(set(seen)), "no user appears on two pages")
_, names = list_all(w.admin)
t.eq(len(seen), len(names), "the pages together hold every user")
for q in ("limit=0", "limit=501", "limit=abc", "cursor=zzz"):
    r = d.get("%s?%s" % (U, q), token=w.admin)
    fx.check_error(t, r, 422, None, "GET /users?%s is 422" % q, field=q.split("=")[0])

# --- no hash, anywhere ------------------------------------------------------------------------------
leaks = ["%d %s" % (x.status, fx.hash_leak(x.json)) for x in replies if fx.hash_leak(x.json)]
t.eq(leaks, [], "no user reply holds a password or hash field (%d replies)" % len(replies))
t.ok(all("argon2" not in x.text for x in replies), "no reply text mentions argon2")

t.eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
d.check_log_clean(t)
t.done()

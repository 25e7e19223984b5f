#!/usr/bin/env python3
"""test_auth — logging in and out, bearer tokens, /me, the login rate limit,
token expiry and revocation, and the token/permission gate on every route
that /openapi.json lists.

Not for: user management rules (test_users.py) or request-body errors
(test_errors.py)."""
import datetime
import os
import sys
import time

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
PW = w.password

# Dedicated accounts for the rate-limit checks, so a locked account never
# disturbs another check.
for name in ("victim1", "victim2"):
    ogtest.create_user(pg, d, name, PW, "grid_worker", w.r.grid_b, token=w.admin)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_ts(s):
    try:
        return datetime.datetime.fromisoformat(str(s).replace("Z", "+00:00"))
    except ValueError:
        return None


# --- login ---------------------------------------------------------------
r = d.post("/api/v1/auth/login", body={"username": "grid_a", "password": PW})
t.status(r, 200, "login with the right password is 200")
body = r.json if isinstance(r.json, dict) else {}
t.ok(isinstance(body.get("token"), str) and len(body["token"]) >= 32, "login returns a token",
     repr(r))
t.eq(body.get("token_type"), "Bearer", "token_type is Bearer")
exp = parse_ts(body.get("expires_at"))
t.ok(exp is not None and exp.tzinfo is not None and exp > utc_now(),
     "expires_at is a future timestamp", repr(body.get("expires_at")))
t.eq((body.get("user") or {}).get("username"), "grid_a", "login reply names the user")
t.eq((body.get("user") or {}).get("role"), "grid_worker", "login reply gives the role")
t.eq(fx.hash_leak(body), None, "login reply holds no password hash")
t.ok(r.headers.get("content-type", "").startswith("application/json"), "login reply is JSON")

r_wrong = fx.login_from(d, "127.0.0.2", "grid_a", "Wrong-pass-2024")
fx.check_error(t, r_wrong, 401, "invalid_credentials", "wrong password is 401 invalid_credentials")
t.ok("token" not in (r_wrong.json or {}), "a failed login returns no token")
r_unknown = fx.login_from(d, "127.0.0.3", "no_such_user", "Wrong-pass-2024")
fx.check_error(t, r_unknown, 401, "invalid_credentials",
               "unknown user is 401 invalid_credentials")
t.eq((fx.error_of(r_unknown) or {}).get("message"), (fx.error_of(r_wrong) or {}).get("message"),
     "unknown user and wrong password get the same message (existence not leaked)")
r = fx.login_from(d, "127.0.0.3", "grid_a", PW.lower())
fx.check_error(t, r, 401, "invalid_credentials", "password comparison is case-sensitive")

# --- /me for each role -----------------------------------------------------
CORE = {"users.read", "users.write", "audit.read", "plugins.manage"}
EXPECT = {
    "district": {"users.read", "users.write", "audit.read", "plugins.manage", "example.read"},
    "street_e": {"users.read", "users.write", "audit.read", "example.read", "example.write"},
    "community_e1": {"audit.read", "example.read", "example.write"},
    "grid_a": {"example.read", "example.write"},
}
SCOPE = {"district": w.r.district, "street_e": w.r.street_e, "community_e1": w.r.comm_e1,
         "grid_a": w.r.grid_a}
ROLE = {"district": "district", "street_e": "street", "community_e1": "community",
        "grid_a": "grid_worker"}
KNOWN = CORE | {"example.read", "example.write"}
for name, want in EXPECT.items():
    r = d.get("/api/v1/me", token=w.tokens[name])
    me = r.json if isinstance(r.json, dict) else {}
    t.status(r, 200, "GET /me as %s is 200" % name)
    t.eq(me.get("username"), name, "/me username of %s" % name)
    t.eq(me.get("role"), ROLE[name], "/me role of %s" % name)
    scope = me.get("scope")
    scope_id = scope.get("id") if isinstance(scope, dict) else scope
    t.eq(scope_id, SCOPE[name], "/me scope of %s is the region it was given" % name)
    t.eq(me.get("district_id"), w.r.district, "/me district_id of %s" % name)
    t.ok(isinstance(me.get("id"), int), "/me id of %s is an integer" % name, repr(me))
    perms = set(me.get("permissions") or [])
    t.eq(sorted(perms & KNOWN), sorted(want), "/me permissions of %s (core and example)" % name)
    t.eq(fx.hash_leak(me), None, "/me of %s holds no password hash" % name)

r = d.get("/api/v1/me", token=w.admin)
me = r.json if isinstance(r.json, dict) else {}
t.eq(me.get("role"), "admin", "/me role of the admin")
t.ok(KNOWN <= set(me.get("permissions") or []), "the admin holds every core and example permission",
     repr(me.get("permissions")))
t.eq(me.get("district_id"), None, "the admin has no district")

# --- missing and bad credentials ------------------------------------------------
r = d.get("/api/v1/me")
fx.check_error(t, r, 401, None, "GET /me without a token is 401 with the error shape")
for label, hdr in (("Bearer garbage", "Bearer garbage"),
                   ("unknown well-formed token", "Bearer " + "ab" * 32),
                   ("Basic credentials", "Basic YWRtaW46QWRtaW4tcGFzcy0yMDI0"),
                   ("empty bearer", "Bearer "),
                   ("two tokens", "Bearer %s %s" % (w.tokens["grid_a"], w.tokens["grid_b"]))):
    r = d.get("/api/v1/me", headers={"Authorization": hdr})
    fx.check_error(t, r, 401, None, "Authorization: %s is 401" % label)

# --- logout -----------------------------------------------------------------------
tok1 = d.login("grid_b", PW)
tok2 = d.login("grid_b", PW)
t.ok(tok1 != tok2, "two logins give two different tokens")
r = d.post("/api/v1/auth/logout", token=tok1)
t.status(r, 200, "POST /auth/logout is 200")
r = fx.wait_status(d, "GET", "/api/v1/me", 401, 3, token=tok1)
fx.check_error(t, r, 401, None, "a logged-out token answers 401")
r = d.get("/api/v1/me", token=tok2)
t.status(r, 200, "logging out one token leaves the user's other token valid")
r = d.post("/api/v1/auth/logout", token=tok1)
fx.check_error(t, r, 401, None, "logging out a revoked token again is 401")
r = d.post("/api/v1/auth/logout")
fx.check_error(t, r, 401, None, "logout without a token is 401")

# --- every protected route in /openapi.json wants a token --------------------------------
r = d.get("/openapi.json")
t.status(r, 200, "GET /openapi.json without a token is 200")
paths = r.json.get("paths") if isinstance(r.json, dict) else None
t.ok(isinstance(paths, dict) and paths, "openapi has paths", repr(r))
paths = paths if isinstance(paths, dict) else {}
ops = []  # (method, path, permission)
bad_ops = []
for p, item in sorted(paths.items()):
    for m, op in sorted((item or {}).items()):
        if m.lower() not in ("get", "post", "put", "patch", "delete"):
            continue
        perm = op.get("x-permission") if isinstance(op, dict) else None
        if not isinstance(perm, str) or not perm:
            bad_ops.append("%s %s" % (m, p))
            continue
        ops.append((m.upper(), p, perm))
t.eq(bad_ops, [], "every operation in openapi has an x-permission")
listed = {(m, p) for m, p, _ in ops}
for must in (("GET", "/api/v1/me"), ("GET", "/api/v1/users"), ("POST", "/api/v1/users"),
             ("GET", "/api/v1/users/{id}"), ("PATCH", "/api/v1/users/{id}"),
             ("GET", "/api/v1/audit"), ("GET", "/api/v1/plugins"),
             ("GET", "/api/v1/example/notes"), ("POST", "/api/v1/example/notes"),
             ("POST", "/api/v1/auth/login"), ("GET", "/healthz")):
    t.ok(must in listed, "openapi lists %s %s" % must)
public = {(m, p) for m, p, perm in ops if perm == "public"}
t.ok(("POST", "/api/v1/auth/login") in public and ("GET", "/healthz") in public,
     "login and healthz are public in openapi", repr(sorted(public)))
t.ok(("GET", "/api/v1/me") not in public and ("GET", "/api/v1/users") not in public,
     "/me and /users are not public in openapi")


def concrete(p):
    out = []
    for seg in p.split("/"):
        out.append("1" if seg.startswith("{") and seg.endswith("}") else seg)
    return "/".join(out)


protected = [(m, p, perm) for m, p, perm in ops if perm != "public"]
t.ok(len(protected) >= 8, "openapi lists at least 8 protected operations", repr(protected))
fails = []
for m, p, perm in protected:
    r = d.req(m, concrete(p))
    if r.status != 401 or not fx.has_error_shape(r):
        fails.append("%s %s -> %r" % (m, concrete(p), r))
t.eq(fails, [], "every protected route answers 401 with the error shape without a token")
fails = []
for m, p, perm in protected:
    r = d.req(m, concrete(p), headers={"Authorization": "Bearer garbage"})
    if r.status != 401 or not fx.has_error_shape(r):
        fails.append("%s %s -> %r" % (m, concrete(p), r))
t.eq(fails, [], "every protected route answers 401 to Bearer garbage")

# A grid worker lacks these four: every route needing one is 403 for it.
denied = [(m, p, perm) for m, p, perm in protected if perm in CORE]
t.ok({perm for _, _, perm in denied} == CORE,
     "openapi has routes for users.read, users.write, audit.read and plugins.manage",
     repr(denied))
fails = []
for m, p, perm in denied:
    r = d.req(m, concrete(p), token=w.tokens["grid_a"])
    if r.status != 403 or fx.code_of(r) != "forbidden":
        fails.append("%s %s (%s) -> %r" % (m, concrete(p), perm, r))
t.eq(fails, [], "a grid worker gets 403 forbidden on every users/audit/plugins.manage route")
r = d.get("/api/v1/users", token=w.tokens["district"])
t.status(r, 200, "the district user, who holds users.read, lists users")
r = d.get("/api/v1/audit", token=w.tokens["community_e1"])
t.status(r, 200, "the community user, who holds audit.read, reads the audit log")
r = d.get("/api/v1/users", token=w.tokens["community_e1"])
fx.check_error(t, r, 403, "forbidden", "the community user, without users.read, gets 403")

# --- deactivation revokes -------------------------------------------------------
uid = w.users["grid_w"]["id"]
ver = w.users["grid_w"]["version"]
t.status(d.get("/api/v1/me", token=w.tokens["grid_w"]), 200, "grid_w's token works before")
r = d.patch("/api/v1/users/%d" % uid, body={"version": ver, "active": False}, token=w.admin)
t.status(r, 200, "admin deactivates grid_w")
r = fx.wait_status(d, "GET", "/api/v1/me", 401, 3, token=w.tokens["grid_w"])
fx.check_error(t, r, 401, None, "a deactivated user's token answers 401")
r = fx.login_from(d, "127.0.0.4", "grid_w", PW)
fx.check_error(t, r, 401, "invalid_credentials",
               "a deactivated user cannot log in with the right password")
r = d.get("/api/v1/users/%d" % uid, token=w.admin)
r = d.patch("/api/v1/users/%d" % uid, body={"version": (r.json or {}).get("version"),
                                             "active": True}, token=w.admin)
t.status(r, 200, "admin reactivates grid_w")
r = fx.login_from(d, "127.0.0.5", "grid_w", PW)
t.status(r, 200, "a reactivated user logs in again")

# --- rate limit per user -------------------------------------------------------------
statuses = [fx.login_from(d, "127.0.0.%d" % (11 + i), "victim1", "Wrong-%d-pass" % i).status
            for i in range(5)]
t.eq(statuses, [401] * 5, "five wrong passwords for victim1 (five addresses) are 401 each")
r = fx.login_from(d, "127.0.0.16", "victim1", PW)
fx.check_error(t, r, 429, "rate_limited",
               "the sixth login of victim1, with the right password, is 429 rate_limited")
ra = r.headers.get("retry-after", "")
t.ok(ra.isdigit() and 1 <= int(ra) <= 300, "429 has Retry-After within the 300 s window", repr(ra))
t.ok("token" not in (r.json or {}), "a rate-limited login returns no token")
r = fx.login_from(d, "127.0.0.16", "victim2", PW)
t.status(r, 200, "another user logs in from that address meanwhile")

# --- rate limit per address ----------------------------------------------------------
statuses = [fx.login_from(d, "127.0.0.21", "nobody%d" % i, "Wrong-pass-%d" % i).status
            for i in range(5)]
t.eq(statuses, [401] * 5, "five failed logins from 127.0.0.21 (five usernames) are 401 each")
r = fx.login_from(d, "127.0.0.21", "community_w1", PW)
fx.check_error(t, r, 429, "rate_limited",
               "a valid login from the same address is then 429 rate_limited")
t.ok(r.headers.get("retry-after", "").isdigit(), "per-address 429 has Retry-After", repr(r.headers))
r = fx.login_from(d, "127.0.0.22", "community_w1", PW)
t.status(r, 200, "the same user logs in from another address")

# --- expiry and the end of the rate-limit window (short-lived settings) -----------------
d2 = ogtest.Daemon(pg, plugins=["example"], config={"token_ttl_s": 2, "login_window_s": 8})
d2.admin = d.admin
d2.start()
t0 = utc_now()
r = d2.post("/api/v1/auth/login", body={"username": "grid_a", "password": PW})
t.status(r, 200, "token_ttl_s=2: login is 200")
tok = (r.json or {}).get("token", "")
exp = parse_ts((r.json or {}).get("expires_at"))
t.ok(exp is not None and exp - t0 < datetime.timedelta(seconds=30),
     "token_ttl_s=2: expires_at is seconds away, not hours", repr((r.json or {}).get("expires_at")))
t.status(d2.get("/api/v1/me", token=tok), 200, "token_ttl_s=2: the fresh token works")
time.sleep(2.5)
r = fx.wait_status(d2, "GET", "/api/v1/me", 401, 4, token=tok)
fx.check_error(t, r, 401, None, "token_ttl_s=2: the token answers 401 after ~3 s")
r = d.get("/api/v1/me", token=tok)
fx.check_error(t, r, 401, None, "the expired token is refused by the other daemon too")

statuses = [fx.login_from(d2, "127.0.0.%d" % (31 + i), "victim2", "Wrong-%d-pass" % i).status
            for i in range(5)]
t.eq(statuses, [401] * 5, "login_window_s=8: five wrong passwords for victim2")
r = fx.login_from(d2, "127.0.0.36", "victim2", PW)
fx.check_error(t, r, 429, "rate_limited", "login_window_s=8: the right password is then 429")
ra = r.headers.get("retry-after", "")
t.ok(ra.isdigit() and 1 <= int(ra) <= 8, "login_window_s=8: Retry-After is at most 8", repr(ra))
if ra.isdigit():
    time.sleep(min(int(ra), 8) + 0.3)
r = fx.wait_for(lambda: (lambda x: x if x.status == 200 else None)(
    fx.login_from(d2, "127.0.0.36", "victim2", PW)), 4, 0.5)
t.ok(r is not None and r.status == 200,
     "login_window_s=8: after Retry-After the right password logs in again", repr(r))

t.eq(d2.stop(), 0, "second daemon exits 0 on SIGTERM")
d2.check_log_clean(t, "second daemon log is clean")

# --- behind a reverse proxy: the per-address limit counts the client, not the proxy ------
d2.stop()
d3 = ogtest.Daemon(pg, plugins=["example"], config={"trusted_proxies": ["127.0.0.1"]})
d3.start()
pg.sql("DELETE FROM core.login_attempt")
BAD = {"username": "nobody-here", "password": "wrong-password"}
for i in range(5):
    d3.post("/api/v1/auth/login", body=dict(BAD, username="nobody%d" % i),
            headers={"X-Real-IP": "203.0.113.7"})
r = d3.post("/api/v1/auth/login", body={"username": "admin", "password": "Admin-pass-2024"},
            headers={"X-Real-IP": "203.0.113.7"})
t.status(r, 429, "five failures from one client behind the proxy limit that client")
r = d3.post("/api/v1/auth/login", body={"username": "admin", "password": "Admin-pass-2024"},
            headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.8"})
t.status(r, 200, "another client behind the same proxy still logs in")
t.eq(pg.sql("SELECT count(*) FROM core.login_attempt WHERE address = '203.0.113.8'")[0][0], "1",
     "the attempt is recorded under the client's address (last X-Forwarded-For hop)")
t.eq(d3.stop(), 0, "proxy-aware daemon exits 0")
pg.sql("DELETE FROM core.login_attempt")
d4 = ogtest.Daemon(pg, plugins=["example"])
d4.start()
for i in range(5):
    d4.post("/api/v1/auth/login", body=dict(BAD, username="other%d" % i),
            headers={"X-Real-IP": "203.0.113.%d" % (20 + i)})
r = d4.post("/api/v1/auth/login", body={"username": "admin", "password": "Admin-pass-2024"},
            headers={"X-Real-IP": "203.0.113.99"})
t.status(r, 429, "without trusted_proxies a client cannot dodge the limit with X-Real-IP")
t.eq(d4.stop(), 0, "default daemon exits 0")
pg.sql("DELETE FROM core.login_attempt")
d3.check_log_clean(t, "proxy-aware daemon log is clean")
t.eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
d.check_log_clean(t)
t.done()

#!/usr/bin/env python3
"""test_errors — what a client gets for a bad request: unknown route (404),
wrong method (405 + Allow), body too large (413), wrong media type (415),
malformed / invalid UTF-8 / too deep / duplicate-key JSON (400), and that
every reply carries X-Request-Id and JSON replies say application/json.
Garbage never crashes a worker.

Not for: authentication (test_auth.py) or validation of a route's own
fields (test_users.py)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"], config={"max_body_bytes": 2048})
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
tok = d.admin_token()
workers_before = d.worker_pids()
seen = []  # every answer that must carry X-Request-Id


def keep(r):
    seen.append(r)
    return r


def is_json(r):
    return r.headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"


LOGIN = "/api/v1/auth/login"
JSON = {"Content-Type": "application/json"}

# --- 404 ------------------------------------------------------------------------
r = keep(d.get("/api/v1/no-such-route", token=tok))
fx.check_error(t, r, 404, None, "unknown route with a token is 404 with the error shape")
t.ok(is_json(r), "404 is application/json", repr(r.headers))
r = keep(d.get("/api/v1/no-such-route"))
fx.check_error(t, r, 404, None, "unknown route without a token is 404 too")
r = keep(d.get("/no/such/thing"))
fx.check_error(t, r, 404, None, "unknown path outside /api/v1 is 404")
for p in ("/api/v1/users/abc", "/api/v1/users/-1", "/api/v1/users/0",
          "/api/v1/users/99999999999999999999999"):
    r = keep(d.get(p, token=tok))
    fx.check_error(t, r, 404, None, "GET %s is 404, not a 500" % p)
r = keep(d.get("/api/v1/users/%00", token=tok))
t.ok(r.status in (400, 404) and fx.has_error_shape(r), "GET /api/v1/users/%00 is 400 or 404",
     repr(r))

# --- 405 ------------------------------------------------------------------------
r = keep(d.delete("/api/v1/me", token=tok))
fx.check_error(t, r, 405, None, "DELETE /api/v1/me is 405 with the error shape")
allow = {m.strip().upper() for m in r.headers.get("allow", "").split(",") if m.strip()}
t.ok("GET" in allow and "DELETE" not in allow, "405 has an Allow header listing GET",
     repr(r.headers))
r = keep(d.req("PUT", "/api/v1/users", body={}, token=tok))
allow = {m.strip().upper() for m in r.headers.get("allow", "").split(",") if m.strip()}
t.status(r, 405, "PUT /api/v1/users is 405")
t.ok({"GET", "POST"} <= allow, "Allow of /api/v1/users lists GET and POST", repr(r.headers))
r = keep(d.get(LOGIN))
t.status(r, 405, "GET on the login route is 405")

# --- 413 ------------------------------------------------------------------------
big = '{"username": "admin", "password": "%s"}' % ("x" * 10240)
r = d.req("POST", LOGIN, raw=big, headers=JSON)
t.status(r, 413, "a 10 KB body with max_body_bytes=2048 is 413")
r = d.req("POST", "/api/v1/users", raw=big, headers=JSON, token=tok)
t.status(r, 413, "a 10 KB body on a protected route is 413 too")
near = {"username": "bad name!", "password": "Some-pass-2024", "role": "community",
        "display_name": "y" * 1500}
r = keep(d.post("/api/v1/users", body=near, token=tok))
t.ok(r.status == 422 and fx.field_of(r) == "username",
     "a 1.5 KB body under the 2 KB limit is read (422 for its bad username, not 413)", repr(r))

# --- 415 ------------------------------------------------------------------------
creds = '{"username": "admin", "password": "Admin-pass-2024"}'
r = keep(d.req("POST", LOGIN, raw=creds, headers={"Content-Type": "text/plain"}))
fx.check_error(t, r, 415, None, "POST with Content-Type text/plain is 415")
r = keep(d.req("POST", "/api/v1/users", raw='{"username":"x"}',
               headers={"Content-Type": "application/x-www-form-urlencoded"}, token=tok))
fx.check_error(t, r, 415, None, "POST a form to /api/v1/users is 415")
r = keep(d.req("POST", LOGIN, raw=creds,
               headers={"Content-Type": "application/json; charset=utf-8"}))
t.status(r, 200, "Content-Type application/json; charset=utf-8 is accepted")

# --- 400 ------------------------------------------------------------------------
r = keep(d.req("POST", LOGIN, raw='{"username": "admin",', headers=JSON))
fx.check_error(t, r, 400, "malformed_json", "truncated JSON is 400 malformed_json")
r = keep(d.req("POST", LOGIN, raw="username=admin", headers=JSON))
fx.check_error(t, r, 400, "malformed_json", "non-JSON text is 400 malformed_json")
r = keep(d.req("POST", LOGIN, raw=b'{"username": "adm\xff\xfein", "password": "x"}',
               headers=JSON))
fx.check_error(t, r, 400, None, "invalid UTF-8 inside a JSON string is 400")
r = keep(d.req("POST", LOGIN,
               raw='{"username": "admin", "username": "other", "password": "x"}',
               headers=JSON))
fx.check_error(t, r, 400, None, "duplicate keys are 400")


def nested(depth):
    # depth counts the outer object: {"username": [[...]]}
    return '{"username": %s%s, "password": "x"}' % ("[" * (depth - 1), "]" * (depth - 1))


r = keep(d.req("POST", LOGIN, raw=nested(33), headers=JSON))
fx.check_error(t, r, 400, "too_deep", "nesting 33 deep (max_json_depth 32) is 400 too_deep")
r = keep(d.req("POST", LOGIN, raw=nested(200), headers=JSON))
fx.check_error(t, r, 400, "too_deep", "nesting 200 deep is 400 too_deep")
r = keep(d.req("POST", LOGIN, raw=nested(32), headers=JSON))
t.ok(r.status == 422 and fx.code_of(r) != "too_deep",
     "nesting exactly 32 deep is parsed (422: username is not a string)", repr(r))
r = keep(fx.req_from(d, "127.0.0.50", "POST", LOGIN,
                     raw='{"username": "%s", "password": "Wrong-pass-2024"}' % ("[{" * 40),
                     headers=JSON))
t.ok(r.status == 401 and fx.code_of(r) == "invalid_credentials",
     "brackets inside a JSON string do not count as nesting (401, not too_deep)", repr(r))

# --- every reply is labelled ------------------------------------------------------------
r = keep(d.get("/api/v1/me", token=tok))
t.ok(r.status == 200 and is_json(r), "GET /me is 200 application/json", repr(r.headers))
r = keep(d.get("/api/v1/me"))
t.ok(r.status == 401 and is_json(r), "401 is application/json", repr(r.headers))
r = keep(d.get("/healthz"))
t.ok(is_json(r), "healthz is application/json", repr(r.headers))
missing = ["%s -> %d" % (x.text[:60], x.status) for x in seen if not x.headers.get("x-request-id")]
t.eq(missing, [], "every reply above carries X-Request-Id (%d replies)" % len(seen))
ids = [x.headers.get("x-request-id") for x in seen if x.headers.get("x-request-id")]
t.eq(len(set(ids)), len(ids), "request ids are unique")
not_json = ["%d %s" % (x.status, x.headers.get("content-type")) for x in seen
            if x.status and x.body and not is_json(x)]
t.eq(not_json, [], "every reply above with a body is application/json")

# --- nothing above hurt the daemon ----------------------------------------------------
t.status(d.get("/healthz"), 200, "healthz is still 200")
t.eq(d.worker_pids(), workers_before, "no worker crashed or restarted")
t.eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
d.check_log_clean(t)
t.done()

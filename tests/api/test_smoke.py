#!/usr/bin/env python3
"""test_smoke — the harness's own proof: a cluster, the daemon with the
example plugin, migrate, create-admin, health, login, /me, a 404, a clean
log and a clean SIGTERM exit.  Not for: behaviour of any one feature."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
t.eq(pg.sql("SELECT 1, 'x'"), [("1", "x")], "throwaway cluster answers SQL")

d = ogtest.Daemon(pg, plugins=["example"])
d.migrate()
t.ok(pg.sql("SELECT count(*) FROM core.role")[0][0] != "0", "migrate created the core schema")
d.create_admin(password="Smoke-pass-2024")
d.start()

r = d.get("/healthz")
t.status(r, 200, "GET /healthz is 200")
t.ok(r.headers.get("content-type", "").startswith("application/json"), "healthz is JSON",
     r.headers.get("content-type"))
db = r.json.get("database") if isinstance(r.json, dict) else None
if isinstance(db, dict):
    db = db.get("status")
t.ok(db in ("ok", True), "healthz says the database is ok", repr(r))

bad = d.post("/api/v1/auth/login", body={"username": "admin", "password": "wrong"})
t.status(bad, 401, "login with a wrong password is 401")

tok = d.login("admin", "Smoke-pass-2024")
t.ok(isinstance(tok, str) and len(tok) >= 16, "login returns a token")

r = d.get("/api/v1/me", token=tok)
t.status(r, 200, "GET /api/v1/me is 200")
me = r.json if isinstance(r.json, dict) else {}
me = me.get("user", me) if "username" not in me else me
t.eq(me.get("username"), "admin", "/me is the admin")

r = d.get("/api/v1/me")
t.status(r, 401, "GET /api/v1/me without a token is 401")

r = d.get("/api/v1/no-such-route", token=tok)
t.status(r, 404, "unknown route is 404")
err = r.json.get("error") if isinstance(r.json, dict) else None
t.ok(isinstance(err, dict) and isinstance(err.get("code"), str) and isinstance(err.get("message"), str),
     "404 carries the JSON error shape", repr(r))

t.ok(len(d.worker_pids()) == 2, "two workers run", repr(d.worker_pids()))
rc = d.stop()
t.eq(rc, 0, "SIGTERM: clean exit status 0")
t.eq(d.leftover_workers, [], "no worker outlives the master")
d.check_log_clean(t)
t.done()

#!/usr/bin/env python3
"""test_db_outage — PostgreSQL goes away under a running onegridd: requests
get a quick 503 JSON answer (never a hang, never "wrong password"), /healthz
says 503, and when PostgreSQL is back the same daemon serves again without
a restart.

Not for: statement timeouts of slow queries or worker crashes
(test_workers.py)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"],
                  config={"db_connect_timeout_s": 2, "statement_timeout_ms": 2000})
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d, users=["grid_a"])
tok = w.tokens["grid_a"]
master = d.pid
workers = d.worker_pids()

t.status(d.get("/api/v1/me", token=tok), 200, "/me is 200 while PostgreSQL runs")
t.status(d.get("/healthz"), 200, "/healthz is 200 while PostgreSQL runs")

pg.stop_server()
OUTAGE_CODES = ("db_unavailable", "timeout")


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


# Both workers must notice, whichever gets a request: ask several times.
answers = [timed(lambda: d.get("/api/v1/me", token=tok, timeout=15)) for _ in range(4)]
slow = [round(s, 1) for _, s in answers if s >= 10]
t.eq(slow, [], "every /me during the outage is answered within 10 s")
bad = [r for r, _ in answers if r.status != 503 or fx.code_of(r) not in OUTAGE_CODES]
t.eq(bad, [], "/me during the outage is 503 db_unavailable (4 requests)")
r = answers[0][0]
t.ok(fx.has_error_shape(r), "the 503 has the JSON error shape", repr(r))
t.ok(r.headers.get("x-request-id"), "the 503 carries X-Request-Id")

r, secs = timed(lambda: d.get("/healthz", timeout=15))
t.status(r, 503, "/healthz is 503 during the outage")
t.ok(secs < 10, "/healthz answers within 10 s during the outage", "%.1f s" % secs)

r, secs = timed(lambda: d.post("/api/v1/auth/login", timeout=15,
                               body={"username": "grid_a", "password": w.password}))
t.ok(r.status == 503 and fx.code_of(r) in OUTAGE_CODES,
     "login during the outage is 503, not 401 invalid_credentials", repr(r))
t.ok(secs < 10, "login answers within 10 s during the outage", "%.1f s" % secs)
r = d.post("/api/v1/example/notes", body={"region_id": w.r.grid_a, "body": "停电时的记录"},
           token=tok, timeout=15)
t.ok(r.status == 503 and fx.code_of(r) in OUTAGE_CODES, "a write during the outage is 503",
     repr(r))
t.ok(d.running() and d.pid == master, "the daemon is still running during the outage")

pg.start_server()
r = fx.wait_status(d, "GET", "/api/v1/me", 200, 20, token=tok, interval=0.5)
t.status(r, 200, "/me is 200 again within 20 s of PostgreSQL's return")
r = fx.wait_status(d, "GET", "/healthz", 200, 20, interval=0.5)
t.status(r, 200, "/healthz is 200 again")
bad = [x.status for x in (d.get("/api/v1/me", token=tok) for _ in range(10)) if x.status != 200]
t.eq(bad, [], "every worker serves again (10 requests, all 200)")
t.eq(d.pid, master, "the same master process serves (no restart)")
t.eq(d.worker_pids(), workers, "the same workers serve (none crashed)")
r = d.post("/api/v1/example/notes", body={"region_id": w.r.grid_a, "body": "恢复后的记录"},
           token=tok)
t.status(r, 201, "writes work again after the outage")
t.eq(pg.sql("SELECT count(*) FROM example.note WHERE body = '停电时的记录'"), [("0",)],
     "the write refused during the outage was not stored later")
tok2 = d.login("grid_a", w.password)
t.ok(tok2, "login works again")

t.eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
d.check_log_clean(t)
t.done()

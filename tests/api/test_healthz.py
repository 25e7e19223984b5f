#!/usr/bin/env python3
"""test_healthz — GET /healthz answers from the worker's last good database
check for health_cache_ms instead of querying on every call, yet notices
quickly a connection the server closed: a terminated backend is replaced and a
stopped server is reported 503 on the next call (10 ms after the last), not
after the window.

The window is set to a minute here so that what runs SQL and what does not
is certain, whatever the machine's speed.  Not for: the outage behaviour of
the other routes (test_db_outage.py)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"], workers=1, config={"health_cache_ms": 60000})
d.migrate()
d.start()

# A worker looks at its idle connection at most every 10 ms (system.c's
# HEALTH_PEEK_S); sleeping past that makes the next call look.
PEEK = 0.05
BACKENDS = ("SELECT pid, query_start, query FROM pg_stat_activity "
            "WHERE application_name = 'onegridd' ORDER BY pid")

r = d.get("/healthz")
t.status(r, 200, "/healthz is 200")
t.eq(r.json.get("database"), "ok", "/healthz says the database is ok")
first = pg.sql(BACKENDS)
t.eq([q for _, _, q in first], ["SELECT 1"], "the first /healthz checked with SELECT 1")

bad = [x.status for x in (d.get("/healthz") for _ in range(5)) if x.status != 200]
t.eq(bad, [], "5 more /healthz are 200")
t.eq(pg.sql(BACKENDS), first,
     "no query ran for them: the check is reused inside health_cache_ms")

pg.sql("SELECT pg_terminate_backend(%s, 10000)" % first[0][0], db="postgres")
time.sleep(PEEK)
r = d.get("/healthz")
t.status(r, 200, "/healthz is 200 after its backend was terminated (reconnected)")
again = pg.sql(BACKENDS)
t.ok(len(again) == 1 and again[0][0] != first[0][0] and again[0][2] == "SELECT 1",
     "the closed connection was noticed at once and checked anew on a new one",
     repr((first, again)))

pg.stop_server()
time.sleep(PEEK)
r = d.get("/healthz", timeout=15)
t.status(r, 503, "/healthz is 503 at once when PostgreSQL stops (window 60 s)")
t.eq(r.json.get("database") if r.json else None, "unreachable",
     "the 503 says the database is unreachable")
r = d.get("/healthz", timeout=15)
t.status(r, 503, "and stays 503 while it is down (a failure is not cached as a success)")
pg.start_server()
r = fx.wait_status(d, "GET", "/healthz", 200, 20, interval=0.5)
t.status(r, 200, "/healthz is 200 again once PostgreSQL is back")

t.eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
d.check_log_clean(t)
t.done()

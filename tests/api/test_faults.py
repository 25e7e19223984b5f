#!/usr/bin/env python3
"""test_faults — faults injected under load, and what must survive them.

What it is for, each under a load of concurrent clients:
  - PostgreSQL restarted during a write load: every write that got a 2xx
    is in the database, exactly once; none that got an error reply is
    there, not even in part (its audit row and change-feed row neither);
  - a worker SIGKILLed: only requests in flight fail, the master starts a
    new worker and the service keeps answering;
  - a plugin route that dereferences NULL (the faulty fixture): only its
    worker dies, the service keeps answering, and the log names the plugin
    and the route;
  - the database connection limit filled (a non-superuser role with
    CONNECTION LIMIT 2 and 4 workers): the workers without a connection
    answer 503 at once, nothing hangs;
  - SIGTERM to the master under a write load: no acknowledged write lost;
  - no password or token of this run appears in the daemon's log.

What it is not for: the database outage semantics in detail
(test_db_outage.py) or worker supervision basics (test_workers.py).
Runs in about a minute and a half.
"""

import os
import signal
import threading
import time

import fixtures
import ogtest

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"], fixtures=["faulty"], workers=2,
                  config={"db_connect_timeout_s": 2})
d.migrate()
d.create_admin()
d.start()
w = fixtures.setup(pg, d, users=["district", "grid_a"])
A = w.r.grid_a
ga = w.tokens["grid_a"]
SECRETS = [w.password, d.admin[1], w.admin, ga] + list(w.tokens.values())


def q(s):
    return "'" + s.replace("'", "''") + "'"


class Load:
    """Threads POSTing residents with unique names (or GETting) until
    stopped; results: [(name, status, seconds)]."""

    def __init__(self, daemon, tag, threads=4, write=True, token=None):
        self.d = daemon
        self.tag = tag
        self.write = write
        self.token = token or ga
        self.results = []
        self.started = []  # monotonic start of each result, same order
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(threads)]

    def run(self, i):
        n = 0
        while not self.stop.is_set():
            n += 1
            name = "%s-%d-%d" % (self.tag, i, n)
            t0 = time.monotonic()
            if self.write:
                r = self.d.post("/api/v1/residents", {"name": name, "id_type": "none", "grid_id": A,
                                                      "residence_status": "registered"},
                                token=self.token, timeout=15)
            else:
                r = self.d.get("/api/v1/residents?limit=5", token=self.token, timeout=15)
            with self.lock:
                self.results.append((name, r.status, time.monotonic() - t0))
                self.started.append(t0)
            if r.status == 0 or r.status >= 500:
                time.sleep(0.05)

    def __enter__(self):
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for th in self.threads:
            th.join(30)


def names_in_db(tag):
    return {n for (n,) in pg.sql("SELECT name FROM core.resident WHERE name LIKE %s" % q(tag + "-%"))}


def check_writes(results, tag, what):
    in_db = names_in_db(tag)
    acked = [n for n, st, _ in results if 200 <= st < 300]
    refused = [n for n, st, _ in results if st >= 400]
    unanswered = [n for n, st, _ in results if st == 0]
    lost = [n for n in acked if n not in in_db]
    t.ok(acked and not lost, "%s: every acknowledged write (%d) is in the database"
         % (what, len(acked)), "lost: %r" % lost[:20])
    half = [n for n in refused if n in in_db]
    t.ok(not half, "%s: no write answered with an error (%d) is in the database"
         % (what, len(refused)), "there: %r" % half[:20])
    dup = pg.sql("SELECT name, count(*) FROM core.resident WHERE name LIKE %s GROUP BY name "
                 "HAVING count(*) > 1" % q(tag + "-%"))
    t.ok(not dup, "%s: no write is in the database twice" % what, repr(dup[:10]))
    # Nothing of a refused write in the audit log or the change feed either.
    if refused:
        rows = pg.sql("SELECT count(*) FROM core.audit WHERE after::text LIKE ANY (ARRAY[%s])"
                      % ",".join(q("%" + n + "\"%") for n in refused[:200]))
        t.ok(rows and rows[0][0] == "0", "%s: no audit row of a refused write" % what, repr(rows))
    t.diag("%s: %d acknowledged, %d refused, %d without an answer (%d of those committed); "
           "%d commits whose acknowledgement was lost, looked up and found committed"
           % (what, len(acked), len(refused), len(unanswered),
              len([n for n in unanswered if n in in_db]),
              d.log().count("during COMMIT of transaction")))
    return acked, refused


# --------------------------------------------------------------------------
# PostgreSQL restarted under a write load

with Load(d, "pgre") as load:
    time.sleep(2)
    pg.stop_server()
    time.sleep(2)
    pg.start_server()
    time.sleep(4)
acked, refused = check_writes(load.results, "pgre", "PostgreSQL restart")
t.ok(refused, "some writes were refused while PostgreSQL was down (the fault did happen)")
codes = {st for _, st, _ in load.results if st >= 400}
t.ok(codes <= {503}, "writes during the outage are refused with 503 only (%s)" % sorted(codes))
t.ok(max(s for _, _, s in load.results) < 10, "no write waited 10 s or more during the outage "
     "(slowest %.2f s)" % max(s for _, _, s in load.results))
r = fixtures.wait_status(d, "GET", "/api/v1/me", 200, 20, token=ga)
t.status(r, 200, "the daemon answers again once PostgreSQL is back")

# --------------------------------------------------------------------------
# SIGKILL a worker under load

before = d.worker_pids()
t.eq(len(before), 2, "two workers before the kill")
with Load(d, "kill", write=True) as load, Load(d, "killr", write=False):
    time.sleep(1.5)
    t_kill = time.monotonic()
    os.kill(before[0], signal.SIGKILL)
    time.sleep(3)
after = fixtures.wait_for(lambda: (lambda p: p if len(p) == 2 and before[0] not in p else None)(
    d.worker_pids()), 10)
t.ok(after and before[0] not in after and before[1] in after,
     "the master replaced the killed worker (and only it)", "before %r after %r" % (before, after))
failed = [(x, t0 - t_kill) for x, t0 in zip(load.results, load.started)
          if x[1] == 0 or x[1] >= 500]
t.ok(len(failed) <= 4 and all(dt < 0.5 for _, dt in failed),
     "only requests in flight at the kill failed (%d of %d writes)" % (len(failed), len(load.results)),
     repr(failed[:10]))
check_writes(load.results, "kill", "worker SIGKILL")
t.ok(any("killed by signal 9" in l for l in d.log().splitlines()),
     "the master logged the kill")

# --------------------------------------------------------------------------
# A plugin route that dereferences NULL

before = d.worker_pids()
with Load(d, "segv", write=False) as load:
    time.sleep(0.5)
    r = d.get("/api/v1/faulty/nullderef", token=ga)
    t.ok(r.status == 0 or r.status >= 500, "GET /api/v1/faulty/nullderef gets no normal answer",
         repr(r))
    t.status(d.get("/healthz"), 200, "the service answers right after the crash")
    time.sleep(2)
ok_after = [x for x in load.results if x[1] == 200]
t.ok(len(ok_after) > len(load.results) // 2, "concurrent clients kept being answered (%d of %d)"
     % (len(ok_after), len(load.results)))
lines = fixtures.log_lines_with(d, "crashed in plugin faulty", "/api/v1/faulty/nullderef")
t.ok(lines, "the log names the plugin and the route of the crash", d.log_tail(20))
t.ok(fixtures.log_lines_with(d, "killed by signal 11"), "the master logged the SIGSEGV")
after = fixtures.wait_for(lambda: (lambda p: p if len(p) == 2 else None)(d.worker_pids()), 10)
t.ok(after and len(set(after) - set(before)) == 1, "exactly one worker was replaced",
     "before %r after %r" % (before, after))
r = d.get("/api/v1/faulty/crash", token=ga)
t.ok(fixtures.wait_for(lambda: fixtures.log_lines_with(d, "crashed in plugin faulty",
                                                       "/api/v1/faulty/crash"), 5),
     "an abort() in a plugin is named in the log too")
t.status(fixtures.wait_status(d, "GET", "/api/v1/me", 200, 10, token=ga), 200,
         "the service answers after both crashes")

# --------------------------------------------------------------------------
# The database connection limit

pg.sql("CREATE ROLE og LOGIN CONNECTION LIMIT 2; GRANT pg_read_all_data, pg_write_all_data TO og;")
limited = ogtest.Daemon(pg, plugins=["example"], fixtures=["faulty"], workers=4,
                        config={"database": pg.conninfo.replace("user=postgres", "user=og"),
                                "db_connect_timeout_s": 2})
limited.start()
# Every worker needs its own connection: hold the master's and the workers'
# attempts apart, then look at what each answers.
time.sleep(1)
held = pg.sql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'og'")[0][0]
results = []
for i in range(40):
    t0 = time.monotonic()
    r = limited.get("/api/v1/me", token=ga, timeout=15)
    results.append((r.status, time.monotonic() - t0, fixtures.code_of(r)))
sts = sorted({s for s, _, _ in results})
t.ok(set(sts) <= {200, 503}, "with 2 connections for 4 workers every request answers 200 or 503 "
     "(%s; the role holds %s connections)" % (sts, held), repr(results))
t.ok(503 in sts and 200 in sts, "the workers with a connection answer, the others say 503", repr(sts))
t.ok(all(s < 5 for _, s, _ in results), "no request waits (slowest %.2f s)"
     % max(s for _, s, _ in results))
t.ok(all(c == "db_unavailable" for s, _, c in results if s == 503),
     "the 503s say db_unavailable")
limited.stop()
limited.close()

# --------------------------------------------------------------------------
# SIGTERM under a write load

with Load(d, "term") as load:
    time.sleep(2)
    d.proc.send_signal(signal.SIGTERM)
    try:
        d.proc.wait(20)
    except Exception:
        pass
    time.sleep(0.5)
t.ok(d.proc.poll() is not None, "the daemon exited after SIGTERM")
check_writes(load.results, "term", "SIGTERM")

# --------------------------------------------------------------------------
# Secrets

log = d.log()
leaked = [s[:6] + "…" for s in SECRETS if s and s in log]
t.ok(not leaked, "no password or token of this run is in the daemon log", repr(leaked))
t.ok(not any(s in log for s in ("$argon2", "Authorization:", "Bearer ")),
     "no password hash or Authorization header in the daemon log")
bad = [l for l in log.splitlines() if any(a in l for a in ogtest.LOG_ALARMS)]
t.ok(not bad, "daemon log has no sanitizer report, alert or CRIT line", "\n".join(bad[:20]))
t.done()

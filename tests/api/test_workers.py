#!/usr/bin/env python3
"""test_workers — the master/worker process model as an operator sees it:
a worker killed or crashing is restarted while the service keeps
answering, the restart shows in the log and in /metrics, and SIGTERM lets
an in-flight request finish before a clean exit that closes the port.

Not for: what a request does inside a worker (the other test files)."""
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"], fixtures=["faulty"], workers=2)
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
tok = d.admin_token()
master = d.pid


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


# --- /metrics ------------------------------------------------------------------------
r, samples = fx.metrics(d)
t.status(r, 200, "GET /metrics without a token is 200")
t.ok(r.headers.get("content-type", "").startswith("text/plain"),
     "/metrics is Prometheus text (text/plain)", repr(r.headers))
t.ok(any(n == "onegrid_http_requests_total" for n, _, _ in samples),
     "/metrics has onegrid_http_requests_total samples", r.text[:1500])
t.ok(any(l.startswith("# TYPE onegrid_http_requests_total") for l in r.text.splitlines()),
     "onegrid_http_requests_total has a TYPE line", r.text[:1500])
before = fx.metric_sum(samples, "onegrid_http_requests_total") or 0
for _ in range(6):
    d.get("/healthz")
_, samples = fx.metrics(d)
after = fx.metric_sum(samples, "onegrid_http_requests_total") or 0
t.ok(after >= before + 6, "the request counter grows with requests (across workers)",
     "before %r after %r" % (before, after))
restarts0 = fx.metric_sum(samples, "onegrid_worker_restarts_total")
t.eq(restarts0, 0.0, "onegrid_worker_restarts_total is 0 at start")
restarts0 = restarts0 or 0

# --- a route that crashes its worker -------------------------------------------------------
pids0 = d.worker_pids()
t.eq(len(pids0), 2, "two workers run", )
r = d.get("/api/v1/faulty/crash", token=tok, timeout=10)
t.eq(r.status, 0, "GET /faulty/crash: the connection fails (no answer)", )
crashed = [p for p in pids0 if not alive(p)]
new = fx.wait_for(lambda: len(d.worker_pids()) == 2 and set(d.worker_pids()) != set(pids0), 10)
t.ok(new, "a replacement worker is running within 10 s", repr((pids0, d.worker_pids())))
bad = [s for s in (d.get("/healthz").status for _ in range(10)) if s != 200]
t.eq(bad, [], "after the crash the service answers 200 (10 requests)")
_, samples = fx.metrics(d)
t.ok((fx.metric_sum(samples, "onegrid_worker_restarts_total") or 0) >= restarts0 + 1,
     "onegrid_worker_restarts_total counts the restart",
     repr(fx.metric_sum(samples, "onegrid_worker_restarts_total")))
t.ok(fx.log_lines_with(d, "restart"), "the log mentions the restart", d.log_tail(20))
t.eq(d.pid, master, "the master is the same process")

# --- SIGKILL a worker -------------------------------------------------------------------------
pids1 = d.worker_pids()
victim, other = pids1[0], pids1[-1]
os.kill(victim, signal.SIGKILL)
t.ok(fx.wait_for(lambda: not alive(victim), 5, 0.02), "the killed worker is gone")
statuses = []
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    statuses.append(d.get("/healthz", timeout=5).status)
    pids = d.worker_pids()
    if len(pids) == 2 and victim not in pids:
        break
    time.sleep(0.05)
pids2 = d.worker_pids()
t.ok(len(pids2) == 2 and victim not in pids2, "a new worker replaces the killed one within 10 s",
     repr((pids1, pids2)))
t.ok(statuses and all(s == 200 for s in statuses),
     "requests answered 200 throughout (%d polls)" % len(statuses), repr(statuses))
t.ok(other in pids2, "the other worker was left alone", repr((other, pids2)))
lines = fx.log_lines_with(d, str(victim))
t.ok(any("restart" in l.lower() for l in lines), "the log names the killed pid and the restart",
     "\n".join(lines) or d.log_tail(20))
bad = [s for s in (d.get("/healthz").status for _ in range(10)) if s != 200]
t.eq(bad, [], "the service answers 200 with the new worker (10 requests)")
r = d.get("/api/v1/me", token=tok)
t.status(r, 200, "authenticated requests work after the restarts")

# --- SIGTERM waits for the in-flight request ------------------------------------------------
result = {}


def slow():
    result["r"] = d.get("/api/v1/faulty/slow?ms=1500", token=tok, timeout=20)


th = threading.Thread(target=slow)
th.start()
time.sleep(0.3)
rc = d.stop(signal.SIGTERM, timeout=20)
th.join(20)
r = result.get("r")
t.ok(r is not None and r.status == 200,
     "a 1.5 s request started before SIGTERM completes with 200", repr(r))
t.eq(rc, 0, "the daemon exits with 0 after draining")
t.eq(d.leftover_workers, [], "no worker outlives the master")
s = socket.socket()
s.settimeout(3)
try:
    s.connect((d.host, d.port))
    refused = False
except ConnectionRefusedError:
    refused = True
except OSError:
    refused = False
finally:
    s.close()
t.ok(refused, "afterwards the port refuses connections")

# The crash is deliberate: its own report is not a defect.
crash_marks = ["SEGV", "ABRT", "deadly signal"] + ["==%d==" % p for p in crashed]
alarms = [l for l in d.log().splitlines()
          if any(a in l for a in ogtest.LOG_ALARMS) and not any(m in l for m in crash_marks)]
t.eq(alarms, [], "the log has no sanitizer report, alert or CRIT besides the deliberate crash")
t.done()

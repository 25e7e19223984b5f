#!/usr/bin/env python3
"""tests/bench/summary_timing.py — time the report summary on a loaded district.

    tests/bench/summary_timing.py --pgdir DIR [--builddir build/bench]
                                  [--community N] [--district M]
                                  [--save FILE | --compare FILE]

What it is for: iterating on the reports engine against a district that
tests/bench/load_district.py loaded into the running cluster in DIR.  It
starts onegridd (every plugin, 4 workers) on a free loopback port, makes
(or logs in) the district user "district1", and with one sequential client
times N summaries of random communities (fixed seed) and M of the
district, printing p50, min and max.  --save writes the answers of 24
summaries (district, a street, two communities, two grids; three dates and
a CSV) to FILE; --compare checks today's build gives the same answers.
Stops onegridd before it exits; leaves the cluster running.

What it is not for: the benchmark's report (tests/bench/run) or tests.
"""

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRCDIR, "tests", "api"))

from ogtest import http_request, free_port  # noqa: E402

PLUGINS = ["civil", "example", "party", "volunteer", "women"]
PASSWORD = "Bench-pass-2026"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pgdir", required=True)
    ap.add_argument("--builddir", default=os.path.join(SRCDIR, "build", "bench"))
    ap.add_argument("--community", type=int, default=20)
    ap.add_argument("--district", type=int, default=3)
    ap.add_argument("--save")
    ap.add_argument("--compare")
    a = ap.parse_args()
    pgdir = os.path.abspath(a.pgdir)
    work = tempfile.mkdtemp(prefix="og-summary-", dir="/tmp")
    os.makedirs(os.path.join(work, "plugins"))
    for p in PLUGINS:
        os.symlink(os.path.join(os.path.abspath(a.builddir), "plugins", ".libs", p + ".so"),
                   os.path.join(work, "plugins", p + ".so"))
    port = free_port()
    config = os.path.join(work, "onegrid.json")
    with open(config, "w") as f:
        json.dump({"listen": "127.0.0.1:%d" % port,
                   "database": "host=%s port=5432 user=postgres dbname=onegrid" % pgdir,
                   "workers": 4, "plugin_dir": os.path.join(work, "plugins"),
                   "plugins": PLUGINS, "request_timeout_s": 1800,
                   "statement_timeout_ms": 1800000}, f)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEGRID_")}
    log = open(os.path.join(work, "onegridd.log"), "ab")
    proc = subprocess.Popen([os.path.join(a.builddir, "onegridd"), "-c", config], stdout=log,
                            stderr=log, env=env, start_new_session=True)
    try:
        for _ in range(200):
            if http_request("127.0.0.1", port, "GET", "/healthz", timeout=2).status:
                break
            time.sleep(0.1)

        def req(method, path, body=None, token=None):
            return http_request("127.0.0.1", port, method, path, body=body, token=token,
                                timeout=1800)

        psql = ["psql", "-X", "-qAt", "-h", pgdir, "-U", "postgres", "-d", "onegrid", "-c"]
        regions = [tuple(x.split("|")) for x in subprocess.run(
            psql + ["SELECT id, level FROM core.region ORDER BY id"], capture_output=True,
            text=True).stdout.split()]
        ids = {lvl: [int(i) for i, l in regions if l == lvl]
               for lvl in ("district", "street", "community", "grid")}
        district = ids["district"][0]
        r = req("POST", "/api/v1/auth/login", {"username": "district1", "password": PASSWORD})
        if r.status != 200:
            admin = req("POST", "/api/v1/auth/login",
                        {"username": "admin", "password": PASSWORD}).json["token"]
            r = req("POST", "/api/v1/users", {"username": "district1", "password": PASSWORD,
                                              "role": "district", "scope_region_id": district},
                    admin)
            if r.status not in (200, 201):
                sys.exit("create district1: %r" % r)
            r = req("POST", "/api/v1/auth/login",
                    {"username": "district1", "password": PASSWORD})
        token = r.json["token"]

        def timed(path):
            t = time.monotonic()
            r = req("GET", path, token=token)
            if r.status != 200:
                sys.exit("%s: %r" % (path, r))
            return time.monotonic() - t, r

        def show(name, xs):
            if xs:
                xs = sorted(xs)
                print("%-10s p50 %8.1f ms  min %8.1f  max %8.1f  (n=%d)"
                      % (name, 1000 * statistics.median(xs), 1000 * xs[0], 1000 * xs[-1],
                         len(xs)), flush=True)

        rng = random.Random(1)
        timed("/api/v1/reports/summary?region=%d" % ids["community"][0])  # warm the worker
        show("community", [timed("/api/v1/reports/summary?region=%d"
                                 % rng.choice(ids["community"]))[0]
                           for _ in range(a.community)])
        show("district", [timed("/api/v1/reports/summary?region=%d" % district)[0]
                          for _ in range(a.district)])
        if a.save or a.compare:
            answers = {}
            for reg in (district, ids["street"][3], ids["community"][0], ids["community"][57],
                        ids["grid"][0], ids["grid"][555]):
                for date in ("", "&date=2024-06-30", "&date=2023-01-15"):
                    p = "/api/v1/reports/summary?region=%d%s" % (reg, date)
                    answers[p] = timed(p)[1].json
                    if not date:
                        answers[p].pop("date", None)  # today's date moves
                p = "/api/v1/reports/summary?region=%d&date=2025-03-01&format=csv" % reg
                answers[p] = timed(p)[1].text
            if a.save:
                with open(a.save, "w") as f:
                    json.dump(answers, f, sort_keys=True, ensure_ascii=False)
            if a.compare:
                with open(a.compare) as f:
                    old = json.load(f)
                bad = [k for k in old if json.dumps(old[k], sort_keys=True)
                       != json.dumps(answers.get(k), sort_keys=True)]
                print("answers: %d compared, %d differ %s" % (len(old), len(bad), bad[:5]))
                if bad:
                    sys.exit(1)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        log.close()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()

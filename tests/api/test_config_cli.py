#!/usr/bin/env python3
"""test_config_cli — onegridd's command line as an operator uses it:
--check-config (exit 0 for a valid file, 2 naming the bad key otherwise),
an invalid configuration refusing to serve, environment overrides,
create-admin and seed-demo (idempotent, every demo account usable).

Not for: migrations (test_migrate.py)."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"])
good = dict(d.config)


def check_with(override=None, raw=None):
    """--check-config on a config file made of good + override (or raw text)."""
    with open(d.config_path, "w", encoding="utf-8") as f:
        if raw is not None:
            f.write(raw)
        else:
            c = dict(good)
            c.update(override or {})
            json.dump(c, f, ensure_ascii=False)
    return d.run("--check-config")


def restore():
    d.config = dict(good)
    d.write_config()


# --- --check-config ----------------------------------------------------------------------
p = check_with()
t.eq(p.returncode, 0, "--check-config of a valid file exits 0")
p = check_with({"max_body_bytes": 4096, "max_json_depth": 16, "request_timeout_s": 30,
                "db_connect_timeout_s": 3, "statement_timeout_ms": 5000, "token_ttl_s": 600,
                "login_max_failures": 3, "login_window_s": 60, "shutdown_grace_s": 5,
                "auto_migrate": False,
                "plugins": ["example", {"name": "other", "optional": True}]})
t.eq(p.returncode, 0, "--check-config accepts every documented key", )
if p.returncode != 0:
    t.diag(p.stderr)

BAD = [
    ({"listne": "127.0.0.1:1"}, "listne", "an unknown key"),
    ({"workers": "two"}, "workers", "a string for workers"),
    ({"max_body_bytes": 100}, "max_body_bytes", "max_body_bytes below 1024"),
    ({"max_json_depth": -1}, "max_json_depth", "a negative max_json_depth"),
    ({"auto_migrate": "yes"}, "auto_migrate", "a string for auto_migrate"),
    ({"plugins": "example"}, "plugins", "plugins as a string"),
    ({"listen": "nowhere"}, "listen", "listen without a port"),
]
for override, key, what in BAD:
    p = check_with(override)
    t.ok(p.returncode == 2 and key in p.stderr,
         "--check-config with %s exits 2 naming %s" % (what, key),
         "exit %d stderr %r" % (p.returncode, p.stderr[-500:]))
p = check_with(raw='{"listen": "127.0.0.1:1",')
t.eq(p.returncode, 2, "--check-config of malformed JSON exits 2")
t.ok(d.config_path in p.stderr or "json" in p.stderr.lower() or "line" in p.stderr.lower(),
     "and says where", p.stderr)
q = subprocess.run([d.binary, "-c", "/nonexistent/onegrid.json", "--check-config"],
                   capture_output=True, text=True, timeout=30, env=d._env(None))
t.ok(q.returncode != 0 and "/nonexistent/onegrid.json" in q.stderr,
     "a missing config file is an error naming the file", repr((q.returncode, q.stderr)))

# An invalid file refuses to serve, too.
check_with({"listne": "x"})
d.start(wait=False)
rc = fx.exit_within(d, 20)
t.ok(rc not in (None, 0), "onegridd with an unknown key refuses to serve", repr(rc))
t.ok("listne" in d.log(), "and names the key in its log", d.log_tail(10))
restore()

p = d.run("frobnicate")
t.eq(p.returncode, 2, "an unknown command exits 2")
q = subprocess.run([d.binary, "--version"], capture_output=True, text=True, timeout=30)
t.ok(q.returncode == 0 and "onegridd" in q.stdout, "--version prints the version", q.stdout)

# --- create-admin ------------------------------------------------------------------------
d.migrate()
p = d.run("create-admin", "boss", env={"ONEGRID_ADMIN_PASSWORD": "Boss-pass-2024"})
t.eq(p.returncode, 0, "create-admin boss exits 0")
p = d.run("create-admin", "nopass", env={"ONEGRID_ADMIN_PASSWORD": ""}, input="")
t.ok(p.returncode != 0, "create-admin without a password fails", p.stderr)
p = d.run("create-admin", "shortpw", env={"ONEGRID_ADMIN_PASSWORD": "short"})
t.ok(p.returncode != 0, "create-admin with a 5-character password fails", p.stderr)
t.eq(pg.sql("SELECT username FROM core.app_user ORDER BY username"), [("boss",)],
     "only boss exists")
# The environment overrides the file (systemd drop-ins rely on it).
d.env["ONEGRID_WORKERS"] = "1"
d.start()
t.eq(len(d.worker_pids()), 1, "ONEGRID_WORKERS=1 overrides workers=2 from the file")
r = d.post("/api/v1/auth/login", body={"username": "boss", "password": "Boss-pass-2024"})
t.ok(r.status == 200 and ((r.json or {}).get("user") or {}).get("role") == "admin",
     "the created admin logs in with role admin", repr(r))
old_token = (r.json or {}).get("token")
t.status(d.get("/api/v1/me", token=old_token), 200, "the admin's token works")
p = d.run("create-admin", "boss", env={"ONEGRID_ADMIN_PASSWORD": "Boss-pass-2025"})
t.eq(p.returncode, 0, "create-admin of an existing name exits 0 (password reset)")
t.status(d.get("/api/v1/me", token=old_token), 401,
         "the reset ends the sessions opened with the old password")
t.status(d.post("/api/v1/auth/login", body={"username": "boss", "password": "Boss-pass-2025"}),
         200, "the new password works")
t.eq(pg.sql("SELECT count(*) FROM core.app_user WHERE username = 'boss'"), [("1",)],
     "still one boss")
t.eq(d.stop(), 0, "daemon exits 0")
del d.env["ONEGRID_WORKERS"]

# --- seed-demo ------------------------------------------------------------------------------
pg.sql("CREATE DATABASE og_demo", db="postgres")
demo = ogtest.Daemon(pg, plugins=["example"],
                     config={"database": pg.conninfo.replace("dbname=onegrid", "dbname=og_demo")})
demo.migrate()
p = demo.run("seed-demo", env={"ONEGRID_DEMO_PASSWORD": ""})
t.ok(p.returncode != 0, "seed-demo without ONEGRID_DEMO_PASSWORD fails", p.stderr)
p = demo.run("seed-demo", env={"ONEGRID_DEMO_PASSWORD": "Demo-pass-2024"})
t.eq(p.returncode, 0, "seed-demo exits 0")
if p.returncode != 0:
    t.diag(p.stderr[-2000:])
USERS = "SELECT role, count(*) FROM core.app_user GROUP BY role ORDER BY role"
REGIONS = "SELECT level, count(*) FROM core.region GROUP BY level ORDER BY level"
users1 = pg.sql(USERS, db="og_demo")
regions1 = pg.sql(REGIONS, db="og_demo")
t.eq(users1, [("admin", "1"), ("community", "4"), ("district", "1"), ("grid_worker", "12"),
              ("street", "2")], "seed-demo creates admin, district, 2 street, 4 community, "
                                "12 grid accounts")
t.eq(regions1, [("community", "4"), ("district", "1"), ("grid", "12"), ("street", "2")],
     "seed-demo creates 1 district, 2 streets, 4 communities, 12 grids")
names = {u for (u,) in pg.sql("SELECT username FROM core.app_user", db="og_demo")}
want = {"admin", "district", "street1", "street2"} | {"community%d" % i for i in range(1, 5)} | \
    {"grid%02d" % i for i in range(1, 13)}
t.eq(sorted(names), sorted(want), "the demo account names")
p = demo.run("seed-demo", env={"ONEGRID_DEMO_PASSWORD": "Demo-pass-2024"})
t.eq(p.returncode, 0, "a second seed-demo exits 0")
t.eq((pg.sql(USERS, db="og_demo"), pg.sql(REGIONS, db="og_demo")), (users1, regions1),
     "the second seed-demo adds nothing")

demo.start()
tok = {}
for u in ("admin", "district", "street2", "community4", "grid12"):
    r = demo.post("/api/v1/auth/login", body={"username": u, "password": "Demo-pass-2024"})
    t.status(r, 200, "demo account %s logs in" % u)
    tok[u] = (r.json or {}).get("token")
r = demo.get("/api/v1/me", token=tok["grid12"])
me = r.json if isinstance(r.json, dict) else {}
t.ok(me.get("role") == "grid_worker" and isinstance(me.get("district_id"), int),
     "grid12 is a grid worker inside the demo district", repr(r))
r = demo.get("/api/v1/users?limit=100", token=tok["district"])
t.eq(len(fx.items_of(r)), 19, "the demo district user sees the 19 accounts of the district")
r = demo.post("/api/v1/example/notes", token=tok["grid12"],
              body={"region_id": (me.get("scope") or {}).get("id")
                    if isinstance(me.get("scope"), dict) else me.get("scope"),
                    "body": "演示记录"})
t.status(r, 201, "grid12 writes a note in its grid")
t.eq(demo.stop(), 0, "demo daemon exits 0")

d.check_log_clean(t)
demo.check_log_clean(t, "demo daemon log is clean")
t.done()

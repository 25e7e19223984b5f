#!/usr/bin/env python3
"""test_migrate — `onegridd migrate` and the schema check at start-up:
migrations of the core and of each plugin recorded per schema, a second run
applies nothing, two concurrent runs do not trip over each other, serving
refuses pending migrations (unless auto_migrate) and refuses a database
newer than the binary.

Not for: configuration keys and the other commands (test_config_cli.py)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()


def new_db(name):
    pg.sql("CREATE DATABASE %s" % name, db="postgres")
    return pg.conninfo.replace("dbname=%s" % pg.dbname, "dbname=%s" % name)


def recorded(db=None):
    return pg.sql("SELECT schema, version, name, applied_at FROM core.schema_migration "
                  "ORDER BY schema, version", db=db)


def exists(regclass, db=None):
    return pg.sql("SELECT to_regclass('%s') IS NOT NULL" % regclass, db=db) == [("t",)]


def refuses(dd, name, *patterns):
    """Starts dd expecting a refusal: exit non-zero, a log line matching
    every pattern (case-insensitive substrings; a tuple means any of)."""
    dd.start(wait=False)
    rc = fx.exit_within(dd, 30)
    t.ok(rc not in (None, 0), "%s: onegridd exits non-zero" % name,
         "exit %r\n%s" % (rc, dd.log_tail(20)))
    lines = dd.log().splitlines()
    for p in patterns:
        alts = p if isinstance(p, tuple) else (p,)
        lines = [l for l in lines if any(a.lower() in l.lower() for a in alts)]
    t.ok(lines, "%s: the log says why (%s)" % (name, " & ".join(map(str, patterns))),
         dd.log_tail(20))


# --- a fresh database -------------------------------------------------------------
d = ogtest.Daemon(pg, plugins=["example"])
refuses(d, "fresh database, not migrated", ("pending", "migrat"))
t.eq(ogtest.http_request(d.host, d.port, "GET", "/healthz", timeout=2).status, 0,
     "fresh database: nothing serves")

p = d.run("migrate")
t.eq(p.returncode, 0, "migrate exits 0")
rows = recorded()
keys = [(s, v) for s, v, _, _ in rows]
t.ok(("core", "1") in keys, "core version 1 is recorded in core.schema_migration", repr(rows))
t.ok(("example", "1") in keys, "the example plugin's version 1 is recorded as schema example",
     repr(rows))
t.ok(all(n for _, _, n, _ in rows) and all(a for _, _, _, a in rows),
     "every recorded migration has a name and applied_at", repr(rows))
t.ok(exists("core.region") and exists("core.app_user"), "the core tables exist")
t.ok(exists("example.note"), "the example table lives in schema example")

p2 = d.run("migrate")
t.eq(p2.returncode, 0, "a second migrate exits 0")
t.eq(recorded(), rows, "the second migrate applied nothing (same rows, same applied_at)")

d.create_admin(password="Admin-pass-2024")
d.start()
t.status(d.get("/healthz"), 200, "the migrated database serves")
t.status(d.get("/api/v1/example/notes", token=d.admin_token()), 200,
         "the example plugin's table is usable")
t.eq(d.stop(), 0, "daemon exits 0")

# --- a database newer than the binary ------------------------------------------------
pg.sql("INSERT INTO core.schema_migration (schema, version, name) VALUES ('core', 9999, 'future')")
d2 = ogtest.Daemon(pg, plugins=["example"])
refuses(d2, "core at version 9999", ("9999", "newer", "refus"))
pg.sql("DELETE FROM core.schema_migration WHERE version = 9999")
pg.sql("INSERT INTO core.schema_migration (schema, version, name) "
       "VALUES ('example', 9999, 'future')")
d3 = ogtest.Daemon(pg, plugins=["example"])
refuses(d3, "example at version 9999", ("9999", "newer", "refus"))
# migrate (systemd's ExecStartPre) refuses a downgrade too, before writing anything
perms_before = pg.sql("SELECT count(*) FROM core.permission")[0][0]
pg.sql("DELETE FROM core.permission WHERE code = 'users.read'")
r = d3.run("migrate")
t.eq(r.returncode, 3, "migrate against a newer database exits 3 (schema refused: do not retry)")
t.ok("9999" in (r.stdout or "") + (r.stderr or ""), "and says which version it found",
     (r.stderr or "")[-500:])
t.eq(pg.sql("SELECT count(*) FROM core.permission WHERE code = 'users.read'")[0][0], "0",
     "nothing was written: the permission registry was not synced into it")
pg.sql("DELETE FROM core.schema_migration WHERE version = 9999")
t.eq(d3.run("migrate").returncode, 0, "once the future rows are gone migrate runs")
t.eq(pg.sql("SELECT count(*) FROM core.permission")[0][0], perms_before,
     "and syncs the registry again")
d3.start()
t.status(d3.get("/healthz"), 200, "after removing the future rows the daemon serves again")
t.eq(d3.stop(), 0, "and exits 0")

# --- a plugin added to a database migrated without it ------------------------------------
ci = new_db("og_core_only")
bare = ogtest.Daemon(pg, plugins=[], config={"database": ci})
t.eq(bare.run("migrate").returncode, 0, "migrate without plugins exits 0")
core_rows = recorded("og_core_only")
t.ok(core_rows and all(s == "core" for s, _, _, _ in core_rows),
     "only core migrations are recorded", repr(core_rows))
t.ok(not exists("example.note", db="og_core_only"), "no example table yet")
withex = ogtest.Daemon(pg, plugins=["example"], config={"database": ci})
refuses(withex, "example added without migrate", ("pending",), ("example", "migrate"))
t.eq(withex.run("migrate").returncode, 0, "migrate with example exits 0")
after = recorded("og_core_only")
t.eq([r for r in after if r[0] == "core"], core_rows, "core migrations were not re-applied")
t.ok(any(s == "example" for s, _, _, _ in after), "example's migration is now recorded",
     repr(after))
withex.start()
t.status(withex.get("/healthz"), 200, "and the daemon with example serves")
t.eq(withex.stop(), 0, "and exits 0")

# --- auto_migrate ------------------------------------------------------------------
ci = new_db("og_auto")
auto = ogtest.Daemon(pg, plugins=["example"], config={"database": ci, "auto_migrate": True})
auto.start()
t.status(auto.get("/healthz"), 200, "auto_migrate: a fresh database serves at once")
keys = [(s, v) for s, v, _, _ in recorded("og_auto")]
t.ok(("core", "1") in keys and ("example", "1") in keys,
     "auto_migrate: core and example migrations are recorded", repr(keys))
t.eq(auto.stop(), 0, "auto_migrate: exits 0")

# --- two migrate runs at once ---------------------------------------------------------
ci = new_db("og_race")
race = ogtest.Daemon(pg, plugins=["example"], config={"database": ci})
procs = [subprocess.Popen([race.binary, "-c", race.config_path, "migrate"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=race._env(None), text=True) for _ in range(2)]
outs = []
for pr in procs:
    try:
        out, _ = pr.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        pr.kill()
        out, _ = pr.communicate()
    outs.append((pr.returncode, out))
t.eq([rc for rc, _ in outs], [0, 0], "two concurrent migrate runs both exit 0")
if [rc for rc, _ in outs] != [0, 0]:
    t.diag("\n".join(o for _, o in outs)[-3000:])
keys = [(s, v) for s, v, _, _ in recorded("og_race")]
t.eq(sorted(keys), sorted(set(keys)), "each migration is recorded once")
t.ok(("core", "1") in keys and ("example", "1") in keys, "and all of them are", repr(keys))

for label, dd in (("first", d), ("core 9999", d2), ("example 9999", d3), ("core only", bare),
                  ("example added", withex), ("auto_migrate", auto)):
    dd.check_log_clean(t, "log of the %s daemon is clean" % label)
t.done()

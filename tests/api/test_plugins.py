#!/usr/bin/env python3
"""test_plugins — plugins as a district's IT team and a grid worker see them:
the list of loaded plugins, switching a plugin off and on for one district
(a disabled plugin looks absent there, nowhere else), and the loader
refusing broken plugins (bad ABI, duplicate name, missing dependency,
failing init, colliding routes) with a log line naming file and reason,
unless the plugin is marked optional.

Not for: what the example plugin's own routes do (test_audit.py uses them)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"])
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d, users=["district", "street_e", "grid_a"])
# A second district with its own district user and grid worker.
w2 = fx.setup(pg, d, users=["district", "grid_a"], prefix="d2_", district="邻区",
              code="110106000000")
NOTES = "/api/v1/example/notes"


def plugin_entry(r, name):
    for it in fx.items_of(r):
        if isinstance(it, dict) and it.get("name") == name:
            return it
    return None


# --- the list --------------------------------------------------------------------
r = d.get("/api/v1/plugins", token=w.tokens["district"])
t.status(r, 200, "GET /api/v1/plugins as the district user is 200")
ex = plugin_entry(r, "example")
t.ok(ex is not None, "the list has the example plugin", repr(r))
ex = ex or {}
t.ok(isinstance(ex.get("version"), str) and ex["version"] != "", "example has a version", repr(ex))
t.ok(isinstance(ex.get("title"), str) and ex["title"] != "", "example has a title", repr(ex))
t.eq(ex.get("enabled"), True, "example is enabled by default")
t.eq(sorted(i.get("name") for i in fx.items_of(r)), ["example"],
     "only loaded plugins are listed")
r = d.get("/api/v1/plugins")
fx.check_error(t, r, 401, None, "the plugin list needs a token")

# --- switching off for one district ------------------------------------------------------
SWITCH = "/api/v1/regions/%d/plugins/example"
t.status(d.get(NOTES, token=w.tokens["grid_a"]), 200, "grid worker lists notes before")
t.status(d.get(NOTES, token=w2.tokens["grid_a"]), 200, "the other district's worker too")

r = d.req("PUT", SWITCH % w.r.district, body={"enabled": False}, token=w.tokens["street_e"])
fx.check_error(t, r, 403, "forbidden", "a street user may not switch plugins (403)")
r = d.req("PUT", SWITCH % w2.r.district, body={"enabled": False}, token=w.tokens["district"])
t.ok(r.status in (403, 404) and fx.has_error_shape(r),
     "a district user may not switch another district's plugins", repr(r))

r = d.req("PUT", SWITCH % w.r.district, body={"enabled": False}, token=w.tokens["district"])
t.status(r, 200, "the district user switches example off for the district")
r = fx.wait_status(d, "GET", NOTES, 404, 3, token=w.tokens["grid_a"])
fx.check_error(t, r, 404, None, "the district's grid worker then gets 404 on example routes")
r = d.post(NOTES, body={"region_id": w.r.grid_a, "body": "不该保存"}, token=w.tokens["grid_a"])
fx.check_error(t, r, 404, None, "and 404 on creating a note")
t.eq(pg.sql("SELECT count(*) FROM example.note WHERE body = '不该保存'"), [("0",)],
     "no note was stored through a disabled plugin")
r = d.get("/api/v1/me", token=w.tokens["grid_a"])
t.status(r, 200, "core routes still answer the district's grid worker")
r = d.get(NOTES, token=w2.tokens["grid_a"])
t.status(r, 200, "the other district still has example")
r = d.get("/api/v1/plugins", token=w.tokens["district"])
t.eq((plugin_entry(r, "example") or {}).get("enabled"), False,
     "the plugin list shows example disabled for the district")
r = d.get("/api/v1/plugins", token=w2.tokens["district"])
t.eq((plugin_entry(r, "example") or {}).get("enabled"), True,
     "and still enabled for the other district")

r = d.req("PUT", SWITCH % w.r.district, body={"enabled": True}, token=w.tokens["district"])
t.status(r, 200, "the district user switches example back on")
r = fx.wait_status(d, "GET", NOTES, 200, 3, token=w.tokens["grid_a"])
t.status(r, 200, "the grid worker lists notes again")

# --- refusals of the switch -------------------------------------------------------------
r = d.req("PUT", SWITCH % w.r.street_e, body={"enabled": False}, token=w.tokens["district"])
fx.check_error(t, r, 422, None, "switching a plugin on a street (not a district) is 422")
r = d.req("PUT", "/api/v1/regions/%d/plugins/nonexistent" % w.r.district,
          body={"enabled": False}, token=w.tokens["district"])
fx.check_error(t, r, 404, None, "switching an unknown plugin is 404")
r = d.req("PUT", SWITCH % w.r.district, body={"enabled": "no"}, token=w.tokens["district"])
fx.check_error(t, r, 422, None, "enabled must be a boolean (422)")
t.status(d.get(NOTES, token=w.tokens["grid_a"]), 200,
         "after the refused switches example is still on")

# --- a daemon without the plugin ---------------------------------------------------------
d.stop()
bare = ogtest.Daemon(pg, plugins=[])
bare.admin = d.admin
bare.start()
tok = bare.admin_token()
r = bare.get("/api/v1/plugins", token=tok)
t.eq(fx.items_of(r), [], "a daemon without plugins lists none")
fx.check_error(t, bare.get(NOTES, token=tok), 404, None, "and has no example routes")
r = bare.get("/openapi.json")
t.ok(isinstance(r.json, dict) and not any(p.startswith("/api/v1/example")
                                          for p in (r.json.get("paths") or {})),
     "its openapi lists no example route")
t.eq(bare.stop(), 0, "the plugin-less daemon exits 0")

# --- refused plugins ----------------------------------------------------------------------
# (fixture, extra in-tree plugins, regex the refusal must match after the file name)
CASES = [
    ("bad_abi", [], r"abi"),
    ("dup_example", ["example"], r"duplicate"),
    ("needs_missing", [], r"nonexistent"),
    ("failing_init", [], r"\binit\b"),
    ("collide", [], r"collid|registration"),
]


def refusal_lines(text, fixture, pattern):
    """Lines naming the fixture's file and matching pattern after it."""
    out = []
    for line in text.splitlines():
        i = line.find(fixture + ".so")
        if i >= 0 and re.search(pattern, line[i + len(fixture) + 3:], re.I):
            out.append(line)
    return out


for fixture, extra, pattern in CASES:
    dd = ogtest.Daemon(pg, plugins=extra, fixtures=[fixture])
    dd.start(wait=False)
    rc = fx.exit_within(dd, 30)
    t.ok(rc not in (None, 0), "%s required: onegridd refuses to start" % fixture,
         "exit status %r\n%s" % (rc, dd.log_tail(20)))
    t.ok(refusal_lines(dd.log(), fixture, pattern),
         "%s required: the log names %s.so and the reason (/%s/)" % (fixture, fixture, pattern),
         dd.log_tail(20))
    t.ok(ogtest.http_request(dd.host, dd.port, "GET", "/healthz", timeout=2).status == 0,
         "%s required: nothing listens on the port" % fixture)
    p = dd.run("migrate")
    t.ok(p.returncode != 0, "%s required: migrate refuses too" % fixture,
         "exit %d\n%s" % (p.returncode, p.stderr[-2000:]))
    t.ok(refusal_lines(p.stdout + p.stderr, fixture, pattern),
         "%s required: migrate's output names the file and the reason" % fixture,
         p.stderr[-2000:])
    if fixture == "collide":
        t.ok(fx.log_lines_with(dd, "collid", "/api/v1/collide", text=p.stderr),
             "collide required: the log names the colliding route", p.stderr[-2000:])
    dd.close()

# Optional: the daemon starts without it, warns, and serves.
for fixture, extra, pattern in CASES[:3]:
    dd = ogtest.Daemon(pg, plugins=extra, fixtures=[{"name": fixture, "optional": True}])
    dd.admin = d.admin
    dd.start()
    t.status(dd.get("/healthz"), 200, "%s optional: the daemon starts and serves" % fixture)
    lines = refusal_lines(dd.log(), fixture, pattern)
    t.ok(lines and any(re.search(r"warn", l, re.I) for l in lines),
         "%s optional: the refusal is logged as a warning" % fixture, dd.log_tail(20))
    r = dd.get("/api/v1/plugins", token=dd.admin_token())
    names = sorted(i.get("name") for i in fx.items_of(r))
    t.eq(names, sorted(extra), "%s optional: the plugin list shows only the good plugins" % fixture)
    if extra:
        t.status(dd.get(NOTES, token=dd.admin_token()), 200,
                 "%s optional: the real example still serves" % fixture)
    t.eq(dd.stop(), 0, "%s optional: exits 0" % fixture)
    dd.check_log_clean(t, "%s optional: log is clean" % fixture)
    dd.close()

d.check_log_clean(t)
t.done()

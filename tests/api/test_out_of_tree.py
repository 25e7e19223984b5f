#!/usr/bin/env python3
"""test_out_of_tree — a plugin author's path: install OneGrid under a
prefix, build tests/api/oot/hello.c outside the tree with the installed
headers and onegrid-plugin.pc exactly as docs/plugin-guide.md says
(tests/api/oot/build.sh holds that command), and load it into onegridd,
which serves its route.

Not for: the in-tree plugins or the loader's refusals (test_plugins.py)."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
SRC = fx.srcdir()
BUILD = ogtest.BUILDDIR
work = tempfile.mkdtemp(prefix="og-oot-", dir="/tmp")
if os.environ.get("ONEGRID_TEST_KEEP") != "1":
    import atexit
    atexit.register(shutil.rmtree, work, True)
prefix = os.path.join(work, "prefix")
outdir = os.path.join(work, "plugins")

# A make started from inside `make check` must not join its jobserver.
env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}

# --- install under a temporary prefix -------------------------------------------------------
p = subprocess.run(["make", "-C", BUILD, "install", "prefix=" + prefix], env=env,
                   capture_output=True, text=True, timeout=480)
t.eq(p.returncode, 0, "make install prefix=<tmp> succeeds")
if p.returncode != 0:
    t.diag((p.stdout + p.stderr)[-3000:])
header = os.path.join(prefix, "include", "onegrid", "plugin.h")
pcdir = os.path.join(prefix, "lib", "pkgconfig")
t.ok(os.path.isfile(header), "the SDK header is installed in <prefix>/include/onegrid")
t.ok(os.path.isfile(os.path.join(pcdir, "onegrid-plugin.pc")),
     "onegrid-plugin.pc is installed in <prefix>/lib/pkgconfig")

env["PKG_CONFIG_PATH"] = pcdir
q = subprocess.run(["pkg-config", "--variable=includedir", "onegrid-plugin"], env=env,
                   capture_output=True, text=True, timeout=30)
incdir = q.stdout.strip()
t.ok(q.returncode == 0 and os.path.isfile(os.path.join(incdir, "onegrid", "plugin.h")),
     "pkg-config's includedir for onegrid-plugin is where the header was installed",
     "includedir=%r (rc %d %s); header at %s" % (incdir, q.returncode, q.stderr.strip(), header))

# --- build the plugin outside the tree --------------------------------------------------------
b = subprocess.run(["sh", os.path.join(SRC, "tests", "api", "oot", "build.sh"), outdir], env=env,
                   capture_output=True, text=True, timeout=120)
so = os.path.join(outdir, "hello.so")
t.ok(b.returncode == 0 and os.path.isfile(so),
     "hello.c builds with the guide's command against the installed SDK",
     (b.stdout + b.stderr)[-3000:])
if not os.path.isfile(so):
    t.done()

n = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True, timeout=30)
defined = {line.split()[-1] for line in n.stdout.splitlines() if line.split()}
ours = defined - {"_init", "_fini", "_edata", "_end", "__bss_start"}
t.eq(sorted(ours), ["og_plugin_desc"], "nm -D: og_plugin_desc is hello.so's only exported symbol")

# --- load it --------------------------------------------------------------------------------
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=[], config={"plugin_dir": outdir, "plugins": ["hello"]})
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
t.ok(fx.log_lines_with(d, "hello", "loaded"), "the log says hello was loaded", d.log_tail(20))
w = fx.setup(pg, d, users=["grid_a"])
r = d.get("/api/v1/hello/ping", token=w.tokens["grid_a"])
t.status(r, 200, "GET /api/v1/hello/ping as a grid worker is 200")
t.eq(r.json, {"pong": True}, "it answers {\"pong\": true}")
r = d.get("/api/v1/hello/ping")
fx.check_error(t, r, 401, None, "the out-of-tree route needs a token like any other")
r = d.get("/api/v1/plugins", token=w.admin)
hello = [i for i in fx.items_of(r) if i.get("name") == "hello"]
t.ok(hello and hello[0].get("version") == "1.0.0", "the plugin list shows hello 1.0.0", repr(r))
r = d.get("/openapi.json")
t.ok(isinstance(r.json, dict) and "/api/v1/hello/ping" in (r.json.get("paths") or {}),
     "openapi lists the out-of-tree route")
t.eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
d.check_log_clean(t)
t.done()

#!/usr/bin/env python3
"""test_openapi — GET /openapi.json describes every loaded route (core and
plugins) well enough for a client generator: a summary, the permission,
every path parameter, the query parameters of lists, and a body schema
with its fields for every write that takes a JSON body.

Not for: whether the routes behave as described (each route's own test)."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example", "civil"])
d.migrate()
d.start()

r = d.get("/openapi.json")
t.status(r, 200, "GET /openapi.json needs no token")
spec = r.json or {}
t.eq(spec.get("openapi", "")[:2], "3.", "it is OpenAPI 3")
paths = spec.get("paths", {})
ops = [(p, m, op) for p, item in paths.items() for m, op in item.items()]
t.ok(len(ops) >= 60, "it lists the core's and both plugins' routes (%d operations)" % len(ops))
for must in ("/api/v1/residents", "/api/v1/households/{id}/move", "/api/v1/changes",
             "/api/v1/import/residents", "/api/v1/regions/{id}/tree", "/api/v1/example/notes",
             "/api/v1/civil/cases"):
    t.ok(must in paths, "%s is described" % must)

bad_summary, bad_perm, bad_path, bad_body, bad_list = [], [], [], [], []
for p, m, op in ops:
    if not op.get("summary"):
        bad_summary.append((m, p))
    if not op.get("x-permission"):
        bad_perm.append((m, p))
    declared = {x.get("name") for x in op.get("parameters", []) if x.get("in") == "path"}
    if set(re.findall(r"{(\w+)}", p)) != declared:
        bad_path.append((m, p))
    if m in ("post", "put", "patch") and "requestBody" in op:
        content = op["requestBody"].get("content", {})
        js = (content.get("application/json") or {}).get("schema") or {}
        described = (js.get("properties") or js.get("oneOf") or js.get("$ref")
                     or js.get("maxProperties") == 0
                     or any(ct != "application/json" for ct in content))
        if not described:
            bad_body.append((m, p))
    # A collection (no trailing {param}) answering a page must say how to page it.
    if m == "get" and p.startswith("/api/v1/") and not p.endswith("}") and "/export/" not in p:
        names = {x.get("name") for x in op.get("parameters", [])}
        listing = p.split("/")[-1] in ("users", "audit", "regions", "children", "buildings",
                                       "households", "moves", "residents", "notes", "cases",
                                       "events")
        if listing and not {"limit", "cursor"} <= names:
            bad_list.append((m, p))
t.eq(bad_summary, [], "every operation has a summary")
t.eq(bad_perm, [], "every operation names its permission (x-permission)")
t.eq(bad_path, [], "every path parameter is declared")
t.eq(bad_body, [], "every write that takes a JSON body describes its fields")
t.eq(bad_list, [], "every paged list declares limit and cursor")

t.eq(d.stop(), 0, "daemon exits 0")
d.check_log_clean(t)
t.done()

#!/usr/bin/env python3
"""test_permission_matrix — every route of the live route table against
every kind of caller that must be refused.

What it is for: walking /openapi.json of a daemon that loads every plugin
(example, civil, party, women, volunteer) and the faulty fixture, and
asserting for EVERY operation:
  - it declares x-permission, and that is "public", "authenticated" or a
    code listed in core.permission (a new route without one fails here);
  - the public ones are exactly the known few;
  - no token, a garbage token, an expired token and a revoked (logged-out)
    token → 401;
  - a user whose role lacks the route's permission (from GET
    /api/v1/roles) → 403;
and then, for a grid worker of grid A and rows created (through the API)
in grid B: every row-addressed route of a grid-B row → 404 (403 when the
role lacks the permission anyway) and the row unchanged; no grid-B row in
any GET list (every list route of the OpenAPI document, also with every
filter pointed at grid B), in the export, the change feed, the reports or
the ledgers.

What it is not for: what each route does when allowed (the feature tests).
"""

import json
import random
import re
import string
import urllib.parse

import fixtures
import ogtest

t = ogtest.TAP()
pg = ogtest.Postgres()
PLUGINS = ["example", "civil", "party", "women", "volunteer"]
d = ogtest.Daemon(pg, plugins=PLUGINS, fixtures=["faulty"], workers=2)
d.migrate()
d.create_admin()
d.start()
w = fixtures.setup(pg, d, users=["district", "street_e", "community_e1", "grid_a", "grid_b"])
A, B = w.r.grid_a, w.r.grid_b
PUBLIC_ROUTES = {("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/openapi.json"),
                 ("POST", "/api/v1/auth/login")}
ROLE_USER = {"district": "district", "street": "street_e", "community": "community_e1",
             "grid_worker": "grid_a"}
METHODS = ("get", "post", "put", "patch", "delete")

# A marker no fixture uses: every row made in grid B carries it, so a leak
# shows up as the marker anywhere in a reply (JSON, CSV, NDJSON alike).
MARK = "ZQB" + "".join(random.choice(string.ascii_uppercase) for _ in range(8))

_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def idnum(birth="19500101", seq=317, area="110105"):
    body = "%s%s%03d" % (area, birth, seq)
    return body + "10X98765432"[sum(int(c) * k for c, k in zip(body, _W)) % 11]


def must(r, name, want=(200, 201)):
    if r.status not in want:
        raise AssertionError("%s: %r" % (name, r))
    return r.json


# --------------------------------------------------------------------------
# The route table and the permission vocabulary

api = must(d.get("/openapi.json"), "openapi.json")
codes = {c for (c,) in pg.sql("SELECT code FROM core.permission")}
ops = []  # (METHOD, path, op)
for path, item in sorted(api.get("paths", {}).items()):
    for m in METHODS:
        if m in item:
            ops.append((m.upper(), path, item[m]))
t.ok(len(ops) > 50, "openapi.json lists the routes of core and plugins (%d operations)" % len(ops))
for plugin_prefix in ("/api/v1/example/", "/api/v1/civil/", "/api/v1/faulty/"):
    t.ok(any(p.startswith(plugin_prefix) for _, p, _ in ops), "routes under %s are listed" % plugin_prefix)

bad_decl = []
for m, p, op in ops:
    perm = op.get("x-permission")
    if not isinstance(perm, str) or (perm not in ("public", "authenticated") and perm not in codes):
        bad_decl.append("%s %s: x-permission=%r" % (m, p, perm))
t.ok(not bad_decl, "every operation declares x-permission: public, authenticated or a code of "
     "core.permission", "\n".join(bad_decl))
public = {(m, p) for m, p, op in ops if op.get("x-permission") == "public"}
t.eq(sorted(public), sorted(PUBLIC_ROUTES), "the public routes are exactly the known ones")

roles = must(d.get("/api/v1/roles", token=w.admin), "roles")
role_perms = {r["name"]: set(r["permissions"]) for r in roles["items"]}
t.ok(set(ROLE_USER) <= set(role_perms), "GET /api/v1/roles lists every staff role")

# --------------------------------------------------------------------------
# Rows of grid B, made through the API by grid B's worker

gb = w.tokens["grid_b"]
bldg = must(d.post("/api/v1/buildings", {"grid_id": B, "kind": "building", "name": MARK + "楼",
                                         "address": MARK + "路1号"}, token=gb), "building in B")
hh = must(d.post("/api/v1/households", {"grid_id": B, "kind": "registered", "building_id": bldg["id"],
                                        "unit": "1", "room": "101", "address": MARK + "路1号101"},
                 token=gb), "household in B")
res = must(d.post("/api/v1/residents", {"name": MARK + "居民", "id_type": "resident_id",
                                        "id_number": idnum(), "grid_id": B, "household_id": hh["id"],
                                        "relation": "户主", "residence_status": "registered",
                                        "phone": "13912345678"}, token=gb), "resident in B")
note = must(d.post("/api/v1/example/notes", {"region_id": B, "body": MARK + " note"}, token=gb),
            "note in B")
case = None
for body in ({"programme": "dibao", "household_id": hh["id"], "note": MARK + " case"},
             {"programme": "elderly", "resident_id": res["id"], "note": MARK + " case"}):
    r = d.post("/api/v1/civil/cases", body, token=gb)
    if r.status in (200, 201):
        case = r.json
        break
t.ok(case is not None, "a civil case in grid B could be made", repr(r))
# One row of grid A, so that the lists are not trivially empty.
res_a = must(d.post("/api/v1/residents", {"name": "甲网格居民", "id_type": "none", "grid_id": A,
                                          "residence_status": "registered"},
                    token=w.tokens["grid_a"]), "resident in A")

B_IDS = {"grid_id": {B}, "region_id": {B}, "household_id": {hh["id"]}, "resident_id": {res["id"]},
         "building_id": {bldg["id"]}, "head_resident_id": {res["id"]}}
ROW_OF = [("/api/v1/buildings/", bldg["id"]), ("/api/v1/households/", hh["id"]),
          ("/api/v1/residents/", res["id"]), ("/api/v1/regions/", B),
          ("/api/v1/example/notes/", note["id"]), ("/api/v1/faulty/residents/", res["id"]),
          ("/api/v1/users/", w.users["grid_b"]["id"])]
if case is not None:
    ROW_OF.append(("/api/v1/civil/cases/", case["id"]))

indicators = d.get("/api/v1/reports/indicators", token=w.admin)
ind_code = None
for it in fixtures.items_of(indicators):
    ind_code = it.get("code")
    break
ledgers = [(l.get("plugin"), l.get("name")) for l in fixtures.items_of(
    d.get("/api/v1/ledgers", token=w.admin))]


def fill(path, own=False):
    """path with its parameters replaced: {id} by the grid-B row the path
    addresses (own: grid A's resident), others by plausible values."""
    out = path
    if "{id}" in out:
        rid = 1
        for prefix, v in ROW_OF:
            if out.startswith(prefix):
                rid = v
        if own and out.startswith("/api/v1/residents/"):
            rid = res_a["id"]
        out = out.replace("{id}", str(rid))
    if out.startswith("/api/v1/roles/"):
        out = out.replace("{role}", "street").replace("{code}", "users.read")
    if out.startswith("/api/v1/reports/indicators/"):
        out = out.replace("{code}", ind_code or "population")
    if out.startswith("/api/v1/ledgers/"):
        pl, nm = ledgers[0] if ledgers else ("civil", "cases")
        out = out.replace("{plugin}", pl or "civil").replace("{name}", nm or "cases")
    out = out.replace("{name}", "example").replace("{code}", "disabled")
    out = out.replace("{role}", "street").replace("{plugin}", "civil")
    return out


# --------------------------------------------------------------------------
# 401: no token, garbage, expired, revoked

ogtest.create_user(pg, d, "expiring", w.password, "district", w.r.district, token=w.admin)
ogtest.create_user(pg, d, "leaving", w.password, "district", w.r.district, token=w.admin)
expired = d.login("expiring", w.password)
pg.sql("UPDATE core.token SET expires_at = now() - interval '1 minute' WHERE user_id = "
       "(SELECT id FROM core.app_user WHERE username = 'expiring')")
revoked = d.login("leaving", w.password)
t.status(d.get("/api/v1/me", token=revoked), 200, "the soon-revoked token works before logout")
t.status(d.post("/api/v1/auth/logout", token=revoked), (200, 204), "logout answers 2xx")
garbage = "x" * 43
callers = [("no token", None), ("a garbage token", garbage),
           ("a well-formed unknown token", "AAAA" + "A" * 39),
           ("an expired token", expired), ("a revoked token", revoked)]
for m, p, op in ops:
    if op.get("x-permission") == "public":
        continue
    url = fill(p)
    bad = []
    for label, tok in callers:
        r = d.req(m, url, body={} if m in ("POST", "PUT", "PATCH") else None, token=tok)
        if r.status != 401:
            bad.append("%s: %r" % (label, r))
    t.ok(not bad, "%s %s: 401 without a valid token (none, garbage, expired, revoked)" % (m, p),
         "\n".join(bad))
r = d.req("GET", "/api/v1/me", headers={"Authorization": "Basic YWRtaW46eA=="})
t.status(r, 401, "a non-Bearer Authorization header → 401")

# --------------------------------------------------------------------------
# 403: a role whose grants lack the permission

# A permission every staff role holds by default is revoked from the
# community role for the walk (through the API), and granted back after.
held_by_all = sorted({op.get("x-permission") for _, _, op in ops
                      if op.get("x-permission") not in ("public", "authenticated")
                      and all(op.get("x-permission") in role_perms[r] for r in ROLE_USER)})
for perm in held_by_all:
    must(d.delete("/api/v1/roles/community/permissions/%s" % perm, token=w.admin),
         "revoke " + perm, want=(200, 204))
    role_perms["community"].discard(perm)
for m, p, op in ops:
    perm = op.get("x-permission")
    if perm in ("public", "authenticated"):
        continue
    lacking = [role for role in ROLE_USER if perm not in role_perms.get(role, set())]
    bad = []
    for role in lacking:
        r = d.req(m, fill(p), body={} if m in ("POST", "PUT", "PATCH") else None,
                  token=w.tokens[ROLE_USER[role]])
        if r.status != 403 or fixtures.code_of(r) != "forbidden":
            bad.append("%s: %r" % (role, r))
    t.ok(not bad, "%s %s: 403 for every role without %s (%s)" % (m, p, perm, ", ".join(lacking)),
         "\n".join(bad))

for perm in held_by_all:
    must(d.req("PUT", "/api/v1/roles/community/permissions/%s" % perm, token=w.admin),
         "grant " + perm, want=(200, 201, 204))
    role_perms["community"].add(perm)
t.status(d.get("/api/v1/residents", token=w.tokens["community_e1"]), 200,
         "granted back, the community role reads residents again")

# --------------------------------------------------------------------------
# Grid A's worker and grid B's rows: 404 for each, nothing changed

ga = w.tokens["grid_a"]
ga_perms = role_perms["grid_worker"]


def snapshot():
    out = {}
    for prefix, v in ROW_OF:
        if prefix.startswith("/api/v1/faulty/"):
            continue
        out[prefix] = d.get("%s%d" % (prefix, v), token=w.admin).text
    out["tags"] = pg.sql("SELECT tag FROM core.resident_tag WHERE resident_id = %d ORDER BY tag"
                         % res["id"])
    out["moves"] = pg.sql("SELECT count(*) FROM core.household_move")
    out["events"] = pg.sql("SELECT count(*) FROM core.resident_event WHERE resident_id = %d"
                           % res["id"])
    return out


def value_for(name, sch, grid=None):
    """A value schema `sch` accepts, so that a handler gets past body
    validation to its scope check (a 422 there would hide a missing one)."""
    if name == "version":
        return 1
    if "enum" in sch:
        return sch["enum"][0]
    typ = sch.get("type")
    if isinstance(typ, list):
        typ = [x for x in typ if x != "null"][0]
    if typ == "integer":
        if name in ("grid_id", "region_id"):
            return grid or A
        return {"resident_id": res["id"], "household_id": hh["id"],
                "building_id": bldg["id"]}.get(name, max(1, sch.get("minimum", 1)))
    if typ == "number":
        return 1
    if typ == "boolean":
        return True
    if typ == "array":
        item = sch.get("items", {})
        return [value_for(name[:-1], item, grid)] * max(1, sch.get("minItems", 1)) if item else []
    if typ == "object":
        return {}
    if sch.get("format") == "date" or name.endswith("_on") or name.endswith("date"):
        return "2024-01-02"
    return "改" * max(1, sch.get("minLength", 1))


def body_for(m, op, grid=None):
    """A valid-looking body from the operation's OpenAPI schema: its
    required fields, and for a PATCH one optional field to change."""
    sch = (op.get("requestBody", {}).get("content", {}).get("application/json", {})
           .get("schema", {}))
    props = sch.get("properties", {})
    body = {k: value_for(k, props.get(k, {}), grid) for k in sch.get("required", [])}
    if m == "PATCH":
        body.setdefault("version", 1)  # some take it from If-Match too
        for k, v in props.items():
            if k not in body and v.get("type") == "string" and "enum" not in v \
                    and not k.endswith(("_on", "date", "_id")):
                body[k] = value_for(k, v)
                break
    if "address" in props and "address" not in body:
        body["address"] = "改"
    return body


# Rows of grid B in the other plugins (party, women, volunteer): each POST
# of a collection, as grid B's worker, with a body from its schema.
for m, p, op in ops:
    if m != "POST" or "{" in p or not p.startswith(("/api/v1/party/", "/api/v1/women/",
                                                     "/api/v1/volunteer/")):
        continue
    body = body_for(m, op, grid=B)
    for k in ("name", "title", "note", "body", "description"):
        if k in (op.get("requestBody", {}).get("content", {}).get("application/json", {})
                 .get("schema", {}).get("properties", {})):
            body[k] = MARK + k
    for tok in (gb, w.admin):  # admin for what grid workers may not create
        r = d.post(p, body, token=tok)
        if r.status in (200, 201):
            break
    if r.status in (200, 201) and isinstance(r.json, dict) and isinstance(r.json.get("id"), int):
        ROW_OF.append((p + "/", r.json["id"]))
        t.diag("grid-B row for %s: id %d" % (p, r.json["id"]))
    else:
        t.diag("no grid-B row made through POST %s (%s): its {id} routes use id 1" % (p, r.status))
ROW_OF.sort(key=lambda x: len(x[0]))  # the longest prefix wins in fill()

before = snapshot()
for m, p, op in ops:
    if "{id}" not in p or op.get("x-permission") == "public":
        continue
    perm = op.get("x-permission")
    want = (404,) if perm in ("authenticated",) or perm in ga_perms else (403, 404)
    url = fill(p)
    body = body_for(m, op) if m in ("POST", "PUT", "PATCH") else None
    # DELETE and PATCH may want the version from If-Match before anything
    r = d.req(m, url, body=body, token=ga, headers={"If-Match": "1"})
    t.ok(r.status in want, "grid A's worker: %s %s of a grid-B row → %s" % (m, url, "/".join(map(str, want))),
         "  body: %r\n  got: %r" % (body, r))
t.eq(snapshot(), before, "grid B's rows are unchanged after grid A's attempts")

# --------------------------------------------------------------------------
# No grid-B row in any list, export, feed, report or ledger


def leaks(r):
    """Where a reply mentions grid B's rows: the marker, or a B id under a
    key that references grid B."""
    found = []
    if MARK in r.text:
        found.append("marker %s in the body" % MARK)

    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                if k in B_IDS and isinstance(x, int) and x in B_IDS[k]:
                    found.append("%s.%s = %d" % (path, k, x))
                walk(x, path + "." + k)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, "%s[%d]" % (path, i))
    walk(r.json, "")
    return found


FILTERS = {"region": B, "grid": B, "parent": B, "household": hh["id"], "resident": res["id"],
           "building": bldg["id"], "q": MARK, "id": res["id"]}
seen_own = False
for m, p, op in ops:
    if m != "GET" or op.get("x-permission") == "public":
        continue
    if "{" in p and not p.startswith(("/api/v1/ledgers/", "/api/v1/reports/indicators/")):
        continue
    if p.startswith("/api/v1/faulty/"):
        continue  # fixture routes that sleep or crash
    url = fill(p)
    r = d.get(url, token=ga)
    ok = r.status in (200, 403) and not leaks(r)
    t.ok(ok, "grid A's worker: GET %s shows no grid-B row" % url, "  %r\n  %s" % (r, leaks(r)))
    if p == "/api/v1/residents" and res_a["name"] in r.text:
        seen_own = True
    qnames = {x.get("name") for x in op.get("parameters", []) if x.get("in") == "query"}
    for qn in sorted(qnames & set(FILTERS)):
        sep = "&" if "?" in url else "?"
        u2 = "%s%s%s=%s" % (url, sep, qn, urllib.parse.quote(str(FILTERS[qn])))
        r = d.get(u2, token=ga)
        t.ok(r.status in (200, 403, 404, 422) and not leaks(r),
             "grid A's worker: GET %s shows no grid-B row" % u2, "  %r\n  %s" % (r, leaks(r)))
t.ok(seen_own, "grid A's worker does see grid A's own resident in the list (the check has teeth)")

r = d.get("/api/v1/reports/summary?region=%d" % B, token=ga)
t.status(r, 404, "GET /api/v1/reports/summary?region=<grid B> as grid A's worker → 404")
r = d.get("/api/v1/changes?region=%d" % B, token=ga)
t.status(r, 404, "GET /api/v1/changes?region=<grid B> as grid A's worker → 404")
feed = d.get("/api/v1/changes", token=ga)
t.ok(feed.status == 200 and not leaks(feed), "the change feed of grid A's worker has no grid-B row",
     repr(feed))
# Export needs residents.export, which grid workers lack: use the community
# of grid A... grid B is in the same community, so use a street-less check:
# a community user of the west street must not see grid B (east street).
ogtest.create_user(pg, d, "comm_w", w.password, "community", w.r.comm_w1, token=w.admin)
cw = d.login("comm_w", w.password)
for fmt in ("csv", "ndjson"):
    r = d.get("/api/v1/export/residents?format=%s" % fmt, token=cw)
    t.ok(r.status == 200 and MARK not in r.text,
         "export (%s) of another community's user has no grid-B row" % fmt, repr(r))
r = d.get("/api/v1/export/residents?region=%d" % B, token=cw)
t.status(r, 404, "export ?region=<grid B> by another community's user → 404")
r = d.get("/api/v1/export/residents?format=csv", token=w.tokens["community_e1"])
t.ok(r.status == 200 and MARK in r.text, "the export of grid B's own community does have the row "
     "(the check has teeth)", repr(r))
for pl, nm in ledgers:
    r = d.get("/api/v1/ledgers/%s/%s" % (pl, nm), token=cw)
    t.ok(r.status in (200, 403) and not leaks(r), "ledger %s/%s of another community has no grid-B row"
         % (pl, nm), repr(r))
    r = d.get("/api/v1/ledgers/%s/%s?region=%d" % (pl, nm, B), token=cw)
    t.ok(r.status in (403, 404), "ledger %s/%s ?region=<grid B> → 404 (403 without the grant)"
         % (pl, nm), repr(r))

# --------------------------------------------------------------------------
# Secrets and the audit log

audit_ops = [(m, p) for m, p, _ in ops if p.startswith("/api/v1/audit")]
t.ok(audit_ops and all(m == "GET" for m, _ in audit_ops),
     "the API only reads the audit log (%s)" % audit_ops)
src = fixtures.srcdir()
writes = []
pat = re.compile(r"\b(UPDATE\s+(ONLY\s+)?(core\.)?audit\b|DELETE\s+FROM\s+(ONLY\s+)?(core\.)?audit\b"
                 r"|TRUNCATE\s+(TABLE\s+)?(ONLY\s+)?(core\.)?audit\b)", re.I)
for top in ("core", "plugins", "schema"):
    for dirpath, _, files in __import__("os").walk(__import__("os").path.join(src, top)):
        for f in files:
            if f.endswith((".c", ".h", ".sql")):
                path = __import__("os").path.join(dirpath, f)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for i, line in enumerate(fh, 1):
                        if pat.search(line):
                            writes.append("%s:%d: %s" % (path, i, line.strip()))
t.ok(not writes, "no UPDATE, DELETE or TRUNCATE of core.audit in core/, plugins/ or schema/",
     "\n".join(writes))
hashes = pg.sql("SELECT password_hash FROM core.app_user")
t.ok(hashes and all(h.startswith("$argon2id$v=19$m=19456,t=2,p=1$") for (h,) in hashes),
     "every password hash is argon2id, m=19456 KiB, t=2, p=1", repr(hashes[:2]))
tok = w.tokens["grid_a"]
t.ok(re.fullmatch(r"[0-9a-f]{64}", tok) is not None, "a token is 64 hex characters (256 bits)")
rows = pg.sql("SELECT count(*), min(length(token_hash)) FROM core.token WHERE token_hash = "
              "sha256(convert_to('%s', 'UTF8'))" % tok)
t.eq(rows, [("1", "32")], "the token is stored only as its SHA-256")
rows = pg.sql("SELECT count(*) FROM core.token WHERE position(convert_to('%s', 'UTF8') in "
              "token_hash) > 0" % tok[:16])
t.eq(rows, [("0",)], "no part of the token itself is stored")
log = d.log()
secrets = [w.password, d.admin[1], w.admin, expired, revoked, cw] + list(w.tokens.values())
t.ok(not [x for x in secrets if x in log], "no password or token of this run is in the daemon log")

d.check_log_clean(t)
t.done()

#!/usr/bin/env python3
"""test_tags — the tag vocabulary and tags on residents.

GET /api/v1/tags lists every tag with its owner (the six core tags and the
faulty fixture's faulty_flag); PUT/DELETE /api/v1/residents/{id}/tags/{code}
set and clear core tags, idempotently, only on residents in the caller's
scope (404 otherwise) and never a plugin's tag (403); a plugin sets and
clears its own tag through host->set_tag / clear_tag with the record that
gives it, and cannot set a core tag; each change fires resident.tag_added /
resident.tag_removed (the faulty fixture records them in faulty.mark) and
leaves an audit row; a hook that fails rolls the change back.

Not for: listing residents by tag or the resident JSON (test_residents.py),
the change feed (test_changes.py).  Residents are created through
POST /api/v1/residents when that route works, else inserted with SQL."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"], fixtures=["faulty"])
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d)

CORE_TAGS = {"disabled": "残疾人", "lives_alone": "独居老人", "empty_nest": "空巢老人",
             "veteran": "退役军人", "floating": "流动人口", "key_person": "重点人员"}


def count(sql):
    return int(pg.sql(sql)[0][0])


def check_digit(first17):
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(c) * k for c, k in zip(first17, weights)) % 11]


_seq = [100]


def make_resident(grid, name):
    """A resident in grid: through the API when it is there, else with SQL.
    Returns its id."""
    _seq[0] += 2
    number = check_digit("110105198001%02d%03d" % (_seq[0] % 28 + 1, _seq[0]))
    body = {"name": name, "id_type": "resident_id", "id_number": number,
            "residence_status": "registered", "grid_id": grid}
    if RESIDENTS_API:
        r = d.post("/api/v1/residents", body=body, token=w.admin)
        if r.status in (200, 201) and isinstance(r.json, dict) and isinstance(r.json.get("id"), int):
            return r.json["id"]
        raise AssertionError("POST /api/v1/residents: %r" % r)
    rows = pg.sql("INSERT INTO core.resident (name, id_type, id_number, residence_status, grid_id) "
                  "VALUES ('%s', 'resident_id', '%s', 'registered', %d) RETURNING id"
                  % (name.replace("'", "''"), number, grid))
    return int(rows[0][0])


# Does the residents API exist yet?  A body it must refuse tells without writing.
_probe = d.post("/api/v1/residents", body={}, token=w.admin)
RESIDENTS_API = _probe.status == 422
t.diag("residents API %s (probe answered %d)" % ("present" if RESIDENTS_API else "absent",
                                                 _probe.status))

ra = make_resident(w.r.grid_a, "张三")
rb = make_resident(w.r.grid_b, "李四")
rw = make_resident(w.r.grid_w, "王五")
rfail = make_resident(w.r.grid_a, "FAIL-TAG-HOOK")


def tag_path(rid, code):
    return "/api/v1/residents/%s/tags/%s" % (rid, code)


def put(rid, code, who="grid_a"):
    return d.req("PUT", tag_path(rid, code), token=w.tokens[who] if who != "admin" else w.admin)


def delete(rid, code, who="grid_a"):
    return d.delete(tag_path(rid, code), token=w.tokens[who] if who != "admin" else w.admin)


def tag_rows(rid, code):
    return pg.sql("SELECT coalesce(source, '<null>'), coalesce(created_by::text, '<null>') "
                  "FROM core.resident_tag WHERE resident_id = %d AND tag = '%s'" % (rid, code))


def audits(rid, action, tag="veteran"):
    return count("SELECT count(*) FROM core.audit WHERE entity = 'resident' AND entity_id = '%d' "
                 "AND action = '%s' AND coalesce(after, before)->>'tag' = '%s'"
                 % (rid, action, tag))


def marks(like):
    return count("SELECT count(*) FROM faulty.mark WHERE note LIKE '%s'" % like)


# --- the vocabulary ----------------------------------------------------------------------
r = d.get("/api/v1/tags", token=w.tokens["grid_a"])
t.status(r, 200, "GET /tags answers a grid worker (any authenticated caller)")
items = fx.items_of(r)
by_code = {i.get("code"): i for i in items if isinstance(i, dict)}
for code, label in CORE_TAGS.items():
    t.eq((by_code.get(code, {}).get("label"), by_code.get(code, {}).get("owner")), (label, "core"),
         "core tag %s (%s) is listed, owner core" % (code, label))
t.eq((by_code.get("faulty_flag", {}).get("label"), by_code.get("faulty_flag", {}).get("owner")),
     ("测试标记", "faulty"), "faulty_flag (测试标记) is listed, owner faulty")
t.eq(len(items), len(CORE_TAGS) + 1, "and nothing else")
t.eq([(i.get("owner"), i.get("code")) for i in items],
     sorted((i.get("owner"), i.get("code")) for i in items), "ordered by owner then code")
t.ok(isinstance(r.json, dict) and "next_cursor" in r.json and r.json["next_cursor"] is None,
     "the list envelope has next_cursor null", repr(r))
t.ok(all(set(i) == {"code", "label", "owner"} for i in items), "each item is {code, label, owner}")
fx.check_error(t, d.get("/api/v1/tags"), 401, None, "GET /tags without a token is 401")

# --- a core tag set and cleared through the core API -------------------------------------
r = put(ra, "veteran")
t.status(r, 200, "grid worker sets veteran on a resident of its grid (200)")
first = r.json if isinstance(r.json, dict) else {}
t.eq((first.get("resident_id"), first.get("tag"), first.get("source")), (ra, "veteran", None),
     "the reply is {resident_id, tag, source: null, ...}")
t.ok(isinstance(first.get("created_at"), str) and first.get("created_at"),
     "the reply has created_at", repr(r))
t.eq(tag_rows(ra, "veteran"), [("<null>", str(w.users["grid_a"]["id"]))],
     "one resident_tag row, created_by the grid worker")
t.eq(audits(ra, "tag.add"), 1, "one tag.add audit row on the resident")
t.eq(pg.sql("SELECT region_path::text, after->>'tag', username FROM core.audit "
            "WHERE action = 'tag.add' AND entity_id = '%d'" % ra),
     [(pg.sql("SELECT path::text FROM core.region WHERE id = %d" % w.r.grid_a)[0][0], "veteran",
       "grid_a")],
     "the audit row is scoped to the resident's grid, names the tag and the user")
t.eq(marks("resident.tag_added %d veteran -" % ra), 1,
     "resident.tag_added fired once with {resident_id, tag, source}")

r = put(ra, "veteran")
t.status(r, 200, "setting it again is 200 (idempotent)")
t.eq(r.json, first, "with the same answer")
t.eq(audits(ra, "tag.add"), 1, "and no second audit row")
t.eq(marks("resident.tag_added %d veteran%%" % ra), 1, "and no second tag_added")
t.eq(len(tag_rows(ra, "veteran")), 1, "still one row")

r = put(ra, "lives_alone", who="community_e1")
t.status(r, 200, "the community above the grid sets lives_alone (in its scope)")
r = put(ra, "empty_nest", who="admin")
t.status(r, 200, "the admin sets empty_nest")
r = d.req("PUT", tag_path(ra, "disabled"), body={"ignored": True}, token=w.tokens["grid_a"])
t.status(r, 200, "a body on PUT is ignored")

# --- who may not, and what does not exist ---------------------------------------------------
fx.check_error(t, put(ra, "key_person", who="grid_b"), 404, "not_found",
               "grid worker of grid B: 404 for a resident of grid A")
fx.check_error(t, put(ra, "key_person", who="street_w"), 404, "not_found",
               "another street's worker: 404")
fx.check_error(t, delete(ra, "veteran", who="grid_b"), 404, "not_found",
               "DELETE by grid B on a resident of grid A: 404")
t.eq(len(tag_rows(ra, "veteran")), 1, "the tag is still set after the refused DELETE")
t.eq(len(tag_rows(ra, "key_person")), 0, "and key_person was not set")
fx.check_error(t, put(999999, "veteran"), 404, "not_found", "unknown resident: 404")
fx.check_error(t, put("abc", "veteran"), 404, "not_found", "non-numeric resident id: 404")
fx.check_error(t, put(ra, "no_such_tag"), 404, "not_found", "unknown tag: 404 naming code",
               field="code")
fx.check_error(t, put(ra, "x" * 200), 404, "not_found", "overlong tag code: 404", field="code")
r = put(ra, "faulty_flag")
fx.check_error(t, r, 403, "forbidden", "a plugin's tag through the core API: 403")
t.ok("faulty" in ((fx.error_of(r) or {}).get("message") or ""),
     "the 403 names the owning plugin", repr(r))
fx.check_error(t, delete(ra, "faulty_flag"), 403, "forbidden",
               "DELETE of a plugin's tag through the core API: 403")
t.eq(len(tag_rows(ra, "faulty_flag")), 0, "faulty_flag was not set")
fx.check_error(t, d.req("PUT", tag_path(ra, "veteran")), 401, None, "no token: 401")

# --- clearing ----------------------------------------------------------------------------------
r = delete(ra, "veteran")
t.status(r, 200, "DELETE veteran answers 200")
t.eq((r.json or {}).get("removed"), True, "removed: true")
t.eq(len(tag_rows(ra, "veteran")), 0, "the row is gone")
t.eq(audits(ra, "tag.remove"), 1, "one tag.remove audit row")
t.eq(pg.sql("SELECT before->>'tag', after IS NULL FROM core.audit "
            "WHERE action = 'tag.remove' AND entity_id = '%d'" % ra), [("veteran", "t")],
     "its before image names the tag")
t.eq(marks("resident.tag_removed %d veteran -" % ra), 1, "resident.tag_removed fired")
r = delete(ra, "veteran")
t.status(r, 200, "DELETE of a tag that is not set: 200")
t.eq((r.json or {}).get("removed"), False, "removed: false")
t.eq(audits(ra, "tag.remove"), 1, "and no audit row")
fx.check_error(t, delete(ra, "no_such_tag"), 404, "not_found", "DELETE of an unknown tag: 404",
               field="code")

# --- a hook that fails rolls the change back -------------------------------------------------
before = count("SELECT count(*) FROM core.audit")
r = put(rfail, "veteran")
fx.check_error(t, r, 422, "rejected", "a failing tag_added hook: its error is the answer")
t.eq(len(tag_rows(rfail, "veteran")), 0, "the tag is not set")
t.eq(count("SELECT count(*) FROM core.audit"), before, "and nothing was audited")
pg.sql("INSERT INTO core.resident_tag (resident_id, tag) VALUES (%d, 'floating')" % rfail)
r = delete(rfail, "floating")
fx.check_error(t, r, 422, "rejected", "a failing tag_removed hook: the DELETE is refused")
t.eq(len(tag_rows(rfail, "floating")), 1, "and the tag is still set")

# --- a plugin's own tag, through host->set_tag / clear_tag ---------------------------------
FLAG = "/api/v1/faulty/residents/%s/flag"
r = d.post(FLAG % ra, token=w.tokens["grid_a"])
t.status(r, 200, "the faulty plugin's route sets faulty_flag")
t.eq(r.json, {"flagged": True}, "it answers {flagged: true}")
t.eq(tag_rows(ra, "faulty_flag"), [("faulty.mark:1", str(w.users["grid_a"]["id"]))],
     "the row carries the plugin's source and the user")
t.eq(audits(ra, "tag.add", "faulty_flag"), 1, "the plugin's set is audited too")
t.eq(marks("resident.tag_added %d faulty_flag faulty.mark:1" % ra), 1,
     "tag_added fired with the plugin's source")
r = d.post(FLAG % ra, token=w.tokens["grid_a"])
t.status(r, 200, "setting it again through the plugin is fine")
t.eq(marks("resident.tag_added %d faulty_flag%%" % ra), 1, "and fires nothing new")
t.eq(audits(ra, "tag.add", "faulty_flag"), 1, "nor audits")


r = d.post((FLAG % ra) + "?source=faulty.mark:2", token=w.tokens["grid_a"])
t.status(r, 200, "the plugin names a newer record for its tag")
t.eq(tag_rows(ra, "faulty_flag"), [("faulty.mark:2", str(w.users["grid_a"]["id"]))],
     "the row now carries the new source")
t.eq(pg.sql("SELECT before->>'source', after->>'source' FROM core.audit WHERE action = 'tag.add' "
            "AND entity_id = '%d' AND after->>'tag' = 'faulty_flag' ORDER BY id DESC LIMIT 1" % ra),
     [("faulty.mark:1", "faulty.mark:2")], "the source change is audited with before and after")
t.eq(marks("resident.tag_added %d faulty_flag%%" % ra), 1, "without a second tag_added")
r = d.post((FLAG % ra) + "?source=" + "s" * 201, token=w.tokens["grid_a"])
fx.check_error(t, r, 500, "internal", "a plugin handing an overlong source is a plugin bug (500)")
t.eq(tag_rows(ra, "faulty_flag"), [("faulty.mark:2", str(w.users["grid_a"]["id"]))],
     "and changes nothing")
r = d.post((FLAG % ra) + "?source=faulty.mark:1", token=w.tokens["grid_a"])
t.status(r, 200, "back to the first record")

r = d.post((FLAG % ra) + "?tag=veteran", token=w.tokens["grid_a"])
fx.check_error(t, r, 403, "forbidden", "a plugin cannot set a core tag through set_tag")
t.eq(len(tag_rows(ra, "veteran")), 0, "veteran was not set")
r = d.post((FLAG % ra) + "?tag=no_such_tag", token=w.tokens["grid_a"])
fx.check_error(t, r, 404, "not_found", "set_tag of an unknown tag: 404", field="code")
r = d.post(FLAG % 999999, token=w.tokens["grid_a"])
fx.check_error(t, r, 404, "not_found", "set_tag on an unknown resident: 404")

if RESIDENTS_API:
    r = d.get("/api/v1/residents/%d" % ra, token=w.tokens["grid_a"])
    t.status(r, 200, "GET the resident")
    tags = (r.json or {}).get("tags") if isinstance(r.json, dict) else None
    codes = [x if isinstance(x, str) else (x or {}).get("code") or (x or {}).get("tag")
             for x in (tags or [])]
    t.ok("faulty_flag" in codes and "lives_alone" in codes,
         "the resident shows faulty_flag and lives_alone", repr(r))
    detailed = [x for x in (tags or []) if isinstance(x, dict)
                and (x.get("code") or x.get("tag")) == "faulty_flag"]
    if detailed:
        t.eq(detailed[0].get("source"), "faulty.mark:1", "with the source the plugin gave")
    else:
        t.skip("the resident's tag shows its source", "tags are listed as codes")
else:
    t.skip("GET the resident shows the plugin's tag", "residents API not available")

r = d.delete(FLAG % ra, token=w.tokens["grid_a"])
t.status(r, 200, "the plugin clears its tag")
t.eq(len(tag_rows(ra, "faulty_flag")), 0, "the row is gone")
t.eq(marks("resident.tag_removed %d faulty_flag faulty.mark:1" % ra), 1, "tag_removed fired")
t.eq(audits(ra, "tag.remove", "faulty_flag"), 1, "and it is audited")
r = d.delete(FLAG % ra, token=w.tokens["grid_a"])
t.status(r, 200, "clearing it again is fine")
t.eq(marks("resident.tag_removed %d faulty_flag%%" % ra), 1, "and fires nothing new")
r = d.delete((FLAG % ra) + "?tag=lives_alone", token=w.tokens["grid_a"])
fx.check_error(t, r, 403, "forbidden", "a plugin cannot clear a core tag")
t.eq(len(tag_rows(ra, "lives_alone")), 1, "lives_alone is still set")

# --- the change feed saw the tags (written by triggers) -----------------------------------
t.ok(count("SELECT count(*) FROM core.change WHERE entity = 'resident_tag' AND entity_id = %d"
           % ra) >= 4, "tag changes reach core.change")

# --- the fixture's resident.created hook (used by test_residents.py) ---------------------
if RESIDENTS_API:
    n = count("SELECT count(*) FROM core.resident")
    r = d.post("/api/v1/residents", token=w.admin,
               body={"name": "FAIL-HOOK", "id_type": "none", "residence_status": "registered",
                     "grid_id": w.r.grid_a})
    fx.check_error(t, r, 422, "rejected", "faulty's resident.created hook rejects FAIL-HOOK")
    t.ok("faulty" in ((fx.error_of(r) or {}).get("message") or ""), "naming the plugin", repr(r))
    t.eq(count("SELECT count(*) FROM core.resident"), n, "and no resident was created")
else:
    t.skip("faulty's resident.created hook rejects FAIL-HOOK", "residents API not available")

# --- /openapi.json describes the routes -------------------------------------------------------
r = d.get("/openapi.json")
paths = (r.json or {}).get("paths", {}) if isinstance(r.json, dict) else {}
t.ok("get" in paths.get("/api/v1/tags", {}), "openapi describes GET /api/v1/tags")
op = paths.get("/api/v1/residents/{id}/tags/{code}", {})
t.ok("put" in op and "delete" in op, "openapi describes PUT and DELETE .../tags/{code}")
t.eq(sorted(p.get("name") for p in op.get("put", {}).get("parameters", [])), ["code", "id"],
     "with the path parameters id and code")
t.ok("200" in op.get("put", {}).get("responses", {}), "and the PUT's reply schema")

d.stop()
d.check_log_clean(t)
t.done()

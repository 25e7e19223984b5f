#!/usr/bin/env python3
"""test_changes — the change feed as a syncing client uses it: residents
are registered, changed, tagged, moved between grids (alone and with
their household), imported, moved out and recorded deceased; then the
feed is replayed page by page into an empty copy and compared with a full
export, for the admin, for a grid worker (whose copy must lose the
residents that left the grid and gain those that came in) and for a
community without the grant to see ID numbers (masked the same way in
both).  Also: the feed of grid A never carries a row of grid B, cursors,
paging, parameter errors, and the audit of an unmasked read.

Not for: the triggers' own SQL (exercised here only through the API),
bulk import details (test_import.py)."""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"], config={"max_body_bytes": 16 * 1024 * 1024})
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d)
R = w.r
T = w.tokens
T["admin"] = w.admin
RES = "/api/v1/residents"
CH = "/api/v1/changes"

_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_n = [0]


def idnum():
    _n[0] += 1
    body = "110105%s%03d" % ((datetime.date(1960, 1, 1) + datetime.timedelta(days=_n[0]))
                             .strftime("%Y%m%d"), 11)
    return body + "10X98765432"[sum(int(c) * wt for c, wt in zip(body, _W)) % 11]


def must(r, want, what):
    if r.status != want:
        raise AssertionError("%s: %r" % (what, r))
    return r.json


def create(name, grid, **kw):
    body = {"name": name, "id_number": idnum(), "grid_id": grid, "phone": "1390000%04d" % _n[0]}
    body.update(kw)
    return must(d.post(RES, body, token=T["district"]), 201, "create " + name)


def get(rid):
    return must(d.get("%s/%d" % (RES, rid), token=T["district"]), 200, "get %d" % rid)


def patch(rid, **kw):
    kw["version"] = get(rid)["version"]
    return must(d.patch("%s/%d" % (RES, rid), kw, token=T["district"]), 200, "patch %d" % rid)


def event(rid, kind, **kw):
    body = {"kind": kind, "occurred_on": "2024-03-01"}
    body.update(kw)
    r = d.post("%s/%d/events" % (RES, rid), body, token=T["district"])
    if r.status not in (200, 201):
        raise AssertionError("event %s on %d: %r" % (kind, rid, r))


def household(grid, number):
    return must(d.post("/api/v1/households", {"grid_id": grid, "kind": "registered",
                                               "address": "变更路%s号" % number,
                                               "household_number": number},
                       token=T["district"]), 201, "household")


def move_household(hid, grid):
    h = must(d.get("/api/v1/households/%d" % hid, token=T["district"]), 200, "get household")
    return must(d.post("/api/v1/households/%d/move" % hid,
                       {"version": h["version"], "grid_id": grid, "moved_on": "2024-04-01",
                        "address": "新家路%d号" % hid}, token=T["district"]), 200, "move")


def tag(rid, code, on=True):
    r = d.req("PUT" if on else "DELETE", "%s/%d/tags/%s" % (RES, rid, code), token=T["district"])
    if r.status not in (200, 201, 204):
        raise AssertionError("tag %s on %d: %r" % (code, rid, r))


def feed(token, since="0", limit=7, region=None):
    """Every page from since; returns (items, last cursor, pages)."""
    items, pages = [], 0
    while True:
        q = "%s?since=%s&limit=%d" % (CH, since, limit)
        if region:
            q += "&region=%d" % region
        r = d.get(q, token=token)
        if r.status != 200:
            raise AssertionError("feed: %r" % r)
        pages += 1
        items += r.json["items"]
        since = r.json["next_cursor"]
        if not r.json["has_more"]:
            return items, since, pages


def replay(items, copy=None):
    """Applies feed items to a copy {resident id: record} (residents and
    their tags only: that is what the export holds)."""
    copy = {} if copy is None else copy
    for it in items:
        if it["entity"] == "resident":
            if it["op"] == "upsert":
                copy[it["id"]] = dict(it["data"])
            else:
                copy.pop(it["id"], None)
        elif it["entity"] == "resident_tag" and it["id"] in copy:
            tags = set(copy[it["id"]].get("tags") or [])
            if it["op"] == "upsert":
                tags.add(it["data"]["tag"])
            else:
                tags.discard(it["data"]["tag"])
            copy[it["id"]]["tags"] = sorted(tags)
    return copy


def export(token):
    r = d.get("/api/v1/export/residents?format=ndjson", token=token, timeout=60)
    if r.status != 200:
        raise AssertionError("export: %r" % r)
    return {o["id"]: o for o in (json.loads(x) for x in r.text.splitlines() if x)}


def same(copy, full):
    """'' when the replayed copy holds the export's residents with the same
    values for every field the feed carries, else what differs."""
    if set(copy) != set(full):
        return "ids: only in feed %s, only in export %s" % (sorted(set(copy) - set(full)),
                                                           sorted(set(full) - set(copy)))
    for rid, rec in copy.items():
        for k, v in rec.items():
            if full[rid].get(k) != v:
                return "resident %d field %s: feed %r, export %r" % (rid, k, v, full[rid].get(k))
    return ""


# The export the replays are compared with: granted to grid workers (and
# communities, who hold it by default already).
for role in ("grid_worker", "community"):
    must(d.req("PUT", "/api/v1/roles/%s/permissions/residents.export" % role, token=w.admin),
         200, "grant residents.export to " + role)

# --------------------------------------------------------------------------
# History: a bit of everything

start = fx.wait_for(lambda: d.get(CH, token=T["admin"]).json, 5)["next_cursor"]
a1 = create("甲一", R.grid_a)
a2 = create("甲二", R.grid_a, relation="户主")
a3 = create("甲三", R.grid_a)
b1 = create("乙一", R.grid_b)
b2 = create("乙二", R.grid_b)
w1 = create("西一", R.grid_w)
patch(a1["id"], name="甲一改", phone="13700001111")
tag(a1["id"], "veteran")
tag(a1["id"], "lives_alone")
tag(a1["id"], "lives_alone", on=False)
tag(b1["id"], "key_person")
# a3 leaves grid A for grid B (a 'remove' for grid A's worker) ...
patch(a3["id"], grid_id=R.grid_b)
# ... b2 comes from grid B into grid A (an upsert for grid A's worker), tagged first.
tag(b2["id"], "empty_nest")
patch(b2["id"], grid_id=R.grid_a)
# A household of grid A moves to grid B with its members; one of grid B moves in.
ha = household(R.grid_a, "CH-A")
hb = household(R.grid_b, "CH-B")
m1 = create("户甲成员一", R.grid_a, household_id=ha["id"], relation="户主")
m2 = create("户甲成员二", R.grid_a, household_id=ha["id"], relation="配偶")
n1 = create("户乙成员", R.grid_b, household_id=hb["id"], relation="户主")
tag(n1["id"], "disabled")
move_household(ha["id"], R.grid_b)
move_household(hb["id"], R.grid_a)
event(a2["id"], "deceased")
event(w1["id"], "moved_out")
# A bulk import lands in the feed as well.
csv_text = "姓名,证件号码,网格编码,户号\n导入一,%s,%s,CH-I\n导入二,%s,%s,CH-I\n" % (
    idnum(), pg.sql("SELECT code FROM core.region WHERE id = %d" % R.grid_a)[0][0],
    idnum(), pg.sql("SELECT code FROM core.region WHERE id = %d" % R.grid_a)[0][0])
must(d.req("POST", "/api/v1/import/residents", token=T["district"], raw=csv_text.encode(),
           headers={"Content-Type": "text/csv"}), 200, "import")
patch(m1["id"], ethnicity="满族")

# --------------------------------------------------------------------------
# Replays compare equal with the export

for who in ("admin", "grid_a", "community_e1"):
    items, cursor, pages = feed(T[who])
    copy = replay(items)
    full = fx.wait_for(lambda: export(T[who]), 5)
    diff = same(copy, full)
    t.ok(diff == "" and len(full) > 0,
         "%s: replaying the feed (%d items, %d pages) gives the export's %d residents"
         % (who, len(items), pages, len(full)), diff)

items_a, cursor_a, _ = feed(T["grid_a"])
copy_a = replay(items_a)
t.ok(a3["id"] not in copy_a and any(i["id"] == a3["id"] and i["op"] == "remove"
                                    and i["entity"] == "resident" for i in items_a),
     "a resident who moved to grid B reaches grid A's worker as a 'remove'")
t.ok(b2["id"] in copy_a and copy_a[b2["id"]]["tags"] == ["empty_nest"],
     "a resident who moved in arrives as an upsert, with the tags set before the move")
t.ok(m1["id"] not in copy_a and m2["id"] not in copy_a and n1["id"] in copy_a
     and copy_a[n1["id"]]["tags"] == ["disabled"],
     "household moves carry their members out of and into the grid")
t.ok(copy_a[a2["id"]]["life_status"] == "deceased",
     "a deceased resident stays, recorded deceased (the export holds every status)")
t.ok(not any("*" in str(i["data"].get("id_number", "")) for i in items_a
             if i["entity"] == "resident" and i["op"] == "upsert"),
     "the grid worker (residents.read_sensitive by default) gets numbers in full")

# Grid A's feed never carries a row of grid B.
leak = []
for i in items_a:
    dat = i["data"] or {}
    if i["op"] == "upsert" and i["entity"] in ("resident", "household", "building") \
            and dat.get("grid_id") != R.grid_a:
        leak.append(i)
    if i["entity"] == "region" and i["id"] != R.grid_a:
        leak.append(i)
    if i["entity"] == "resident" and i["id"] in (b1["id"], w1["id"]):
        leak.append(i)
t.ok(not leak, "grid A's worker never receives a row of grid B (or elsewhere)", repr(leak[:3]))
items_b, _, _ = feed(T["grid_b"])
t.ok(all(i["id"] != a1["id"] for i in items_b if i["entity"] in ("resident", "resident_tag")),
     "and grid B's worker never receives grid A's resident")

items_c, _, _ = feed(T["community_e1"], limit=500)
ups = [i for i in items_c if i["entity"] == "resident" and i["op"] == "upsert"]
t.ok(ups and all("*" in (i["data"]["id_number"] or "*") and "*" in (i["data"]["phone"] or "*")
                for i in ups) and any(i["data"]["phone"] for i in ups),
     "without residents.read_sensitive the feed masks ID numbers and phones")
t.ok(not any(i["id"] == w1["id"] for i in items_c if i["entity"] == "resident"),
     "the community never sees the west street's resident")

# --------------------------------------------------------------------------
# Cursors and paging

r = d.get(CH + "?since=%s" % cursor_a, token=T["grid_a"])
t.ok(r.status == 200 and r.json["items"] == [] and r.json["next_cursor"] == cursor_a
     and r.json["has_more"] is False,
     "at the end: no items, the same cursor, has_more false", repr(r))
seqs = [i["seq"] for i in feed(T["admin"], limit=3)[0]]
t.ok(seqs == sorted(seqs) and len(seqs) == len(set(seqs)),
     "items come in seq order, each once, across pages")
all_items, _, _ = feed(T["admin"], limit=5000)
t.eq([i["seq"] for i in all_items], seqs, "pages of 3 and one page of 5000 give the same items")
before_new = feed(T["grid_a"], since=cursor_a)[1]
x = create("后来者", R.grid_a)
new, cur2, _ = feed(T["grid_a"], since=before_new)
t.ok([i["id"] for i in new if i["entity"] == "resident"] == [x["id"]] and int(cur2) > int(before_new),
     "polling from the last cursor returns only what is new", repr(new))
r = d.get(CH + "?since=%s&limit=1" % start, token=T["admin"])
t.ok(r.status == 200 and len(r.json["items"]) == 1 and r.json["has_more"] is True
     and r.json["next_cursor"] == str(r.json["items"][0]["seq"]),
     "limit=1: one item, has_more, next_cursor is its seq", repr(r))
r = d.get(CH + "?region=%d&limit=5000" % R.grid_b, token=T["admin"])
t.ok(r.status == 200 and r.json["items"]
     and all(i["id"] != a1["id"] for i in r.json["items"] if i["entity"] == "resident"),
     "?region narrows the admin's feed", repr(r)[:300])

# --------------------------------------------------------------------------
# Errors and scope

r = d.get(CH + "?region=%d" % R.grid_b, token=T["grid_a"])
fx.check_error(t, r, 404, "not_found", "grid A's worker asking for grid B's feed gets a 404")
for q, field, what in (("?since=abc", "since", "a malformed cursor"),
                       ("?since=-1", "since", "a negative cursor"),
                       ("?limit=0", "limit", "limit 0"),
                       ("?limit=5001", "limit", "limit 5001"),
                       ("?region=x", "region", "a malformed region")):
    fx.check_error(t, d.get(CH + q, token=T["grid_a"]), 422, "invalid", what + " is a 422",
                   field=field)
r = d.get(CH)
t.status(r, 401, "the feed needs a token")

# --------------------------------------------------------------------------
# Audit of unmasked reads

n_aud = int(pg.sql("SELECT count(*) FROM core.audit WHERE action = 'read_sensitive' "
                   "AND username = 'grid_a' AND after->>'via' = 'changes'")[0][0])
t.ok(n_aud >= 1, "the grid worker's full reads of the feed are audited")
n_c = int(pg.sql("SELECT count(*) FROM core.audit WHERE action = 'read_sensitive' "
                 "AND username = 'community_e1' AND after->>'via' = 'changes'")[0][0])
t.eq(n_c, 0, "masked reads are not")

r = d.get("/openapi.json")
op = ((r.json or {}).get("paths", {}).get("/api/v1/changes") or {}).get("get", {})
t.ok({"since", "region", "limit"} <= {p.get("name") for p in op.get("parameters", [])},
     "/openapi.json describes the feed's parameters", repr(op)[:300])

d.stop()
d.check_log_clean(t)
t.done()

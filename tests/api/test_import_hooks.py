#!/usr/bin/env python3
"""test_import_hooks — what a bulk import hands to the plugins and to the
change feed, row for row:

  - the batch event (ABI 1.3): a plugin that registers residents.imported
    (fixture "batchy") gets one call per chunk of at most 1,000 imported
    residents, with every imported resident once, in file order, and no
    resident.created for them; a plugin built for ABI 1.2 that registers
    the same names ("batchy_old") and a plugin that registers only
    resident.created ("faulty") keep getting resident.created once per
    imported row; a resident created through POST /api/v1/residents still
    fires resident.created for all of them; a batch hook that fails rolls
    the whole import back, naming the plugin;
  - the change feed of an import: exactly one resident change per imported
    resident, an 'upsert' whose data is the resident's row and whose
    region path is its grid's, numbered in file order, and the households
    the import created recorded too.

Not for: parsing and validation (test_import.py), replaying the feed
(test_changes.py)."""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"], fixtures=["faulty", "batchy", "batchy_old"],
                  config={"max_body_bytes": 64 * 1024 * 1024})
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d)
R = w.r
T = w.tokens
IMP = "/api/v1/import/residents"

_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_day = [0]


def idnums(n, area="110105"):
    """n fresh, valid 18-character ID numbers (400 per birth date)."""
    out = []
    for i in range(n):
        if i % 400 == 0:
            birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=_day[0])
            _day[0] += 1
        body = "%s%s%03d" % (area, birth.strftime("%Y%m%d"), (i % 400) * 2 + 1)
        out.append(body + "10X98765432"[sum(int(c) * wt for c, wt in zip(body, _W)) % 11])
    return out


def sql1(query):
    rows = pg.sql(query)
    return rows[0][0] if rows else None


def post_ndjson(objs):
    text = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs)
    return d.req("POST", IMP, token=T["district"], raw=text.encode("utf-8"),
                 headers={"Content-Type": "application/x-ndjson"}, timeout=300)


def calls(plugin, since=0):
    """(event, entity_id, n, [ids]) of each hook call recorded by plugin."""
    return [(e, int(eid), int(n), [int(x) for x in ids.strip("{}").split(",") if x])
            for e, eid, n, ids in pg.sql(
                "SELECT event, entity_id, n, ids FROM %s.call WHERE id > %d ORDER BY id"
                % (plugin, since))]


def last_call(plugin):
    return int(sql1("SELECT coalesce(max(id), 0) FROM %s.call" % plugin))


GRIDS = [R.grid_a, R.grid_b]
N = 2500
nums = idnums(N)
rows = []
for i, num in enumerate(nums):
    row = {"name": "导入%d" % i, "id_type": "resident_id", "id_number": num,
           "residence_status": "registered", "grid_id": GRIDS[(i // 10) % 2]}
    if i % 5 != 4:  # four in five in a household of the file, the fifth alone
        row["household_number"] = "HK%04d" % (i // 10)
        row["address"] = "批量路%d号" % (i // 10)
        row["relation"] = "户主" if i % 10 < 2 else "子"
    rows.append(row)

b0, o0 = last_call("batchy"), last_call("batchy_old")
seq0 = int(sql1("SELECT coalesce(max(seq), 0) FROM core.change"))
hh0 = int(sql1("SELECT coalesce(max(id), 0) FROM core.household"))
r = post_ndjson(rows)
t.ok(r.status == 200 and (r.json or {}).get("imported") == N,
     "a %d-row file with three hooked plugins is imported" % N, repr(r)[:300])
ids = [int(x) for (x,) in pg.sql(
    "SELECT x.id FROM core.resident x JOIN (SELECT * FROM unnest(ARRAY[%s]) WITH ORDINALITY "
    "AS u(num, ord)) u ON u.num = x.id_number ORDER BY u.ord"
    % ",".join("'%s'" % n for n in nums))]
t.eq(len(ids), N, "every row is a resident")

# --------------------------------------------------------------------------
# Hooks

got = calls("batchy", b0)
t.eq([(e, eid, n) for e, eid, n, _ in got],
     [("residents.imported", 0, 1000), ("residents.imported", 0, 1000),
      ("residents.imported", 0, 500)],
     "a plugin with a residents.imported hook gets one call per 1,000 rows and no "
     "resident.created")
t.ok([i for _, _, _, chunk in got for i in chunk] == ids,
     "its calls carry every imported resident once, in file order")
old = calls("batchy_old", o0)
t.ok(len(old) == N and all(e == "resident.created" and n == 1 for e, _, n, _ in old)
     and [eid for _, eid, _, _ in old] == ids and [c[0] for _, _, _, c in old] == ids,
     "a plugin built for ABI 1.2 gets resident.created once per imported row, in file order, "
     "and never the batch", repr(old[:3]))

b1, o1 = last_call("batchy"), last_call("batchy_old")
one = d.post("/api/v1/residents", {"name": "单个", "id_number": idnums(1)[0],
                                   "grid_id": R.grid_a}, token=T["district"])
t.status(one, 201, "a resident registered through the API")
rid = (one.json or {}).get("id")
t.eq([(e, eid, c) for e, eid, _, c in calls("batchy", b1)], [("resident.created", rid, [rid])],
     "fires resident.created for the batch plugin too")
t.eq([(e, eid) for e, eid, _, _ in calls("batchy_old", o1)], [("resident.created", rid)],
     "and for the old one")

before = int(sql1("SELECT count(*) FROM core.resident"))
b2, o2 = last_call("batchy"), last_call("batchy_old")
bad = [{"name": n, "id_number": x, "residence_status": "registered", "grid_id": R.grid_a}
       for n, x in zip(["批前", "FAIL-BATCH", "批后"], idnums(3))]
r = post_ndjson(bad)
fx.check_error(t, r, 422, "rejected", "a batch hook that fails fails the import with its error")
t.eq(int(sql1("SELECT count(*) FROM core.resident")), before, "nothing of that import remains")
t.eq((last_call("batchy"), last_call("batchy_old")), (b2, o2),
     "nor any hook's writes")
r = post_ndjson([{"name": "FAIL-HOOK", "id_number": idnums(1)[0],
                  "residence_status": "registered", "grid_id": R.grid_a}])
t.ok(r.status == 422 and "faulty" in r.text,
     "a plugin with only a resident.created hook still gets imported rows one by one",
     repr(r)[:300])

# --------------------------------------------------------------------------
# Change feed


def same(alias):
    """SQL: core.change c's data is the row `alias` as JSON, the timestamps
    compared as timestamps (the trigger wrote them in the daemon's session
    time zone, psql reads them in its own)."""
    return ("(c.data - 'created_at' - 'updated_at' = to_jsonb({0}) - 'created_at' - 'updated_at'"
            " AND (c.data->>'created_at')::timestamptz = {0}.created_at"
            " AND (c.data->>'updated_at')::timestamptz = {0}.updated_at)").format(alias)


feed = pg.sql(
    "SELECT c.seq, c.entity_id, c.op, c.region_path::text, %s, g.path::text "
    "  FROM core.change c LEFT JOIN core.resident x ON x.id = c.entity_id "
    "  LEFT JOIN core.region g ON g.id = x.grid_id "
    " WHERE c.entity = 'resident' AND c.seq > %d AND c.entity_id = ANY (ARRAY[%s]::bigint[]) "
    " ORDER BY c.seq" % (same("x"), seq0, ",".join(map(str, ids))))
t.eq([int(f[1]) for f in feed], ids,
     "the feed holds exactly one change per imported resident, in file order")
t.ok(all(f[2] == "upsert" for f in feed), "each an upsert")
t.ok(all(f[4] == "t" for f in feed), "whose data is the resident's row")
t.ok(all(f[3] is not None and f[3] == f[5] for f in feed),
     "under the path of the resident's grid")
seqs = [int(f[0]) for f in feed]
t.ok(seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "numbered once each, in order")
t.eq(sql1("SELECT count(*) FROM core.change WHERE seq IS NULL"), "0",
     "nothing is left unnumbered after the commit")
t.eq(sql1("SELECT count(*) FROM core.change_tx"), "0", "nor any transaction pending")
made = [int(x) for (x,) in pg.sql("SELECT id FROM core.household WHERE id > %d ORDER BY id"
                                  % hh0)]
hfeed = pg.sql(
    "SELECT DISTINCT c.entity_id FROM core.change c WHERE c.entity = 'household' "
    "AND c.seq > %d AND c.op = 'upsert' AND EXISTS (SELECT 1 FROM core.household h "
    "WHERE h.id = c.entity_id AND %s) ORDER BY 1" % (seq0, same("h")))
t.ok(len(made) == N // 10 and [int(x) for (x,) in hfeed] == made,
     "every household the import created reaches the feed as it stands (head included)",
     "%d made, %d in feed" % (len(made), len(hfeed)))
r = d.get("/api/v1/changes?since=%d&limit=5000" % seq0, token=T["district"])
api_ids = [i["id"] for i in (r.json or {}).get("items", [])
           if i["entity"] == "resident" and i["id"] in set(ids)]
t.eq(api_ids, ids, "GET /api/v1/changes gives them once each, in file order")

d.stop()
d.check_log_clean(t)
t.done()

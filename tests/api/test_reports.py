#!/usr/bin/env python3
"""test_reports — the one report (一表通) and the records behind its figures.

A small known population is built with SQL (birth dates on both sides of
every age boundary, every life and residence status, a move-out after the
report date, someone born after it, tags on active and on deceased
residents, example-plugin notes on grids and on a community), then:
GET /api/v1/reports/summary gives exactly the expected figures at grid,
community, street and district level, for the region and each child;
ratios are recomputed from their parts at every level (a community's 60+
share is not the mean of its grids'); every count equals the number of rows
GET /api/v1/reports/indicators/{code}/rows lists for it (paged); ID numbers
and phones in those rows are masked without residents.read_sensitive and a
full read is audited; the CSV is UTF-8 with a BOM, Chinese headers and bare
numbers; the XLSX read back (zip + sharedStrings + sheet1) holds the same
numbers as the JSON with a frozen header; a plugin disabled for the
district vanishes from its summary and its rows; a grid worker asking for
another grid gets 404; bad parameters get 422 naming the field; a change
to the data shows in the next report (nothing is cached).

Not for: ledgers (test_ledgers.py), speed (tests/bench)."""
import csv
import datetime
import io
import os
import re
import sys
import zipfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"])
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d)
R = w.r

DATE = "2024-06-30"
DAY = datetime.date(2024, 6, 30)


def check_digit(first17):
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(c) * k for c, k in zip(first17, weights)) % 11]


def q(v):
    return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"


# --------------------------------------------------------------------------
# The population.  (key, grid key, household key or None, gender, birth,
# residence, life status, life status date, tags)

HOUSEHOLDS = {
    "HA1": ("grid_a", "registered", "A-001", "东一路1号"),
    "HA2": ("grid_a", "rented", "A-002", "东一路2号"),
    "HA3": ("grid_a", "registered", "A-003", "东一路3号"),   # everyone moved out before DATE
    "HB1": ("grid_b", "registered", "B-001", "东二路1号"),
    "HC1": ("grid_c", "resident", "C-001", "南一路1号"),
    "HW1": ("grid_w", "collective", "W-001", "西一路1号"),
}

PEOPLE = [
    ("a1", "grid_a", "HA1", "female", "1950-01-01", "registered", "active", None, ["empty_nest"]),
    ("a2", "grid_a", "HA1", "male", "1944-06-30", "registered", "active", None, ["veteran"]),
    ("a3", "grid_a", "HA2", "female", "2022-01-01", "resident", "active", None, []),
    ("a4", "grid_a", "HA2", "male", "1990-05-05", "floating", "active", None,
     ["floating", "disabled"]),
    ("a5", "grid_a", "HA2", "male", "1960-07-01", "registered", "deceased", "2024-03-01",
     ["key_person"]),
    ("a6", "grid_a", "HA2", "female", "1985-01-01", "registered", "moved_out", "2024-12-01", []),
    ("a7", "grid_a", "HA3", "male", "1970-01-01", "registered", "moved_out", "2024-01-01", []),
    ("a8", "grid_a", None, "female", "2014-07-01", "registered", "active", None, []),
    ("a9", "grid_a", "HA1", "male", "2024-08-01", "registered", "active", None, []),
    ("b1", "grid_b", "HB1", "male", "1930-01-01", "registered", "active", None, ["lives_alone"]),
    ("b2", "grid_b", "HB1", "female", "2010-06-30", "resident", "active", None, []),
    ("b3", "grid_b", "HB1", "female", "2010-07-01", "resident", "active", None, []),
    ("b4", "grid_b", "HB1", "male", "2020-06-30", "registered", "active", None, []),
    ("c1", "grid_c", "HC1", "female", "1955-01-01", "registered", "active", None, []),
    ("w1", "grid_w", "HW1", "male", "1995-01-01", "floating", "active", None, ["floating"]),
]

hh_ids = {}
for key, (grid, kind, number, addr) in HOUSEHOLDS.items():
    hh_ids[key] = int(pg.sql(
        "INSERT INTO core.household (grid_id, kind, household_number, address) "
        "VALUES (%d, %s, %s, %s) RETURNING id" % (getattr(R, grid), q(kind), q(number), q(addr)))[0][0])

res_ids = {}
for i, (key, grid, hh, gender, birth, residence, life, life_date, tags) in enumerate(PEOPLE):
    ymd = birth.replace("-", "")
    seq = "%03d" % (100 + 2 * i + (1 if gender == "male" else 0))
    number = check_digit("110105" + ymd + seq)
    res_ids[key] = int(pg.sql(
        "INSERT INTO core.resident (name, id_type, id_number, gender, birth_date, phone, "
        "residence_status, grid_id, household_id, relation, life_status, life_status_date) "
        "VALUES (%s, 'resident_id', %s, %s, %s, %s, %s, %d, %s, %s, %s, %s) RETURNING id"
        % (q("居民" + key), q(number), q(gender), q(birth), q("138%08d" % (i + 1)), q(residence),
           getattr(R, grid), str(hh_ids[hh]) if hh else "NULL", q("本人" if i % 3 == 0 else "子女"),
           q(life), q(life_date)))[0][0])
    for tag in tags:
        pg.sql("INSERT INTO core.resident_tag (resident_id, tag) VALUES (%d, %s)"
               % (res_ids[key], q(tag)))
pg.sql("UPDATE core.household SET head_resident_id = %d WHERE id = %d" % (res_ids["a1"], hh_ids["HA1"]))

# Example-plugin notes: two on grid A, one on grid W before DATE, one on
# grid A after DATE, one on the community itself (not a grid: not counted).
for region, when in ((R.grid_a, "2024-05-01"), (R.grid_a, "2024-06-30 23:00+08"),
                     (R.grid_w, "2024-01-01"), (R.grid_a, "2024-07-02"), (R.comm_e1, "2024-05-01")):
    pg.sql("INSERT INTO example.note (region_id, body, created_at) VALUES (%d, 'n', %s)"
           % (region, q(when)))

# --------------------------------------------------------------------------
# The expected figures, from the rules written out independently here.


def age(birth):
    b = datetime.date.fromisoformat(birth)
    return DAY.year - b.year - ((DAY.month, DAY.day) < (b.month, b.day))


def status_on(p):
    _, _, _, _, birth, _, life, life_date, _ = p
    if datetime.date.fromisoformat(birth) > DAY:
        return None  # not born yet
    if life != "active" and (life_date is None or datetime.date.fromisoformat(life_date) <= DAY):
        return life
    return "active"


GRIDS_UNDER = {
    "grid_a": ["grid_a"], "grid_b": ["grid_b"], "grid_c": ["grid_c"], "grid_w": ["grid_w"],
    "comm_e1": ["grid_a", "grid_b"], "comm_e2": ["grid_c"], "comm_w1": ["grid_w"],
    "street_e": ["grid_a", "grid_b", "grid_c"], "street_w": ["grid_w"],
    "district": ["grid_a", "grid_b", "grid_c", "grid_w"],
}
NOTES = {"grid_a": 2, "grid_w": 1}


def expected(region_key):
    grids = GRIDS_UNDER.get(region_key, [])
    ps = [p for p in PEOPLE if p[1] in grids]
    act = [p for p in ps if status_on(p) == "active"]

    def band(lo, hi):
        return sum(1 for p in act if lo <= age(p[4]) <= hi)

    e = {
        "core.households": len({p[2] for p in act if p[2]}),
        "core.residents_active": len(act),
        "core.residents_moved_out": sum(1 for p in ps if status_on(p) == "moved_out"),
        "core.residents_deceased": sum(1 for p in ps if status_on(p) == "deceased"),
        "core.pop_registered": sum(1 for p in act if p[5] == "registered"),
        "core.pop_resident": sum(1 for p in act if p[5] == "resident"),
        "core.pop_floating": sum(1 for p in act if p[5] == "floating"),
        "core.age_0_3": band(0, 3), "core.age_4_9": band(4, 9), "core.age_10_14": band(10, 14),
        "core.age_15_59": band(15, 59), "core.age_60plus": band(60, 999),
        "core.age_80plus": band(80, 999),
        "core.women": sum(1 for p in act if p[3] == "female"),
        "core.men": sum(1 for p in act if p[3] == "male"),
        "example.notes": sum(NOTES.get(g, 0) for g in grids),
    }
    for tag in ("disabled", "lives_alone", "empty_nest", "veteran", "floating", "key_person"):
        e["core.tag_" + tag] = sum(1 for p in act if tag in p[8])
    e["core.share_60plus"] = (round(100.0 * e["core.age_60plus"] / e["core.residents_active"], 2)
                              if e["core.residents_active"] else None)
    e["core.household_size"] = (round(e["core.residents_active"] / e["core.households"], 2)
                                if e["core.households"] else None)
    return e


def summary(region=None, token=None, date=DATE, fmt=None):
    path = "/api/v1/reports/summary?date=" + date
    if region is not None:
        path += "&region=%s" % region
    if fmt:
        path += "&format=" + fmt
    return d.get(path, token=token or w.tokens["district"])


def values_of(resp, idx=0):
    return resp.json["rows"][idx]["values"]


def same(got, want):
    bad = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    return not bad, bad


# --------------------------------------------------------------------------
# Figures at every level

# A few by hand, so the model above cannot share a mistake with the engine.
r = summary(R.grid_a)
t.status(r, 200, "summary of grid A")
v = values_of(r)
t.eq((v.get("core.residents_active"), v.get("core.households"), v.get("core.age_60plus"),
      v.get("core.age_80plus"), v.get("core.residents_deceased"),
      v.get("core.residents_moved_out"), v.get("core.age_4_9"), v.get("core.tag_key_person")),
     (6, 2, 2, 1, 1, 1, 1, 0),
     "grid A by hand: 6 active (a move-out after the date still counts, someone born after it "
     "does not), 2 households, 60+ 2, 80+ 1 (80 on the day), 1 deceased, 1 moved out, "
     "9-year-old in 4-9, a deceased resident's tag not counted")
t.eq(v.get("core.share_60plus"), 33.33, "grid A 60+ share 2/6 = 33.33%")
t.eq(v.get("example.notes"), 2, "grid A: 2 notes by the date (a later one and one on the "
     "community are not counted)")

for key in ("grid_a", "grid_b", "grid_c", "grid_w", "comm_e1", "street_e", "district"):
    r = summary(getattr(R, key))
    if not t.status(r, 200, "summary of %s" % key):
        continue
    ok, bad = same(values_of(r), expected(key))
    t.ok(ok, "every figure of %s is exact" % key, "  differences (got, want): %r" % bad)
    t.eq(r.json["rows"][0]["region"]["id"], getattr(R, key), "%s: first row is the region itself" % key)

r = summary(R.comm_e1)
kids = [row["region"]["id"] for row in r.json["rows"][1:]]
t.eq(kids, [R.grid_a, R.grid_b], "community E1's rows: itself, then its two grids in code order")
for row in r.json["rows"][1:]:
    key = "grid_a" if row["region"]["id"] == R.grid_a else "grid_b"
    ok, bad = same(row["values"], expected(key))
    t.ok(ok, "community E1's child row %s equals that grid's own summary" % key, repr(bad))
e1 = values_of(r)
t.eq(e1["core.share_60plus"], 30.0, "community E1 60+ share recomputed: 3/10 = 30%")
t.ok(e1["core.share_60plus"] != round((33.33 + 25.0) / 2, 2),
     "not the mean of its grids' shares (29.17)")
t.eq(e1["core.household_size"], round(10 / 3, 2), "average household size recomputed: 10/3")

r = summary(R.district)
names = [row["region"]["name"] for row in r.json["rows"]]
t.eq(names, ["示范区", "东街道", "西街道"], "district rows: itself, then its streets")
t.eq(r.json["rows"][0]["values"]["core.share_60plus"], round(100 * 4 / 12, 2),
     "district 60+ share 4/12 from the summed parts")
ok, bad = same(r.json["rows"][2]["values"], expected("street_w"))
t.ok(ok, "district's child row 西街道 exact", repr(bad))
t.eq(r.json["date"], DATE, "the report says its date")
inds = {i["code"]: i for i in r.json["indicators"]}
t.ok(all(c in inds for c in expected("district")), "every core indicator and example.notes listed")
t.eq((inds["core.residents_active"]["label"], inds["core.residents_active"]["unit"],
      inds["core.residents_active"]["owner"]), ("实有人口", "人", "core"),
     "indicators carry Chinese label, unit and owner")
t.eq(inds["example.notes"]["owner"], "example", "a plugin's indicator names its plugin")
t.eq(inds["core.share_60plus"].get("ratio"),
     {"numerator": "core.age_60plus", "denominator": "core.residents_active"},
     "a ratio names its parts")

# An empty community: zeros, and a ratio over zero is null.
r = summary(R.by_name["西街道二社区"])
t.status(r, 200, "summary of a community with nobody in it")
v = values_of(r)
t.ok(v.get("core.residents_active") == 0 and v.get("core.households") == 0
     and v.get("core.share_60plus") is None,
     "empty community: counts 0, ratio null", repr(v))

# Another date: ages move with it.
r = summary(R.grid_b, date="2024-06-29")
vb = values_of(r)
t.eq((vb.get("core.age_0_3"), vb.get("core.age_4_9"), vb.get("core.age_10_14")), (1, 0, 2),
     "grid B on 2024-06-29: b4 is 3 the day before turning 4")
t.eq(values_of(summary(R.grid_a, date="2024-06-29")).get("core.age_80plus"), 0,
     "grid A on 2024-06-29: a2 is 79 the day before turning 80")
r1 = summary(R.grid_a, date="2025-01-01")
va = values_of(r1)
t.eq((va.get("core.residents_active"), va.get("core.residents_moved_out"),
      va.get("core.age_10_14"), va.get("core.age_4_9")), (6, 2, 1, 0),
     "grid A on 2025-01-01: a9 born (+1), a6 moved out (-1), a8 now 10")

# --------------------------------------------------------------------------
# Every figure equals the rows behind it


def all_rows(code, region, token=None, limit=3, date=DATE):
    items, cursor, pages = [], None, 0
    while True:
        path = "/api/v1/reports/indicators/%s/rows?region=%d&date=%s&limit=%d" % (
            code, region, date, limit)
        if cursor:
            path += "&cursor=" + cursor
        r = d.get(path, token=token or w.tokens["district"])
        if r.status != 200:
            return None, r
        items += r.json["items"]
        cursor = r.json["next_cursor"]
        pages += 1
        if not cursor or pages > 100:
            return items, r


mismatch = []
for key in ("grid_a", "comm_e1", "district"):
    vals = values_of(summary(getattr(R, key)))
    for code, value in sorted(vals.items()):
        if code in ("core.share_60plus", "core.household_size"):
            continue
        items, last = all_rows(code, getattr(R, key))
        if items is None:
            mismatch.append((key, code, "HTTP %d" % last.status))
            continue
        ids = [it.get("id") for it in items]
        if len(items) != value or len(set(ids)) != len(ids):
            mismatch.append((key, code, value, len(items)))
t.ok(not mismatch, "every count at grid, community and district level equals its rows "
     "(paged 3 at a time, no row twice)", repr(mismatch))

items, r = all_rows("core.age_80plus", R.district)
t.eq(sorted(it["name"] for it in items), ["居民a2", "居民b1"], "the 80+ rows are a2 and b1")
t.ok(set(r.json["columns"]) >= {"id", "name", "gender", "birth_date", "age", "grid", "address"},
     "rows have readable columns", repr(r.json.get("columns")))
t.eq(r.json["indicator"]["code"], "core.age_80plus", "rows say which indicator")
b1 = [it for it in items if it["name"] == "居民b1"][0]
t.eq((b1["gender"], b1["age"], b1["grid"]), ("男", 94, "东街道一社区第2网格"),
     "a row reads as words: gender 男, age on the date, grid name")
items, r = all_rows("core.households", R.comm_e1)
t.eq(sorted(it["household_number"] for it in items), ["A-001", "A-002", "B-001"],
     "household rows: those with an active member (A-003 all moved out)")
items, r = all_rows("example.notes", R.district)
t.eq(len(items), 3, "a plugin's rows_sql: the 3 notes counted")

# Masking and audit
items, r = all_rows("core.tag_empty_nest", R.grid_a)
t.ok(items and "*" in items[0]["id_number"] and items[0]["phone"] == "138****0001",
     "district user (no residents.read_sensitive): ID number and phone masked", repr(items))
before = int(pg.sql("SELECT count(*) FROM core.audit WHERE action = 'read_sensitive' "
                    "AND entity = 'indicator_rows'")[0][0])
items, r = all_rows("core.tag_empty_nest", R.grid_a, token=w.tokens["grid_a"])
t.ok(items and "*" not in items[0]["id_number"] and len(items[0]["id_number"]) == 18
     and items[0]["phone"].startswith("138") and "*" not in items[0]["phone"],
     "grid worker (holds it): in full", repr(items))
after = int(pg.sql("SELECT count(*) FROM core.audit WHERE action = 'read_sensitive' "
                   "AND entity = 'indicator_rows' AND entity_id = 'core.tag_empty_nest'")[0][0])
t.ok(after == before + 1, "the full read is audited", "before %d after %d" % (before, after))

r = d.get("/api/v1/reports/indicators/core.share_60plus/rows?region=%d" % R.grid_a,
          token=w.tokens["district"])
fx.check_error(t, r, 422, "invalid", "a ratio has no rows of its own: 422 naming code", "code")
r = d.get("/api/v1/reports/indicators/core.nothing/rows?region=%d" % R.grid_a,
          token=w.tokens["district"])
fx.check_error(t, r, 404, "not_found", "unknown indicator: 404")
r = d.get("/api/v1/reports/indicators/core.men/rows?region=%d&limit=0" % R.grid_a,
          token=w.tokens["district"])
fx.check_error(t, r, 422, "invalid", "limit 0: 422", "limit")
r = d.get("/api/v1/reports/indicators/core.men/rows?region=%d" % R.grid_b,
          token=w.tokens["grid_a"])
fx.check_error(t, r, 404, "not_found", "grid worker A opening grid B's rows: 404")

# --------------------------------------------------------------------------
# CSV

r = summary(R.comm_e1, fmt="csv")
t.status(r, 200, "CSV summary")
t.ok(r.headers.get("content-type", "").startswith("text/csv"), "CSV content type",
     repr(r.headers.get("content-type")))
t.ok("attachment" in r.headers.get("content-disposition", "")
     and "filename=" in r.headers.get("content-disposition", ""),
     "CSV is an attachment with a file name", repr(r.headers.get("content-disposition")))
t.ok(r.body.startswith(b"\xef\xbb\xbf"), "CSV starts with a UTF-8 BOM")
text = r.body.decode("utf-8-sig")
rows = list(csv.reader(io.StringIO(text)))
json_e1 = summary(R.comm_e1).json
hdr = rows[0] if rows else []
t.eq(hdr[:1], ["地区"], "CSV first header is 地区")
labels = ["%s(%s)" % (i["label"], i["unit"]) for i in json_e1["indicators"]]
t.eq(hdr[1:], labels, "CSV headers: each indicator's Chinese label with its unit")
t.ok("实有人口(人)" in hdr and "60岁及以上人口占比(%)" in hdr, "e.g. 实有人口(人), 60岁及以上人口占比(%)")
t.eq([row[0] for row in rows[1:]], [row["region"]["name"] for row in json_e1["rows"]],
     "CSV region names down the first column, as the JSON rows")
good = True
for row, jrow in zip(rows[1:], json_e1["rows"]):
    for cell, ind in zip(row[1:], json_e1["indicators"]):
        want = jrow["values"][ind["code"]]
        if (want is None and cell != "") or (want is not None and float(cell) != float(want)):
            good = False
t.ok(good and len(rows) == len(json_e1["rows"]) + 1, "CSV numbers equal the JSON's")
line = text.splitlines()[1]
t.ok(re.search(r",\d+(\.\d+)?(,|$)", line) is not None and '"6"' not in line,
     "numbers are bare, not quoted strings", line)

# --------------------------------------------------------------------------
# XLSX


def xlsx_cells(body):
    """{(row, col): value} of the first sheet; numbers as float, text as str."""
    z = zipfile.ZipFile(io.BytesIO(body))
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    shared = []
    if "xl/sharedStrings.xml" in z.namelist():
        for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", ns):
            shared.append("".join(x.text or "" for x in si.iter("{%s}t" % ns["m"])))
    sheet_xml = z.read("xl/worksheets/sheet1.xml")
    sheet = ET.fromstring(sheet_xml)
    cells = {}
    for c in sheet.iter("{%s}c" % ns["m"]):
        ref = c.get("r")
        m = re.match(r"([A-Z]+)(\d+)", ref)
        col = 0
        for ch in m.group(1):
            col = col * 26 + ord(ch) - 64
        pos = (int(m.group(2)) - 1, col - 1)
        typ = c.get("t")
        v = c.find("m:v", ns)
        if typ == "s":
            cells[pos] = shared[int(v.text)]
        elif typ == "inlineStr":
            cells[pos] = "".join(x.text or "" for x in c.iter("{%s}t" % ns["m"]))
        elif v is not None:
            cells[pos] = float(v.text)
    return cells, sheet_xml.decode("utf-8"), z


r = summary(R.district, fmt="xlsx")
t.status(r, 200, "XLSX summary")
t.eq(r.headers.get("content-type"),
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX content type")
t.ok(".xlsx" in r.headers.get("content-disposition", ""), "XLSX file name",
     repr(r.headers.get("content-disposition")))
try:
    cells, sheet_xml, z = xlsx_cells(r.body)
except Exception as e:  # a broken file is a failure, not a crash of the test
    cells, sheet_xml, z = {}, "", None
    t.diag("cannot read the XLSX: %r" % e)
jd = summary(R.district).json
t.eq(cells.get((0, 0)), "地区", "XLSX A1 is 地区")
t.eq([cells.get((0, k + 1)) for k in range(len(jd["indicators"]))],
     ["%s(%s)" % (i["label"], i["unit"]) for i in jd["indicators"]], "XLSX Chinese headers")
t.eq([cells.get((i + 1, 0)) for i in range(len(jd["rows"]))],
     [row["region"]["name"] for row in jd["rows"]], "XLSX region names down the side")
good, where = True, None
for i, row in enumerate(jd["rows"]):
    for k, ind in enumerate(jd["indicators"]):
        want = row["values"][ind["code"]]
        got = cells.get((i + 1, k + 1))
        if (want is None and got is not None) or (want is not None and got != float(want)):
            good, where = False, (row["region"]["name"], ind["code"], got, want)
t.ok(good, "XLSX numbers (stored as numbers) equal the JSON's", repr(where))
t.ok('state="frozen"' in sheet_xml, "XLSX header row frozen")
t.ok(z is not None and len([n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]) == 1,
     "one sheet")

# --------------------------------------------------------------------------
# Scope and parameters

r = summary(R.grid_b, token=w.tokens["grid_a"])
fx.check_error(t, r, 404, "not_found", "grid worker of grid A asking for grid B: 404")
r = summary(R.comm_e1, token=w.tokens["grid_a"])
fx.check_error(t, r, 404, "not_found", "grid worker asking for their community: 404")
r = summary(None, token=w.tokens["grid_a"])
t.ok(r.status == 200 and r.json["rows"][0]["region"]["id"] == R.grid_a
     and len(r.json["rows"]) == 1, "grid worker without region: their own grid, no children",
     repr(r))
r = summary(R.district, token=w.tokens["community_e1"])
fx.check_error(t, r, 404, "not_found", "community worker asking for the district: 404")
r = summary(None, token=w.tokens["street_e"])
t.ok(r.status == 200 and r.json["rows"][0]["region"]["id"] == R.street_e,
     "street user without region: their street", repr(r))
r = summary(None, token=w.admin)
fx.check_error(t, r, 422, "invalid", "admin without region: 422 naming region", "region")
r = summary(R.district, token=w.admin)
t.ok(r.status == 200 and values_of(r)["core.residents_active"] == 12, "admin with region", repr(r))
fx.check_error(t, summary("abc"), 422, "invalid", "region=abc: 422", "region")
fx.check_error(t, summary(999999), 404, "not_found", "region that does not exist: 404")
fx.check_error(t, summary(R.grid_a, date="2024-02-30"), 422, "invalid", "date 2024-02-30: 422",
               "date")
fx.check_error(t, summary(R.grid_a, date="30.06.2024"), 422, "invalid", "date 30.06.2024: 422",
               "date")
fx.check_error(t, summary(R.grid_a, fmt="pdf"), 422, "invalid", "format=pdf: 422", "format")
r = d.get("/api/v1/reports/summary?region=%d" % R.grid_a)
fx.check_error(t, r, 401, None, "no token: 401")
r = summary(R.grid_a, date="2024-02-29")
t.status(r, 200, "a leap day is a date")
r = d.get("/api/v1/reports/summary?region=%d" % R.grid_a, token=w.tokens["district"])
t.ok(r.status == 200 and re.match(r"^\d{4}-\d{2}-\d{2}$", r.json.get("date", "")),
     "no date: today", repr(r))

# Without reports.read: 403.
r = d.req("DELETE", "/api/v1/roles/street/permissions/reports.read", token=w.admin)
t.ok(r.status in (200, 204), "admin revokes reports.read from the street role", repr(r))
r = fx.wait_status(d, "GET", "/api/v1/reports/summary?region=%d" % R.street_e, 403, 5,
                   token=w.tokens["street_e"])
fx.check_error(t, r, 403, "forbidden", "street user without reports.read: 403")
d.req("PUT", "/api/v1/roles/street/permissions/reports.read", token=w.admin)

# --------------------------------------------------------------------------
# Plugin disabled for the district: gone from the summary and its rows

r = d.req("PUT", "/api/v1/regions/%d/plugins/example" % R.district, body={"enabled": False},
          token=w.tokens["district"])
t.status(r, 200, "district switches the example plugin off")
r = summary(R.district)
codes = [i["code"] for i in r.json["indicators"]]
t.ok("example.notes" not in codes and "example.notes" not in values_of(r),
     "its indicator vanishes from the district's summary", repr(codes))
t.ok("core.residents_active" in codes, "the core's remain")
r = summary(R.district, fmt="csv")
t.ok("笔记数" not in r.body.decode("utf-8-sig"), "and from the CSV")
r = d.get("/api/v1/reports/indicators", token=w.tokens["grid_a"])
t.ok(r.status == 200 and "example.notes" not in [i["code"] for i in r.json["items"]],
     "and from the indicator list", repr(r))
r = d.get("/api/v1/reports/indicators/example.notes/rows?region=%d" % R.grid_a,
          token=w.tokens["district"])
fx.check_error(t, r, 404, "not_found", "its rows: 404")
r = summary(R.district, token=w.admin)
t.ok("example.notes" in values_of(r), "the admin (above every district) still sees it")
d.req("PUT", "/api/v1/regions/%d/plugins/example" % R.district, body={"enabled": True},
      token=w.tokens["district"])
r = summary(R.district)
t.eq(values_of(r).get("example.notes"), 3, "switched back on: it is back")

# --------------------------------------------------------------------------
# Nothing cached: a change shows in the next report

pg.sql("UPDATE core.resident SET life_status = 'deceased', life_status_date = '2024-06-01' "
       "WHERE id = %d" % res_ids["b1"])
v = values_of(summary(R.comm_e1))
t.eq((v["core.residents_active"], v["core.age_60plus"], v["core.residents_deceased"],
      v["core.tag_lives_alone"], v["core.share_60plus"]), (9, 2, 2, 0, round(200 / 9, 2)),
     "a death recorded shows at once, ratio recomputed")
pg.sql("UPDATE core.resident SET life_status = 'active', life_status_date = NULL "
       "WHERE id = %d" % res_ids["b1"])

# --------------------------------------------------------------------------
# OpenAPI

r = d.get("/openapi.json")
paths = r.json.get("paths", {}) if isinstance(r.json, dict) else {}
op = paths.get("/api/v1/reports/summary", {}).get("get", {})
pnames = {p.get("name") for p in op.get("parameters", [])}
t.ok({"region", "date", "format"} <= pnames, "openapi: summary with its parameters", repr(pnames))
op = paths.get("/api/v1/reports/indicators/{code}/rows", {}).get("get", {})
pnames = {p.get("name") for p in op.get("parameters", [])}
t.ok({"code", "region", "date", "limit", "cursor"} <= pnames, "openapi: rows with its parameters",
     repr(pnames))
t.ok("/api/v1/reports/indicators" in paths, "openapi: indicator list")

d.check_log_clean(t)
t.done()

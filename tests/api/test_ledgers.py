#!/usr/bin/env python3
"""test_ledgers — ledgers (台账): the list and each ledger as JSON pages,
CSV and XLSX.

GET /api/v1/ledgers lists the core's ledgers (人口台账 core/population, 户台账
core/households) and those of plugins enabled for the caller's district
that the caller holds the permission for, with Chinese column labels; GET
/api/v1/ledgers/{plugin}/{name} renders one over a region: JSON paged
(offset cursor for the population ledger, keyset on id for the household
ledger) with every row exactly once across pages; CSV streamed, UTF-8 with
a BOM and Chinese headers, quoting commas and quotes and defusing
formula-looking text; XLSX read back (zip + XML) with the same values,
ID numbers kept as text and counts as numbers; a ledger longer than one
cursor batch streams whole.  ID numbers and phones are masked without
residents.read_sensitive, in full for a grid worker in their grid (audited);
a region outside the caller's scope is 404; a plugin disabled for the
district vanishes from the list and its ledger is 404; a caller without
the ledger's permission gets 403.

Not for: report figures (test_reports.py)."""
import csv
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


def q(v):
    return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"


def check_digit(first17):
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return first17 + "10X98765432"[sum(int(c) * k for c, k in zip(first17, weights)) % 11]


def one(sql):
    return pg.sql(sql)[0][0]


# Grid A: two households (one with a building, unit and room), one resident
# without a household; grid B: one household.
bld = int(one("INSERT INTO core.building (grid_id, name) VALUES (%d, '3号楼') RETURNING id" % R.grid_a))
HA1 = int(one("INSERT INTO core.household (grid_id, kind, household_number, address) VALUES "
              "(%d, 'registered', 'A-001', 'No. 5, \"A\" Lane') RETURNING id" % R.grid_a))
HA2 = int(one("INSERT INTO core.household (grid_id, kind, household_number, building_id, unit, room) "
              "VALUES (%d, 'rented', 'A-002', %d, '2单元', '301') RETURNING id" % (R.grid_a, bld)))
HB1 = int(one("INSERT INTO core.household (grid_id, kind, household_number, address) VALUES "
              "(%d, 'collective', 'B-001', '东二路1号') RETURNING id" % R.grid_b))

people = [  # name, grid, household, gender, birth, life, tags, relation
    ("张三", R.grid_a, HA1, "male", "1950-03-01", "active", ["veteran", "empty_nest"], "子女"),
    ("李四", R.grid_a, HA1, "female", "1952-04-02", "active", [], "户主"),
    ("=HYPERLINK(1)", R.grid_a, HA2, "male", "1990-01-03", "active", [], "户主"),
    ("王五", R.grid_a, HA2, "female", "1991-02-04", "deceased", [], "配偶"),
    ("赵六", R.grid_a, None, "male", "2000-05-05", "active", [], None),
    ("孙七", R.grid_b, HB1, "female", "1980-06-06", "active", ["disabled"], "户主"),
]
ids = {}
for i, (name, grid, hh, gender, birth, life, tags, rel) in enumerate(people):
    number = check_digit("110105" + birth.replace("-", "") + "%03d" % (201 + 2 * i + (gender == "male")))
    ids[name] = int(one(
        "INSERT INTO core.resident (name, id_type, id_number, gender, birth_date, phone, "
        "residence_status, grid_id, household_id, relation, life_status) VALUES "
        "(%s, 'resident_id', %s, %s, %s, %s, 'registered', %d, %s, %s, %s) RETURNING id"
        % (q(name), q(number), q(gender), q(birth), q("139%08d" % (i + 1)), grid,
           str(hh) if hh else "NULL", q(rel), q(life))))
    for tag in tags:
        pg.sql("INSERT INTO core.resident_tag (resident_id, tag) VALUES (%d, %s)" % (ids[name], q(tag)))
pg.sql("UPDATE core.household SET head_resident_id = %d WHERE id = %d" % (ids["李四"], HA1))
pg.sql("UPDATE core.household SET head_resident_id = %d WHERE id = %d" % (ids["=HYPERLINK(1)"], HA2))
pg.sql("INSERT INTO example.note (region_id, body) VALUES (%d, 'a note'), (%d, 'another')"
       % (R.grid_a, R.grid_b))

# Grid C: 2,345 residents in one household, more than one cursor batch.
HC = int(one("INSERT INTO core.household (grid_id, kind, household_number) VALUES "
             "(%d, 'collective', 'C-BIG') RETURNING id" % R.grid_c))
BIG = 2345
pg.sql("INSERT INTO core.resident (name, id_type, residence_status, grid_id, household_id, gender) "
       "SELECT '住户' || i, 'none', 'resident', %d, %d, 'female' FROM generate_series(1, %d) i"
       % (R.grid_c, HC, BIG))


def ledger(plugin, name, region=None, token=None, fmt=None, limit=None, cursor=None):
    qs = []
    if region is not None:
        qs.append("region=%s" % region)
    if fmt:
        qs.append("format=" + fmt)
    if limit:
        qs.append("limit=%d" % limit)
    if cursor:
        qs.append("cursor=" + cursor)
    path = "/api/v1/ledgers/%s/%s" % (plugin, name) + ("?" + "&".join(qs) if qs else "")
    return d.get(path, token=token or w.tokens["district"], timeout=60)


def all_pages(plugin, name, region, token=None, limit=2):
    items, cursor, cursors = [], None, []
    for _ in range(2000):
        r = ledger(plugin, name, region, token=token, limit=limit, cursor=cursor)
        if r.status != 200:
            return None, r, cursors
        items += r.json["items"]
        cursor = r.json["next_cursor"]
        if not cursor:
            return items, r, cursors
        cursors.append(cursor)
    return items, r, cursors


# --------------------------------------------------------------------------
# The list

r = d.get("/api/v1/ledgers", token=w.tokens["district"])
t.status(r, 200, "GET /api/v1/ledgers")
byid = {(i["plugin"], i["name"]): i for i in fx.items_of(r)}
t.ok(("core", "population") in byid and ("core", "households") in byid
     and ("example", "notes") in byid, "lists the core's two ledgers and the example's",
     repr(sorted(byid)))
pop = byid.get(("core", "population"), {})
t.eq(pop.get("title"), "人口台账", "population ledger titled 人口台账")
t.eq([c["label"] for c in pop.get("columns", [])][:4], ["户号", "住址", "所属网格", "姓名"],
     "columns with Chinese labels")
t.eq(byid.get(("core", "households"), {}).get("title"), "户台账", "household ledger titled 户台账")
t.ok(r.json.get("next_cursor", "x") is None, "one page: next_cursor null")
r = d.get("/api/v1/ledgers")
fx.check_error(t, r, 401, None, "no token: 401")

# --------------------------------------------------------------------------
# The population ledger as JSON

r = ledger("core", "population", R.comm_e1, limit=500)
t.status(r, 200, "population ledger of community E1")
items = r.json["items"]
t.eq(len(items), 6, "every resident of the community's grids, whatever their status")
order = [it["name"] for it in items]
t.eq(order, ["李四", "张三", "=HYPERLINK(1)", "王五", "孙七", "赵六"],
     "by household, the head first; no household last")
zs = [it for it in items if it["name"] == "张三"][0]
t.eq((zs["household_number"], zs["address"], zs["grid"], zs["gender"], zs["birth_date"],
      zs["life_status"], zs["residence_status"], zs["relation"]),
     ("A-001", 'No. 5, "A" Lane', "东街道一社区第1网格", "男", "1950-03-01", "在册", "户籍", "子女"),
     "a row reads as words")
t.eq(zs["tags"], "空巢老人、退役军人", "tags by their labels (in tag-code order)")
t.eq([it["address"] for it in items if it["name"] == "=HYPERLINK(1)"], ["3号楼 2单元 301"],
     "address from building, unit and room")
t.eq([it["life_status"] for it in items if it["name"] == "王五"], ["死亡"], "the deceased shown as 死亡")
t.ok("*" in zs["id_number"] and zs["phone"] == "139****0001",
     "district user: ID number and phone masked", repr(zs))
t.eq([c["key"] for c in r.json["columns"]][:3], ["household_number", "address", "grid"],
     "columns: keys and labels")
t.eq((r.json["ledger"]["title"], r.json["region"]["id"]), ("人口台账", R.comm_e1),
     "the page names its ledger and region")

paged, last, cursors = all_pages("core", "population", R.comm_e1, limit=2)
t.eq([it["name"] for it in paged or []], order, "paged 2 at a time: the same rows, once each")
t.eq(cursors, ["2", "4"], "offset cursors (rows read so far)")

before = int(one("SELECT count(*) FROM core.audit WHERE action = 'read_sensitive' AND entity = 'ledger'"))
r = ledger("core", "population", None, token=w.tokens["grid_a"], limit=500)
t.status(r, 200, "grid worker's own grid by default")
t.eq(len(r.json["items"]), 5, "grid A's five residents")
full = [it for it in r.json["items"] if it["name"] == "张三"][0]
t.ok(len(full["id_number"]) == 18 and "*" not in full["id_number"] and full["phone"] == "13900000001",
     "grid worker (residents.read_sensitive): in full", repr(full))
after = int(one("SELECT count(*) FROM core.audit WHERE action = 'read_sensitive' AND entity = 'ledger' "
                "AND entity_id = 'core/population'"))
t.eq(after, before + 1, "the unmasked page is audited")

# Household ledger: keyset on id.
r = ledger("core", "households", R.district, limit=500)
t.status(r, 200, "household ledger of the district")
hh = r.json["items"]
t.eq([h["household_number"] for h in hh], ["A-001", "A-002", "B-001", "C-BIG"], "every household, by id")
t.eq([(h["head"], h["members"], h["kind"]) for h in hh],
     [("李四", 2, "户籍户"), ("=HYPERLINK(1)", 1, "租住户"), (None, 1, "集体户"), (None, BIG, "集体户")],
     "head, active members, kind in words")
paged, last, cursors = all_pages("core", "households", R.district, limit=3)
t.eq([h["id"] for h in paged or []], [h["id"] for h in hh], "paged by 3: same households")
t.eq(cursors, [str(hh[2]["id"])], "keyset cursor: the last id of the page")

# Plugin ledger
r = ledger("example", "notes", R.district, limit=500)
t.ok(r.status == 200 and [n["body"] for n in r.json["items"]] == ["a note", "another"],
     "the example plugin's ledger", repr(r))

# --------------------------------------------------------------------------
# CSV

r = ledger("core", "population", R.comm_e1, fmt="csv")
t.status(r, 200, "population ledger as CSV")
t.ok(r.headers.get("content-type", "").startswith("text/csv"), "CSV content type")
t.ok("attachment" in r.headers.get("content-disposition", ""), "an attachment",
     repr(r.headers.get("content-disposition")))
t.ok(r.body.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM")
rows = list(csv.reader(io.StringIO(r.body.decode("utf-8-sig"))))
t.eq(rows[0], [c["label"] for c in pop["columns"]], "Chinese headers, the ledger's labels")
t.eq([row[3] for row in rows[1:]], ["李四", "张三", "'=HYPERLINK(1)", "王五", "孙七", "赵六"],
     "the same rows in order; formula-looking text defused with an apostrophe")
t.eq([row[1] for row in rows[1:3]], ['No. 5, "A" Lane', 'No. 5, "A" Lane'],
     "commas and quotes survive quoting")
t.ok(all("*" in row[7] for row in rows[1:]), "ID numbers masked for the district user")

r = ledger("core", "households", R.district, fmt="csv")
text = r.body.decode("utf-8-sig")
t.ok(re.search(r"\r\n\d+,C-BIG,[^\r]*,%d\r\n" % BIG, text) is not None,
     "counts and ids as bare numbers, CRLF lines", text[-200:])

r = ledger("core", "population", R.grid_c, fmt="csv")
rows = list(csv.reader(io.StringIO(r.body.decode("utf-8-sig"))))
t.eq(len(rows), BIG + 1, "a ledger longer than one cursor batch streams whole (%d rows)" % BIG)

# --------------------------------------------------------------------------
# XLSX


def xlsx_cells(body):
    z = zipfile.ZipFile(io.BytesIO(body))
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    shared = []
    if "xl/sharedStrings.xml" in z.namelist():
        for si in ET.fromstring(z.read("xl/sharedStrings.xml")).iter(ns + "si"):
            shared.append("".join(x.text or "" for x in si.iter(ns + "t")))
    sheet_xml = z.read("xl/worksheets/sheet1.xml")
    cells = {}
    for c in ET.fromstring(sheet_xml).iter(ns + "c"):
        m = re.match(r"([A-Z]+)(\d+)", c.get("r"))
        col = 0
        for ch in m.group(1):
            col = col * 26 + ord(ch) - 64
        pos = (int(m.group(2)) - 1, col - 1)
        v = c.find(ns + "v")
        if c.get("t") == "s":
            cells[pos] = shared[int(v.text)]
        elif c.get("t") == "inlineStr":
            cells[pos] = "".join(x.text or "" for x in c.iter(ns + "t"))
        elif c.get("t") == "str":
            cells[pos] = v.text
        elif v is not None:
            cells[pos] = float(v.text)
    return cells, sheet_xml.decode("utf-8")


r = ledger("core", "population", R.comm_e1, fmt="xlsx")
t.status(r, 200, "population ledger as XLSX")
t.eq(r.headers.get("content-type"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     "XLSX content type")
try:
    cells, sheet_xml = xlsx_cells(r.body)
except Exception as e:
    cells, sheet_xml = {}, ""
    t.diag("cannot read the XLSX: %r" % e)
j = ledger("core", "population", R.comm_e1, limit=500).json
keys = [c["key"] for c in j["columns"]]
t.eq([cells.get((0, k)) for k in range(len(keys))], [c["label"] for c in j["columns"]],
     "XLSX header row: the Chinese labels")
good, where = True, None
for i, it in enumerate(j["items"]):
    for k, key in enumerate(keys):
        want = it[key]
        got = cells.get((i + 1, k))
        if want is None:
            want_cell = None
        else:
            want_cell = want
        if got != want_cell:
            good, where = False, (i, key, got, want)
t.ok(good, "XLSX holds the JSON page's values (ID numbers as text, masked)", repr(where))
t.ok('state="frozen"' in sheet_xml, "XLSX header frozen")
r = ledger("core", "households", R.district, fmt="xlsx")
cells, _ = xlsx_cells(r.body)
t.eq(cells.get((4, 6)), float(BIG), "XLSX member count stored as a number")
r = ledger("core", "population", R.grid_c, fmt="xlsx")
cells, _ = xlsx_cells(r.body)
t.eq(max(k[0] for k in cells), BIG, "the %d-row ledger whole in XLSX" % BIG)

# --------------------------------------------------------------------------
# Scope, permissions, parameters

r = ledger("core", "population", R.grid_b, token=w.tokens["grid_a"])
fx.check_error(t, r, 404, "not_found", "grid worker of grid A asking for grid B's ledger: 404")
r = ledger("core", "population", R.grid_b, token=w.tokens["grid_a"], fmt="csv")
fx.check_error(t, r, 404, "not_found", "... also as CSV")
r = ledger("core", "population", R.district, token=w.tokens["street_w"])
fx.check_error(t, r, 404, "not_found", "street user asking for the district: 404")
r = ledger("core", "population", None, token=w.admin)
fx.check_error(t, r, 422, "invalid", "admin without region: 422", "region")
r = ledger("core", "population", R.grid_a, fmt="ods")
fx.check_error(t, r, 422, "invalid", "format=ods: 422", "format")
r = ledger("core", "population", R.grid_a, limit=501)
fx.check_error(t, r, 422, "invalid", "limit=501: 422", "limit")
r = ledger("core", "population", R.grid_a, cursor="abc")
fx.check_error(t, r, 422, "invalid", "cursor=abc: 422", "cursor")
fx.check_error(t, ledger("core", "nothing", R.grid_a), 404, "not_found", "unknown ledger: 404")
fx.check_error(t, ledger("nothing", "notes", R.grid_a), 404, "not_found", "unknown plugin: 404")

r = d.req("DELETE", "/api/v1/roles/community/permissions/example.read", token=w.admin)
t.ok(r.status in (200, 204), "admin revokes example.read from community workers", repr(r))
r = fx.wait_status(d, "GET", "/api/v1/ledgers/example/notes", 403, 5, token=w.tokens["community_e1"])
fx.check_error(t, r, 403, "forbidden", "community worker without example.read: 403")
r = d.get("/api/v1/ledgers", token=w.tokens["community_e1"])
names = [(i["plugin"], i["name"]) for i in fx.items_of(r)]
t.ok(("example", "notes") not in names and ("core", "population") in names,
     "and it is not in their list", repr(names))
d.req("PUT", "/api/v1/roles/community/permissions/example.read", token=w.admin)

# --------------------------------------------------------------------------
# Plugin disabled for the district

r = d.req("PUT", "/api/v1/regions/%d/plugins/example" % R.district, body={"enabled": False},
          token=w.tokens["district"])
t.status(r, 200, "district switches the example plugin off")
r = d.get("/api/v1/ledgers", token=w.tokens["grid_a"])
names = [(i["plugin"], i["name"]) for i in fx.items_of(r)]
t.ok(("example", "notes") not in names and ("core", "population") in names,
     "its ledger vanishes from the district's list", repr(names))
fx.check_error(t, ledger("example", "notes", R.district), 404, "not_found",
               "and asking for it directly: 404")
fx.check_error(t, ledger("example", "notes", R.district, fmt="xlsx"), 404, "not_found",
               "also as XLSX")
r = d.get("/api/v1/ledgers", token=w.admin)
t.ok(("example", "notes") in [(i["plugin"], i["name"]) for i in fx.items_of(r)],
     "the admin still lists it")
d.req("PUT", "/api/v1/regions/%d/plugins/example" % R.district, body={"enabled": True},
      token=w.tokens["district"])
t.status(ledger("example", "notes", R.district), 200, "switched back on: there again")

# --------------------------------------------------------------------------
# OpenAPI

r = d.get("/openapi.json")
paths = r.json.get("paths", {}) if isinstance(r.json, dict) else {}
op = paths.get("/api/v1/ledgers/{plugin}/{name}", {}).get("get", {})
pnames = {p.get("name") for p in op.get("parameters", [])}
t.ok({"plugin", "name", "region", "format", "limit", "cursor"} <= pnames,
     "openapi: the ledger route with its parameters", repr(pnames))
t.ok("/api/v1/ledgers" in paths, "openapi: the list")

d.check_log_clean(t)
t.done()

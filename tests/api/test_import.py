#!/usr/bin/env python3
"""test_import — bulk import and export of residents, as a district's
staff use them: a spreadsheet saved as CSV (Chinese or English headers,
quoted fields with line breaks, Excel's BOM, GBK files from old
systems), NDJSON from another system, row-level errors with row numbers
and fields, all-or-nothing mode, households created once per household
number, duplicates within the file and against the register, the
caller's scope on both import and export, masking and auditing of the
export, and a 20,000-row file.

Not for: the rules of a single resident (test_residents.py) or the change
feed (test_changes.py)."""
import codecs
import csv
import datetime
import io
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"], fixtures=["faulty"],
                  config={"max_body_bytes": 64 * 1024 * 1024})
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d)
R = w.r
T = w.tokens
IMP = "/api/v1/import/residents"
EXP = "/api/v1/export/residents"

# --------------------------------------------------------------------------
# Helpers

_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_day = [0]  # days of birth used so far: every number this file makes is new


def check_char(body):
    return "10X98765432"[sum(int(ch) * wt for ch, wt in zip(body, _W)) % 11]


def idnums(n, area="110105"):
    """n fresh, valid 18-character ID numbers (400 per birth date)."""
    out = []
    for i in range(n):
        if i % 400 == 0:
            birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=_day[0])
            _day[0] += 1
        body = "%s%s%03d" % (area, birth.strftime("%Y%m%d"), (i % 400) * 2 + 1)
        out.append(body + check_char(body))
    return out


def bad_check(num):
    c = "10X98765432"[("10X98765432".index(num[-1]) + 1) % 11]
    return num[:-1] + c


def sql1(query):
    rows = pg.sql(query)
    return rows[0][0] if rows else None


def count_residents(where="TRUE"):
    return int(sql1("SELECT count(*) FROM core.resident x WHERE " + where))


def grid_code(grid_id):
    return sql1("SELECT code FROM core.region WHERE id = %d" % grid_id)


def to_csv(header, rows, crlf=True):
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    wr.writerow(header)
    for row in rows:
        wr.writerow(row)
    return buf.getvalue()


def post_csv(token, text, query="", encoding="utf-8", ctype="text/csv", bom=False, timeout=30):
    data = text.encode(encoding) if isinstance(text, str) else text
    if bom:
        data = codecs.BOM_UTF8 + data
    return d.req("POST", IMP + query, token=token, raw=data, headers={"Content-Type": ctype},
                 timeout=timeout)


def post_ndjson(token, objs, query=""):
    text = "\n".join(o if isinstance(o, str) else json.dumps(o, ensure_ascii=False)
                     for o in objs) + "\n"
    return d.req("POST", IMP + query, token=token, raw=text.encode("utf-8"),
                 headers={"Content-Type": "application/x-ndjson"})


def errors_of(r):
    return (r.json or {}).get("errors") or []


def audits(action, username=None):
    q = "SELECT count(*) FROM core.audit WHERE action = '%s' AND entity = 'resident'" % action
    if username:
        q += " AND username = '%s'" % username
    return int(sql1(q))


def grant(role, perm, on=True):
    r = d.req("PUT" if on else "DELETE", "/api/v1/roles/%s/permissions/%s" % (role, perm),
              token=w.admin)
    if r.status != 200:
        raise AssertionError("grant %s %s: %r" % (role, perm, r))


def get_until(path, token, pred, timeout=5):
    """GET path until pred(answer) holds (bounded); the last answer."""
    last = [None]

    def once():
        last[0] = d.get(path, token=token)
        return pred(last[0])

    fx.wait_for(once, timeout)
    return last[0]


def until_status(method, path, want, token, **kw):
    """Grants reach every worker within a second: poll (bounded)."""
    return fx.wait_status(d, method, path, want, 5, token=token, **kw)


ZH = ["姓名", "证件号码", "性别", "出生日期", "联系电话", "人口类型", "网格编码", "户号", "地址",
      "与户主关系"]
GA = grid_code(R.grid_a)
GB = grid_code(R.grid_b)

# --------------------------------------------------------------------------
# 1,000 rows, 3 bad ones: 997 in, 3 row errors with row numbers and fields

nums = idnums(1000)
rows = []
for i, num in enumerate(nums, start=1):
    hh = (i - 1) // 4
    rows.append(["居民%04d" % i, num, "", "", "1380000%04d" % i, "户籍", GA, "H%04d" % hh,
                 "东街道一社区%d号楼" % hh, "户主" if (i - 1) % 4 == 0 else "子女"])
rows[9][1] = bad_check(nums[9])          # row 10: wrong check character
rows[499][3] = "1990-13-45"             # row 500: not a date
rows[998][0] = ""                       # row 999: no name
before = count_residents()
audit_before = audits("import")
t0 = time.monotonic()
r = post_csv(T["district"], to_csv(ZH, rows))
t.status(r, 200, "a 1,000-row CSV with Chinese headers is imported")
j = r.json or {}
t.eq((j.get("received"), j.get("imported"), j.get("error_count")), (1000, 997, 3),
     "997 of 1,000 rows are imported, 3 counted as errors")
t.eq([(e.get("row"), e.get("field")) for e in errors_of(r)],
     [(10, "id_number"), (500, "birth_date"), (999, "name")],
     "each bad row is reported with its row number and the field")
t.ok(all(isinstance(e.get("reason"), str) and e["reason"] for e in errors_of(r)),
     "every row error says why", repr(errors_of(r)))
t.eq(count_residents() - before, 997, "997 residents are in the register")
t.eq(j.get("households_created"), 250, "one household per distinct household number")
t.eq(int(sql1("SELECT count(*) FROM core.household WHERE grid_id = %d AND household_number LIKE "
              "'H%%'" % R.grid_a)), 250, "250 households exist in the grid")
t.eq(int(sql1("SELECT count(DISTINCT household_id) FROM core.resident WHERE name LIKE '居民%%' "
              "AND household_id IS NOT NULL")), 250, "members are linked to their households")
t.eq(int(sql1("SELECT count(*) FROM core.household h JOIN core.resident x ON "
              "x.id = h.head_resident_id WHERE h.household_number LIKE 'H%%' "
              "AND x.relation = '户主'")), 250,
     "the member marked 户主 becomes the head of each new household")
t.eq(sql1("SELECT gender || ' ' || birth_date || ' ' || phone || ' ' || residence_status "
          "FROM core.resident WHERE id_number = '%s'" % nums[0]),
     "male 1940-01-01 13800000001 registered",
     "gender and birth date come from the number; 户籍 is registered")
t.eq(audits("import") - audit_before, 1, "the import is one audit row, not one per resident")
t.eq(sql1("SELECT after->>'imported' FROM core.audit WHERE action = 'import' ORDER BY id DESC "
          "LIMIT 1"), "997", "the audit row records the counts")
t.diag("1,000-row import took %.2f s" % (time.monotonic() - t0))

# A second file with the same household numbers joins the existing households.
more = idnums(2)
r = post_csv(T["district"], to_csv(["姓名", "身份证号", "网格编码", "户号"],
                                    [["新成员甲", more[0], GA, "H0001"],
                                     ["新成员乙", more[1], GA, "H0001"]]))
t.ok(r.status == 200 and (r.json or {}).get("households_created") == 0
     and (r.json or {}).get("imported") == 2,
     "rows naming an existing household number join it (no new household)", repr(r))
t.eq(sql1("SELECT count(*) FROM core.resident x JOIN core.household h ON h.id = x.household_id "
          "WHERE h.household_number = 'H0001' AND h.grid_id = %d" % R.grid_a), "6",
     "the household has its 4 first members and the 2 new ones")

# Heads: a new household's is its first 户主 row that is imported (written
# with the household); one that existed without a head gets the imported
# 户主; one that has a head keeps it.
hn = idnums(7)
old_headless = d.post("/api/v1/households", {"grid_id": R.grid_a, "kind": "registered",
                                             "address": "旧户无主路1号",
                                             "household_number": "HD-OLD"},
                      token=T["district"]).json or {}
headed = sql1("SELECT id FROM core.household WHERE household_number = 'H0002' "
              "AND grid_id = %d" % R.grid_a)
headed_head = sql1("SELECT head_resident_id FROM core.household WHERE id = %s" % headed)
r = post_csv(T["district"], to_csv(
    ["姓名", "身份证号", "网格编码", "户号", "地址", "与户主关系"],
    [["户一子", hn[0], GA, "HD-1", "户头路1号", "子"],
     ["户一坏主", bad_check(hn[1]), GA, "HD-1", "", "户主"],
     ["户一主", hn[2], GA, "HD-1", "", "户主"],
     ["户一次主", hn[3], GA, "HD-1", "", "户主"],
     ["户二无主", hn[4], GA, "HD-2", "户头路2号", "子"],
     ["旧户新主", hn[5], GA, "HD-OLD", "", "户主"],
     ["有主户新主", hn[6], GA, "H0002", "", "户主"]]))
t.ok(r.status == 200 and (r.json or {}).get("imported") == 6
     and (r.json or {}).get("households_created") == 2, "a file naming heads is imported",
     repr(r))


def head_name(number):
    return sql1("SELECT coalesce(x.name, '-') FROM core.household h LEFT JOIN core.resident x "
                "ON x.id = h.head_resident_id WHERE h.grid_id = %d AND h.household_number = '%s'"
                % (R.grid_a, number))


t.eq(head_name("HD-1"), "户一主",
     "a new household's head is its first imported 户主 row (a refused row is skipped)")
t.eq(sql1("SELECT version FROM core.household WHERE household_number = 'HD-1'"), "1",
     "written with the household, in one version")
t.eq(head_name("HD-2"), "-", "a new household without a 户主 row has no head")
t.eq(head_name("HD-OLD"), "旧户新主", "an existing household without a head gets the imported 户主")
t.eq(sql1("SELECT version FROM core.household WHERE id = %d" % old_headless.get("id", 0)),
     str(old_headless.get("version", 1) + 1), "in a new version")
t.eq(sql1("SELECT head_resident_id FROM core.household WHERE id = %s" % headed), headed_head,
     "a household that has a head keeps it")

n1, n2, n3 = idnums(3)
r = post_csv(T["district"], to_csv(["姓名", "证件号码", "网格编码", "户号", "地址"],
                                   [["无址甲", n1, GA, "NOADDR", ""], ["无址乙", n2, GA, "NOADDR", ""],
                                    ["有址", n3, GA, "H0002", ""]]))
t.ok(r.status == 200 and (r.json or {}).get("imported") == 1
     and [(e.get("row"), e.get("field")) for e in errors_of(r)] == [(1, "address"), (2, "address")],
     "a new household number none of whose rows gives an address is a row error (address); "
     "an existing number needs none", repr(r))

# --------------------------------------------------------------------------
# all_or_nothing: one bad row, nothing in

nums = idnums(50)
rows = [["全或无%02d" % i, n, GA, "AON%d" % (i // 5), "全或无路%d号" % (i // 5)]
        for i, n in enumerate(nums)]
rows[30][1] = bad_check(nums[30])
AON = ["姓名", "证件号码", "网格编码", "户号", "地址"]
before = count_residents()
hh_before = int(sql1("SELECT count(*) FROM core.household"))
r = post_csv(T["district"], to_csv(AON, rows), query="?mode=all_or_nothing")
fx.check_error(t, r, 422, "invalid", "all_or_nothing with one bad row is a 422")
t.eq([(e.get("row"), e.get("field")) for e in errors_of(r)], [(31, "id_number")],
     "the 422 lists the bad row")
t.eq(count_residents(), before, "all_or_nothing: no resident was written")
t.eq(int(sql1("SELECT count(*) FROM core.household")), hh_before,
     "all_or_nothing: no household was written")
rows[30][1] = nums[30]
r = post_csv(T["district"], to_csv(AON, rows), query="?mode=all_or_nothing")
t.ok(r.status == 200 and (r.json or {}).get("imported") == 50,
     "the corrected file goes in whole", repr(r))
r = post_csv(T["district"], to_csv(["姓名"], [["x"]]), query="?mode=some")
fx.check_error(t, r, 422, "invalid", "an unknown mode is a 422", field="mode")

# --------------------------------------------------------------------------
# Headers: English names, unknown and missing columns

n1, n2 = idnums(2)
r = post_csv(T["district"], to_csv(["name", "ID_Number", "gender", "phone", "grid_code",
                                    "residence_status", "registered_province"],
                                   [["English One", n1, "male", "+86 139 0000 0001", GA,
                                     "floating", "河北省"],
                                    ["English Two", n2, "", "", GA, "resident", ""]]))
t.ok(r.status == 200 and (r.json or {}).get("imported") == 2,
     "English headers (any case) are understood", repr(r))
t.eq(sql1("SELECT residence_status || ' ' || registered_province || ' ' || phone FROM "
          "core.resident WHERE id_number = '%s'" % n1), "floating 河北省 13900000001",
     "English values are taken as the API takes them")
r = post_csv(T["district"], to_csv(["姓名", "证件号码", "爱好", "shoe_size"],
                                   [["甲", idnums(1)[0], "x", "42"]]))
fx.check_error(t, r, 422, "invalid", "unknown columns refuse the whole file", field="columns")
t.ok(set((r.json or {}).get("unknown_columns") or []) == {"爱好", "shoe_size"}
     and "爱好" in fx.error_of(r).get("message", ""),
     "the 422 lists every unknown column", repr(r))
r = post_csv(T["district"], to_csv(["证件号码", "网格编码"], [[idnums(1)[0], GA]]))
fx.check_error(t, r, 422, "invalid", "a file without a name column is refused", field="columns")
r = post_csv(T["district"], to_csv(["姓名", "name"], [["甲", "乙"]]))
fx.check_error(t, r, 422, "invalid", "a column given twice is refused", field="columns")

# --------------------------------------------------------------------------
# CSV details: quotes, embedded newlines and commas, BOM, CRLF, spreadsheet dates

n1, n2, n3 = idnums(3)
text = ("姓名,证件号码,网格编码,户号,地址,户类型,出生日期\r\n"
        "\"王, 小明\",%s,%s,Q1,\"东城区\n幸福路 1 号, 3 单元\",租住户,\r\n"
        "李小红,%s,%s,Q1,,,\r\n"
        "赵六,%s,%s,Q2,,,1940/13/01\r\n" % (n1, GA, n2, GA, bad_check(n3), GA))
r = post_csv(T["district"], text)
t.ok(r.status == 200 and (r.json or {}).get("imported") == 2,
     "a quoted field with a comma and a line break is one field", repr(r))
t.eq(sql1("SELECT name FROM core.resident WHERE id_number = '%s'" % n1), "王, 小明",
     "the comma stays inside the name")
t.eq(pg.sql("SELECT replace(h.address, chr(10), '<LF>'), h.kind FROM core.household h "
            "JOIN core.resident x ON x.household_id = h.id WHERE x.id_number = '%s'" % n2),
     [("东城区<LF>幸福路 1 号, 3 单元", "rented")],
     "the line break survives in the household's address; 租住户 is rented")
t.eq([e.get("row") for e in errors_of(r)], [3],
     "row numbers count records, not lines (the quoted line break is inside record 1)")

n1, n2 = idnums(2)
r = post_csv(T["district"], to_csv(["姓名", "证件号码", "网格编码", "出生日期"],
                                   [["带BOM", n1, GA, n1[6:10] + "/" + str(int(n1[10:12])) + "/"
                                     + str(int(n1[12:14]))],
                                    ["带BOM二", n2, GA, n2[6:14]]]), bom=True)
t.ok(r.status == 200 and (r.json or {}).get("imported") == 2,
     "a UTF-8 BOM is skipped; 1940/1/2 and 19400102 dates are understood", repr(r))
r = post_csv(T["district"], "姓名,证件号码\n\"未结束,%s\n" % idnums(1)[0])
fx.check_error(t, r, 400, "malformed_csv", "an unterminated quoted field is a 400")

# --------------------------------------------------------------------------
# Encodings: GBK refused with a clear message, converted when asked

n1, n2 = idnums(2)
gbk_text = to_csv(["姓名", "证件号码", "网格编码", "民族"],
                  [["欧阳娜娜", n1, GA, "汉族"], ["钱塘江", n2, GA, "回族"]])
before = count_residents()
r = post_csv(T["district"], gbk_text, encoding="gbk")
t.ok(r.status == 415 and fx.code_of(r) == "encoding"
     and "file is not UTF-8; if it is GBK, send ?encoding=gbk" in fx.error_of(r)["message"],
     "a GBK file without ?encoding is refused, saying how to send it", repr(r))
t.eq(count_residents(), before, "nothing of the GBK file was imported as mojibake")
r = post_csv(T["district"], gbk_text, encoding="gbk", query="?encoding=gbk")
t.ok(r.status == 200 and (r.json or {}).get("imported") == 2, "with ?encoding=gbk it is "
     "converted and imported", repr(r))
t.eq(pg.sql("SELECT name, ethnicity FROM core.resident WHERE id_number IN ('%s', '%s') "
            "ORDER BY name" % (n1, n2)), [("欧阳娜娜", "汉族"), ("钱塘江", "回族")],
     "names and values converted from GBK are correct")
n1 = idnums(1)[0]
r = post_csv(T["district"], to_csv(["姓名", "证件号码", "网格编码"], [["龚自珍", n1, GA]]),
             encoding="gb18030", ctype="text/csv; charset=GB18030")
t.ok(r.status == 200 and sql1("SELECT name FROM core.resident WHERE id_number = '%s'" % n1)
     == "龚自珍", "charset=GB18030 in the Content-Type converts as well", repr(r))
r = post_csv(T["district"], "姓名\n甲\n".encode("utf-16"))
fx.check_error(t, r, 415, "encoding", "a UTF-16 file is refused")
r = post_csv(T["district"], to_csv(["姓名"], [["甲"]]), query="?encoding=big5")
fx.check_error(t, r, 422, "invalid", "an unknown encoding is a 422", field="encoding")

# --------------------------------------------------------------------------
# Content types

r = d.post(IMP, {"name": "x"}, token=T["district"])
fx.check_error(t, r, 415, "unsupported_media_type", "a JSON body is a 415")
r = post_csv(T["district"], to_csv(["姓名"], [["x"]]), ctype="application/octet-stream")
fx.check_error(t, r, 422, "invalid", "application/octet-stream needs ?format", field="format")
n1 = idnums(1)[0]
r = post_csv(T["district"], to_csv(["姓名", "证件号码", "网格编码"], [["八位组", n1, GA]]),
             ctype="application/octet-stream", query="?format=csv")
t.ok(r.status == 200 and (r.json or {}).get("imported") == 1,
     "application/octet-stream with ?format=csv is imported", repr(r))
r = post_csv(T["district"], "", ctype="text/csv")
fx.check_error(t, r, 422, "invalid", "an empty file is a 422", field="body")
r = post_csv(T["grid_a"], to_csv(["姓名"], [["x"]]))
fx.check_error(t, r, 403, "forbidden", "a grid worker needs residents.import (granted below)")

# --------------------------------------------------------------------------
# NDJSON

n1, n2, n3, n4 = idnums(4)
objs = [
    {"name": "流水一", "id_number": n1, "grid_id": R.grid_a, "phone": "13700000001",
     "household_number": "ND1", "address": "幸福路2号", "household_kind": "registered",
     "relation": "户主"},
    {"name": "流水二", "id_number": n2, "grid_id": R.grid_a, "phone": "12345"},
    "",
    {"name": "流水三", "id_type": "resident_id", "id_number": n3, "grid_code": GA,
     "household_number": "ND1", "relation": "配偶"},
    "{not json",
    {"name": "流水四", "id_number": n4, "grid_id": R.grid_a, "shoe": 42},
    [1, 2],
    {"name": "流水五", "grid_id": R.grid_a, "hair": "long"},
]
r = post_ndjson(T["district"], objs)
t.ok(r.status == 200 and (r.json or {}).get("imported") == 2
     and (r.json or {}).get("received") == 7 and (r.json or {}).get("households_created") == 1,
     "NDJSON rows with API field names are imported (blank lines skipped)", repr(r))
t.eq([(e.get("row"), e.get("field")) for e in errors_of(r)],
     [(2, "phone"), (5, "row"), (6, "shoe"), (7, "row"), (8, "hair")],
     "NDJSON errors name the line and the field (bad phone, bad JSON, unknown field, not an "
     "object)")
t.eq(sql1("SELECT count(*) FROM core.resident x JOIN core.household h ON h.id = x.household_id "
          "WHERE h.household_number = 'ND1'"), "2", "NDJSON rows share their household")

# --------------------------------------------------------------------------
# Duplicates: within the file and against the register

n1, n2 = idnums(2)
existing = nums[0]  # imported above (all_or_nothing file)
r = post_csv(T["district"], to_csv(["姓名", "证件号码", "网格编码"],
                                   [["重复甲", n1, GA], ["重复乙", n1.lower(), GA],
                                    ["已登记", existing, GA], ["新人", n2, GA]]))
t.ok(r.status == 200 and (r.json or {}).get("imported") == 2,
     "the first of two equal numbers and a new one are imported", repr(r))
errs = {e.get("row"): e for e in errors_of(r)}
t.ok(errs.get(2, {}).get("field") == "id_number"
     and errs[2].get("reason", "").startswith("duplicate") and "row 1" in errs[2]["reason"],
     "a number repeated in the file is a row error naming the first row", repr(errors_of(r)))
t.ok(errs.get(3, {}).get("field") == "id_number" and errs[3].get("reason") == "duplicate",
     "a number already registered is a row error 'duplicate'", repr(errors_of(r)))
t.ok("existing" not in json.dumps(r.json), "the duplicate error does not give the existing id")

# A failing plugin hook (faulty rejects residents named FAIL-HOOK) rolls it all back.
before = count_residents()
r = post_csv(T["district"], to_csv(["姓名", "证件号码", "网格编码"],
                                   [["钩子前", idnums(1)[0], GA], ["FAIL-HOOK", idnums(1)[0], GA]]))
t.ok(r.status == 422 and "faulty" in r.text, "resident.created hooks run for imported rows; "
     "one that fails fails the import, naming the plugin", repr(r))
t.eq(count_residents(), before, "nothing of that import remains")

# --------------------------------------------------------------------------
# Scope: a grid worker imports into its own grid only

grant("grid_worker", "residents.import")
grant("grid_worker", "residents.export")
r = until_status("POST", IMP, 200, T["grid_a"], raw=to_csv(["姓名"], [["空"]]).encode(),
                 headers={"Content-Type": "text/csv"})
n1, n2, n3 = idnums(3)
before_b = count_residents("grid_id = %d" % R.grid_b)
r = post_csv(T["grid_a"], to_csv(["姓名", "证件号码", "网格编码", "grid_id"],
                                 [["本网格", n1, "", ""], ["越界甲", n2, GB, ""],
                                  ["越界乙", n3, "", str(R.grid_b)]]))
t.ok(r.status == 200 and (r.json or {}).get("imported") == 1,
     "a grid worker's rows without a grid land in its own grid", repr(r))
t.eq(sql1("SELECT grid_id FROM core.resident WHERE id_number = '%s'" % n1), str(R.grid_a),
     "the row without a grid is in the worker's grid")
t.eq(sorted((e.get("row"), e.get("field")) for e in errors_of(r)),
     [(2, "grid_code"), (3, "grid_id")],
     "rows naming another grid are row errors (grid not in scope)")
t.ok(all("scope" in e.get("reason", "") for e in errors_of(r)), "the reason says scope",
     repr(errors_of(r)))
t.eq(count_residents("grid_id = %d" % R.grid_b), before_b, "nothing landed in grid B")
r = post_csv(T["district"], to_csv(["姓名", "证件号码"], [["无网格", idnums(1)[0]]]))
t.eq([(e.get("row"), e.get("field")) for e in errors_of(r)], [(1, "grid_code")],
     "a district user's row without a grid is a row error")

# --------------------------------------------------------------------------
# Export: scope, formats, masking and its audit

def parse_csv_export(r):
    text = r.body.decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def in_scope_count(region_id):
    return int(sql1("SELECT count(*) FROM core.resident x JOIN core.region g ON g.id = x.grid_id "
                    "WHERE g.path <@ (SELECT path FROM core.region WHERE id = %d)" % region_id))


# Some residents elsewhere, one deceased.
rb = idnums(3)
r = post_csv(T["district"], to_csv(["姓名", "证件号码", "网格编码", "联系电话"],
                                   [["乙网格一", rb[0], GB, "13911112222"],
                                    ["乙网格二", rb[1], GB, ""],
                                    ["西街道人", rb[2], grid_code(R.grid_w), ""]]))
t.status(r, 200, "residents in other grids are imported")
dead = sql1("SELECT id FROM core.resident WHERE id_number = '%s'" % rb[1])
pg.sql("UPDATE core.resident SET life_status = 'deceased', life_status_date = '2020-01-01' "
       "WHERE id = %s" % dead)

exp_before = audits("export_sensitive", "grid_a")
r = until_status("GET", EXP + "?format=ndjson", 200, T["grid_a"])
t.status(r, 200, "a grid worker exports its grid as NDJSON")
t.ok(r.headers.get("content-type", "").startswith("application/x-ndjson"),
     "NDJSON content type", repr(r.headers))
lines = [json.loads(line) for line in r.text.splitlines() if line]
t.eq(len(lines), in_scope_count(R.grid_a), "every resident of grid A, once")
t.ok(all(o.get("grid_id") == R.grid_a for o in lines), "only grid A's residents")
t.ok(all(not str(o.get("id_number") or "").count("*") for o in lines),
     "a grid worker sees its grid's ID numbers in full")
t.eq(audits("export_sensitive", "grid_a") - exp_before, 1,
     "the unmasked export is one audit row")
ref = d.get("/api/v1/residents/%d" % lines[0]["id"], token=T["grid_a"])
t.eq(lines[0], ref.json, "an NDJSON line is the resident exactly as GET /residents/{id} shows it")
r = d.get(EXP + "?format=ndjson&region=%d" % R.grid_b, token=T["grid_a"])
fx.check_error(t, r, 404, "not_found", "grid A's worker cannot export grid B (404)")
r = d.get(EXP + "?format=ndjson", token=T["grid_b"])
t.ok(r.status == 200 and rb[0] in r.text and nums[0] not in r.text,
     "grid B's worker gets grid B, not grid A", repr(r)[:300])

before_aud = audits("export_sensitive")
r = d.get(EXP, token=T["community_e1"])
t.status(r, 200, "a community exports its scope as CSV")
t.ok(r.body.startswith(codecs.BOM_UTF8), "the CSV starts with a UTF-8 BOM (for Excel)")
t.ok(r.headers.get("content-type", "").startswith("text/csv"), "CSV content type")
table = parse_csv_export(type("X", (), {"body": r.body[3:]})())
t.eq(table[0][:4], ["编号", "姓名", "证件类型", "证件号码"], "Chinese headers by default")
body = table[1:]
t.eq(len(body), in_scope_count(R.comm_e1), "every resident of the community (default status "
     "all, incl. the deceased)")
col = table[0].index("证件号码")
t.ok(all("*" in row[col] for row in body if row[col]), "without the grant, ID numbers are masked")
pcol = table[0].index("联系电话")
t.ok(any(row[pcol] == "139****2222" for row in body), "and phones are masked")
t.eq(audits("export_sensitive"), before_aud, "a masked export is not audited as sensitive")
t.ok(any(row[table[0].index("生存状态")] == "死亡" for row in body)
     and any(row[table[0].index("人口类型")] == "户籍" for row in body),
     "values are in Chinese under Chinese headers")
t.ok(any(row[1] == "王, 小明" for row in body)
     and any("东城区\n幸福路 1 号, 3 单元" == row[table[0].index("地址")] for row in body),
     "quoted fields round-trip through the export")

r = d.get(EXP + "?headers=en&bom=0&status=active", token=T["community_e1"])
table = parse_csv_export(r)
t.ok(not r.body.startswith(codecs.BOM_UTF8) and table[0][:3] == ["id", "name", "id_type"],
     "?headers=en&bom=0: English headers, no BOM", repr(table[:1]))
t.ok(all(row[table[0].index("life_status")] == "active" for row in table[1:])
     and len(table) - 1 == in_scope_count(R.comm_e1) - 1,
     "?status=active leaves the deceased out")

grant("community", "residents.read_sensitive")
r = get_until(EXP + "?format=ndjson&region=%d" % R.grid_b, T["community_e1"],
              lambda x: x.status == 200 and "*" not in x.text)
t.ok(rb[0] in r.text and "13911112222" in r.text,
     "with residents.read_sensitive granted, the export is in full", repr(r)[:300])
t.ok(audits("export_sensitive", "community_e1") >= 1, "and audited")
grant("community", "residents.read_sensitive", on=False)

r = d.get(EXP + "?format=xml", token=T["district"])
fx.check_error(t, r, 422, "invalid", "an unknown format is a 422", field="format")
r = d.get(EXP + "?status=zombie", token=T["district"])
fx.check_error(t, r, 422, "invalid", "an unknown status is a 422", field="status")
r = d.get(EXP + "?region=abc", token=T["district"])
fx.check_error(t, r, 422, "invalid", "a malformed region is a 422", field="region")

# Re-importing an export (English headers) tells every row is a duplicate.
grant("district", "residents.read_sensitive")
r = get_until(EXP + "?headers=en&region=%d" % R.grid_w, T["district"],
              lambda x: x.status == 200 and "*" not in x.text)
r2 = post_csv(T["district"], r.body)
t.ok(r2.status == 200 and (r2.json or {}).get("imported") == 0
     and [e.get("reason") for e in errors_of(r2)] == ["duplicate"],
     "an export's CSV is accepted back by the import (its extra columns are known)", repr(r2))
grant("district", "residents.read_sensitive", on=False)

# --------------------------------------------------------------------------
# 20,000 rows: bounded time, one audit row

nums = idnums(20000, area="110101")
rows = [["批量%05d" % i, n, GA if (i // 5) % 2 else GB, "B%04d" % (i // 5),
         "批量路%d号" % (i // 5) if i % 5 == 0 else "", "户主" if i % 5 == 0 else "其他"]
        for i, n in enumerate(nums)]
before = count_residents()
aud = audits("import")
t0 = time.monotonic()
r = post_csv(T["district"], to_csv(["姓名", "证件号码", "网格编码", "户号", "地址", "与户主关系"],
                                   rows), timeout=300)
took = time.monotonic() - t0
t.ok(r.status == 200 and (r.json or {}).get("imported") == 20000
     and (r.json or {}).get("households_created") == 4000,
     "20,000 rows and 4,000 households in one request", repr(r))
t.ok(took < 120, "the 20,000-row import completes in bounded time (%.1f s)" % took)
t.eq(count_residents() - before, 20000, "all 20,000 are in the register")
t.eq(audits("import") - aud, 1, "one audit row for the whole file")
t.diag("20,000-row import took %.1f s" % took)
t0 = time.monotonic()
r = d.get(EXP + "?format=csv", token=T["district"], timeout=300)
n_lines = len(parse_csv_export(type("X", (), {"body": r.body[3:]})())) - 1
t.eq(n_lines, count_residents(), "the district's export streams every resident")
t.diag("export of %d residents took %.1f s" % (n_lines, time.monotonic() - t0))

# A daemon whose request_timeout_s is shorter than the import and the
# export: both still answer in full (the connection's timeout restarts when
# the handler is done, instead of dropping a reply the database committed).
d2 = ogtest.Daemon(pg, plugins=["example"],
                   config={"max_body_bytes": 64 * 1024 * 1024, "request_timeout_s": 1})
d2.start()
tok2 = d2.login("district", w.password)
nums = idnums(20000, area="110102")
rows = [["慢%05d" % i, n, GA, "S%04d" % (i // 4), "慢路%d号" % (i // 4)] for i, n in enumerate(nums)]
before = count_residents()
t0 = time.monotonic()
r = d2.req("POST", IMP, token=tok2, raw=to_csv(["姓名", "证件号码", "网格编码", "户号", "地址"],
                                               rows).encode(),
           headers={"Content-Type": "text/csv"}, timeout=300)
took = time.monotonic() - t0
t.ok(r.status == 200 and (r.json or {}).get("imported") == 20000,
     "an import longer than request_timeout_s (%.1f s > 1 s) still gets its answer" % took,
     repr(r))
t.eq(count_residents() - before, 20000, "and its rows are in")
r = d2.get(EXP + "?format=ndjson&bom=0", token=tok2, timeout=300)
t.ok(r.status == 200 and r.body.count(b"\n") == count_residents(),
     "an export longer than request_timeout_s arrives whole", repr(r)[:200])
d2.stop()
d2.check_log_clean(t, "the second daemon's log is clean")

# --------------------------------------------------------------------------
# OpenAPI

r = d.get("/openapi.json")
paths = (r.json or {}).get("paths", {})
imp = paths.get("/api/v1/import/residents", {}).get("post", {})
exp = paths.get("/api/v1/export/residents", {}).get("get", {})
t.ok("text/csv" in json.dumps(imp.get("requestBody"))
     and {"format", "mode", "encoding"} <= {p.get("name") for p in imp.get("parameters", [])},
     "/openapi.json describes the import's body and parameters", repr(imp)[:300])
t.ok({"region", "format", "status", "headers", "bom"}
     <= {p.get("name") for p in exp.get("parameters", [])},
     "/openapi.json describes the export's parameters", repr(exp)[:300])

d.stop()
d.check_log_clean(t)
t.done()

#!/usr/bin/env python3
"""test_reports_facts — indicators in the facts form (ABI 1.3) in a summary.

With the fixture plugin tests/plugins/facts.c (items of known kinds and
amounts in grids A and B of community E1, in grid C of E2 and in grid W of
the west street): GET /api/v1/reports/summary computes each of its figures
from the facts, not from the per-grid `sql` (which answers 1000 a grid on
purpose); counts, filtered counts and summed values are exact for the
region and each child; a grid without items reads 0, and 0.00 for a value
that gives its zero (as in the CSV); rows of the facts outside the region
(a facts_sql that does not filter by region) are left out; the four
indicators over one facts_sql text run it once per summary (the facts
number their rows from a sequence); a change to the data shows in the next
summary.

Not for: the real plugins' figures (their own tests), speed (tests/bench)."""
import csv
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=[], fixtures=["facts"])
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d, users=["district"])
R = w.r
TOK = w.tokens["district"]

pg.sql("INSERT INTO facts.item (grid_id, kind, amount) VALUES "
       "(%d, 'red', 1.50), (%d, 'red', 2.25), (%d, 'blue', NULL), "
       "(%d, 'blue', 4.00), (%d, 'red', 10.00)"
       % (R.grid_a, R.grid_a, R.grid_a, R.grid_c, R.grid_w))


def summary(region, fmt=None):
    q = "/api/v1/reports/summary?region=%d" % region + ("&format=" + fmt if fmt else "")
    return d.get(q, token=TOK)


def values(resp):
    """{region id: values} of a JSON summary."""
    return {row["region"]["id"]: row["values"] for row in (resp.json or {}).get("rows", [])}


def runs():
    """Rows the facts returned since the last reset."""
    last, called = pg.sql("SELECT last_value, is_called FROM facts.runs")[0]
    return int(last) if called == "t" else 0


pg.sql("ALTER SEQUENCE facts.runs RESTART")
r = summary(R.comm_e1)
t.status(r, 200, "summary of community E1")
v = values(r)
t.eq(runs(), 3, "the four indicators over one facts_sql ran it once: 3 rows for E1's 3 items")
t.eq({k: v.get(R.comm_e1, {}).get(k) for k in ("facts.items", "facts.red", "facts.blue")},
     {"facts.items": 3, "facts.red": 2, "facts.blue": 1},
     "E1: counts from the facts (not the 1000 a grid of sql), filtered and unfiltered")
t.eq(v.get(R.comm_e1, {}).get("facts.amount"), 3.75, "E1: amounts summed (a NULL amount is 0.00)")
t.eq(v.get(R.comm_e1, {}).get("facts.amount_red"), 3.75, "E1: filtered and summed")
t.eq({k: v.get(R.grid_a, {}).get(k) for k in ("facts.items", "facts.red", "facts.blue")},
     {"facts.items": 3, "facts.red": 2, "facts.blue": 1}, "grid A's row")
t.eq({k: v.get(R.grid_b, {}).get(k) for k in
      ("facts.items", "facts.red", "facts.blue", "facts.amount", "facts.amount_red")},
     {"facts.items": 0, "facts.red": 0, "facts.blue": 0, "facts.amount": 0,
      "facts.amount_red": 0}, "grid B, without items, reads 0 everywhere")

r = summary(R.comm_e1, "csv")
t.status(r, 200, "the same as CSV")
rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
head = rows[0] if rows else []
col = {h: i for i, h in enumerate(head)}
by_name = {row[0]: row for row in rows[1:]}
b = by_name.get(fx.REGION_NAMES["grid_b"], [])
t.ok(b and b[col.get("金额(元)", 0)] == "0.00" and b[col.get("红色金额(元)", 0)] == "0",
     "grid B: the value that gives its zero reads 0.00, the one that does not reads 0",
     repr(b))
a = by_name.get(fx.REGION_NAMES["grid_a"], [])
t.ok(a and a[col.get("金额(元)", 0)] == "3.75", "grid A: 3.75 in the CSV", repr(a))

pg.sql("ALTER SEQUENCE facts.runs RESTART")
r = summary(R.district)
t.status(r, 200, "summary of the district")
v = values(r)
t.eq(runs(), 5, "the district's facts ran once too: its 5 items")
t.eq({k: v.get(R.district, {}).get(k) for k in
      ("facts.items", "facts.red", "facts.blue", "facts.amount", "facts.amount_red")},
     {"facts.items": 5, "facts.red": 3, "facts.blue": 2, "facts.amount": 17.75,
      "facts.amount_red": 13.75}, "district totals")
t.eq({k: v.get(R.street_w, {}).get(k) for k in ("facts.items", "facts.blue", "facts.amount")},
     {"facts.items": 1, "facts.blue": 0, "facts.amount": 10.0}, "the west street's row")

r = summary(R.grid_c)
t.eq({k: values(r).get(R.grid_c, {}).get(k) for k in ("facts.items", "facts.blue")},
     {"facts.items": 1, "facts.blue": 1},
     "grid C: the blue item counted once although its facts_sql does not filter by region")

pg.sql("INSERT INTO facts.item (grid_id, kind, amount) VALUES (%d, 'red', 0.25)" % R.grid_b)
v = values(summary(R.comm_e1))
t.eq((v.get(R.grid_b, {}).get("facts.red"), v.get(R.comm_e1, {}).get("facts.amount")), (1, 4.0),
     "a new item shows in the next summary")

d.check_log_clean(t)
t.done()

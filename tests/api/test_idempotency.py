#!/usr/bin/env python3
"""test_idempotency — Idempotency-Key on POST, as a grid worker's phone on a
bad connection uses it: a retried registration returns the first answer
(same status, same id) and leaves one row; the same key with another body
is a 422; keys belong to their user; two retries racing each other still
make one row; a request that failed is not remembered, so the corrected
request may reuse its key; a retried life event is recorded once.

Not for: the resident rules themselves (test_residents.py)."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example"], workers=4)
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d, users=["district", "community_e1", "grid_a", "grid_b"])
R = w.r
T = w.tokens
RES = "/api/v1/residents"

_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_seq = [200]


def idnum(birth="19800101"):
    """A fresh valid 18-character resident ID number."""
    _seq[0] += 1
    body = "110105%s%03d" % (birth, _seq[0] % 1000)
    return body + "10X98765432"[sum(int(c) * k for c, k in zip(body, _W)) % 11]


def post(body, key, token, path=RES):
    return d.post(path, body, token=token, headers={"Idempotency-Key": key})


def count(where):
    return int(pg.sql("SELECT count(*) FROM core.resident WHERE " + where)[0][0])


# --- a retry returns the first answer ---------------------------------------------------
num = idnum()
body = {"name": "重试一", "id_number": num, "grid_id": R.grid_a, "phone": "13811112222"}
r1 = post(body, "key-1", T["grid_a"])
t.status(r1, 201, "the first POST with a key creates the resident")
r2 = post(body, "key-1", T["grid_a"])
t.ok(r2.status == 201 and (r2.json or {}).get("id") == (r1.json or {}).get("id")
     and r2.json == r1.json, "the retry answers the same status and body (same id)", repr(r2))
t.eq(r2.headers.get("idempotent-replayed"), "true", "and says it was replayed")
t.eq(count("id_number = '%s'" % num), 1, "one row")
r3 = post(dict(reversed(list(body.items()))), "key-1", T["grid_a"])
t.ok(r3.status == 201 and (r3.json or {}).get("id") == (r1.json or {}).get("id"),
     "the same body with its members in another order is the same request", repr(r3))

# --- the same key for something else -----------------------------------------------------
r = post(dict(body, name="重试二"), "key-1", T["grid_a"])
fx.check_error(t, r, 422, "idempotency_key_reused", "the same key with another body is 422")
t.eq(count("name = '重试二'"), 0, "and creates nothing")

# --- keys are per user -------------------------------------------------------------------
num2 = idnum()
r = post({"name": "另一人", "id_number": num2, "grid_id": R.grid_a}, "key-1",
         T["community_e1"])
t.status(r, 201, "another user may use the same key for its own request")
t.ok((r.json or {}).get("id") != (r1.json or {}).get("id"), "and gets its own resident")
t.eq(count("id_number = '%s'" % num2), 1, "one row for it")
r = post({"name": "另一人", "id_number": num2, "grid_id": R.grid_a}, "key-1",
         T["community_e1"])
t.ok(r.status == 201 and (r.json or {}).get("id") is not None,
     "whose retry is replayed to it as well", repr(r))

# --- without a key, a repeat is simply a duplicate -------------------------------------
r = d.post(RES, body, token=T["grid_a"])
fx.check_error(t, r, 409, "duplicate", "the same body without a key is a duplicate",
               field="id_number")

# --- concurrent retries ------------------------------------------------------------------
for round_no in range(5):
    num3 = idnum("19900909")
    body3 = {"name": "并发%d" % round_no, "id_number": num3, "grid_id": R.grid_a}
    answers = [None] * 4
    start = threading.Barrier(len(answers))

    def run(i, body3=body3, answers=answers, start=start, round_no=round_no):
        start.wait(10)
        answers[i] = post(body3, "race-%d" % round_no, T["grid_a"])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(answers))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    ids = {(a.json or {}).get("id") for a in answers if a is not None}
    t.ok(all(a is not None and a.status == 201 for a in answers) and len(ids) == 1
         and None not in ids,
         "round %d: %d concurrent posts with one key all answer 201 with the same id"
         % (round_no, len(answers)), repr(answers))
    t.eq(count("id_number = '%s'" % num3), 1, "round %d: one row" % round_no)

# --- failures are not remembered --------------------------------------------------------
num4 = idnum()
r = post({"name": "失败后", "id_number": num4, "grid_id": R.grid_b}, "key-fail", T["grid_a"])
fx.check_error(t, r, 422, None, "a request that fails (grid out of scope)", field="grid_id")
r = post({"name": "失败后", "id_number": num4, "grid_id": R.grid_a}, "key-fail", T["grid_a"])
t.status(r, 201, "the corrected request with the same key runs")
t.eq(count("id_number = '%s'" % num4), 1, "and creates the row")
first_id = (r.json or {}).get("id")
r = post({"name": "失败后", "id_number": num4, "grid_id": R.grid_a}, "key-fail", T["grid_a"])
t.ok(r.status == 201 and (r.json or {}).get("id") == first_id,
     "and from then on the key replays it", repr(r))
r = post({"name": "失败后", "id_number": num4, "grid_id": R.grid_b}, "key-fail", T["grid_a"])
fx.check_error(t, r, 422, "idempotency_key_reused", "and refuses the failed body now")

# --- a retried life event is recorded once ---------------------------------------------
rid = (r1.json or {}).get("id")
ev = "%s/%d/events" % (RES, rid)
e1 = post({"kind": "moved_out", "occurred_on": "2024-01-15"}, "ev-1", T["grid_a"], path=ev)
e2 = post({"kind": "moved_out", "occurred_on": "2024-01-15"}, "ev-1", T["grid_a"], path=ev)
t.ok(e1.status == 201 and e2.status == 201 and e1.json == e2.json,
     "a retried event answers the first result", repr((e1, e2)))
t.eq(pg.sql("SELECT count(*) FROM core.resident_event WHERE resident_id = %d" % rid)[0][0], "1",
     "and is recorded once")
e3 = d.post(ev, {"kind": "moved_out", "occurred_on": "2024-01-15"}, token=T["grid_a"])
fx.check_error(t, e3, 409, None, "without the key the same event is refused (already moved out)")

# --- a bad key ---------------------------------------------------------------------------
r = post({"name": "坏键", "grid_id": R.grid_a}, "x" * 201, T["grid_a"])
fx.check_error(t, r, 400, None, "a key over 200 characters is refused")
t.eq(count("name = '坏键'"), 0, "and nothing is created")

# --- a CSV import (a body that is not JSON) is told apart by its bytes ------------------------
def csv_import(text, key):
    return d.req("POST", "/api/v1/import/residents", raw=text.encode("utf-8"), token=w.tokens["community_e1"],
                 headers={"Content-Type": "text/csv", "Idempotency-Key": key})


CSV1 = "姓名,网格编码\n导入甲,%s\n" % pg.sql("SELECT code FROM core.region WHERE id = %d" % w.r.grid_a)[0][0]
CSV2 = CSV1 + "导入乙,%s\n" % pg.sql("SELECT code FROM core.region WHERE id = %d" % w.r.grid_a)[0][0]
r1 = csv_import(CSV1, "imp-1")
t.status(r1, 200, "a CSV import with a key runs")
r2 = csv_import(CSV1, "imp-1")
t.ok(r2.status == 200 and r2.json == r1.json and r2.headers.get("idempotent-replayed") == "true",
     "the same file with the same key replays the first answer", repr(r2))
t.eq(count("name = '导入甲'"), 1, "and imports nothing twice")
r3 = csv_import(CSV2, "imp-1")
fx.check_error(t, r3, 422, "idempotency_key_reused", "a different file with the same key is a 422")
t.eq(count("name = '导入乙'"), 0, "and imports nothing")

d.check_log_clean(t)
t.done()

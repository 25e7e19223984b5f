#!/usr/bin/env python3
"""test_civil — the civil affairs (民政) plugin end to end, against the real
daemon loading plugins ["example", "civil"]:

  - a 低保 case walked from application through household investigation,
    public notice, approval and activation to a periodic review, a
    suspension and a resumption, each step dated, by whom, with its reason;
  - every illegal step refused with 409 and the allowed next steps; each
    step refused to a role without its permission; approval during the
    public notice refused naming the end date; approval with documents
    missing refused naming them;
  - a member's death (POST /residents/{id}/events) flags the case for
    review with the reason, and the 低保户 tag follows: cleared for the
    member who died, kept for the others, cleared for everyone when a case
    is suspended or terminated, set again when it resumes; a member who
    changes household and a 特困 person who moves out likewise;
  - the incomplete-documents list and the elderly eligibility list exact
    on a known population, including the per-district age setting;
  - the indicators (through GET /api/v1/reports/summary when the reports
    engine is there, and always by running the plugin's own indicator SQL
    with psql) and the ledgers with exact figures;
  - scope (another grid's case is a 404), a district that disables the
    plugin gets 404 from its routes, /openapi.json describes the routes;
  - the plugin built out of tree against `make install prefix=<tmp>` with
    the installed sql2c.sh and pkg-config file, exporting og_plugin_desc
    only.

Not for: the shared model's own rules (test_residents.py,
test_households.py) or the reports engine's rendering (its own tests).
Households and residents are inserted with SQL (fast, and no dependency on
the import routes); life events go through the API because that is what
fires the hooks."""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures as fx  # noqa: E402
import ogtest  # noqa: E402

t = ogtest.TAP()
SRC = fx.srcdir()
BUILD = ogtest.BUILDDIR
pg = ogtest.Postgres()
d = ogtest.Daemon(pg, plugins=["example", "civil"])
d.migrate()
d.create_admin(password="Admin-pass-2024")
d.start()
w = fx.setup(pg, d)
R = w.r
T = w.tokens
C = "/api/v1/civil/cases"


def sql1(query):
    rows = pg.sql(query)
    return rows[0][0] if rows else None


def q(s):
    return "'" + str(s).replace("'", "''") + "'"


TODAY = datetime.date.fromisoformat(sql1("SELECT current_date"))


def day(n):
    return (TODAY + datetime.timedelta(days=n)).isoformat()


def months_later(date, months):
    return sql1("SELECT (%s::date + make_interval(months => %d))::date" % (q(date), months))


def household(grid, address):
    return int(sql1("INSERT INTO core.household (grid_id, kind, address) VALUES (%d, 'registered', "
                    "%s) RETURNING id" % (grid, q(address))))


def resident(name, grid, hh=None, birth="1970-01-01", relation=None, gender="male",
             life="active", head=False):
    rid = int(sql1(
        "INSERT INTO core.resident (name, id_type, residence_status, grid_id, household_id, "
        "relation, gender, birth_date, life_status) VALUES (%s, 'none', 'registered', %d, %s, "
        "%s, %s, %s, %s) RETURNING id"
        % (q(name), grid, "NULL" if hh is None else hh, "NULL" if relation is None else q(relation),
           q(gender), "NULL" if birth is None else birth if birth.startswith("(") else q(birth),
           q(life))))
    if head:
        pg.sql("UPDATE core.household SET head_resident_id = %d WHERE id = %d" % (rid, hh))
    return rid


def tags_of(rid, tag):
    """source of tag on resident rid, or None."""
    rows = pg.sql("SELECT coalesce(source, '') FROM core.resident_tag WHERE resident_id = %d "
                  "AND tag = %s" % (rid, q(tag)))
    return rows[0][0] if rows else None


def step(cid, to, token, **body):
    body["to"] = to
    return d.post("%s/%d/transitions" % (C, cid), body, token=token)


def doc(cid, code, token, **body):
    body["code"] = code
    return d.post("%s/%d/documents" % (C, cid), body, token=token)


def get_case(cid, token=None):
    return d.get("%s/%d" % (C, cid), token=token or w.admin)


def backdate_notice(cid, days=10):
    """Time passes: the public notice started `days` days ago."""
    pg.sql("UPDATE civil.benefit_case SET notice_start = notice_start - %d WHERE id = %d"
           % (days, cid))


DOCS = {"dibao": ["application", "id_card", "hukou", "income", "property", "investigation"],
        "tekun": ["application", "id_card", "hukou", "income", "incapacity", "investigation"],
        "elderly": ["application", "id_card", "hukou", "bank"],
        "disability": ["application", "id_card", "disability_cert", "hukou"]}


def walk_to_active(cid, programme, writer, investigator, approver, amount=None, name=""):
    """application -> ... -> active in the fewest calls; one TAP line."""
    rs = [step(cid, "investigation", investigator)]
    body = {"notice_start": TODAY.isoformat()}
    if amount is not None:
        body["monthly_amount_fen"] = amount
    rs.append(step(cid, "public_notice", investigator, **body))
    backdate_notice(cid)
    for code in DOCS[programme]:
        rs.append(doc(cid, code, writer))
    rs.append(step(cid, "approved", approver))
    rs.append(step(cid, "active", approver))
    good = all(r.status in (200, 201) for r in rs) and rs[-1].json.get("status") == "active"
    t.ok(good, "%s: walked to active" % name, "\n".join(repr(r) for r in rs))
    return rs[-1].json or {}


# ============================================================================
# programmes
r = d.get("/api/v1/civil/programmes", token=T["grid_a"])
t.status(r, 200, "a grid worker reads the programmes")
progs = {p["code"]: p for p in fx.items_of(r)}
t.eq(sorted(progs), ["dibao", "disability", "elderly", "tekun"], "four programmes")
t.ok(progs.get("dibao", {}).get("unit") == "household" and progs["tekun"]["unit"] == "person"
     and progs["dibao"]["name"] == "城乡最低生活保障" and progs["dibao"]["notice_days"] == 7,
     "低保 is by household, 特困 by person, 公示 7 days", repr(progs.get("dibao")))
t.eq({c: [x["code"] for x in p["documents"]] for c, p in progs.items()}, DOCS,
     "each programme lists its document checklist")
t.eq(progs["elderly"]["default_amount_fen"], 10000, "the elderly allowance has a standard amount "
     "in fen (100 yuan)")

# ============================================================================
# the 低保 walk: H1 in grid A, three members
h1 = household(R.grid_a, "幸福路1号3单元201")
h1_head = resident("张建国", R.grid_a, h1, "1968-03-02", "户主", head=True)
h1_wife = resident("李秀兰", R.grid_a, h1, "1970-07-15", "配偶", gender="female")
h1_son = resident("张小明", R.grid_a, h1, "2006-09-01", "子")

r = d.post(C, {"programme": "dibao", "household_id": h1, "note": "因病致贫"}, token=T["grid_a"])
t.status(r, 201, "a grid worker starts a 低保 case for a household of its grid")
k1 = r.json or {}
K1 = k1.get("id")
t.ok(k1.get("status") == "application" and k1.get("grid_id") == R.grid_a
     and k1.get("applied_on") == TODAY.isoformat() and k1.get("version") == 1
     and r.headers.get("location") == "%s/%s" % (C, K1),
     "the case starts as an application dated today, in the household's grid", repr(k1))
t.eq(k1.get("allowed_transitions"), ["investigation", "rejected"],
     "allowed_transitions lists the next steps")
t.eq([m["code"] for m in k1.get("missing_documents", [])], DOCS["dibao"],
     "every checklist document is missing at first")
subj = k1.get("subject") or {}
t.ok(subj.get("head_name") == "张建国" and subj.get("member_count") == 3
     and subj.get("address") == "幸福路1号3单元201",
     "the subject is read from the shared model (head's name, members, address)", repr(subj))
t.ok("id_number" not in json.dumps(k1, ensure_ascii=False),
     "a case never carries an ID number")
n = sql1("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'civil' "
         "AND table_name NOT LIKE 'programme%' "
         "AND column_name IN ('name', 'id_number', 'phone', 'address', 'birth_date')")
t.eq(n, "0", "no civil table copies a name, ID number, phone or address")

# create: validation
for body, status, code, field, what in [
    ({"household_id": h1}, 422, "invalid", "programme", "programme is required"),
    ({"programme": "xx", "household_id": h1}, 422, "invalid", "programme", "unknown programme"),
    ({"programme": "dibao", "resident_id": h1_head}, 422, "invalid", "resident_id",
     "低保 is by household: a resident_id is refused"),
    ({"programme": "dibao"}, 422, "invalid", "household_id", "低保 needs household_id"),
    ({"programme": "tekun", "household_id": h1}, 422, "invalid", "household_id",
     "特困 is by person: a household_id is refused"),
    ({"programme": "dibao", "household_id": h1, "monthly_amount": 5}, 422, "invalid",
     "monthly_amount", "an unknown field is named"),
    ({"programme": "dibao", "household_id": "1"}, 422, "invalid", "household_id",
     "household_id must be an integer"),
    ({"programme": "dibao", "household_id": 999999}, 422, "invalid", "household_id",
     "a household that does not exist"),
    ({"programme": "dibao", "household_id": h1, "applied_on": "2024-02-30"}, 422, "invalid",
     "applied_on", "an impossible date"),
    ({"programme": "dibao", "household_id": h1, "applied_on": day(3)}, 422, "invalid",
     "applied_on", "an application in the future"),
    ({"programme": "dibao", "household_id": h1}, 409, "duplicate", "household_id",
     "a second open 低保 case for the same household"),
]:
    r = d.post(C, body, token=T["grid_a"])
    fx.check_error(t, r, status, code, "create: " + what, field=field)
r = d.post(C, {"programme": "dibao", "household_id": h1}, token=T["grid_a"])
t.eq((fx.error_of(r) or {}).get("existing_id"), K1, "the duplicate names the open case")
r = d.post(C, {"programme": "dibao", "household_id": h1}, token=T["grid_b"])
fx.check_error(t, r, 422, "invalid", "grid B's worker cannot start a case for grid A's household",
               field="household_id")
r = d.post(C, {"programme": "dibao", "household_id": h1}, token=T["district"])
fx.check_error(t, r, 403, None, "the district role has no civil.case.write")
r = d.post(C, raw="[1]", headers={"Content-Type": "application/json"}, token=T["grid_a"])
fx.check_error(t, r, 400, None, "a body that is not an object is a 400")

# scope
r = get_case(K1, T["grid_b"])
fx.check_error(t, r, 404, "not_found", "grid B's worker gets 404 for grid A's case")
r = get_case(K1, T["street_w"])
fx.check_error(t, r, 404, "not_found", "the west street gets 404 for an east street case")
r = get_case(K1, T["community_e1"])
t.status(r, 200, "the community reads the case of its grid")
r = d.get(C + "/abc", token=T["grid_a"])
fx.check_error(t, r, 404, None, "a path id that is not a number is a 404")

# steps
r = step(K1, "investigation", T["grid_a"])
fx.check_error(t, r, 403, "forbidden", "a grid worker cannot investigate (civil.case.investigate)")
t.ok("civil.case.investigate" in ((fx.error_of(r) or {}).get("message") or ""),
     "the 403 names the permission", repr(r))
r = step(K1, "approved", T["street_e"])
fx.check_error(t, r, 409, "illegal_transition", "application -> approved is illegal", field="to")
t.eq((fx.error_of(r) or {}).get("allowed"), ["investigation", "rejected"],
     "the 409 gives the allowed next steps inside the error")
r = step(K1, "flying", T["community_e1"])
fx.check_error(t, r, 422, "invalid", "an unknown status is a 422", field="to")
r = d.post("%s/%d/transitions" % (C, K1), {}, token=T["community_e1"])
fx.check_error(t, r, 422, "invalid", "to is required", field="to")
r = step(K1, "investigation", T["community_e1"], version=7)
fx.check_error(t, r, 409, "version_conflict", "a stale version is a 409", field="version")
r = d.post("%s/%d/transitions" % (C, K1), {"to": "investigation"}, token=T["community_e1"],
           headers={"If-Match": '"3"'})
fx.check_error(t, r, 409, "version_conflict", "a stale If-Match is a 409 too", field="version")
r = step(K1, "investigation", T["community_e1"], notice_start=TODAY.isoformat())
fx.check_error(t, r, 422, "invalid", "a notice date does not belong to investigation",
               field="notice_start")
t.eq(get_case(K1).json.get("status"), "application", "the refused steps changed nothing")

r = step(K1, "investigation", T["community_e1"], version=1, reason="入户调查安排")
t.status(r, 200, "the community starts the household investigation")
t.ok(r.json.get("status") == "investigation" and r.json.get("version") == 2,
     "status investigation, version 2", repr(r.json))
r = step(K1, "active", T["street_e"])
fx.check_error(t, r, 409, "illegal_transition", "investigation -> active is illegal")
t.eq((fx.error_of(r) or {}).get("allowed"), ["public_notice", "rejected"],
     "allowed from investigation: public_notice, rejected")
r = step(K1, "public_notice", T["community_e1"], monthly_amount_fen=65000)
fx.check_error(t, r, 422, "invalid", "public notice needs its start date", field="notice_start")
r = step(K1, "public_notice", T["community_e1"], notice_start=TODAY.isoformat())
fx.check_error(t, r, 422, "invalid", "低保 has no standard amount: the amount is required",
               field="monthly_amount_fen")
r = step(K1, "public_notice", T["community_e1"], notice_start=TODAY.isoformat(),
         monthly_amount_fen=650.5)
fx.check_error(t, r, 422, "invalid", "an amount with a fraction is refused (integer fen)",
               field="monthly_amount_fen")
r = step(K1, "public_notice", T["community_e1"], notice_start=TODAY.isoformat(),
         monthly_amount_fen=-1)
fx.check_error(t, r, 422, "invalid", "a negative amount is refused", field="monthly_amount_fen")
r = step(K1, "public_notice", T["community_e1"], notice_start=day(-30),
         monthly_amount_fen=65000)
fx.check_error(t, r, 422, "invalid", "a notice cannot start before the application",
               field="notice_start")
r = step(K1, "public_notice", T["community_e1"], notice_start=TODAY.isoformat(),
         monthly_amount_fen=65000, reason="调查属实")
t.status(r, 200, "the case goes on public notice with the proposed amount")
t.ok(r.json.get("notice_start") == TODAY.isoformat() and r.json.get("notice_days") == 7
     and r.json.get("notice_ends_on") == day(6) and r.json.get("monthly_amount_fen") == 65000,
     "notice from today for the programme's 7 days, ending in 6 days", repr(r.json))

r = step(K1, "approved", T["street_e"])
fx.check_error(t, r, 409, "public_notice_running", "approval during the public notice is refused",
               field="to")
err = fx.error_of(r) or {}
t.ok(err.get("notice_ends_on") == day(6) and err.get("approvable_from") == day(7)
     and day(6) in (err.get("message") or ""),
     "the refusal names the notice's end date", repr(err))
r = step(K1, "approved", T["community_e1"])
fx.check_error(t, r, 403, "forbidden", "the community cannot approve (civil.case.approve)")

backdate_notice(K1)  # ten days pass
r = step(K1, "approved", T["street_e"])
fx.check_error(t, r, 409, "documents_missing", "approval with documents missing is refused")
t.eq((fx.error_of(r) or {}).get("missing"),
     [{"code": c, "label": l} for c, l in zip(
         DOCS["dibao"], ["低保申请书", "家庭成员身份证复印件", "户口簿复印件", "家庭收入证明",
                         "家庭财产申报及经济状况核对授权书", "入户调查表"])],
     "the refusal lists the missing documents")

# documents
r = doc(K1, "passport", T["grid_a"])
fx.check_error(t, r, 422, "invalid", "a document not on the checklist", field="code")
r = doc(K1, "income", T["grid_a"], received_on=day(1))
fx.check_error(t, r, 422, "invalid", "a document received tomorrow", field="received_on")
r = doc(K1, "income", T["grid_a"], received_on="yesterday")
fx.check_error(t, r, 422, "invalid", "a malformed date", field="received_on")
r = doc(K1, "income", T["grid_b"])
fx.check_error(t, r, 404, "not_found", "grid B's worker cannot record documents on grid A's case")
r = doc(K1, "income", T["grid_a"], received_on=day(-3), note="社区开具")
t.status(r, 201, "the grid worker records a document on file")
t.ok(r.json.get("received_on") == day(-3) and r.json.get("label") == "家庭收入证明",
     "with its date and label", repr(r.json))
r = doc(K1, "income", T["grid_a"])
t.status(r, 200, "recording it again replaces the copy (200)")
t.eq(r.json.get("received_on"), TODAY.isoformat(), "with the new date")
for code in DOCS["dibao"]:
    if code != "income":
        doc(K1, code, T["grid_a"])
r = d.delete("%s/%d/documents/hukou" % (C, K1), token=T["grid_a"])
t.status(r, 200, "a document recorded by mistake is removed")
r = d.delete("%s/%d/documents/hukou" % (C, K1), token=T["grid_a"])
fx.check_error(t, r, 404, "not_found", "removing it twice is a 404", field="code")
t.eq([m["code"] for m in get_case(K1).json.get("missing_documents")], ["hukou"],
     "the case now misses exactly the removed document")
doc(K1, "hukou", T["grid_a"])

r = step(K1, "approved", T["street_e"], reason="经审核符合条件")
t.status(r, 200, "the street approves after the notice with every document on file")
t.eq(r.json.get("allowed_transitions"), ["active"], "an approved case can only become active")
t.eq(tags_of(h1_head, "dibao"), None, "no 低保户 tag before the case is active")
r = step(K1, "active", T["street_e"], start_on=day(-60))
fx.check_error(t, r, 422, "invalid", "benefits cannot start before the application",
               field="start_on")
start = day(1)  # the benefit starts tomorrow
r = step(K1, "active", T["street_e"], start_on=start)
t.status(r, 200, "the street starts the benefit")
k1 = r.json or {}
t.ok(k1.get("status") == "active" and k1.get("start_on") == start
     and k1.get("next_review_on") == months_later(start, 6),
     "active from start_on, next review 6 months later", repr(k1))
src = "civil.case:%d" % K1
t.eq([tags_of(x, "dibao") for x in (h1_head, h1_wife, h1_son)], [src] * 3,
     "every member carries the 低保户 tag naming the case")
r = d.get("/api/v1/residents/%d" % h1_wife, token=T["grid_a"])
t.ok(r.status == 200 and "dibao" in (r.json.get("tags") or []),
     "the residents API shows the tag", repr(r))
r = d.req("PUT", "/api/v1/residents/%d/tags/dibao" % h1_head, token=T["grid_a"])
fx.check_error(t, r, 403, "forbidden", "nobody else sets the plugin's tag")
r = d.get("/api/v1/tags", token=T["grid_a"])
owned = {x["code"]: x for x in fx.items_of(r)}
t.ok(owned.get("dibao", {}).get("owner") == "civil" and owned["dibao"]["label"] == "低保户"
     and owned.get("tekun", {}).get("label") == "特困人员",
     "the tag vocabulary shows 低保户 and 特困人员 owned by civil", repr(owned.get("dibao")))
r = step(K1, "approved", T["street_e"])
fx.check_error(t, r, 409, "illegal_transition", "active -> approved is illegal")
t.eq((fx.error_of(r) or {}).get("allowed"), ["review_due", "suspended", "terminated"],
     "allowed from active: review_due, suspended, terminated")

# periodic review
r = step(K1, "review_due", T["community_e1"], reason="定期复核")
t.status(r, 200, "the community opens the periodic review")
t.ok(r.json.get("review_due") is True, "the case reads as due for review", repr(r.json))
r = d.get(C + "?review_due=true", token=T["street_e"])
t.eq([c["id"] for c in fx.items_of(r)], [K1], "?review_due=true lists it")
r = step(K1, "active", T["street_e"], monthly_amount_fen=70000, reason="复核:收入减少,提高标准")
t.status(r, 200, "the review ends with the case active again at a new amount")
t.ok(r.json.get("monthly_amount_fen") == 70000
     and r.json.get("next_review_on") == months_later(TODAY.isoformat(), 6),
     "the new amount, next review 6 months from today", repr(r.json))
r = step(K1, "rejected", T["street_e"])
fx.check_error(t, r, 409, "illegal_transition", "an active case cannot be rejected")
r = step(K1, "suspended", T["street_e"])
fx.check_error(t, r, 422, "invalid", "suspension needs a reason", field="reason")
r = step(K1, "suspended", T["street_e"], reason="外出务工收入待核实")
t.status(r, 200, "the street suspends the case")
t.eq([tags_of(x, "dibao") for x in (h1_head, h1_wife, h1_son)], [None] * 3,
     "a suspended case's tags are cleared")
r = step(K1, "active", T["street_e"], reason="核实后恢复")
t.status(r, 200, "the case resumes")
t.eq([tags_of(x, "dibao") for x in (h1_head, h1_wife, h1_son)], [src] * 3,
     "the tags follow it back")

r = d.get("%s/%d/events" % (C, K1), token=T["community_e1"])
t.status(r, 200, "the case history")
ev = fx.items_of(r)
t.eq([(e["from_status"], e["to_status"]) for e in ev],
     [(None, "application"), ("application", "investigation"), ("investigation", "public_notice"),
      ("public_notice", "approved"), ("approved", "active"), ("active", "review_due"),
      ("review_due", "active"), ("active", "suspended"), ("suspended", "active")],
     "every step is recorded in order")
t.eq([e["by_username"] for e in ev],
     ["grid_a", "community_e1", "community_e1", "street_e", "street_e", "community_e1",
      "street_e", "street_e", "street_e"], "each by whom")
t.ok(all(e["occurred_on"] == TODAY.isoformat() for e in ev), "each dated")
t.eq(ev[6].get("details"), {"amount_before": 65000, "amount_after": 70000},
     "the amount change is said in the history")
t.eq([ev[3]["reason"], ev[7]["reason"]], ["经审核符合条件", "外出务工收入待核实"],
     "with the reasons given")
r = d.get("%s/%d/events?limit=2" % (C, K1), token=T["community_e1"])
t.ok(len(fx.items_of(r)) == 2 and r.json.get("next_cursor"), "events page", repr(r))
r = d.get("%s/%d/events" % (C, K1), token=T["grid_b"])
fx.check_error(t, r, 404, "not_found", "another grid's worker cannot read the history")
n = sql1("SELECT count(*) FROM core.audit WHERE entity = 'civil.case' AND entity_id = '%d' "
         "AND action = 'transition'" % K1)
t.eq(n, "8", "every step is audited")
n = sql1("SELECT count(*) FROM core.audit WHERE entity = 'civil.case' AND entity_id = '%d' "
         "AND action IN ('create', 'document.record', 'document.remove')" % K1)
t.eq(n, "10", "the creation and each document write are audited")

# ============================================================================
# a member dies: the case is flagged for review, the tag follows
r = d.post("/api/v1/residents/%d/events" % h1_wife,
           {"kind": "deceased", "occurred_on": day(-2)}, token=T["grid_a"])
t.status(r, 201, "the grid worker records the wife's death")
k1 = get_case(K1).json or {}
t.eq(k1.get("status"), "review_due", "the active case is flagged for review")
t.eq(k1.get("monthly_amount_fen"), 70000, "its amount is not silently changed")
fl = [f for f in k1.get("flags", []) if f["resolved_at"] is None]
t.ok(len(fl) == 1 and fl[0]["kind"] == "member_deceased" and fl[0]["resident_id"] == h1_wife
     and fl[0]["occurred_on"] == day(-2) and day(-2) in fl[0]["reason"],
     "the flag says who died and when", repr(fl))
ev = fx.items_of(d.get("%s/%d/events" % (C, K1), token=w.admin))
t.ok(ev[-1]["to_status"] == "review_due" and ev[-1]["by_username"] == "grid_a"
     and (ev[-1].get("details") or {}).get("automatic") is True
     and str(h1_wife) in (ev[-1].get("reason") or ""),
     "the automatic step is recorded with the reason", repr(ev[-1]))
t.eq([tags_of(x, "dibao") for x in (h1_head, h1_wife, h1_son)], [src, None, src],
     "the member who died loses the tag; the others keep it while under review")
members = {m["resident_id"]: m for m in k1.get("members", [])}
t.ok(members.get(h1_wife, {}).get("counted") is False and members[h1_head]["counted"] is True
     and members[h1_wife]["life_status"] == "deceased",
     "the members list shows who is still counted", repr(members))
n = sql1("SELECT count(*) FROM core.audit WHERE entity = 'civil.case' AND entity_id = '%d' "
         "AND action = 'flag'" % K1)
t.eq(n, "1", "the flag is audited")
r = step(K1, "active", T["street_e"], monthly_amount_fen=50000, reason="复核:家庭人口减少")
t.status(r, 200, "the review ends: active for two members at a new amount")
k1 = r.json or {}
t.ok(k1.get("open_flags") == 0 and all(f["resolution"] == "active" for f in k1["flags"]),
     "the flag is resolved by the review", repr(k1.get("flags")))
t.eq(sorted(m["resident_id"] for m in k1.get("members", []) if m["counted"]),
     sorted([h1_head, h1_son]), "the case now counts the two living members")

# ============================================================================
# K2: a member changes household
h2 = household(R.grid_b, "和平街8号")
h2_head = resident("王强", R.grid_b, h2, "1975-05-05", "户主", head=True)
h2_dau = resident("王芳", R.grid_b, h2, "2000-02-02", "女", gender="female")
h5 = household(R.grid_b, "和平街10号")
resident("赵磊", R.grid_b, h5, "1998-01-01", "户主", head=True)
r = d.post(C, {"programme": "dibao", "household_id": h2}, token=T["grid_b"])
K2 = (r.json or {}).get("id")
walk_to_active(K2, "dibao", T["grid_b"], T["community_e1"], T["street_e"], 40000, "K2 (低保)")
src2 = "civil.case:%d" % K2
r = d.post("/api/v1/residents/%d/events" % h2_dau,
           {"kind": "household_changed", "occurred_on": day(-1), "household_id": h5,
            "relation": "spouse"}, token=T["grid_b"])
t.status(r, 201, "the daughter marries into another household")
k2 = get_case(K2).json or {}
fl = [f for f in k2.get("flags", []) if f["resolved_at"] is None]
t.ok(k2.get("status") == "review_due" and len(fl) == 1
     and fl[0]["kind"] == "member_left_household" and fl[0]["resident_id"] == h2_dau,
     "the case is flagged: a member left the household", repr(k2))
t.eq([tags_of(h2_head, "dibao"), tags_of(h2_dau, "dibao")], [src2, None],
     "she loses the tag, the head keeps it")
r = d.patch("/api/v1/residents/%d" % h2_dau, {"version": 2, "ethnicity": "汉族"},
            token=T["grid_b"])
t.eq(len([f for f in get_case(K2).json.get("flags", []) if f["resolved_at"] is None]), 1,
     "a later unrelated update does not flag again")

# ============================================================================
# K4 (west street): terminated, tags cleared
h4 = household(R.grid_w, "西大街5号")
h4_head = resident("刘洋", R.grid_w, h4, "1960-06-06", "户主", head=True)
r = d.post(C, {"programme": "dibao", "household_id": h4}, token=T["grid_w"])
K4 = (r.json or {}).get("id")
walk_to_active(K4, "dibao", T["grid_w"], T["community_w1"], T["street_w"], 30000, "K4 (低保)")
t.eq(tags_of(h4_head, "dibao"), "civil.case:%d" % K4, "K4's member is tagged")
r = step(K4, "terminated", T["street_w"], reason="家庭收入超过保障标准")
t.status(r, 200, "the west street terminates K4")
t.eq(r.json.get("allowed_transitions"), [], "a terminated case has no next step")
t.eq(tags_of(h4_head, "dibao"), None, "a terminated case's tag is cleared")
r = step(K4, "active", T["street_w"])
fx.check_error(t, r, 409, "illegal_transition", "terminated is final")
t.eq((fx.error_of(r) or {}).get("allowed"), [], "with no allowed step")
r = d.post(C, {"programme": "dibao", "household_id": h4}, token=T["grid_w"])
t.status(r, 201, "after termination the household may apply again")
K4b = (r.json or {}).get("id")
r = step(K4b, "rejected", T["street_w"], reason="重复申请")
t.status(r, 200, "the street rejects an application")

# ============================================================================
# K5: 特困 person in grid C moves out of the district
p1 = resident("陈老汉", R.grid_c, None, "1950-01-01", None)
r = d.post(C, {"programme": "tekun", "resident_id": p1}, token=T["street_e"])
t.status(r, 201, "the street starts a 特困 case for a person")
K5 = (r.json or {}).get("id")
t.eq((r.json or {}).get("subject", {}).get("name"), "陈老汉", "the person's name is read by JOIN")
walk_to_active(K5, "tekun", T["street_e"], T["street_e"], T["street_e"], 120000, "K5 (特困)")
t.eq(tags_of(p1, "tekun"), "civil.case:%d" % K5, "the person carries the 特困人员 tag")
r = d.post("/api/v1/residents/%d/events" % p1, {"kind": "moved_out", "occurred_on": day(-5)},
           token=T["street_e"])
t.status(r, 201, "the person moves out of the district")
k5 = get_case(K5).json or {}
t.ok(k5.get("status") == "review_due" and k5["flags"][0]["kind"] == "member_moved_out",
     "the 特困 case is flagged for review", repr(k5))
t.eq(tags_of(p1, "tekun"), None, "the tag is cleared for the person who left")

# ============================================================================
# the elderly population and the remaining cases
AGE = "(current_date - interval '%s')::date"
e1 = resident("老一", R.grid_a, None, AGE % "80 years")           # 80 today
e2 = resident("老二", R.grid_a, None, AGE % "80 years - 1 day")    # 80 tomorrow
e3 = resident("老三", R.grid_a, None, AGE % "85 years")            # has an open case (K6)
resident("老四", R.grid_b, None, AGE % "90 years", life="deceased")
e5 = resident("老五", R.grid_w, None, AGE % "88 years")            # west street
resident("老六", R.grid_b, None, AGE % "82 years", life="moved_out")
e7 = resident("老七", R.grid_b, None, AGE % "95 years")            # rejected case (K7)
resident("老八", R.grid_a, None, None)                              # no birth date
e9 = resident("老九", R.grid_c, None, AGE % "81 years")

r = d.post(C, {"programme": "elderly", "resident_id": e2}, token=T["grid_a"])
fx.check_error(t, r, 422, "invalid", "the elderly allowance is refused a day before 80",
               field="resident_id")
t.ok("80" in ((fx.error_of(r) or {}).get("message") or ""), "the refusal says the age", repr(r))
r = d.post(C, {"programme": "elderly", "resident_id": e3}, token=T["grid_a"])
t.status(r, 201, "an elderly allowance case for an 85-year-old")
K6 = (r.json or {}).get("id")
k6 = walk_to_active(K6, "elderly", T["grid_a"], T["community_e1"], T["street_e"], None,
                    "K6 (高龄津贴, standard amount)")
t.eq(k6.get("monthly_amount_fen"), 10000, "the standard amount applies when none is given")
r = d.post(C, {"programme": "elderly", "resident_id": e7}, token=T["grid_b"])
K7 = (r.json or {}).get("id")
r = step(K7, "rejected", T["street_e"], reason="非本区户籍")
t.status(r, 200, "K7 is rejected")

d1 = resident("残疾人甲", R.grid_b, None, "1985-04-04")
r = d.post(C, {"programme": "disability", "resident_id": d1}, token=T["grid_b"])
fx.check_error(t, r, 422, "invalid", "the disability subsidies need the 残疾人 tag",
               field="resident_id")
r = d.req("PUT", "/api/v1/residents/%d/tags/disabled" % d1, token=T["grid_b"])
t.status(r, 200, "the grid worker tags the resident 残疾人 in the shared model")
r = d.post(C, {"programme": "disability", "resident_id": d1}, token=T["grid_b"])
t.status(r, 201, "now the disability case can start")
K8 = (r.json or {}).get("id")
doc(K8, "application", T["grid_b"])
step(K8, "investigation", T["community_e1"])

h3 = household(R.grid_a, "幸福路2号")
resident("孙丽", R.grid_a, h3, "1980-08-08", "户主", gender="female", head=True)
r = d.post(C, {"programme": "dibao", "household_id": h3}, token=T["grid_a"])
K3 = (r.json or {}).get("id")
doc(K3, "application", T["grid_a"])
doc(K3, "id_card", T["grid_a"])

# ============================================================================
# the incomplete-documents list
want_incomplete = {K3: ["hukou", "income", "property", "investigation"],
                   K8: ["id_card", "disability_cert", "hukou"]}
for who in ("street_e", "district"):
    r = d.get(C + "?incomplete=true", token=T[who])
    got = {c["id"]: [m["code"] for m in c["missing_documents"]] for c in fx.items_of(r)}
    t.eq(got, want_incomplete, "%s: ?incomplete=true lists exactly the open cases missing "
         "documents, and which" % who)
r = d.get(C + "?incomplete=true", token=T["grid_b"])
t.eq([c["id"] for c in fx.items_of(r)], [K8], "a grid worker's list is its grid's")
r = d.get(C + "?incomplete=false&programme=dibao", token=T["district"])
t.eq(sorted(c["id"] for c in fx.items_of(r)), sorted([K1, K2, K4, K4b]),
     "?incomplete=false: the others (closed cases count as not incomplete)")
r = d.get(C + "?incomplete=maybe", token=T["district"])
fx.check_error(t, r, 422, "invalid", "a bad boolean is named", field="incomplete")
r = d.get(C + "?status=flying", token=T["district"])
fx.check_error(t, r, 422, "invalid", "a bad status filter is named", field="status")
r = d.get(C + "?programme=xx", token=T["district"])
fx.check_error(t, r, 422, "invalid", "a bad programme filter is named", field="programme")
r = d.get(C + "?region=%d" % R.grid_w, token=T["street_e"])
fx.check_error(t, r, 404, "not_found", "a region outside the scope is a 404", field="region")
r = d.get(C + "?region=%d" % R.comm_e2, token=T["street_e"])
t.eq([c["id"] for c in fx.items_of(r)], [K5], "?region= narrows to a community")
r = d.get(C + "?household=%d" % h1, token=T["street_e"])
t.eq([c["id"] for c in fx.items_of(r)], [K1], "?household=")
r = d.get(C + "?limit=2", token=T["district"])
page1 = [c["id"] for c in fx.items_of(r)]
r2 = d.get(C + "?limit=2&cursor=%s" % r.json.get("next_cursor"), token=T["district"])
t.ok(len(page1) == 2 and [c["id"] for c in fx.items_of(r2)] and
     max(page1) < min(c["id"] for c in fx.items_of(r2)), "keyset pages follow each other")
r = d.get(C + "?limit=501", token=T["district"])
fx.check_error(t, r, 422, None, "limit above 500 is a 422", field="limit")
r = d.get(C, token=T["grid_b"])
t.eq(sorted(c["id"] for c in fx.items_of(r)), sorted([K2, K7, K8]),
     "grid B's worker lists only grid B's cases")

# ============================================================================
# elderly eligibility
E = "/api/v1/civil/eligible/elderly"


def eligible(token, query=""):
    r = d.get(E + query, token=token)
    return r, sorted(i["resident_id"] for i in fx.items_of(r))


r, got = eligible(T["street_e"])
t.status(r, 200, "the eligibility list answers")
t.eq(got, sorted([e1, e7, e9]), "east street: 80 today, a rejected applicant, 81 in another "
     "community (not 80 tomorrow, enrolled, deceased, moved out, no birth date, other street)")
item = {i["resident_id"]: i for i in fx.items_of(r)}.get(e1, {})
t.ok(item.get("age") == 80 and item.get("eligible_since") == TODAY.isoformat()
     and item.get("name") == "老一", "each with age and the day it became due", repr(item))
t.eq(eligible(T["street_e"], "?region=%d" % R.grid_a)[1], [e1], "?region= narrows it")
t.eq(eligible(T["grid_b"])[1], [e7], "a grid worker sees its grid")
t.eq(eligible(T["district"])[1], sorted([e1, e5, e7, e9]), "the district sees the whole district")
r, _ = eligible(T["street_e"], "?region=%d" % R.grid_w)
fx.check_error(t, r, 404, "not_found", "a region outside the scope", field="region")
r, got = eligible(T["district"], "?limit=1")
t.ok(len(got) == 1 and r.json.get("next_cursor"), "the list pages", repr(r))

S = "/api/v1/civil/settings"
r = d.get(S, token=T["street_e"])
t.ok(r.status == 200 and r.json.get("elderly_age") == 80 and r.json.get("version") == 1
     and r.json.get("district_id") == R.district, "the default age is 80", repr(r))
r = d.patch(S, {"version": 1, "elderly_age": 85}, token=T["street_e"])
fx.check_error(t, r, 403, None, "a street cannot change the district's settings")
r = d.patch(S, {"version": 1, "elderly_age": 59}, token=T["district"])
fx.check_error(t, r, 422, "invalid", "an age below 60 is refused", field="elderly_age")
r = d.patch(S, {"elderly_age": 85}, token=T["district"])
fx.check_error(t, r, 422, "invalid", "the version is required", field="version")
r = d.patch(S, {"version": 1, "elderly_age": 85}, token=T["district"])
t.ok(r.status == 200 and r.json.get("elderly_age") == 85 and r.json.get("version") == 2,
     "the district sets the age to 85", repr(r))
t.eq(eligible(T["district"])[1], sorted([e5, e7]), "at 85 the 80- and 81-year-olds drop out")
r = d.patch(S, {"version": 1, "elderly_age": 80}, token=T["district"])
fx.check_error(t, r, 409, "version_conflict", "a stale settings version is a 409")
r = d.patch(S, {"version": 2, "elderly_age": 80}, token=T["district"])
t.status(r, 200, "back to 80")
r = d.get(S, token=w.admin)
fx.check_error(t, r, 422, "invalid", "the admin must say which district", field="district")
r = d.get(S + "?district=%d" % R.district, token=w.admin)
t.eq((r.json or {}).get("elderly_age"), 80, "the admin reads a district's settings")
r = d.get(S + "?district=%d" % R.grid_a, token=w.admin)
fx.check_error(t, r, 404, "not_found", "a grid is not a district", field="district")

r = d.req("PATCH", "/api/v1/civil/programmes/dibao", body={"version": 1, "notice_days": 5},
          token=T["district"])
fx.check_error(t, r, 403, None, "programme parameters are the administrator's")
r = d.req("PATCH", "/api/v1/civil/programmes/dibao",
          body={"version": 1, "notice_days": 5, "default_amount_fen": 1.5}, token=w.admin)
fx.check_error(t, r, 422, "invalid", "a fractional standard amount", field="default_amount_fen")
r = d.req("PATCH", "/api/v1/civil/programmes/dibao", body={"version": 1, "notice_days": 7},
          token=w.admin)
t.ok(r.status == 200 and r.json.get("version") == 2, "the admin changes a programme", repr(r))
r = d.req("PATCH", "/api/v1/civil/programmes/nope", body={"version": 1}, token=w.admin)
fx.check_error(t, r, 404, "not_found", "an unknown programme is a 404")

# ============================================================================
# indicators and ledgers, exact
GRIDS = sorted(int(x[0]) for x in pg.sql("SELECT id FROM core.region WHERE level = 'grid'"))
A, B, Cg = R.grid_a, R.grid_b, R.grid_c
WANT = {
    "civil.dibao_households": {A: 1, B: 1},
    "civil.dibao_persons": {A: 2, B: 1},
    "civil.dibao_monthly_yuan": {A: "500.00", B: "400.00"},
    "civil.tekun_persons": {Cg: 1},
    "civil.elderly_recipients": {A: 1},
    "civil.disability_recipients": {},
    "civil.cases_review_due": {B: 1, Cg: 1},
    "civil.cases_missing_documents": {A: 1, B: 1},
}

# The plugin's own SQL, read from civil.c by compiling a two-line program
# against it: the figures below are computed by exactly what the daemon runs.
work = tempfile.mkdtemp(prefix="og-civil-", dir="/tmp")
if os.environ.get("ONEGRID_TEST_KEEP") != "1":
    import atexit
    atexit.register(shutil.rmtree, work, True)
DUMP_C = r"""#include "civil.c"
#define N(a) (sizeof(a) / sizeof((a)[0]))
int main(void)
{
	const og_ledger_def *l[] = {&civil_ledger_dibao, &civil_ledger_tekun, &civil_ledger_review};

	for (size_t i = 0; i < N(civil_indicators); i++)
		printf("I\x1f%s\x1f%s\x1e", civil_indicators[i].code, civil_indicators[i].sql);
#if OG_ABI_MINOR >= 2
	for (size_t i = 0; i < N(civil_indicators); i++)
		printf("R\x1f%s\x1f%s\x1e", civil_indicators[i].code, civil_indicators[i].rows_sql);
#endif
	for (size_t i = 0; i < N(l); i++)
		printf("L\x1f%s\x1f%s\x1e", l[i]->name, l[i]->sql);
	return 0;
}
"""
with open(os.path.join(work, "dump.c"), "w") as f:
    f.write(DUMP_C)
jcflags = subprocess.run(["pkg-config", "--cflags", "--libs", "jansson"], capture_output=True,
                         text=True).stdout.split()
p = subprocess.run(["cc", "-std=c11", "-w", "-o", os.path.join(work, "dump"),
                    os.path.join(work, "dump.c"), "-I", os.path.join(SRC, "include"),
                    "-I", os.path.join(SRC, "plugins", "civil"),
                    "-I", os.path.join(BUILD, "plugins", "civil")] + jcflags,
                   capture_output=True, text=True, timeout=120)
sqls = {}
if p.returncode == 0:
    out = subprocess.run([os.path.join(work, "dump")], capture_output=True, text=True).stdout
    for rec in out.split("\x1e"):
        if rec:
            kind, name, text = rec.split("\x1f")
            sqls[(kind, name)] = text
t.ok(len([k for k in sqls if k[0] != "R"]) == 11,
     "the indicator and ledger SQL is read from civil.c", p.stderr[-2000:])


def run_indicator(code, date):
    rows = pg.sql("PREPARE ind(text) AS %s;\nEXECUTE ind(%s);" % (sqls[("I", code)], q(date)))
    return {int(g): v for g, v in rows}


for code, want in WANT.items():
    if ("I", code) not in sqls:
        t.ok(False, "indicator %s declared" % code)
        continue
    got = run_indicator(code, TODAY.isoformat())
    full = {g: str(want.get(g, "0.00" if code.endswith("yuan") else 0)) for g in GRIDS}
    t.eq({g: str(v) for g, v in got.items()}, full,
         "%s: one row per grid, exact figures today" % code)
got = run_indicator("civil.dibao_households", day(-1))
t.eq(sum(int(v) for v in got.values()), 0, "on yesterday's date no 低保 household was receiving "
     "(the case history is replayed)")
# The records behind each figure (ABI 1.2 rows_sql): as many rows as the
# count, "id" first and ascending, readable columns.
dpath = sql1("SELECT path::text FROM core.region WHERE id = %d" % R.district)


def run_rows(code, date, path):
    return pg.sql("PREPARE rws(text, text) AS %s;\nEXECUTE rws(%s, %s);"
                  % (sqls[("R", code)], q(date), q(path)))


if any(k[0] == "R" for k in sqls):
    for code, want in WANT.items():
        if code.endswith("yuan"):
            continue
        rows = run_rows(code, TODAY.isoformat(), dpath)
        ids = [int(x[0]) for x in rows]
        t.ok(len(rows) == sum(want.values()) and ids == sorted(set(ids)),
             "%s: the rows behind the figure, one per record, ordered by id" % code, repr(rows))
    rows = run_rows("civil.dibao_persons", TODAY.isoformat(), dpath)
    t.eq(sorted(x[1] for x in rows), sorted(["张建国", "张小明", "王强"]),
         "the persons behind the 低保 figure are named")
    rows = run_rows("civil.cases_missing_documents", TODAY.isoformat(), dpath)
    t.eq({int(x[0]): x[-1] for x in rows},
         {K3: "户口簿复印件、家庭收入证明、家庭财产申报及经济状况核对授权书、入户调查表",
          K8: "身份证复印件、残疾人证复印件、户口簿复印件"},
         "the incomplete cases' rows say which documents are missing")
    wpath = sql1("SELECT path::text FROM core.region WHERE id = %d" % R.street_w)
    t.eq(run_rows("civil.dibao_households", TODAY.isoformat(), wpath), [],
         "rows are limited to the region asked for")
else:
    t.skip("rows_sql", "built against ABI 1.1 headers")

# The one report, when the reports engine is in the build.
paths_now = (d.get("/openapi.json").json or {}).get("paths", {})
if "/api/v1/reports/summary" not in paths_now:
    t.skip("the civil indicators in GET /api/v1/reports/summary with exact figures",
           "the reports engine is not in this build yet")
    t.skip("the rows behind a civil figure through the API", "no reports engine")
    t.skip("the civil ledgers through GET /api/v1/ledgers", "no reports engine")
else:
    def values_by_region(r):
        return {row["region"]["id"]: row["values"] for row in (r.json or {}).get("rows", [])}

    r = d.get("/api/v1/reports/summary?region=%d" % R.comm_e1, token=T["district"])
    t.status(r, 200, "GET /api/v1/reports/summary for a community")
    vals = values_by_region(r)
    got = {code: {g: vals.get(g, {}).get(code) for g in (A, B, R.comm_e1)} for code in WANT}
    want = {code: {g: float(WANT[code].get(g, 0)) for g in (A, B)} for code in WANT}
    for code in WANT:
        want[code][R.comm_e1] = want[code][A] + want[code][B]
    t.eq({c: {g: (None if v is None else float(v)) for g, v in m.items()} for c, m in got.items()},
         want, "the one report: every civil indicator, exact per grid and summed for the "
         "community")
    r = d.get("/api/v1/reports/summary?region=%d" % R.district, token=T["district"])
    tot = values_by_region(r).get(R.district, {})
    t.eq({c: float(tot.get(c)) if tot.get(c) is not None else None for c in WANT},
         {"civil.dibao_households": 2.0, "civil.dibao_persons": 3.0,
          "civil.dibao_monthly_yuan": 900.0, "civil.tekun_persons": 1.0,
          "civil.elderly_recipients": 1.0, "civil.disability_recipients": 0.0,
          "civil.cases_review_due": 2.0, "civil.cases_missing_documents": 2.0},
         "the district's totals")
    r = d.get("/api/v1/reports/summary?region=%d&date=%s" % (R.district, day(-1)),
              token=T["district"])
    tot = values_by_region(r).get(R.district, {})
    t.eq([float(tot.get(c) or 0) for c in WANT], [0.0] * len(WANT),
         "on yesterday's date the report shows none of today's cases")
    r = d.get("/api/v1/reports/indicators/civil.dibao_persons/rows?region=%d" % R.district,
              token=T["district"])
    t.ok(r.status == 200 and sorted(i.get("name") for i in fx.items_of(r)) ==
         sorted(["张建国", "张小明", "王强"]), "the rows behind 低保人数 through the API", repr(r))
    r = d.get("/api/v1/ledgers/civil/dibao?region=%d" % R.street_e, token=T["street_e"])
    t.ok(r.status == 200 and [i.get("case_id") for i in fx.items_of(r)] == [K1, K2],
         "the 低保台账 through GET /api/v1/ledgers", repr(r))



def run_ledger(name, path):
    return pg.sql("PREPARE led(text) AS %s;\nEXECUTE led(%s);" % (sqls[("L", name)], q(path)))


rows = run_ledger("dibao", dpath)
t.eq([(int(x[0]), x[2], x[3], x[4], x[5], x[6], x[7], x[8], x[9]) for x in rows],
     [(K1, "幸福路1号3单元201", "张建国", "张建国(户主)、张小明(子)", "2", "500.00", start,
       months_later(TODAY.isoformat(), 6), "在保"),
      (K2, "和平街8号", "王强", "王强(户主)", "1", "400.00", TODAY.isoformat(),
       months_later(TODAY.isoformat(), 6), "待复核")],
     "低保台账: household, members, monthly amount, start date, next review")
wpath = sql1("SELECT path::text FROM core.region WHERE id = %d" % R.street_w)
t.eq(run_ledger("dibao", wpath), [], "the west street's 低保台账 is empty (K4 terminated)")
rows = run_ledger("tekun", dpath)
t.ok(len(rows) == 1 and int(rows[0][0]) == K5 and rows[0][2] == "陈老汉"
     and rows[0][6] == "1200.00" and rows[0][9] == "待复核", "特困台账", repr(rows))
rows = run_ledger("review_due", dpath)
t.eq(sorted(int(x[0]) for x in rows), sorted([K2, K5]), "待复核清单 lists the flagged cases")
why = {int(x[0]): x[6] for x in rows}
t.ok("#%d" % h2_dau in why.get(K2, "") and "迁出" in why.get(K5, ""),
     "with the reasons", repr(why))

# ============================================================================
# a household that moves flags its case (after the figures above)
r = d.post("/api/v1/households/%d/move" % h1, {"version": 1, "grid_id": R.grid_a,
           "address": "幸福路9号1单元101", "moved_on": day(-1)}, token=T["grid_a"])
t.status(r, 200, "K1's household moves to another address")
k1 = get_case(K1).json or {}
fl = [f for f in k1.get("flags", []) if f["resolved_at"] is None]
t.ok(k1.get("status") == "review_due" and len(fl) == 1 and fl[0]["kind"] == "household_moved"
     and fl[0]["occurred_on"] == day(-1) and k1.get("monthly_amount_fen") == 50000,
     "the case is flagged for review, its amount unchanged", repr(k1))
t.eq([tags_of(h1_head, "dibao"), tags_of(h1_son, "dibao")], [src, src],
     "nobody left: the tags stay")
NEW = {"id_type": "none", "residence_status": "registered", "grid_id": R.grid_a}
r = d.post("/api/v1/residents", dict(NEW, name="张小宝", household_id=h1, relation="grandchild",
                                     birth_date=day(-3), gender="male"), token=T["grid_a"])
t.status(r, 201, "a baby is registered in K1's household")
baby = (r.json or {}).get("id")
fl = [f for f in (get_case(K1).json or {}).get("flags", []) if f["resolved_at"] is None]
t.eq(sorted((f["kind"], f["resident_id"]) for f in fl),
     sorted([("household_moved", None), ("member_joined", baby)]),
     "a newcomer in the household is flagged too, not counted until the review")
t.eq(tags_of(baby, "dibao"), None, "and carries no tag yet")
r = d.post("/api/v1/residents", dict(NEW, name="路人", household_id=h3), token=T["grid_a"])
t.status(r, 201, "a resident joining a household without a receiving case")
t.eq(sql1("SELECT count(*) FROM civil.case_flag WHERE kind = 'member_joined'"), "1",
     "flags nothing")
# The bulk import hands civil its rows a thousand at a time (residents.imported):
# the newcomers of K1's household among them are flagged as one by one.
audits_k1 = sql1("SELECT count(*) FROM core.audit WHERE entity = 'civil.case' "
                 "AND entity_id = '%d' AND action = 'flag'" % K1)
nd = "".join(json.dumps(dict(NEW, name=n, household_id=h, relation="亲属"), ensure_ascii=False)
             + "\n" for n, h in (("导入甲", h3), ("导入乙", h1), ("导入丙", h3), ("导入丁", h1)))
r = d.req("POST", "/api/v1/import/residents", token=T["district"], raw=nd.encode(),
          headers={"Content-Type": "application/x-ndjson"})
t.ok(r.status == 200 and (r.json or {}).get("imported") == 4, "four residents imported, two "
     "of them into K1's household", repr(r))
joined = [int(x) for (x,) in pg.sql("SELECT id FROM core.resident WHERE name IN ('导入乙', '导入丁') "
                                    "ORDER BY id")]
fl = [f for f in (get_case(K1).json or {}).get("flags", []) if f["resolved_at"] is None]
t.eq(sorted((f["kind"], f["resident_id"]) for f in fl),
     sorted([("household_moved", None), ("member_joined", baby)] +
            [("member_joined", x) for x in joined]),
     "each imported newcomer of K1's household is flagged, nobody else")
t.eq(sql1("SELECT count(*) FROM core.audit WHERE entity = 'civil.case' AND entity_id = '%d' "
          "AND action = 'flag'" % K1), str(int(audits_k1) + 2), "and each flag is audited")

# ============================================================================
# a district that disables the plugin
SW = "/api/v1/regions/%d/plugins/civil" % R.district
r = d.req("PUT", SW, body={"enabled": False}, token=T["district"])
t.status(r, 200, "the district disables civil")
r = d.get(C, token=T["street_e"])
fx.check_error(t, r, 404, None, "its routes answer 404 for the district's users")
r = d.post(C, {"programme": "dibao", "household_id": h3}, token=T["grid_a"])
fx.check_error(t, r, 404, None, "writes too")
r = d.req("PUT", SW, body={"enabled": True}, token=T["district"])
r = d.get(C, token=T["street_e"])
t.status(r, 200, "enabled again, they answer")

# ============================================================================
# OpenAPI
spec = d.get("/openapi.json").json or {}
paths = spec.get("paths", {})
want_ops = [("get", "/api/v1/civil/programmes"), ("patch", "/api/v1/civil/programmes/{code}"),
            ("get", "/api/v1/civil/settings"), ("patch", "/api/v1/civil/settings"),
            ("get", "/api/v1/civil/cases"), ("post", "/api/v1/civil/cases"),
            ("get", "/api/v1/civil/cases/{id}"), ("get", "/api/v1/civil/cases/{id}/events"),
            ("post", "/api/v1/civil/cases/{id}/transitions"),
            ("post", "/api/v1/civil/cases/{id}/documents"),
            ("delete", "/api/v1/civil/cases/{id}/documents/{code}"),
            ("get", "/api/v1/civil/eligible/elderly")]
t.eq([op for op in want_ops if op[0] not in paths.get(op[1], {})], [],
     "openapi lists every civil route")
tr = paths.get("/api/v1/civil/cases/{id}/transitions", {}).get("post", {})
schema = tr.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
t.ok(schema.get("required") == ["to"] and "enum" in schema.get("properties", {}).get("to", {}),
     "the transition body is described with its enum", json.dumps(schema)[:300])
lst = paths.get("/api/v1/civil/cases", {}).get("get", {})
t.ok({"incomplete", "programme", "status", "limit"} <=
     {p.get("name") for p in lst.get("parameters", [])}, "the list's query parameters")
t.ok(all(paths.get(op[1], {}).get(op[0], {}).get("description") or
         paths.get(op[1], {}).get(op[0], {}).get("requestBody") or
         len(paths.get(op[1], {}).get(op[0], {}).get("parameters", [])) >
         op[1].count("{") for op in want_ops), "every civil route is described")

t.eq(d.stop(), 0, "daemon exits 0 on SIGTERM")
d.check_log_clean(t)

# ============================================================================
# out of tree: civil.c against the installed SDK
prefix = os.path.join(work, "prefix")
outdir = os.path.join(work, "oot")
os.makedirs(outdir)
env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
p = subprocess.run(["make", "-C", BUILD, "install", "prefix=" + prefix], env=env,
                   capture_output=True, text=True, timeout=480)
t.eq(p.returncode, 0, "make install prefix=<tmp> succeeds")
env["PKG_CONFIG_PATH"] = os.path.join(prefix, "lib", "pkgconfig")
sql2c = subprocess.run(["pkg-config", "--variable=sql2c", "onegrid-plugin"], env=env,
                       capture_output=True, text=True).stdout.strip()
with open(os.path.join(outdir, "civil_migrations.c"), "w") as f:
    g = subprocess.run(["sh", sql2c, "--static", "civil_migrations", "civil",
                        os.path.join(SRC, "plugins", "civil", "schema", "0001_civil.sql")],
                       stdout=f, stderr=subprocess.PIPE, text=True, env=env)
t.eq(g.returncode, 0, "the installed sql2c.sh embeds the migration", )
shutil.copy(os.path.join(SRC, "plugins", "civil", "civil.c"), outdir)
flags = subprocess.run(["pkg-config", "--cflags", "--libs", "onegrid-plugin"], env=env,
                       capture_output=True, text=True).stdout.split()
b = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                    "-fvisibility=hidden", "-Wl,--no-undefined", "-o", "civil.so", "civil.c",
                    "-I."] + flags, cwd=outdir, env=env, capture_output=True, text=True,
                   timeout=120)
so = os.path.join(outdir, "civil.so")
t.ok(b.returncode == 0 and os.path.isfile(so),
     "civil.c builds out of tree against the installed headers only, warning-free",
     (b.stdout + b.stderr)[-3000:])
inc = subprocess.run(["grep", "-h", "^#include", os.path.join(SRC, "plugins", "civil", "civil.c")],
                     capture_output=True, text=True).stdout.split("\n")
t.eq(sorted(x for x in inc if x and "<" in x and "onegrid" in x), ["#include <onegrid/plugin.h>"],
     "the only OneGrid header it includes is the public SDK")
if os.path.isfile(so):
    n = subprocess.run(["nm", "-D", "--defined-only", so], capture_output=True, text=True)
    defined = {line.split()[-1] for line in n.stdout.splitlines() if line.split()}
    t.eq(sorted(defined - {"_init", "_fini", "_edata", "_end", "__bss_start"}), ["og_plugin_desc"],
         "nm -D: og_plugin_desc is its only exported symbol")
t.done()

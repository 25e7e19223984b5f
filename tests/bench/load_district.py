#!/usr/bin/env python3
"""tests/bench/load_district.py — a benchmark district loaded straight into
PostgreSQL, with plugin records, for profiling the reports and the reads.

    tests/bench/load_district.py --pgdir DIR [--builddir build/bench]
                                 [--size 1000000] [--grids 1000] [--no-plugin-records]

What it is for: iterating on query plans against a big district without
the 10 minutes of the HTTP import.  It starts (or reuses) the private
PostgreSQL in DIR (tests/pg-cluster.sh, durable, tuned as tests/bench/run
tunes it), creates the database "onegrid", runs `onegridd migrate` with
every plugin and `create-admin admin` (password Bench-pass-2026), then
loads the same region tree, households and residents that
tests/bench/run makes (tests/bench/gen.py, same seed) by COPY with
explicit ids, the same tags, a small share of moved-out and deceased
residents (a real register keeps them), and records of every plugin in
roughly the numbers a district of that size has (see plugin_records:
civil cases with their history, members and documents; volunteers,
teams, service records, help pairs and requests; women's rights cases,
activities with participants, honours and children's care; party
organisations, members, candidates, meetings and activities; notes).
Ends with VACUUM ANALYZE and leaves the cluster running: stop it with
`tests/pg-cluster.sh stop DIR` (and remove DIR).

What it is not for: measuring the import (tests/bench/run does, through
the API) or testing anything: rows go in with triggers off
(session_replication_role = replica), so the change feed, foreign keys
and the plugins' state-machine triggers do not see them.  The rows are
valid all the same (ids, dates and states are consistent).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import gen  # noqa: E402

PG_CLUSTER = os.path.join(SRCDIR, "tests", "pg-cluster.sh")
PASSWORD = "Bench-pass-2026"
PLUGINS = ["civil", "example", "party", "volunteer", "women"]
# As tests/bench/run sets them (keep in step).
PG_TUNING = {
    "max_connections": "200", "shared_buffers": "4GB", "effective_cache_size": "16GB",
    "work_mem": "32MB", "maintenance_work_mem": "1GB", "wal_buffers": "64MB",
    "max_wal_size": "16GB", "min_wal_size": "2GB", "checkpoint_timeout": "30min",
    "checkpoint_completion_target": "0.9", "random_page_cost": "1.1",
    "effective_io_concurrency": "200", "jit": "off", "wal_compression": "on",
    "max_parallel_workers_per_gather": "2", "autovacuum_vacuum_scale_factor": "0.05",
    "autovacuum_analyze_scale_factor": "0.02",
}


def log(msg):
    sys.stderr.write("[load %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class Pg:
    def __init__(self, pgdir):
        self.dir = os.path.abspath(pgdir)

    def cluster(self, *args):
        p = subprocess.run(["bash", PG_CLUSTER, args[0], self.dir] + list(args[1:]),
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            sys.exit("pg-cluster.sh %s: %s%s" % (args[0], p.stdout, p.stderr))

    def psql(self, db="onegrid"):
        return ["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
                "-h", self.dir, "-p", "5432", "-U", "postgres", "-d", db]

    def sql(self, query, db="onegrid"):
        p = subprocess.run(self.psql(db) + ["-f", "-"], input=query, capture_output=True,
                           text=True)
        if p.returncode != 0:
            sys.exit("psql: %s\nquery: %s" % (p.stderr.strip(), query[:800]))
        return [tuple(line.split("\t")) for line in p.stdout.splitlines()]

    def copy(self, table, columns, path):
        p = subprocess.run(self.psql() + [
            "-c", "SET session_replication_role = replica",
            "-c", "\\copy %s (%s) FROM '%s' WITH (FORMAT csv)" % (table, ", ".join(columns), path)],
            capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("COPY %s: %s" % (table, p.stderr))


def csv_field(v):
    if v is None:
        return ""
    s = str(v)
    if any(c in s for c in ',"\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def load_people(pg, grids, size, inactive_share, workdir):
    """Households and residents with explicit ids (in the import's order)."""
    people = gen.People([g for g, _ in grids])
    hh_path = os.path.join(workdir, "household.csv")
    rs_path = os.path.join(workdir, "resident.csv")
    rid = hid = 0
    today = time.strftime("%Y-%m-%d")
    with open(hh_path, "w") as hf, open(rs_path, "w") as rf:
        for hh in people.households(size):
            hid += 1
            head = None
            first = rid + 1
            for r in hh:
                rid += 1
                if r["relation"] == "户主" and head is None:
                    head = rid
                # A small share moved out or died some time ago (a
                # deterministic pick: the register keeps them).
                life, life_date = "active", ""
                k = (rid * 2654435761) % 100000
                if k < inactive_share * 100000 * 2 / 3:
                    life, life_date = "moved_out", "2023-%02d-15" % (k % 12 + 1)
                elif k < inactive_share * 100000:
                    life, life_date = "deceased", "2024-%02d-10" % (k % 12 + 1)
                rf.write(",".join(csv_field(x) for x in (
                    rid, r["name"], r["id_type"], r["id_number"], r["gender"], r["birth_date"],
                    r["ethnicity"], r.get("phone"), r["residence_status"],
                    r.get("registered_province"), r["grid_id"], hid, r["relation"], life,
                    life_date)) + "\n")
            r0 = hh[0]
            hf.write(",".join(csv_field(x) for x in (
                hid, r0["grid_id"], r0["household_kind"], r0["household_number"],
                r0["address"], head or first)) + "\n")
    log("generated %d residents in %d households" % (rid, hid))
    pg.copy("core.household", ["id", "grid_id", "kind", "household_number", "address",
                               "head_resident_id"], hh_path)
    pg.copy("core.resident", ["id", "name", "id_type", "id_number", "gender", "birth_date",
                              "ethnicity", "phone", "residence_status", "registered_province",
                              "grid_id", "household_id", "relation", "life_status",
                              "life_status_date"], rs_path)
    pg.sql("SELECT setval('core.household_id_seq', %d); SELECT setval('core.resident_id_seq', %d);"
           % (hid, rid))
    os.unlink(hh_path)
    os.unlink(rs_path)
    # The same tags as tests/bench/run.
    pg.sql("INSERT INTO core.resident_tag (resident_id, tag, source) "
           "SELECT id, 'lives_alone', 'bench' FROM core.resident "
           " WHERE birth_date < current_date - interval '70 years' AND id % 7 = 0 "
           "UNION ALL SELECT id, 'disabled', 'bench' FROM core.resident WHERE id % 53 = 1 "
           "UNION ALL SELECT id, 'veteran', 'bench' FROM core.resident WHERE id % 97 = 2 "
           "UNION ALL SELECT id, 'floating', 'bench' FROM core.resident "
           " WHERE residence_status = 'floating';")
    return rid, hid


# Plugin records, in SQL, deterministic (picks by id arithmetic).  Numbers
# for a million residents (they scale with the district): civil about
# 6,000 低保 households, 1,000 特困, most people of 80 and over on 高龄津贴,
# half the disabled on the two subsidies, each case with its steps,
# documents (one in seven short of one) and members; 2 % of adults
# volunteers in a team per community, 5 service records each, a help pair
# for a quarter of those in need, 10,000 requests; women's rights cases,
# 10 activities per community a year with 50 participants, honours,
# children's care; a branch per community with 7 % of adults members,
# candidates, the quarter's meetings with attendance, activities.
PLUGIN_SQL = r"""
SET session_replication_role = replica;
BEGIN;
CREATE TEMP TABLE adult AS
  SELECT x.id, x.grid_id, x.household_id, x.birth_date, x.gender,
         (SELECT g.parent_id FROM core.region g WHERE g.id = x.grid_id) AS community_id
    FROM core.resident x
   WHERE x.life_status = 'active' AND x.birth_date <= current_date - interval '18 years';
CREATE INDEX ON adult (id);
ANALYZE adult;

-- ---- civil ----
-- 低保: households, active (one in five under review), with 5 steps each.
INSERT INTO civil.benefit_case (programme, household_id, status, applied_on, notice_start,
    notice_days, monthly_amount_fen, start_on, next_review_on)
SELECT 'dibao', h.id, CASE WHEN h.id % 5 = 0 THEN 'review_due' ELSE 'active' END,
       current_date - 60 - (h.id % 900)::int, current_date - 45 - (h.id % 900)::int, 7,
       (60000 + (h.id % 7) * 15000), current_date - 30 - (h.id % 900)::int,
       current_date + 150 - (h.id % 900)::int % 180
  FROM core.household h WHERE h.id % 67 = 0;
-- 特困, 高龄津贴, 残疾人两项补贴: residents.
INSERT INTO civil.benefit_case (programme, resident_id, status, applied_on, notice_start,
    notice_days, monthly_amount_fen, start_on, next_review_on)
SELECT p, x.id, 'active', current_date - 60 - (x.id % 900)::int,
       current_date - 45 - (x.id % 900)::int, 7, amt, current_date - 30 - (x.id % 900)::int,
       current_date + 300 - (x.id % 900)::int % 360
  FROM (SELECT 'tekun' AS p, x.id, 150000 AS amt FROM core.resident x
         WHERE x.id % 997 = 0 AND x.life_status = 'active'
        UNION ALL
        SELECT 'elderly', x.id, 10000 FROM core.resident x
         WHERE x.birth_date <= current_date - interval '80 years' AND x.id % 3 <> 0
           AND x.life_status = 'active'
        UNION ALL
        SELECT 'disability', t.resident_id, 9000 FROM core.resident_tag t
         WHERE t.tag = 'disabled' AND t.resident_id % 2 = 0) x(p, id, amt);
-- Applications in progress and closed ones.
INSERT INTO civil.benefit_case (programme, resident_id, status, applied_on)
SELECT 'elderly', x.id, CASE WHEN x.id % 3 = 0 THEN 'application'
                             WHEN x.id % 3 = 1 THEN 'investigation' ELSE 'rejected' END,
       current_date - (x.id % 40)::int
  FROM core.resident x
 WHERE x.birth_date <= current_date - interval '79 years'
   AND x.birth_date > current_date - interval '80 years' AND x.id % 5 = 0;
INSERT INTO civil.case_event (case_id, from_status, to_status, occurred_on,
    monthly_amount_fen, next_review_on)
SELECT c.id, s.f, s.t, s.d, CASE WHEN s.t = 'active' THEN c.monthly_amount_fen END,
       CASE WHEN s.t = 'active' THEN c.next_review_on END
  FROM civil.benefit_case c CROSS JOIN LATERAL (VALUES
       (1, NULL, 'application', c.applied_on),
       (2, 'application', 'investigation', c.applied_on + 5),
       (3, 'investigation', 'public_notice', c.notice_start),
       (4, 'public_notice', 'approved', c.notice_start + 8),
       (5, 'approved', 'active', c.start_on)) s(n, f, t, d)
 WHERE c.status IN ('active', 'review_due') AND s.d IS NOT NULL
 UNION ALL
SELECT c.id, NULL, 'application', c.applied_on, NULL, NULL FROM civil.benefit_case c
 WHERE c.status NOT IN ('active', 'review_due')
 UNION ALL
SELECT c.id, 'application', c.status, c.applied_on + 3, NULL, NULL FROM civil.benefit_case c
 WHERE c.status IN ('investigation', 'rejected');
INSERT INTO civil.case_event (case_id, from_status, to_status, occurred_on)
SELECT c.id, 'active', 'review_due', c.next_review_on - 180
  FROM civil.benefit_case c WHERE c.status = 'review_due';
INSERT INTO civil.case_document (case_id, code, received_on)
SELECT c.id, d.code, c.applied_on FROM civil.benefit_case c
  JOIN civil.programme_document d ON d.programme = c.programme
 WHERE NOT (c.id % 7 = 0 AND d.ord = 4);
INSERT INTO civil.case_member (case_id, resident_id, household_id, added_on)
SELECT c.id, x.id, x.household_id, c.start_on FROM civil.benefit_case c
  JOIN core.resident x ON x.household_id = c.household_id
 WHERE c.programme = 'dibao' AND x.life_status = 'active';
INSERT INTO civil.case_flag (case_id, kind, occurred_on, reason)
SELECT c.id, 'household_moved', c.next_review_on - 180, '户迁移' FROM civil.benefit_case c
 WHERE c.status = 'review_due' AND c.id % 3 = 0;
INSERT INTO core.resident_tag (resident_id, tag, source)
SELECT c.resident_id, 'tekun', 'civil.case:' || c.id FROM civil.benefit_case c
 WHERE c.programme = 'tekun' AND c.status = 'active';
INSERT INTO core.resident_tag (resident_id, tag, source)
SELECT DISTINCT ON (m.resident_id) m.resident_id, 'dibao', 'civil.case:' || m.case_id
  FROM civil.case_member m ORDER BY m.resident_id, m.case_id;

-- ---- volunteer ----
INSERT INTO volunteer.team (region_id, name, leader_resident_id)
SELECT a.community_id, '志愿服务队', min(a.id) FROM adult a GROUP BY a.community_id;
INSERT INTO volunteer.volunteer (resident_id, team_id, skills, status, joined_on)
SELECT a.id, t.id, CASE a.id % 3 WHEN 0 THEN '{陪伴}'::text[] WHEN 1 THEN '{维修}' ELSE '{医护}' END,
       CASE WHEN a.id % 19 = 0 THEN 'inactive' ELSE 'active' END,
       current_date - 30 - (a.id % 1500)::int
  FROM adult a JOIN volunteer.team t ON t.region_id = a.community_id
 WHERE a.birth_date > current_date - interval '75 years' AND a.id % 50 = 3;
INSERT INTO volunteer.service_record (volunteer_id, team_id, served_resident_id, subject, kind,
    served_on, hours, verified_by, verified_at)
SELECT v.id, v.team_id, NULL, '社区服务', 'community',
       greatest(date_trunc('year', current_date)::date,
                current_date - ((v.id * 7 + n * 31) % 200)::int),
       (1 + (v.id + n) % 4)::numeric,
       CASE WHEN (v.id + n) % 10 <> 0 THEN 1 END,
       CASE WHEN (v.id + n) % 10 <> 0 THEN now() - interval '1 day' END
  FROM volunteer.volunteer v CROSS JOIN generate_series(1, 5) n
 WHERE v.status = 'active';
-- Help pairs: a quarter of those in need (80+, living alone, disabled).
INSERT INTO volunteer.pair (volunteer_id, resident_id, started_on, basis, status, closed_on,
    close_kind)
SELECT (SELECT v.id FROM volunteer.volunteer v ORDER BY v.id
         OFFSET (x.id % (SELECT count(*) FROM volunteer.volunteer)) LIMIT 1),
       x.id, current_date - 20 - (x.id % 700)::int, '{age_80_plus}',
       CASE WHEN x.id % 40 = 0 THEN 'closed' ELSE 'open' END,
       CASE WHEN x.id % 40 = 0 THEN current_date - 10 END,
       CASE WHEN x.id % 40 = 0 THEN 'manual' END
  FROM core.resident x
 WHERE x.life_status = 'active' AND x.id % 4 = 1
   AND (x.birth_date <= current_date - interval '80 years'
        OR EXISTS (SELECT 1 FROM core.resident_tag t WHERE t.resident_id = x.id
                   AND t.tag IN ('lives_alone', 'disabled')));
INSERT INTO volunteer.request (resident_id, kind, need, requested_on, status, cancel_reason,
    assigned_volunteer_id, closed_on)
SELECT p.resident_id, 'daily', '代购生活用品', current_date - (p.id % 300)::int,
       CASE p.id % 4 WHEN 0 THEN 'open' WHEN 1 THEN 'assigned' WHEN 2 THEN 'closed'
                     ELSE 'cancelled' END,
       CASE WHEN p.id % 4 = 3 THEN '已由家属解决' END,
       CASE WHEN p.id % 4 IN (1, 2) THEN p.volunteer_id END,
       CASE WHEN p.id % 4 IN (2, 3) THEN current_date - (p.id % 300)::int + 2 END
  FROM volunteer.pair p WHERE p.id % 2 = 0;

-- ---- women ----
INSERT INTO women.rights_case (grid_id, intake_on, channel, category, summary, status,
    closed_on, handler_id)
SELECT g.id, current_date - ((g.id * 13 + n * 71) % 700)::int,
       (ARRAY['visit', 'phone', 'referral'])[1 + n % 3],
       (ARRAY['domestic_violence', 'marriage_family', 'property', 'employment', 'other'])[1 + (g.id + n) % 5],
       '案情摘要', CASE WHEN n % 3 = 0 THEN 'open' ELSE 'closed' END,
       CASE WHEN n % 3 <> 0 THEN current_date - ((g.id * 13 + n * 71) % 700)::int + 20 END,
       (SELECT min(id) FROM core.app_user)
  FROM core.region g CROSS JOIN generate_series(1, 3) n WHERE g.level = 'grid';
UPDATE women.rights_case SET closed_on = current_date WHERE closed_on > current_date;
INSERT INTO women.activity (grid_id, kind, title, held_on, organiser)
SELECT (SELECT min(g.id) FROM core.region g WHERE g.parent_id = c.id),
       (ARRAY['womens_day', 'childrens_day', 'family_education', 'health', 'other'])[1 + n % 5],
       '社区妇女儿童活动', current_date - ((c.id * 17 + n * 37) % 500)::int, '社区妇联'
  FROM core.region c CROSS JOIN generate_series(1, 20) n WHERE c.level = 'community';
INSERT INTO women.activity_participant (activity_id, resident_id)
SELECT k.id, a.id FROM women.activity k
  JOIN core.region g ON g.id = k.grid_id
  JOIN LATERAL (SELECT a.id FROM adult a WHERE a.community_id = g.parent_id
                 AND a.gender = 'female' AND a.id % 97 = k.id % 97 LIMIT 50) a ON true;
INSERT INTO women.honour (household_id, title, year, awarded_on, awarded_by)
SELECT h.id, CASE WHEN h.id % 2 = 0 THEN 'most_beautiful_family' ELSE 'safe_family' END,
       y, make_date(y, 3, 8), '区妇联'
  FROM core.household h
  CROSS JOIN (VALUES (extract(year FROM current_date)::int - 1),
                     (extract(year FROM current_date)::int)) v(y)
 WHERE h.id % 199 = 0 AND make_date(y, 3, 8) <= current_date;
INSERT INTO women.child_care (resident_id, programme, status, started_on)
SELECT x.id, 'floating', 'open', current_date - (x.id % 300)::int FROM core.resident x
 WHERE x.residence_status = 'floating' AND x.birth_date > current_date - interval '18 years'
   AND x.id % 4 = 0 AND x.life_status = 'active';

-- ---- party ----
INSERT INTO party.org (kind, name, region_ids)
SELECT 'committee', '区委', ARRAY[(SELECT id FROM core.region WHERE level = 'district' LIMIT 1)];
INSERT INTO party.org (parent_id, kind, name, region_ids)
SELECT (SELECT min(id) FROM party.org), 'branch', c.name || '党支部',
       ARRAY(SELECT g.id FROM core.region g WHERE g.parent_id = c.id ORDER BY g.id)
  FROM core.region c WHERE c.level = 'community' ORDER BY c.id;
INSERT INTO party.member (resident_id, org_id, category, join_date, conversion_date, origin,
    reported_on, status, status_date)
SELECT a.id, o.id, CASE WHEN a.id % 20 = 0 THEN 'probationary' ELSE 'full' END,
       greatest(a.birth_date + 20 * 365, current_date - 400) - (a.id % 300)::int,
       NULL,
       (ARRAY['community', 'in_service', 'retired', 'floating'])[1 + a.id % 4],
       CASE WHEN a.id % 4 = 1 AND a.id % 3 = 0 THEN current_date - (a.id % 200)::int END,
       CASE WHEN a.id % 101 = 0 THEN 'transferred_out' ELSE 'normal' END,
       CASE WHEN a.id % 101 = 0 THEN current_date - 50 END
  FROM adult a
  JOIN party.org o ON o.kind = 'branch' AND o.region_ids[1] = (SELECT min(g.id) FROM core.region g
                                                              WHERE g.parent_id = a.community_id)
 WHERE a.id % 14 = 5;
INSERT INTO core.resident_tag (resident_id, tag, source)
SELECT m.resident_id, 'party_member', 'party.member:' || m.id FROM party.member m
 WHERE m.status = 'normal';
INSERT INTO party.candidate (resident_id, org_id, stage, applied_on, activist_on, target_on)
SELECT a.id, o.id, (ARRAY['applicant', 'activist', 'target'])[1 + a.id % 3],
       current_date - 400 - (a.id % 300)::int,
       CASE WHEN a.id % 3 >= 1 THEN current_date - 200 - (a.id % 100)::int END,
       CASE WHEN a.id % 3 = 2 THEN current_date - 50 - (a.id % 40)::int END
  FROM adult a
  JOIN party.org o ON o.kind = 'branch' AND o.region_ids[1] = (SELECT min(g.id) FROM core.region g
                                                              WHERE g.parent_id = a.community_id)
 WHERE a.id % 331 = 7 AND a.birth_date > current_date - interval '40 years';
INSERT INTO party.meeting (org_id, kind, held_on, topic)
SELECT o.id, k.code, greatest(date_trunc('quarter', current_date)::date,
                              current_date - ((o.id + n) % 60)::int), '学习'
  FROM party.org o CROSS JOIN party.meeting_kind k CROSS JOIN generate_series(1, 2) n
 WHERE o.kind = 'branch';
INSERT INTO party.attendance (meeting_id, member_id)
SELECT mt.id, m.id FROM party.meeting mt
  JOIN party.member m ON m.org_id = mt.org_id AND m.id % 7 = mt.id % 7;
INSERT INTO party.activity (member_id, held_on, title, hours)
SELECT m.id, current_date - ((m.id * 3) % 150)::int, '志愿服务', 2
  FROM party.member m WHERE m.id % 3 = 0;

-- ---- example ----
INSERT INTO example.note (region_id, body)
SELECT g.id, '走访记录' FROM core.region g CROSS JOIN generate_series(1, 2) WHERE g.level = 'grid';

COMMIT;
"""

COUNTS_SQL = """
SELECT 'civil cases', count(*) FROM civil.benefit_case UNION ALL
SELECT 'civil case events', count(*) FROM civil.case_event UNION ALL
SELECT 'civil case members', count(*) FROM civil.case_member UNION ALL
SELECT 'volunteers', count(*) FROM volunteer.volunteer UNION ALL
SELECT 'service records', count(*) FROM volunteer.service_record UNION ALL
SELECT 'help pairs (open)', count(*) FILTER (WHERE status = 'open') FROM volunteer.pair UNION ALL
SELECT 'help requests', count(*) FROM volunteer.request UNION ALL
SELECT 'women rights cases', count(*) FROM women.rights_case UNION ALL
SELECT 'women activities', count(*) FROM women.activity UNION ALL
SELECT 'activity participants', count(*) FROM women.activity_participant UNION ALL
SELECT 'honours', count(*) FROM women.honour UNION ALL
SELECT 'party members', count(*) FROM party.member UNION ALL
SELECT 'party candidates', count(*) FROM party.candidate UNION ALL
SELECT 'party meetings', count(*) FROM party.meeting UNION ALL
SELECT 'resident tags', count(*) FROM core.resident_tag UNION ALL
SELECT 'residents not active', count(*) FROM core.resident WHERE life_status <> 'active';
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pgdir", required=True, help="directory of the private cluster")
    ap.add_argument("--builddir", default=os.path.join(SRCDIR, "build", "bench"))
    ap.add_argument("--size", type=int, default=1000000)
    ap.add_argument("--grids", type=int, default=1000)
    ap.add_argument("--inactive-share", type=float, default=0.015,
                    help="share of residents moved out or deceased (0.015)")
    ap.add_argument("--no-plugin-records", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.pgdir, exist_ok=True)
    pg = Pg(a.pgdir)
    t0 = time.monotonic()
    pg.cluster("start", "--durable")
    pg.sql("ALTER SYSTEM SET " + "; ALTER SYSTEM SET ".join(
        "%s = '%s'" % kv for kv in PG_TUNING.items()) + ";", db="postgres")
    pg.cluster("stop")
    pg.cluster("start", "--durable")
    if pg.sql("SELECT 1 FROM pg_database WHERE datname = 'onegrid'", db="postgres"):
        sys.exit("database onegrid exists in %s already: use a fresh directory" % a.pgdir)
    pg.sql("CREATE DATABASE onegrid", db="postgres")
    conninfo = "host=%s port=5432 user=postgres dbname=onegrid" % pg.dir

    workdir = tempfile.mkdtemp(prefix="og-load-", dir="/tmp")
    plugdir = os.path.join(workdir, "plugins")
    os.makedirs(plugdir)
    for p in PLUGINS:
        os.symlink(os.path.join(os.path.abspath(a.builddir), "plugins", ".libs", p + ".so"),
                   os.path.join(plugdir, p + ".so"))
    config = os.path.join(workdir, "onegrid.json")
    with open(config, "w") as f:
        json.dump({"listen": "127.0.0.1:1", "database": conninfo, "workers": 1,
                   "plugin_dir": plugdir, "plugins": PLUGINS}, f)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEGRID_")}
    binary = os.path.join(a.builddir, "onegridd")
    for args in (["migrate"], ["create-admin", "admin"]):
        e = dict(env, ONEGRID_ADMIN_PASSWORD=PASSWORD)
        p = subprocess.run([binary, "-c", config] + args, env=e, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("onegridd %s: %s%s" % (" ".join(args), p.stdout, p.stderr))

    nodes = gen.regions(streets=10, communities=max(10, a.grids // 10), grids=a.grids)
    nodes.sort(key=lambda n: ["district", "street", "community", "grid"].index(n[2]))
    pg.sql(gen.regions_sql(nodes))
    rows = pg.sql("SELECT id, level, path::text FROM core.region ORDER BY id")
    grids = [(int(r[0]), r[2]) for r in rows if r[1] == "grid"]
    log("regions: %d grids" % len(grids))
    nres, nhh = load_people(pg, grids, a.size, a.inactive_share, workdir)
    log("residents and households loaded (%.0f s)" % (time.monotonic() - t0))
    if not a.no_plugin_records:
        pg.sql(PLUGIN_SQL)
        log("plugin records loaded (%.0f s)" % (time.monotonic() - t0))
    pg.sql("VACUUM ANALYZE;")
    for name, n in pg.sql(COUNTS_SQL):
        log("%-24s %s" % (name, n))
    os.unlink(config)
    for p in PLUGINS:
        os.unlink(os.path.join(plugdir, p + ".so"))
    os.rmdir(plugdir)
    os.rmdir(workdir)
    log("done in %.0f s; conninfo: %s (stop: tests/pg-cluster.sh stop %s)"
        % (time.monotonic() - t0, conninfo, pg.dir))


if __name__ == "__main__":
    main()

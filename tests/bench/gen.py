"""tests/bench/gen.py — the synthetic district of the benchmark.

What it is for: the region tree (district -> streets -> communities ->
grids, with statistical-division-style codes) as SQL, and residents in
households as NDJSON rows for POST /api/v1/import/residents (and the same
rows as CSV for a plain COPY): realistic Chinese names (surnames weighted
by frequency), valid 18-character resident ID numbers (GB 11643 check
character, embedded birth date, odd/even sequence for the gender), ages
from a population pyramid, ethnicity, phones, residence status (floating
residents carry another province) and relation to the head of household.
Deterministic for a given seed, so two runs load the same district.

What it is not for: loading anything (tests/bench/run does that through
the real API), or validating (the daemon does).

    python3 tests/bench/gen.py --size 1000 [--csv] > rows   (a look at the rows)
"""

import datetime
import json
import random
import sys

# The district (北京市朝阳区-like code) and where floating residents come from.
DISTRICT_CODE = "110105000000"
HOME_AREAS = ["110105", "110101", "110102", "110106", "110108"]
FLOATING = [("河北省", "130102"), ("河南省", "410102"), ("山东省", "370102"),
            ("安徽省", "340102"), ("四川省", "510104"), ("湖北省", "420102"),
            ("黑龙江省", "230102"), ("江苏省", "320102"), ("湖南省", "430102"),
            ("山西省", "140105")]
# Area code of ID numbers the write workload creates: never generated here.
NEW_AREA = "110199"

# Surnames with rough weights (percent of the population, 2020 census order).
SURNAMES = [
    ("王", 7.1), ("李", 7.0), ("张", 6.8), ("刘", 5.4), ("陈", 4.6), ("杨", 3.1), ("黄", 2.5),
    ("赵", 2.3), ("吴", 2.0), ("周", 1.9), ("徐", 1.7), ("孙", 1.5), ("马", 1.5), ("朱", 1.3),
    ("胡", 1.3), ("郭", 1.2), ("何", 1.2), ("林", 1.1), ("高", 1.1), ("罗", 1.0), ("郑", 1.0),
    ("梁", 0.9), ("谢", 0.8), ("宋", 0.8), ("唐", 0.7), ("许", 0.7), ("韩", 0.7), ("冯", 0.7),
    ("邓", 0.7), ("曹", 0.6), ("彭", 0.6), ("曾", 0.6), ("肖", 0.6), ("田", 0.5), ("董", 0.5),
    ("袁", 0.5), ("潘", 0.5), ("于", 0.5), ("蒋", 0.5), ("蔡", 0.5), ("余", 0.5), ("杜", 0.4),
    ("叶", 0.4), ("程", 0.4), ("苏", 0.4), ("魏", 0.4), ("吕", 0.4), ("丁", 0.4), ("任", 0.4),
    ("沈", 0.4), ("姚", 0.3), ("卢", 0.3), ("姜", 0.3), ("崔", 0.3), ("钟", 0.3), ("谭", 0.3),
    ("陆", 0.3), ("汪", 0.3), ("范", 0.3), ("金", 0.3), ("石", 0.3), ("廖", 0.3), ("贾", 0.3),
    ("夏", 0.3), ("韦", 0.2), ("付", 0.2), ("方", 0.2), ("白", 0.2), ("邹", 0.2), ("孟", 0.2),
    ("熊", 0.2), ("秦", 0.2), ("邱", 0.2), ("江", 0.2), ("尹", 0.2), ("薛", 0.2), ("闫", 0.2),
    ("段", 0.2), ("雷", 0.2), ("侯", 0.2), ("龙", 0.2), ("史", 0.2), ("陶", 0.2), ("黎", 0.2),
    ("贺", 0.2), ("顾", 0.2), ("毛", 0.2), ("郝", 0.2), ("龚", 0.2), ("邵", 0.2), ("万", 0.2),
    ("钱", 0.2), ("严", 0.2), ("覃", 0.1), ("武", 0.1), ("戴", 0.1), ("莫", 0.1), ("孔", 0.1),
    ("欧阳", 0.05), ("司马", 0.01), ("诸葛", 0.01),
]
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林东志建国峰亮成文博海晨阳"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀燕玲桂英华红梅琳雪倩婷颖洁慧莉萍琴云兰凤佳欣怡悦晶月蕾丹妍"
ETHNICITIES = [("汉族", 95.0), ("回族", 1.5), ("满族", 1.5), ("蒙古族", 0.7), ("朝鲜族", 0.4),
               ("壮族", 0.3), ("土家族", 0.3), ("维吾尔族", 0.2), ("苗族", 0.1)]
STREET_NAMES = ["建国", "朝阳", "和平", "光明", "幸福", "团结", "友谊", "长安", "兴华", "新华"]
ROADS = ["东路", "西路", "南路", "北路", "大街", "胡同", "里"]
DIGITS = "零一二三四五六七八九"

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def check_char(first17):
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS)) % 11]


def id_number(area, y, m, d, seq):
    s = "%s%04d%02d%02d%03d" % (area, y, m, d, seq)
    return s + check_char(s)


def _cum(pairs):
    tot, out = 0.0, []
    for v, w in pairs:
        tot += w
        out.append((tot, v))
    return out, tot


def _pick(cum, tot, rng):
    x = rng.random() * tot
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid][0] < x:
            lo = mid + 1
        else:
            hi = mid
    return cum[lo][1]


_SUR = _cum(SURNAMES)
_ETH = _cum(ETHNICITIES)


def _cn_number(n):
    if n <= 10:
        return "十" if n == 10 else DIGITS[n]
    if n < 20:
        return "十" + DIGITS[n % 10]
    return DIGITS[n // 10] + "十" + (DIGITS[n % 10] if n % 10 else "")


def regions(streets=10, communities=100, grids=1000):
    """The tree as (name, code, level, parent_code) in creation order: each
    street gets communities/streets communities, each community
    grids/communities grids.  Codes: street = district[:6] + 3 digits +
    000, community = street[:9] + 3 digits, grid = community + 2 digits
    (grids extend their community's code)."""
    cps = max(1, communities // streets)
    gpc = max(1, grids // (cps * streets))
    nodes = [("示范区", DISTRICT_CODE, "district", None)]
    for s in range(1, streets + 1):
        sname = STREET_NAMES[(s - 1) % len(STREET_NAMES)] + "街道"
        if s > len(STREET_NAMES):
            sname = "第%s街道" % _cn_number(s)
        scode = DISTRICT_CODE[:6] + "%03d" % s + "000"
        nodes.append((sname, scode, "street", DISTRICT_CODE))
        for c in range(1, cps + 1):
            ccode = scode[:9] + "%03d" % c
            cname = sname + _cn_number(c) + "社区"
            nodes.append((cname, ccode, "community", scode))
            for g in range(1, gpc + 1):
                nodes.append((cname + "第%d网格" % g, ccode + "%02d" % g, "grid", ccode))
    return nodes


def regions_sql(nodes):
    """One transaction inserting nodes (paths are ltrees of ids)."""
    def lit(s):
        return "'" + s.replace("'", "''") + "'"
    out = ["BEGIN;"]
    for name, code, level, parent in nodes:
        if parent is None:
            out.append("INSERT INTO core.region (id, parent_id, level, code, name, path) "
                       "SELECT n.id, NULL, 'district', %s, %s, n.id::text::ltree FROM "
                       "(SELECT nextval(pg_get_serial_sequence('core.region', 'id')) AS id) n;"
                       % (lit(code), lit(name)))
        else:
            out.append("INSERT INTO core.region (id, parent_id, level, code, name, path) "
                       "SELECT n.id, p.id, %s, %s, %s, p.path || n.id::text::ltree FROM "
                       "(SELECT id, path FROM core.region WHERE code = %s) p, "
                       "(SELECT nextval(pg_get_serial_sequence('core.region', 'id')) AS id) n;"
                       % (lit(level), lit(code), lit(name), lit(parent)))
    out.append("COMMIT;")
    return "\n".join(out)


class People:
    """Households and their members, grid by grid, round robin over the
    grids so every import chunk touches every grid (as a district-wide
    file would)."""

    def __init__(self, grid_ids, seed=1):
        self.rng = random.Random(seed)
        self.grids = list(grid_ids)
        t = datetime.date.today()
        self.today = (t.year, t.month, t.day)
        self.year = t.year
        self.seq = {}       # (area, yyyymmdd) -> next sequence number
        self.hh_count = 0

    def _birth(self, min_age, max_age):
        rng = self.rng
        # A flat-topped pyramid: fewer over 70, fewer babies.
        while True:
            age = rng.randint(min_age, max_age)
            if age < 70 or rng.random() < 0.5:
                break
        y = self.year - age
        m = rng.randint(1, 12)
        d = rng.randint(1, 28)
        if (y, m, d) > self.today:  # not born yet: a year older
            y -= 1
        return y, m, d

    def _id(self, area, y, m, d, male):
        key = (area, y * 10000 + m * 100 + d)
        n = self.seq.get(key, 0)
        # Sequence digits: odd for men, even for women (GB 11643).
        while True:
            n += 1
            if n >= 999:
                return None
            if (n % 2 == 1) == male:
                break
        self.seq[key] = n
        return id_number(area, y, m, d, n)

    def _given(self, male):
        pool = GIVEN_MALE if male else GIVEN_FEMALE
        if self.rng.random() < 0.3:
            return self.rng.choice(pool)
        return self.rng.choice(pool) + self.rng.choice(pool)

    def _person(self, surname, min_age, max_age, male, grid, residence, province, area):
        rng = self.rng
        for _ in range(20):
            y, m, d = self._birth(min_age, max_age)
            num = self._id(area, y, m, d, male)
            if num is not None:
                break
        else:
            raise RuntimeError("generator ran out of ID sequence numbers")
        r = {
            "name": surname + self._given(male),
            "id_type": "resident_id",
            "id_number": num,
            "gender": "male" if male else "female",
            "birth_date": "%04d-%02d-%02d" % (y, m, d),
            "ethnicity": _pick(_ETH[0], _ETH[1], rng),
            "residence_status": residence,
            "grid_id": grid,
        }
        if self.year - y >= 14:
            r["phone"] = "1%d%09d" % (rng.choice((3, 5, 7, 8, 9)), rng.randrange(10 ** 9))
        if province:
            r["registered_province"] = province
        return r

    def households(self, n_people):
        """Yields lists of resident dicts (one list per household) until
        n_people residents were made; ~2.5 per household."""
        rng = self.rng
        made = 0
        gi = 0
        while made < n_people:
            grid = self.grids[gi % len(self.grids)]
            gi += 1
            self.hh_count += 1
            hn = self.hh_count
            size = min(n_people - made, rng.choice((1, 1, 2, 2, 2, 3, 3, 3, 4, 5)))
            floating = rng.random() < 0.18
            if floating:
                province, area = rng.choice(FLOATING)
                residence, kind = "floating", rng.choice(("rented", "rented", "collective"))
            else:
                province, area = None, rng.choice(HOME_AREAS)
                residence = rng.choice(("registered", "registered", "registered", "resident"))
                kind = "registered" if residence == "registered" else "resident"
            surname = _pick(_SUR[0], _SUR[1], rng)
            road = rng.choice(STREET_NAMES) + rng.choice(ROADS)
            address = "%s%d号%d栋%d单元%d%02d室" % (road, rng.randint(1, 300), rng.randint(1, 30),
                                                 rng.randint(1, 6), rng.randint(1, 30),
                                                 rng.randint(1, 4))
            members = []
            head_male = rng.random() < 0.6
            members.append((self._person(surname, 22, 95, head_male, grid, residence, province,
                                         area), "户主"))
            if size >= 2:
                members.append((self._person(_pick(_SUR[0], _SUR[1], rng), 22, 95,
                                             not head_male, grid, residence, province, area),
                                "配偶"))
            for _ in range(size - len(members)):
                male = rng.random() < 0.51
                members.append((self._person(surname, 0, 40, male, grid, residence, province,
                                             area), "子" if male else "女"))
            out = []
            for r, rel in members:
                r["relation"] = rel
                r["household_number"] = "H%07d" % hn
                r["address"] = address
                r["household_kind"] = kind
                out.append(r)
            made += len(out)
            yield out


CSV_COLUMNS = ["name", "id_type", "id_number", "gender", "birth_date", "ethnicity", "phone",
               "residence_status", "registered_province", "grid_id", "relation",
               "household_number", "address", "household_kind"]


def csv_line(r):
    """One row for COPY ... (FORMAT csv) in CSV_COLUMNS order (no field of
    ours needs quoting: no comma, quote or newline is generated)."""
    return ",".join("" if r.get(c) is None else str(r[c]) for c in CSV_COLUMNS) + "\n"


def ndjson_line(r):
    return json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"


def new_id_numbers(count, seed=7):
    """Unique ID numbers of area NEW_AREA (never in the generated district),
    for the write workload."""
    rng = random.Random(seed)
    seen = set()
    out = []
    while len(out) < count:
        y = rng.randint(1950, 2005)
        m = rng.randint(1, 12)
        d = rng.randint(1, 28)
        s = rng.randint(1, 998)
        k = (y, m, d, s)
        if k in seen:
            continue
        seen.add(k)
        out.append(id_number(NEW_AREA, y, m, d, s))
    return out


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="print synthetic residents")
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--grids", type=int, default=10)
    ap.add_argument("--csv", action="store_true")
    a = ap.parse_args()
    p = People(range(1, a.grids + 1))
    for hh in p.households(a.size):
        for r in hh:
            sys.stdout.write(csv_line(r) if a.csv else ndjson_line(r))

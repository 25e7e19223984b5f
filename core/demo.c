/*
 * core/demo.c — the demo district loaded by `onegridd seed-demo` (and so
 * by ./quickstart.sh demo): one district, 2 streets, 4 communities,
 * 12 grids, and one account per role and region, all with the password the
 * operator chose.  Running it again changes nothing but the passwords, so a
 * second demo run reuses the data.  Not used by the daemon at run time.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct demo_region {
	const char *code, *name, *level;
	int parent; /* index into the table, -1 for the district */
};

/* Statistical division codes (12 digits down to community); grid codes
 * extend their community's code by a 3-digit sequence. */
static const struct demo_region regions[] = {
        {"110199000000", "示范区", "district", -1},
        {"110199001000", "和平街道", "street", 0},
        {"110199002000", "光明街道", "street", 0},
        {"110199001001", "和平里社区", "community", 1},
        {"110199001002", "和平东社区", "community", 1},
        {"110199002001", "光明北社区", "community", 2},
        {"110199002002", "光明南社区", "community", 2},
        {"110199001001001", "和平里第一网格", "grid", 3},
        {"110199001001002", "和平里第二网格", "grid", 3},
        {"110199001001003", "和平里第三网格", "grid", 3},
        {"110199001002001", "和平东第一网格", "grid", 4},
        {"110199001002002", "和平东第二网格", "grid", 4},
        {"110199001002003", "和平东第三网格", "grid", 4},
        {"110199002001001", "光明北第一网格", "grid", 5},
        {"110199002001002", "光明北第二网格", "grid", 5},
        {"110199002001003", "光明北第三网格", "grid", 5},
        {"110199002002001", "光明南第一网格", "grid", 6},
        {"110199002002002", "光明南第二网格", "grid", 6},
        {"110199002002003", "光明南第三网格", "grid", 6},
};
#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

/*
 * About 2,000 households and 5,000 residents over the demo grids, built
 * set-based in SQL: realistic names, valid 18-character ID numbers (the
 * check character computed by GB 11643's weights), ages from newborns to
 * the very old, phones for adults, floating residents with their home
 * province, and tags that follow from the data.  $1 is the district id.
 */
static const char *const people_sql[] = {
        "CREATE FUNCTION pg_temp.id_check(body text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$\n"
        "  SELECT substr('10X98765432', (sum(substr(body, i, 1)::int *\n"
        "         (ARRAY[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2])[i]) % 11)::int + 1, 1)\n"
        "    FROM generate_series(1, 17) i\n"
        "$f$;\n",
        "CREATE TEMP TABLE demo_grid ON COMMIT DROP AS\n"
        "  SELECT id, row_number() OVER (ORDER BY id) AS n FROM core.region\n"
        "   WHERE level = 'grid' AND path <@ (SELECT path FROM core.region WHERE id = "
        "$1::bigint);\n",
        /* Five buildings per grid, some in a courtyard. */
        "INSERT INTO core.building (grid_id, kind, name, address, floors, units)\n"
        "  SELECT g.id, 'building', b || '号楼', '示范区' || g.n || '号院' || b || '号楼', 6 + b, "
        "3\n"
        "    FROM demo_grid g, generate_series(1, 5) b;\n",
        /* About 2,000 households spread over the grids. */
        "CREATE TEMP TABLE demo_hh ON COMMIT DROP AS\n"
        "  SELECT h AS n, (SELECT id FROM demo_grid WHERE demo_grid.n = 1 + (h % (SELECT count(*) "
        "FROM demo_grid))) AS grid_id\n"
        "    FROM generate_series(1, 2000) h;\n",
        "ALTER TABLE demo_hh ADD COLUMN id bigint;\n",
        "WITH ins AS (\n"
        "  INSERT INTO core.household (grid_id, building_id, unit, room, address, kind, "
        "household_number)\n"
        "  SELECT d.grid_id, b.id, (1 + d.n % 3)::text, (100 * (1 + d.n % 12) + 1 + d.n % "
        "4)::text,\n"
        "         b.address || (1 + d.n % 3) || '单元' || (100 * (1 + d.n % 12) + 1 + d.n % 4) || "
        "'室',\n"
        "         "
        "(ARRAY['registered','registered','registered','resident','rented','registered','rented','"
        "collective'])[1 + d.n % 8],\n"
        "         'H' || lpad(d.n::text, 6, '0')\n"
        "    FROM demo_hh d\n"
        "    JOIN LATERAL (SELECT id, address FROM core.building WHERE grid_id = d.grid_id\n"
        "                   ORDER BY id OFFSET d.n % 5 LIMIT 1) b ON true\n"
        "  RETURNING id, household_number)\n"
        "UPDATE demo_hh SET id = ins.id FROM ins WHERE ins.household_number = 'H' || "
        "lpad(demo_hh.n::text, 6, '0');\n",
        /* Members: 1 to 4 per household (2.5 on average): head, spouse, child, parent. */
        "CREATE TEMP TABLE demo_person ON COMMIT DROP AS\n"
        "  SELECT h.id AS household_id, h.grid_id, h.n AS hn, m AS member,\n"
        "         (h.n * 4 + m) AS k,\n"
        "         CASE m WHEN 1 THEN '户主' WHEN 2 THEN '配偶' WHEN 3 THEN (CASE WHEN h.n % 2 = 0 "
        "THEN '子' ELSE '女' END) ELSE '父母' END AS relation,\n"
        "         CASE m WHEN 1 THEN 25 + (h.n * 7) % 55 WHEN 2 THEN 23 + (h.n * 11) % 55\n"
        "                WHEN 3 THEN (h.n * 13) % 30 ELSE 62 + (h.n * 13 + 5) % 35 END AS age,\n"
        "         CASE m WHEN 1 THEN (h.n % 5 <> 0) WHEN 2 THEN (h.n % 5 = 0) ELSE (h.n + m) % 2 = "
        "0 END AS male\n"
        "    FROM demo_hh h, generate_series(1, 4) m\n"
        "   WHERE m <= 1 + (h.n % 4);\n",
        "INSERT INTO core.resident (name, id_type, id_number, gender, birth_date, ethnicity, "
        "phone,\n"
        "                           residence_status, registered_province, grid_id, household_id, "
        "relation)\n"
        "SELECT DISTINCT ON (x.id_number) x.name, 'resident_id', x.id_number, x.gender, x.birth, "
        "x.ethnicity, x.phone,\n"
        "       x.rs, CASE WHEN x.rs = 'floating' THEN x.province END, x.grid_id, x.household_id, "
        "x.relation\n"
        "  FROM (\n"
        "    SELECT p.*, s.body || pg_temp.id_check(s.body) AS id_number, s.birth,\n"
        "           CASE WHEN p.male THEN 'male' ELSE 'female' END AS gender,\n"
        "           "
        "(ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周','徐','孙','马','朱','胡','郭','"
        "何','高','林','罗','郑','梁','谢','宋','唐','许','韩','冯','邓','曹'])[1 + (p.hn * 31) % "
        "30]\n"
        "           || CASE WHEN p.male\n"
        "                   THEN "
        "(ARRAY['伟','强','磊','军','洋','勇','杰','涛','明','超','建国','志强','海峰','国庆','"
        "晓东','子轩','浩然','宇航','俊杰','文博'])[1 + (p.k * 7) % 20]\n"
        "                   ELSE "
        "(ARRAY['芳','娜','敏','静','丽','艳','娟','霞','秀英','桂兰','玉兰','淑珍','雨欣','梓涵','"
        "欣怡','思琪','佳怡','丽华','春梅','晓燕'])[1 + (p.k * 7) % 20] END AS name,\n"
        "           CASE WHEN p.k % 23 = 0 THEN '回' WHEN p.k % 31 = 0 THEN '满' WHEN p.k % 47 = 0 "
        "THEN '蒙古' ELSE '汉' END AS ethnicity,\n"
        "           CASE WHEN p.age >= 16 THEN "
        "(ARRAY['138','139','135','186','158','177','150','189'])[1 + p.k % 8] || lpad(((p.k * "
        "7919) % 100000000)::text, 8, '0') END AS phone,\n"
        "           CASE WHEN p.hn % 10 = 7 THEN 'floating' WHEN p.hn % 10 = 3 THEN 'resident' "
        "ELSE 'registered' END AS rs,\n"
        "           (ARRAY['河北','河南','山东','安徽','四川','湖北'])[1 + p.hn % 6] AS province\n"
        "      FROM demo_person p,\n"
        "      LATERAL (SELECT (CASE WHEN p.hn % 10 = 7 THEN "
        "(ARRAY['130102','410105','370102','340104','510104','420106'])[1 + p.hn % 6] ELSE "
        "(ARRAY['110105','110108','110101','110102'])[1 + p.k % 4] END)\n"
        "                      || to_char(current_date - (p.age * 365 + (p.k * 37) % 365), "
        "'YYYYMMDD')\n"
        "                      || lpad((((p.k % 499) * 2) + CASE WHEN p.male THEN 1 ELSE 0 "
        "END)::text, 3, '0') AS body,\n"
        "                      current_date - (p.age * 365 + (p.k * 37) % 365) AS birth) s\n"
        "  ) x\n"
        " WHERE NOT EXISTS (SELECT 1 FROM core.resident r WHERE r.id_number = x.id_number);\n",
        "UPDATE core.household h SET head_resident_id = r.id\n"
        "  FROM core.resident r WHERE r.household_id = h.id AND r.relation = '户主'\n"
        "   AND h.id IN (SELECT id FROM demo_hh);\n",
        /* Tags from the data: single elderly households live alone, elderly couples are empty nests, floating residents are tagged, a few veterans and disabled. */
        "INSERT INTO core.resident_tag (resident_id, tag, source)\n"
        "  SELECT r.id, 'lives_alone', 'demo' FROM core.resident r\n"
        "   WHERE r.household_id IN (SELECT id FROM demo_hh) AND r.birth_date < current_date - "
        "interval '65 years'\n"
        "     AND (SELECT count(*) FROM core.resident o WHERE o.household_id = r.household_id) = "
        "1\n"
        "  UNION ALL\n"
        "  SELECT r.id, 'empty_nest', 'demo' FROM core.resident r\n"
        "   WHERE r.household_id IN (SELECT id FROM demo_hh) AND r.birth_date < current_date - "
        "interval '60 years'\n"
        "     AND (SELECT count(*) FROM core.resident o WHERE o.household_id = r.household_id) = "
        "2\n"
        "  UNION ALL\n"
        "  SELECT r.id, 'floating', 'demo' FROM core.resident r\n"
        "   WHERE r.household_id IN (SELECT id FROM demo_hh) AND r.residence_status = 'floating'\n"
        "  UNION ALL\n"
        "  SELECT r.id, 'veteran', 'demo' FROM core.resident r\n"
        "   WHERE r.household_id IN (SELECT id FROM demo_hh) AND r.gender = 'male' AND r.id % 37 = "
        "0\n"
        "     AND r.birth_date < current_date - interval '40 years'\n"
        "  UNION ALL\n"
        "  SELECT r.id, 'disabled', 'demo' FROM core.resident r\n"
        "   WHERE r.household_id IN (SELECT id FROM demo_hh) AND r.id % 53 = 0;\n",
};

static const char *role_for(const char *level)
{
	if (strcmp(level, "district") == 0)
		return "district";
	if (strcmp(level, "street") == 0)
		return "street";
	if (strcmp(level, "community") == 0)
		return "community";
	return "grid_worker";
}

static int exec_ok(PGconn *conn, PGresult *res, const char *what)
{
	ExecStatusType st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	ogc_log(OG_LOG_ERROR, "seed-demo: %s: %s", what, PQerrorMessage(conn));
	return -1;
}

static int upsert_user(PGconn *conn, const char *username, const char *display, const char *role,
                       const char *scope, const char *password)
{
	char hash[256];
	const char *p[5] = {username, display, hash, role, scope};
	PGresult *res;
	int rc;

	if (ogc_auth_hash_password(password, hash, sizeof(hash)) != 0)
		return -1;
	res = PQexecParams(
	        conn,
	        "INSERT INTO core.app_user (username, display_name, password_hash, role, "
	        "scope_region_id) VALUES ($1, $2, $3, $4, $5::bigint) "
	        "ON CONFLICT (username) DO UPDATE SET password_hash = $3, active = true",
	        5, NULL, p, NULL, NULL, 0);
	rc = exec_ok(conn, res, username);
	PQclear(res);
	return rc;
}

/* Loads the residents once: a district that has any is left alone. */
static int seed_people(PGconn *conn, const char *district, FILE *out)
{
	const char *p[1] = {district};
	PGresult *res;
	int rc = 0;

	res = PQexecParams(
	        conn,
	        "SELECT count(*) FROM core.resident r JOIN core.region g ON g.id = r.grid_id "
	        "WHERE g.path <@ (SELECT path FROM core.region WHERE id = $1::bigint)",
	        1, NULL, p, NULL, NULL, 0);
	if (exec_ok(conn, res, "count residents") != 0) {
		PQclear(res);
		return -1;
	}
	if (atol(PQgetvalue(res, 0, 0)) > 0) {
		PQclear(res);
		return 0;
	}
	PQclear(res);
	res = PQexec(conn, "BEGIN");
	PQclear(res);
	for (size_t i = 0; rc == 0 && i < sizeof(people_sql) / sizeof(people_sql[0]); i++) {
		bool param = strstr(people_sql[i], "$1") != NULL;
		res = PQexecParams(conn, people_sql[i], param ? 1 : 0, NULL, param ? p : NULL, NULL,
		                   NULL, 0);
		rc = exec_ok(conn, res, "demo residents");
		PQclear(res);
	}
	res = PQexec(conn, rc == 0 ? "COMMIT" : "ROLLBACK");
	rc = rc == 0 ? exec_ok(conn, res, "commit demo residents") : rc;
	PQclear(res);
	if (rc == 0) {
		res = PQexecParams(
		        conn,
		        "SELECT (SELECT count(*) FROM core.household h JOIN core.region g "
		        "ON g.id = h.grid_id WHERE g.path <@ d.path), "
		        "(SELECT count(*) FROM core.resident r JOIN core.region g "
		        "ON g.id = r.grid_id WHERE g.path <@ d.path) "
		        "FROM core.region d WHERE d.id = $1::bigint",
		        1, NULL, p, NULL, NULL, 0);
		if (exec_ok(conn, res, "count") == 0)
			fprintf(out, "demo population: %s households, %s residents\n",
			        PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		PQclear(res);
	}
	return rc;
}

int ogc_demo_seed(PGconn *conn, const char *password, FILE *out)
{
	char ids[NREGIONS][24];
	int street_no = 0, community_no = 0, grid_no = 0;

	for (size_t i = 0; i < NREGIONS; i++) {
		const struct demo_region *r = &regions[i];
		const char *p[4] = {r->parent >= 0 ? ids[r->parent] : NULL, r->level, r->code,
		                    r->name};
		PGresult *res = PQexecParams(
		        conn,
		        "WITH found AS (SELECT id FROM core.region WHERE coalesce(parent_id, 0) = "
		        "coalesce($1::bigint, 0) AND code = $3), "
		        "n AS (SELECT nextval('core.region_id_seq') AS id WHERE NOT EXISTS "
		        "(SELECT 1 FROM found)), "
		        "ins AS (INSERT INTO core.region (id, parent_id, level, code, name, path) "
		        "SELECT n.id, $1::bigint, $2, $3, $4, coalesce((SELECT path FROM "
		        "core.region "
		        "WHERE id = $1::bigint), ''::ltree) || n.id::text FROM n RETURNING id) "
		        "SELECT id FROM found UNION ALL SELECT id FROM ins",
		        4, NULL, p, NULL, NULL, 0);
		if (exec_ok(conn, res, r->name) != 0 || PQntuples(res) != 1) {
			PQclear(res);
			return -1;
		}
		snprintf(ids[i], sizeof(ids[i]), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	}

	if (seed_people(conn, ids[0], out) != 0)
		return -1;
	fprintf(out, "demo district 示范区 (region %s): 2 streets, 4 communities, 12 grids\n",
	        ids[0]);
	fprintf(out, "demo accounts, all with the demo password:\n");
	if (upsert_user(conn, "admin", "系统管理员", "admin", NULL, password) != 0)
		return -1;
	fprintf(out, "  %-12s %-10s %s\n", "admin", "admin", "(everything)");
	for (size_t i = 0; i < NREGIONS; i++) {
		const struct demo_region *r = &regions[i];
		const char *role = role_for(r->level);
		char username[32];

		if (strcmp(role, "district") == 0)
			snprintf(username, sizeof(username), "district");
		else if (strcmp(role, "street") == 0)
			snprintf(username, sizeof(username), "street%d", ++street_no);
		else if (strcmp(role, "community") == 0)
			snprintf(username, sizeof(username), "community%d", ++community_no);
		else
			snprintf(username, sizeof(username), "grid%02d", ++grid_no);
		if (upsert_user(conn, username, r->name, role, ids[i], password) != 0)
			return -1;
		fprintf(out, "  %-12s %-10s %s\n", username, role, r->name);
	}
	return 0;
}

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
	res = PQexecParams(conn,
	                   "INSERT INTO core.app_user (username, display_name, password_hash, role, "
	                   "scope_region_id) VALUES ($1, $2, $3, $4, $5::bigint) "
	                   "ON CONFLICT (username) DO UPDATE SET password_hash = $3, active = true",
	                   5, NULL, p, NULL, NULL, 0);
	rc = exec_ok(conn, res, username);
	PQclear(res);
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
		    "SELECT n.id, $1::bigint, $2, $3, $4, coalesce((SELECT path FROM core.region "
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

/*
 * plugins/women/women.c — the women's federation (妇联): women and children
 * counted from the shared model, rights-protection cases (维权), children's
 * care follow-up (流动儿童, 困境儿童), activities (三八, 六一, family
 * education, health) and honours given to households (最美家庭, 平安家庭).
 *
 * For: the plugin's routes under /api/v1/women/ — the overview of women,
 * girls and children by age band and residence status (computed from
 * core.resident, no register of its own); rights cases with their parties,
 * actions, referrals, status and closure; children's care records and
 * their visits; activities and their participants; honours; and the
 * plugin's indicators and ledgers for the one report.
 *
 * Not for: names, ID numbers, phones or addresses of residents — read by
 * JOIN, never copied (a party of a rights case who is not in the shared
 * model is the one name kept, inside the case only); anything outside
 * include/onegrid/plugin.h.
 *
 * Rights cases are sensitive.  A case is shown only to its handler (the
 * user who holds it, wherever the case lies) and to holders of
 * women.case.read whose scope covers the case's grid; to anyone else it is
 * a 404 like a case that does not exist.  Every read — one case or a list
 * page — writes an audit row naming the cases shown.  Audit images of
 * cases hold ids, status and category only, never parties or narrative
 * (the audit log is readable by staff who may not read cases).  Cases set
 * no resident tag (tags travel with exports), and the plugin's ledger and
 * indicator rows show cases anonymised: number, grid, dates, channel,
 * category, status.
 *
 * Scope: children's records through the child's grid, activities through
 * the grid they are held in, honours through the household's grid; out of
 * scope is a 404.  Every write is audited in its transaction.  Everything
 * is static; the only exported symbol is og_plugin_desc.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <onegrid/plugin.h>

/* schema/0001_women.sql embedded by `sql2c.sh --static women_migrations
 * women ...`: women_migrations[] and women_migrations_count. */
#include "women_migrations.c"

#define WOMEN_PERM_READ "women.read"
#define WOMEN_PERM_WRITE "women.write"
#define WOMEN_PERM_CASE_READ "women.case.read"
#define WOMEN_PERM_CASE_WRITE "women.case.write"

#define WOMEN_PARTIES_MAX 20       /* parties named at intake */
#define WOMEN_PARTICIPANTS_MAX 500 /* residents added in one call */

/* ------------------------------------------------------------------ */
/* small helpers */

static const char *women_id_text(int64_t v, char buf[24])
{
	snprintf(buf, 24, "%" PRId64, v);
	return buf;
}

/* strdup without POSIX (plugins build with plain -std=c11); new, free(). */
static char *women_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = malloc(n);

	if (copy != NULL)
		memcpy(copy, s, n);
	return copy;
}

/* A 422 naming the field. */
static void women_invalid(og_req *req, const og_host_api *host, const char *field,
                          const char *message)
{
	host->reply_error(req, 422, "invalid", message, field);
}

static void women_not_found(og_req *req, const og_host_api *host, const char *what)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "no such %s", what);
	host->reply_error(req, 404, "not_found", msg, NULL);
}

/*
 * The ltree path (new, free()) of ?region= when given and in the caller's
 * scope, else of the caller's scope ("" for everything).  NULL after a
 * reply (404 naming the parameter, 422, or the query's error).
 */
static char *women_region_path(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	int64_t id;
	char sid[24];
	const char *params[2];
	og_result *r;
	char *path = NULL;

	if (host->query_id(req, "region", &id) < 0)
		return NULL;
	if (id == 0) {
		path = women_strdup(me->scope_path);
		if (path == NULL)
			host->reply_error(req, 500, "internal", "out of memory", NULL);
		return path;
	}
	params[0] = women_id_text(id, sid);
	params[1] = me->scope_path;
	r = host->query(req,
	                "SELECT r.path::text FROM core.region r WHERE r.id = $1::bigint"
	                " AND ($2::text = '' OR r.path <@ $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return NULL;
	if (host->result_rows(r) == 1) {
		path = women_strdup(host->result_text(r, 0, 0));
		if (path == NULL)
			host->reply_error(req, 500, "internal", "out of memory", NULL);
	} else {
		host->reply_error(req, 404, "not_found", "no such region in your scope", "region");
	}
	host->result_free(r);
	return path;
}

/*
 * Is `grid` a grid in the caller's scope?  1 yes; 0 after a 422 naming
 * field; -1 after the query's error.
 */
static int women_grid_check(og_req *req, const og_host_api *host, int64_t grid, const char *field)
{
	const og_caller *me = host->caller(req);
	char sid[24], msg[128];
	const char *params[2] = {women_id_text(grid, sid), me->scope_path};
	og_result *r;
	int rows;

	r = host->query(req,
	                "SELECT 1 FROM core.region g WHERE g.id = $1::bigint AND g.level = 'grid'"
	                " AND g.closed_on IS NULL AND ($2::text = '' OR g.path <@ $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return -1;
	rows = host->result_rows(r);
	host->result_free(r);
	if (rows == 0) {
		snprintf(msg, sizeof(msg), "%s must be an open grid in your scope", field);
		women_invalid(req, host, field, msg);
		return 0;
	}
	return 1;
}

/*
 * Resident `id` in the caller's scope as {grid_id, life_status, age}
 * (*out new).  1; 0 after a 422 naming field; -1 after the query's error.
 */
static int women_resident(og_req *req, const og_host_api *host, int64_t id, const char *field,
                          json_t **out)
{
	const og_caller *me = host->caller(req);
	char sid[24], msg[128];
	const char *params[2] = {women_id_text(id, sid), me->scope_path};
	int n;

	n = host->query_json(req,
	                     "SELECT json_build_object('grid_id', x.grid_id, 'life_status',"
	                     " x.life_status, 'age', date_part('year', age(current_date,"
	                     " x.birth_date))::int) FROM core.resident x JOIN core.region g"
	                     " ON g.id = x.grid_id WHERE x.id = $1::bigint"
	                     " AND ($2::text = '' OR g.path <@ $2::text::ltree)",
	                     2, params, out);
	if (n == 0) {
		snprintf(msg, sizeof(msg), "%s: no such resident in your scope", field);
		women_invalid(req, host, field, msg);
	}
	return n;
}

static int64_t women_int(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

static const char *women_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key)); /* NULL unless a string */
}

static void women_set_etag(og_req *req, const og_host_api *host, json_t *row)
{
	char etag[32];

	snprintf(etag, sizeof(etag), "\"%" JSON_INTEGER_FORMAT "\"",
	         json_integer_value(json_object_get(row, "version")));
	host->set_header(req, "ETag", etag);
}

/* The 409 of a stale version. */
static void women_conflict(og_req *req, const og_host_api *host, const char *what, int64_t sent,
                           int64_t now)
{
	char msg[160];

	snprintf(msg, sizeof(msg),
	         "the %s has changed: you sent version %" PRId64 ", it is now at %" PRId64, what,
	         sent, now);
	host->reply_error(req, 409, "version_conflict", msg, "version");
}

/*
 * One keyset page: `from` names the rows (alias a, with a.id), `where`
 * filters them (may use $3..), `json` renders one.  $1 = cursor, $2 =
 * limit, params[2..] the caller's.  Answers {"items", "next_cursor"}
 * (*out new).  0, or -1 after a reply.
 */
static int women_page(og_req *req, const og_host_api *host, const char *from, const char *where,
                      const char *json, int nparams, const char **params, json_t **out)
{
	static const char fmt[] =
	        "WITH page AS (SELECT a.id %s WHERE (%s) AND a.id > $1::bigint"
	        " ORDER BY a.id LIMIT $2::int + 1), "
	        "shown AS (SELECT id FROM page ORDER BY id LIMIT $2::int) "
	        "SELECT json_build_object('items', coalesce((SELECT json_agg(%s ORDER BY a.id)"
	        " %s WHERE a.id IN (SELECT id FROM shown)), '[]'::json),"
	        " 'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $2::int"
	        " THEN (SELECT max(id)::text FROM shown) END)";
	int64_t cursor;
	int limit, n;
	char sc[24], sl[24], *sql;
	size_t len;

	if (host->page(req, &limit, &cursor) < 0)
		return -1;
	params[0] = women_id_text(cursor, sc);
	params[1] = women_id_text(limit, sl);
	len = sizeof(fmt) + 2 * strlen(from) + strlen(where) + strlen(json);
	if ((sql = malloc(len)) == NULL) {
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	snprintf(sql, len, fmt, from, where, json, from);
	n = host->query_json(req, sql, nparams, params, out);
	free(sql);
	return n == 1 ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* overview: counts from the shared model */

/* clang-format off */
/*
 * Active residents under $1 (an ltree path, "" for everything) with their
 * age in whole years today (NULL when the birth date is unknown).
 */
#define WOMEN_AGE(x, on) "date_part('year', age(" on ", " x ".birth_date))::int"
#define WOMEN_RES(cond)                                                                       \
	"json_build_object('registered', count(*) FILTER (WHERE " cond " AND rs = 'registered'),"\
	" 'resident', count(*) FILTER (WHERE " cond " AND rs = 'resident'),"                    \
	" 'floating', count(*) FILTER (WHERE " cond " AND rs = 'floating'))"
#define WOMEN_N(cond) "count(*) FILTER (WHERE " cond ")"
#define WOMEN_CHILD_BANDS(cond)                                                               \
	"json_build_object('0-3', " WOMEN_N(cond " AND age BETWEEN 0 AND 3") ","                 \
	" '4-9', " WOMEN_N(cond " AND age BETWEEN 4 AND 9") ","                                   \
	" '10-14', " WOMEN_N(cond " AND age BETWEEN 10 AND 14") ","                               \
	" '15-17', " WOMEN_N(cond " AND age BETWEEN 15 AND 17") ")"
#define WOMEN_ADULT_BANDS(cond)                                                               \
	"json_build_object('18-34', " WOMEN_N(cond " AND age BETWEEN 18 AND 34") ","             \
	" '35-59', " WOMEN_N(cond " AND age BETWEEN 35 AND 59") ","                               \
	" '60+', " WOMEN_N(cond " AND age >= 60") ")"
#define WOMEN_F "gender = 'female'"
#define WOMEN_CHILD "age < 18"

static const char women_sql_overview[] =
	"WITH p AS (SELECT x.gender, x.residence_status AS rs, " WOMEN_AGE("x", "current_date")
	"  AS age FROM core.resident x JOIN core.region g ON g.id = x.grid_id"
	"  WHERE x.life_status = 'active' AND ($1::text = '' OR g.path <@ $1::text::ltree)) "
	"SELECT json_build_object('as_of', current_date, 'residents', count(*),"
	" 'female', json_build_object('total', " WOMEN_N(WOMEN_F) ","
	"  'by_residence', " WOMEN_RES(WOMEN_F) ", 'age_unknown',"
	"  " WOMEN_N(WOMEN_F " AND age IS NULL") "),"
	" 'women', json_build_object('total', " WOMEN_N(WOMEN_F " AND age >= 18") ","
	"  'by_age', " WOMEN_ADULT_BANDS(WOMEN_F) ","
	"  'by_residence', " WOMEN_RES(WOMEN_F " AND age >= 18") "),"
	" 'girls', json_build_object('total', " WOMEN_N(WOMEN_F " AND " WOMEN_CHILD) ","
	"  'by_age', " WOMEN_CHILD_BANDS(WOMEN_F) ","
	"  'by_residence', " WOMEN_RES(WOMEN_F " AND " WOMEN_CHILD) "),"
	" 'children', json_build_object('total', " WOMEN_N(WOMEN_CHILD) ","
	"  'by_age', " WOMEN_CHILD_BANDS("true") ","
	"  'by_residence', " WOMEN_RES(WOMEN_CHILD) ","
	"  'boys', " WOMEN_N("gender = 'male' AND " WOMEN_CHILD) ","
	"  'girls', " WOMEN_N(WOMEN_F " AND " WOMEN_CHILD) ","
	"  'floating', " WOMEN_N(WOMEN_CHILD " AND rs = 'floating'") "),"
	" 'age_unknown', " WOMEN_N("age IS NULL") ") FROM p";
/* clang-format on */

/* GET /api/v1/women/overview?region= */
static void women_overview(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	char *path = women_region_path(req, host);
	const char *params[1];
	json_t *out;
	int64_t region = 0;

	if (path == NULL)
		return;
	params[0] = path;
	if (host->query_json(req, women_sql_overview, 1, params, &out) == 1) {
		host->query_id(req, "region", &region); /* validated above */
		json_object_set_new(out, "region_id",
		                    region != 0                ? json_integer(region)
		                    : me->scope_region_id != 0 ? json_integer(me->scope_region_id)
		                                               : json_null());
		host->reply_json(req, 200, out); /* steals out */
	}
	free(path);
}

/* ------------------------------------------------------------------ */
/* rights-protection cases (维权) */

static const char *const women_channels[] = {"visit", "phone", "referral", NULL};
static const char *const women_categories[] = {"domestic_violence", "marriage_family", "property",
                                               "employment",        "other",           NULL};
static const char *const women_case_statuses[] = {"open", "closed", NULL};
static const char *const women_party_roles[] = {"complainant", "respondent", "child", "other",
                                                NULL};
static const char *const women_action_kinds[] = {"action", "referral", NULL};
static const char *const women_referrals[] = {"police", "court", "legal_aid", "shelter", NULL};

/* clang-format off */
#define WOMEN_CASE_FROM " FROM women.rights_case a JOIN core.region g ON g.id = a.grid_id"
/*
 * Who sees case a: its handler ($U), or a holder of the permission ($M)
 * whose scope ($S) covers the case's grid.
 */
#define WOMEN_CASE_VISIBLE(u, m, s)                                                           \
	"(a.handler_id = " u "::bigint OR (" m "::boolean AND (" s "::text = ''"                \
	" OR g.path <@ " s "::text::ltree)))"

#define WOMEN_CASE_JSON                                                                       \
	"json_build_object('id', a.id, 'grid_id', a.grid_id, 'grid_name', g.name,"              \
	" 'intake_on', a.intake_on, 'channel', a.channel, 'category', a.category,"             \
	" 'summary', a.summary, 'status', a.status, 'closed_on', a.closed_on,"                 \
	" 'closure', a.closure, 'handler_id', a.handler_id, 'handler', (SELECT u.username"     \
	"  FROM core.app_user u WHERE u.id = a.handler_id),"                                    \
	" 'parties', (SELECT coalesce(json_agg(json_build_object('id', p.id, 'role', p.role,"  \
	"  'resident_id', p.resident_id, 'name', coalesce(r.name, p.name), 'in_model',"        \
	"  p.resident_id IS NOT NULL, 'note', p.note) ORDER BY p.id), '[]')"                   \
	"  FROM women.case_party p LEFT JOIN core.resident r ON r.id = p.resident_id"          \
	"  WHERE p.case_id = a.id),"                                                            \
	" 'actions', (SELECT coalesce(json_agg(json_build_object('id', k.id, 'acted_on',"      \
	"  k.acted_on, 'kind', k.kind, 'referral_to', k.referral_to, 'note', k.note,"          \
	"  'by_user', k.by_user, 'created_at', k.created_at) ORDER BY k.id), '[]')"            \
	"  FROM women.case_action k WHERE k.case_id = a.id),"                                   \
	" 'referrals', (SELECT coalesce(json_agg(DISTINCT k.referral_to ORDER BY"              \
	"  k.referral_to), '[]') FROM women.case_action k WHERE k.case_id = a.id"              \
	"  AND k.kind = 'referral'),"                                                           \
	" 'version', a.version, 'created_by', a.created_by, 'created_at', a.created_at,"       \
	" 'updated_at', a.updated_at)"

/* What the audit log keeps of a case: no parties, no narrative. */
#define WOMEN_CASE_BRIEF                                                                      \
	"json_build_object('id', a.id, 'grid_id', a.grid_id, 'status', a.status, 'category',"  \
	" a.category, 'channel', a.channel, 'handler_id', a.handler_id, 'version', a.version)"
/* clang-format on */

/* Audit images of a case (new): the brief only. */
static json_t *women_case_brief(json_t *c)
{
	return json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}", "id",
	                 json_object_get(c, "id"), "grid_id", json_object_get(c, "grid_id"),
	                 "status", json_object_get(c, "status"), "category",
	                 json_object_get(c, "category"), "channel", json_object_get(c, "channel"),
	                 "handler_id", json_object_get(c, "handler_id"), "version",
	                 json_object_get(c, "version"));
}

/*
 * Case `id` as the caller may see it (*out new): read with `perm`
 * (women.case.read or women.case.write) or as its handler; locked for
 * update when `lock`.  1; 0 when not found (after a 404 unless `quiet`);
 * -1 after the query's error.
 */
static int women_case_load(og_req *req, const og_host_api *host, int64_t id, const char *perm,
                           bool lock, bool quiet, json_t **out)
{
	const og_caller *me = host->caller(req);
	char sid[24], su[24];
	const char *params[4] = {women_id_text(id, sid), women_id_text(me->user_id, su),
	                         host->has_permission(req, perm) ? "t" : "f", me->scope_path};
	int n;

	n = host->query_json(
	        req,
	        lock ? "SELECT " WOMEN_CASE_JSON WOMEN_CASE_FROM
	               " WHERE a.id = $1::bigint AND " WOMEN_CASE_VISIBLE("$2", "$3",
	                                                                  "$4") " FOR UPDATE OF a"
	             : "SELECT " WOMEN_CASE_JSON WOMEN_CASE_FROM
	               " WHERE a.id = $1::bigint AND " WOMEN_CASE_VISIBLE("$2", "$3", "$4"),
	        4, params, out);
	if (n == 0 && !quiet)
		women_not_found(req, host, "case");
	return n;
}

/*
 * Case `id` for a write: visible to the caller as reader, handler or
 * writer, and writable (its handler, or women.case.write in scope).
 * Locked.  1; 0 after a 404/403; -1 after the query's error.
 */
static int women_case_for_write(og_req *req, const og_host_api *host, int64_t id, json_t **out)
{
	int n = women_case_load(req, host, id, WOMEN_PERM_CASE_WRITE, true, true, out);
	json_t *seen;

	if (n != 0)
		return n;
	/* Not writable: a reader of cases gets a 403, anyone else a 404. */
	n = women_case_load(req, host, id, WOMEN_PERM_CASE_READ, false, false, &seen);
	if (n == 1) {
		json_decref(seen);
		host->reply_error(req, 403, "forbidden",
		                  "changing a rights case needs permission women.case.write "
		                  "(or being its handler)",
		                  NULL);
	}
	return n < 0 ? -1 : 0;
}

/* GET /api/v1/women/cases?status=&category=&region=&handler=&limit=&cursor= */
static void women_cases_list(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	const char *status, *category;
	char su[24], sh[24];
	const char *params[9];
	int64_t handler;
	int rc;
	char *path;
	json_t *page, *ids, *item, *after;
	size_t i;

	if (host->query_enum(req, "status", women_case_statuses, &status) < 0 ||
	    host->query_enum(req, "category", women_categories, &category) < 0 ||
	    host->query_id(req, "handler", &handler) < 0)
		return;
	if ((path = women_region_path(req, host)) == NULL)
		return;
	params[2] = women_id_text(me->user_id, su);
	params[3] = host->has_permission(req, WOMEN_PERM_CASE_READ) ? "t" : "f";
	params[4] = me->scope_path;
	params[5] = status;
	params[6] = category;
	params[7] = handler != 0 ? women_id_text(handler, sh) : NULL;
	/* ?region= narrows by the case's grid; a handler's own case outside
	 * the region is left out like any other. */
	params[8] = host->query_param(req, "region") != NULL ? path : NULL;
	rc = women_page(
	        req, host, WOMEN_CASE_FROM,
	        WOMEN_CASE_VISIBLE("$3", "$4",
	                           "$5") " AND ($6::text IS NULL OR a.status = $6::text)"
	                                 " AND ($7::text IS NULL OR a.category = $7::text)"
	                                 " AND ($8::bigint IS NULL OR a.handler_id = $8::bigint)"
	                                 " AND ($9::text IS NULL OR g.path <@ $9::text::ltree)",
	        WOMEN_CASE_JSON, 9, params, &page);
	free(path);
	if (rc < 0)
		return;
	/* Every read is audited: one row naming the cases this page showed. */
	ids = json_array();
	json_array_foreach(json_object_get(page, "items"), i, item)
		json_array_append(ids, json_object_get(item, "id"));
	after = json_pack("{s:o, s:s?, s:s?}", "ids", ids, "status", status, "category", category);
	if (host->audit(req, "list", "women.case", NULL, me->scope_region_id, NULL, after) < 0) {
		json_decref(after);
		json_decref(page);
		return;
	}
	json_decref(after);
	host->reply_json(req, 200, page); /* steals page */
}

/* GET /api/v1/women/cases/{id} */
static void women_case_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *c, *brief;
	char sid[24];
	int rc;

	if (host->path_id(req, "id", &id) < 0 ||
	    women_case_load(req, host, id, WOMEN_PERM_CASE_READ, false, false, &c) != 1)
		return;
	brief = women_case_brief(c);
	rc = host->audit(req, "read", "women.case", women_id_text(id, sid), women_int(c, "grid_id"),
	                 NULL, brief);
	json_decref(brief);
	if (rc < 0) {
		json_decref(c);
		return;
	}
	women_set_etag(req, host, c);
	host->reply_json(req, 200, c); /* steals c */
}

/* The JSON path of member `key` of the object at `field` ("" = the body). */
static const char *women_path(char *buf, size_t size, const char *field, const char *key)
{
	snprintf(buf, size, "%s%s%s", field, field[0] != '\0' ? "." : "", key);
	return buf;
}

/*
 * Parses and inserts one party {role, resident_id | name, note} of case
 * `case_id` (0: validate only); `field` is its JSON path ("parties[0]", or
 * "" for a body that is the party).  *grid_out (may be NULL) gets the
 * first resident party's grid.  0, or -1 after a reply.
 */
static int women_party_add(og_req *req, const og_host_api *host, json_t *p, const char *field,
                           int64_t case_id, int64_t *grid_out)
{
	static const char *const known[] = {"role", "resident_id", "name", "note", NULL};
	const char *role, *name, *note;
	int64_t resident;
	char f[96], sc[24], sr[24];
	const char *params[5];
	json_t *x = NULL;
	og_result *r;

	if (!json_is_object(p)) {
		snprintf(f, sizeof(f), "%s must be an object", field);
		women_invalid(req, host, field, f);
		return -1;
	}
	if (host->body_known_keys(req, p, known, field) < 0 ||
	    host->body_enum(req, p, women_path(f, sizeof(f), field, "role"), women_party_roles,
	                    OG_REQUIRED, &role) < 0 ||
	    host->body_id(req, p, women_path(f, sizeof(f), field, "resident_id"), OG_OPTIONAL,
	                  &resident) < 0 ||
	    host->body_text(req, p, women_path(f, sizeof(f), field, "name"), 100, OG_OPTIONAL,
	                    &name) < 0)
		return -1;
	if ((resident == 0) == (name == NULL)) {
		women_invalid(req, host, f,
		              "a party is either a resident (resident_id) or, when not in the "
		              "shared model, a name: one of them, not both");
		return -1;
	}
	if (host->body_text(req, p, women_path(f, sizeof(f), field, "note"), 500, OG_OPTIONAL,
	                    &note) < 0)
		return -1;
	if (resident != 0) {
		if (women_resident(req, host, resident,
		                   women_path(f, sizeof(f), field, "resident_id"), &x) != 1)
			return -1;
		if (grid_out != NULL && *grid_out == 0)
			*grid_out = women_int(x, "grid_id");
		json_decref(x);
	}
	if (case_id == 0)
		return 0; /* validation pass only */
	params[0] = women_id_text(case_id, sc);
	params[1] = role;
	params[2] = resident != 0 ? women_id_text(resident, sr) : NULL;
	params[3] = name;
	params[4] = note;
	r = host->query(req,
	                "INSERT INTO women.case_party (case_id, role, resident_id, name, note)"
	                " VALUES ($1::bigint, $2, $3::bigint, $4, $5)",
	                5, params);
	if (r == NULL)
		return -1;
	host->result_free(r);
	return 0;
}

/*
 * May user `handler` hold a case of `grid`: an active user whose scope
 * covers the grid?  1; 0 after a 422; -1 after the query's error.
 */
static int women_handler_check(og_req *req, const og_host_api *host, int64_t handler, int64_t grid)
{
	char sh[24], sg[24];
	const char *params[2] = {women_id_text(handler, sh), women_id_text(grid, sg)};
	og_result *r;
	int rows;

	r = host->query(req,
	                "SELECT 1 FROM core.app_user u, core.region g WHERE u.id = $1::bigint"
	                " AND g.id = $2::bigint AND u.active AND (u.role = 'admin' OR"
	                " g.path <@ (SELECT s.path FROM core.region s"
	                " WHERE s.id = u.scope_region_id))",
	                2, params);
	if (r == NULL)
		return -1;
	rows = host->result_rows(r);
	host->result_free(r);
	if (rows == 0) {
		women_invalid(req, host, "handler_id",
		              "handler_id must be an active user whose scope covers the case's "
		              "grid");
		return 0;
	}
	return 1;
}

/* POST /api/v1/women/cases
 * {"grid_id", "intake_on", "channel", "category", "summary", "handler_id",
 *  "parties": [{"role", "resident_id" | "name", "note"}]} */
static void women_case_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"grid_id", "intake_on",  "channel", "category",
	                                    "summary", "handler_id", "parties", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *parties, *p, *after = NULL, *brief;
	const char *intake_on, *channel, *category, *summary;
	int64_t grid, handler, id, party_grid = 0;
	char sg[24], sh[24], su[24], sid[24], field[32], location[80];
	const char *params[7];
	og_result *r;
	size_t i;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "grid_id", OG_OPTIONAL, &grid) < 0 ||
	    host->body_date(req, in, "intake_on", OG_OPTIONAL, &intake_on) < 0 ||
	    host->body_enum(req, in, "channel", women_channels, OG_REQUIRED, &channel) < 0 ||
	    host->body_enum(req, in, "category", women_categories, OG_REQUIRED, &category) < 0 ||
	    host->body_text(req, in, "summary", 2000, OG_OPTIONAL, &summary) < 0 ||
	    host->body_id(req, in, "handler_id", OG_OPTIONAL, &handler) < 0)
		return;
	parties = json_object_get(in, "parties");
	if (parties != NULL && !json_is_null(parties) &&
	    (!json_is_array(parties) || json_array_size(parties) > WOMEN_PARTIES_MAX)) {
		women_invalid(req, host, "parties",
		              "parties must be an array of at most 20 parties");
		return;
	}
	json_array_foreach(parties, i, p) {
		snprintf(field, sizeof(field), "parties[%zu]", i);
		if (women_party_add(req, host, p, field, 0, &party_grid) < 0)
			return;
	}
	if (grid == 0)
		grid = party_grid;
	if (grid == 0) {
		women_invalid(req, host, "grid_id",
		              "grid_id is required when no party is a resident of the shared "
		              "model");
		return;
	}
	if (women_grid_check(req, host, grid, "grid_id") != 1)
		return;
	if (handler == 0)
		handler = me->user_id;
	if (women_handler_check(req, host, handler, grid) != 1)
		return;

	params[0] = women_id_text(grid, sg);
	params[1] = intake_on;
	params[2] = channel;
	params[3] = category;
	params[4] = summary;
	params[5] = women_id_text(handler, sh);
	params[6] = me->user_id > 0 ? women_id_text(me->user_id, su) : NULL;
	r = host->query(req,
	                "INSERT INTO women.rights_case (grid_id, intake_on, channel, category,"
	                " summary, handler_id, created_by) SELECT $1::bigint,"
	                " coalesce($2::date, current_date), $3, $4, $5, $6::bigint, $7::bigint"
	                " WHERE coalesce($2::date, current_date) <= current_date RETURNING id",
	                7, params);
	if (r == NULL)
		return;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		women_invalid(req, host, "intake_on", "intake_on cannot be in the future");
		return;
	}
	id = host->result_int64(r, 0, 0);
	host->result_free(r);
	json_array_foreach(parties, i, p) {
		snprintf(field, sizeof(field), "parties[%zu]", i);
		if (women_party_add(req, host, p, field, id, NULL) < 0)
			return;
	}
	if (women_case_load(req, host, id, WOMEN_PERM_CASE_WRITE, false, false, &after) != 1)
		return;
	brief = women_case_brief(after);
	if (host->audit(req, "create", "women.case", women_id_text(id, sid), grid, NULL, brief) <
	    0) {
		json_decref(brief);
		json_decref(after);
		return;
	}
	json_decref(brief);
	snprintf(location, sizeof(location), "/api/v1/women/cases/%" PRId64, id);
	host->set_header(req, "Location", location);
	women_set_etag(req, host, after);
	host->reply_json(req, 201, after); /* steals after */
}

/* PATCH /api/v1/women/cases/{id}
 * {"version", "channel", "category", "summary", "handler_id", "status",
 *  "closed_on", "closure"}: closing needs a closure; reopening clears it. */
static void women_case_patch(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version",   "channel",    "category",
	                                    "summary",   "handler_id", "status",
	                                    "closed_on", "closure",    NULL};
	json_t *in, *cur = NULL, *after = NULL, *b1 = NULL, *b2 = NULL;
	const char *channel, *category, *summary, *status, *closed_on, *closure;
	int64_t id, version, handler;
	char sid[24], sv[24], sh[24];
	const char *params[10];
	og_result *r;
	bool closing, reopening;
	int n;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_enum(req, in, "channel", women_channels, OG_OPTIONAL, &channel) < 0 ||
	    host->body_enum(req, in, "category", women_categories, OG_OPTIONAL, &category) < 0 ||
	    host->body_text(req, in, "summary", 2000, OG_OPTIONAL, &summary) < 0 ||
	    host->body_id(req, in, "handler_id", OG_OPTIONAL, &handler) < 0 ||
	    host->body_enum(req, in, "status", women_case_statuses, OG_OPTIONAL, &status) < 0 ||
	    host->body_date(req, in, "closed_on", OG_OPTIONAL, &closed_on) < 0 ||
	    host->body_text(req, in, "closure", 1000, OG_OPTIONAL, &closure) < 0)
		return;
	if (women_case_for_write(req, host, id, &cur) != 1)
		return;
	if (women_int(cur, "version") != version) {
		women_conflict(req, host, "case", version, women_int(cur, "version"));
		goto out;
	}
	closing = status != NULL && strcmp(status, "closed") == 0 &&
	          strcmp(women_str(cur, "status"), "closed") != 0;
	reopening = status != NULL && strcmp(status, "open") == 0 &&
	            strcmp(women_str(cur, "status"), "open") != 0;
	if ((closed_on != NULL || closure != NULL) && !closing &&
	    strcmp(women_str(cur, "status"), "closed") != 0) {
		women_invalid(req, host, closed_on != NULL ? "closed_on" : "closure",
		              "closed_on and closure go with status closed");
		goto out;
	}
	if (reopening && (closed_on != NULL || closure != NULL)) {
		women_invalid(req, host, closed_on != NULL ? "closed_on" : "closure",
		              "reopening a case clears its closure: send neither closed_on nor "
		              "closure");
		goto out;
	}
	if (closing && closure == NULL) {
		women_invalid(req, host, "closure",
		              "closing a case needs its closure (the outcome, in a sentence)");
		goto out;
	}
	if (closed_on != NULL && strcmp(closed_on, women_str(cur, "intake_on")) < 0) {
		women_invalid(req, host, "closed_on", "closed_on cannot be before intake_on");
		goto out;
	}
	if (handler != 0 && women_handler_check(req, host, handler, women_int(cur, "grid_id")) != 1)
		goto out;

	params[0] = women_id_text(id, sid);
	params[1] = channel;
	params[2] = category;
	params[3] = summary;
	params[4] = handler != 0 ? women_id_text(handler, sh) : NULL;
	params[5] = closing ? "close" : reopening ? "reopen" : "keep";
	params[6] = closed_on;
	params[7] = closure;
	params[8] = women_id_text(version, sv);
	params[9] = NULL;
	r = host->query(req,
	                "UPDATE women.rights_case a SET channel = coalesce($2, a.channel),"
	                " category = coalesce($3, a.category), summary = coalesce($4, a.summary),"
	                " handler_id = coalesce($5::bigint, a.handler_id),"
	                " status = CASE $6::text WHEN 'close' THEN 'closed' WHEN 'reopen' THEN"
	                "  'open' ELSE a.status END,"
	                " closed_on = CASE $6::text WHEN 'close' THEN coalesce($7::date,"
	                "  current_date) WHEN 'reopen' THEN NULL ELSE coalesce($7::date,"
	                "  a.closed_on) END,"
	                " closure = CASE $6::text WHEN 'reopen' THEN NULL ELSE coalesce($8,"
	                "  a.closure) END,"
	                " version = a.version + 1, updated_at = now()"
	                " WHERE a.id = $1::bigint AND a.version = $9::int"
	                " AND (a.closed_on IS NULL OR $6::text = 'reopen' OR $7::date IS NULL"
	                "  OR $7::date <= current_date)"
	                " AND ($6::text <> 'close' OR coalesce($7::date, current_date)"
	                "  <= current_date) RETURNING a.id",
	                9, params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		women_invalid(req, host, "closed_on", "closed_on cannot be in the future");
		goto out;
	}
	host->result_free(r);
	n = women_case_load(req, host, id, WOMEN_PERM_CASE_WRITE, false, true, &after);
	if (n < 0)
		goto out;
	b1 = women_case_brief(cur);
	if (n == 0) {
		/* A handler who handed the case on sees it no more: the answer
		 * says so and shows nothing of it. */
		b2 = json_pack("{s:I, s:I}", "id", (json_int_t)id, "handler_id",
		               (json_int_t)handler);
		if (host->audit(req, "handover", "women.case", sid, women_int(cur, "grid_id"), b1,
		                b2) == 0)
			host->reply_json(req, 200,
			                 json_pack("{s:I, s:I, s:b}", "id", (json_int_t)id,
			                           "handler_id", (json_int_t)handler, "handed_over",
			                           1));
		goto out;
	}
	b2 = women_case_brief(after);
	if (host->audit(req,
	                closing     ? "close"
	                : reopening ? "reopen"
	                            : "update",
	                "women.case", sid, women_int(after, "grid_id"), b1, b2) < 0)
		goto out;
	women_set_etag(req, host, after);
	host->reply_json(req, 200, after); /* steals after */
	after = NULL;
out:
	json_decref(cur);
	json_decref(after);
	json_decref(b1);
	json_decref(b2);
}

/* POST /api/v1/women/cases/{id}/actions
 * {"acted_on", "kind": action|referral, "referral_to", "note"} */
static void women_case_action(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"acted_on", "kind", "referral_to", "note", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *cur = NULL, *after = NULL, *b;
	const char *acted_on, *kind, *referral_to, *note;
	int64_t id;
	char sid[24], su[24];
	const char *params[6];
	og_result *r;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_date(req, in, "acted_on", OG_OPTIONAL, &acted_on) < 0 ||
	    host->body_enum(req, in, "kind", women_action_kinds, OG_REQUIRED, &kind) < 0 ||
	    host->body_enum(req, in, "referral_to", women_referrals, strcmp(kind, "referral") == 0,
	                    &referral_to) < 0 ||
	    host->body_text(req, in, "note", 1000, OG_REQUIRED, &note) < 0)
		return;
	if (strcmp(kind, "action") == 0 && referral_to != NULL) {
		women_invalid(req, host, "referral_to", "referral_to goes with kind referral");
		return;
	}
	if (women_case_for_write(req, host, id, &cur) != 1)
		return;
	if (strcmp(women_str(cur, "status"), "closed") == 0) {
		host->reply_error(req, 409, "closed",
		                  "the case is closed: reopen it (PATCH status open) first", NULL);
		goto out;
	}
	if (acted_on != NULL && strcmp(acted_on, women_str(cur, "intake_on")) < 0) {
		women_invalid(req, host, "acted_on", "acted_on cannot be before the intake");
		goto out;
	}
	params[0] = women_id_text(id, sid);
	params[1] = acted_on;
	params[2] = kind;
	params[3] = referral_to;
	params[4] = note;
	params[5] = me->user_id > 0 ? women_id_text(me->user_id, su) : NULL;
	r = host->query(req,
	                "WITH k AS (INSERT INTO women.case_action (case_id, acted_on, kind,"
	                " referral_to, note, by_user) SELECT $1::bigint, coalesce($2::date,"
	                " current_date), $3, $4, $5, $6::bigint WHERE coalesce($2::date,"
	                " current_date) <= current_date RETURNING id) "
	                "UPDATE women.rights_case SET version = version + 1, updated_at = now()"
	                " WHERE id = $1::bigint AND EXISTS (SELECT 1 FROM k) RETURNING id",
	                6, params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		women_invalid(req, host, "acted_on", "acted_on cannot be in the future");
		goto out;
	}
	host->result_free(r);
	if (women_case_load(req, host, id, WOMEN_PERM_CASE_WRITE, false, false, &after) != 1)
		goto out;
	b = json_pack("{s:I, s:s, s:s?}", "case_id", (json_int_t)id, "kind", kind, "referral_to",
	              referral_to);
	if (host->audit(req, strcmp(kind, "referral") == 0 ? "referral" : "action", "women.case",
	                sid, women_int(cur, "grid_id"), NULL, b) < 0) {
		json_decref(b);
		goto out;
	}
	json_decref(b);
	host->reply_json(req, 201, after); /* steals after */
	after = NULL;
out:
	json_decref(cur);
	json_decref(after);
}

/* POST /api/v1/women/cases/{id}/parties {"role", "resident_id" | "name", "note"} */
static void women_case_party(og_req *req, const og_host_api *host)
{
	json_t *in, *cur = NULL, *after = NULL, *b;
	int64_t id;
	char sid[24];
	const char *params[1];
	og_result *r;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL)
		return;
	if (women_case_for_write(req, host, id, &cur) != 1)
		return;
	if (strcmp(women_str(cur, "status"), "closed") == 0) {
		host->reply_error(req, 409, "closed",
		                  "the case is closed: reopen it (PATCH status open) first", NULL);
		goto out;
	}
	if (women_party_add(req, host, in, "", id, NULL) < 0)
		goto out;
	params[0] = women_id_text(id, sid);
	if ((r = host->query(req,
	                     "UPDATE women.rights_case SET version = version + 1, updated_at ="
	                     " now() WHERE id = $1::bigint",
	                     1, params)) == NULL)
		goto out;
	host->result_free(r);
	if (women_case_load(req, host, id, WOMEN_PERM_CASE_WRITE, false, false, &after) != 1)
		goto out;
	b = json_pack("{s:I, s:O?}", "case_id", (json_int_t)id, "role",
	              json_object_get(in, "role"));
	if (host->audit(req, "party.add", "women.case", sid, women_int(cur, "grid_id"), NULL, b) <
	    0) {
		json_decref(b);
		goto out;
	}
	json_decref(b);
	host->reply_json(req, 201, after); /* steals after */
	after = NULL;
out:
	json_decref(cur);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* children's care (流动儿童, 困境儿童) */

static const char *const women_programmes[] = {"floating", "disadvantaged", NULL};

/* clang-format off */
#define WOMEN_CARE_FROM                                                                       \
	" FROM women.child_care a JOIN core.resident x ON x.id = a.resident_id"                \
	" JOIN core.region g ON g.id = x.grid_id"
#define WOMEN_IN_SCOPE(s) "(" s "::text = '' OR g.path <@ " s "::text::ltree)"
#define WOMEN_CARE_JSON                                                                       \
	"json_build_object('id', a.id, 'resident_id', a.resident_id, 'name', x.name,"           \
	" 'gender', x.gender, 'birth_date', x.birth_date,"                                      \
	" 'age', " WOMEN_AGE("x", "current_date") ","                                           \
	" 'residence_status', x.residence_status, 'grid_id', x.grid_id, 'grid_name', g.name,"  \
	" 'programme', a.programme, 'project', a.project, 'needs', a.needs, 'status', a.status,"\
	" 'started_on', a.started_on, 'closed_on', a.closed_on,"                                \
	" 'visit_count', (SELECT count(*) FROM women.child_visit v WHERE v.care_id = a.id),"    \
	" 'last_visit_on', (SELECT max(v.visited_on) FROM women.child_visit v"                  \
	"  WHERE v.care_id = a.id),"                                                            \
	" 'version', a.version, 'created_by', a.created_by, 'created_at', a.created_at,"       \
	" 'updated_at', a.updated_at)"
#define WOMEN_CARE_DETAIL                                                                     \
	"(" WOMEN_CARE_JSON "::jsonb || jsonb_build_object('visits', (SELECT"                   \
	" coalesce(jsonb_agg(jsonb_build_object('id', v.id, 'visited_on', v.visited_on,"       \
	" 'needs', v.needs, 'help', v.help, 'helper', v.helper, 'by_user', v.by_user,"         \
	" 'created_at', v.created_at) ORDER BY v.visited_on, v.id), '[]') FROM"                 \
	" women.child_visit v WHERE v.care_id = a.id)))::json"
/* clang-format on */

static int women_care_load(og_req *req, const og_host_api *host, int64_t id, bool lock,
                           json_t **out)
{
	const og_caller *me = host->caller(req);
	char sid[24];
	const char *params[2] = {women_id_text(id, sid), me->scope_path};
	int n;

	n = host->query_json(
	        req,
	        lock ? "SELECT " WOMEN_CARE_DETAIL WOMEN_CARE_FROM
	               " WHERE a.id = $1::bigint AND " WOMEN_IN_SCOPE("$2") " FOR UPDATE OF a"
	             : "SELECT " WOMEN_CARE_DETAIL WOMEN_CARE_FROM
	               " WHERE a.id = $1::bigint AND " WOMEN_IN_SCOPE("$2"),
	        2, params, out);
	if (n == 0)
		women_not_found(req, host, "children's care record");
	return n;
}

/* GET /api/v1/women/children?programme=&status=&region=&limit=&cursor= */
static void women_children_list(og_req *req, const og_host_api *host)
{
	const char *programme, *status;
	const char *params[5];
	char *path;
	json_t *page;
	int rc;

	if (host->query_enum(req, "programme", women_programmes, &programme) < 0 ||
	    host->query_enum(req, "status", women_case_statuses, &status) < 0)
		return;
	if ((path = women_region_path(req, host)) == NULL)
		return;
	params[2] = path;
	params[3] = programme;
	params[4] = status;
	rc = women_page(req, host, WOMEN_CARE_FROM,
	                WOMEN_IN_SCOPE("$3") " AND ($4::text IS NULL OR a.programme = $4::text)"
	                                     " AND ($5::text IS NULL OR a.status = $5::text)",
	                WOMEN_CARE_JSON, 5, params, &page);
	free(path);
	if (rc == 0)
		host->reply_json(req, 200, page); /* steals page */
}

/* GET /api/v1/women/children/{id} */
static void women_child_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *c;

	if (host->path_id(req, "id", &id) < 0 || women_care_load(req, host, id, false, &c) != 1)
		return;
	women_set_etag(req, host, c);
	host->reply_json(req, 200, c); /* steals c */
}

/* POST /api/v1/women/children
 * {"resident_id", "programme", "project", "needs", "started_on"} */
static void women_child_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"resident_id", "programme",  "project",
	                                    "needs",       "started_on", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *x = NULL, *after = NULL, *age;
	const char *programme, *project, *needs, *started_on;
	int64_t resident, id;
	char sr[24], su[24], sid[24], location[80];
	const char *params[6];
	og_result *r;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "resident_id", OG_REQUIRED, &resident) < 0 ||
	    host->body_enum(req, in, "programme", women_programmes, OG_REQUIRED, &programme) < 0 ||
	    host->body_text(req, in, "project", 100, OG_OPTIONAL, &project) < 0 ||
	    host->body_text(req, in, "needs", 1000, OG_OPTIONAL, &needs) < 0 ||
	    host->body_date(req, in, "started_on", OG_OPTIONAL, &started_on) < 0)
		return;
	if (women_resident(req, host, resident, "resident_id", &x) != 1)
		return;
	age = json_object_get(x, "age");
	if (strcmp(women_str(x, "life_status"), "active") != 0 || !json_is_integer(age) ||
	    json_integer_value(age) >= 18) {
		women_invalid(req, host, "resident_id",
		              "the resident must be an active child (under 18, birth date known)");
		goto out;
	}
	params[0] = women_id_text(resident, sr);
	params[1] = programme;
	params[2] = project;
	params[3] = needs;
	params[4] = started_on;
	params[5] = me->user_id > 0 ? women_id_text(me->user_id, su) : NULL;
	r = host->query(req,
	                "SELECT a.id FROM women.child_care a WHERE a.resident_id = $1::bigint"
	                " AND a.programme = $2 AND a.status = 'open'",
	                2, params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) > 0) {
		char msg[128];

		snprintf(msg, sizeof(msg),
		         "the child already has an open %s record (%s): add visits to it",
		         programme, host->result_text(r, 0, 0));
		host->result_free(r);
		host->reply_error(req, 409, "duplicate", msg, "resident_id");
		goto out;
	}
	host->result_free(r);
	r = host->query(req,
	                "INSERT INTO women.child_care (resident_id, programme, project, needs,"
	                " started_on, created_by) SELECT $1::bigint, $2, $3, $4, coalesce($5::date,"
	                " current_date), $6::bigint WHERE coalesce($5::date, current_date) <="
	                " current_date RETURNING id",
	                6, params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		women_invalid(req, host, "started_on", "started_on cannot be in the future");
		goto out;
	}
	id = host->result_int64(r, 0, 0);
	host->result_free(r);
	if (women_care_load(req, host, id, false, &after) != 1)
		goto out;
	if (host->audit(req, "create", "women.child_care", women_id_text(id, sid),
	                women_int(x, "grid_id"), NULL, after) < 0)
		goto out;
	snprintf(location, sizeof(location), "/api/v1/women/children/%" PRId64, id);
	host->set_header(req, "Location", location);
	women_set_etag(req, host, after);
	host->reply_json(req, 201, after); /* steals after */
	after = NULL;
out:
	json_decref(x);
	json_decref(after);
}

/* PATCH /api/v1/women/children/{id}
 * {"version", "project", "needs", "status", "closed_on"} */
static void women_child_patch(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version", "project",   "needs",
	                                    "status",  "closed_on", NULL};
	json_t *in, *cur = NULL, *after = NULL;
	const char *project, *needs, *status, *closed_on;
	int64_t id, version;
	char sid[24], sv[24];
	const char *params[6];
	og_result *r;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_text(req, in, "project", 100, OG_OPTIONAL, &project) < 0 ||
	    host->body_text(req, in, "needs", 1000, OG_OPTIONAL, &needs) < 0 ||
	    host->body_enum(req, in, "status", women_case_statuses, OG_OPTIONAL, &status) < 0 ||
	    host->body_date(req, in, "closed_on", OG_OPTIONAL, &closed_on) < 0)
		return;
	if (women_care_load(req, host, id, true, &cur) != 1)
		return;
	if (women_int(cur, "version") != version) {
		women_conflict(req, host, "record", version, women_int(cur, "version"));
		goto out;
	}
	if (closed_on != NULL && (status == NULL || strcmp(status, "closed") != 0)) {
		women_invalid(req, host, "closed_on", "closed_on goes with status closed");
		goto out;
	}
	if (closed_on != NULL && strcmp(closed_on, women_str(cur, "started_on")) < 0) {
		women_invalid(req, host, "closed_on", "closed_on cannot be before started_on");
		goto out;
	}
	params[0] = women_id_text(id, sid);
	params[1] = project;
	params[2] = needs;
	params[3] = status;
	params[4] = closed_on;
	params[5] = women_id_text(version, sv);
	r = host->query(req,
	                "UPDATE women.child_care a SET project = coalesce($2, a.project),"
	                " needs = coalesce($3, a.needs), status = coalesce($4, a.status),"
	                " closed_on = CASE coalesce($4, a.status) WHEN 'open' THEN NULL"
	                "  ELSE coalesce($5::date, a.closed_on, current_date) END,"
	                " version = a.version + 1, updated_at = now()"
	                " WHERE a.id = $1::bigint AND a.version = $6::int RETURNING a.id",
	                6, params);
	if (r == NULL)
		goto out;
	host->result_free(r);
	if (women_care_load(req, host, id, false, &after) != 1 ||
	    host->audit(req, "update", "women.child_care", sid, women_int(cur, "grid_id"), cur,
	                after) < 0)
		goto out;
	women_set_etag(req, host, after);
	host->reply_json(req, 200, after); /* steals after */
	after = NULL;
out:
	json_decref(cur);
	json_decref(after);
}

/* POST /api/v1/women/children/{id}/visits
 * {"visited_on", "needs", "help", "helper"} */
static void women_child_visit(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"visited_on", "needs", "help", "helper", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *cur = NULL, *after = NULL;
	const char *visited_on, *needs, *help, *helper;
	int64_t id;
	char sid[24], su[24];
	const char *params[6];
	og_result *r;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_date(req, in, "visited_on", OG_OPTIONAL, &visited_on) < 0 ||
	    host->body_text(req, in, "needs", 1000, OG_OPTIONAL, &needs) < 0 ||
	    host->body_text(req, in, "help", 1000, OG_OPTIONAL, &help) < 0 ||
	    host->body_text(req, in, "helper", 100, OG_REQUIRED, &helper) < 0)
		return;
	if (women_care_load(req, host, id, true, &cur) != 1)
		return;
	if (strcmp(women_str(cur, "status"), "closed") == 0) {
		host->reply_error(req, 409, "closed", "the record is closed: reopen it first",
		                  NULL);
		goto out;
	}
	if (visited_on != NULL && strcmp(visited_on, women_str(cur, "started_on")) < 0) {
		women_invalid(req, host, "visited_on", "visited_on cannot be before started_on");
		goto out;
	}
	params[0] = women_id_text(id, sid);
	params[1] = visited_on;
	params[2] = needs;
	params[3] = help;
	params[4] = helper;
	params[5] = me->user_id > 0 ? women_id_text(me->user_id, su) : NULL;
	r = host->query(req,
	                "WITH v AS (INSERT INTO women.child_visit (care_id, visited_on, needs,"
	                " help, helper, by_user) SELECT $1::bigint, coalesce($2::date,"
	                " current_date), $3, $4, $5, $6::bigint WHERE coalesce($2::date, "
	                "current_date) <= current_date"
	                " RETURNING id) UPDATE women.child_care SET version = version + 1,"
	                " updated_at = now() WHERE id = $1::bigint AND EXISTS (SELECT 1 FROM v)"
	                " RETURNING id",
	                6, params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		women_invalid(req, host, "visited_on", "visited_on cannot be in the future");
		goto out;
	}
	host->result_free(r);
	if (women_care_load(req, host, id, false, &after) != 1 ||
	    host->audit(req, "visit", "women.child_care", sid, women_int(cur, "grid_id"), NULL,
	                in) < 0)
		goto out;
	host->reply_json(req, 201, after); /* steals after */
	after = NULL;
out:
	json_decref(cur);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* activities */

static const char *const women_activity_kinds[] = {
        "womens_day", "childrens_day", "family_education", "health", "other", NULL};

/* clang-format off */
#define WOMEN_ACT_FROM " FROM women.activity a JOIN core.region g ON g.id = a.grid_id"
#define WOMEN_ACT_JSON                                                                        \
	"json_build_object('id', a.id, 'grid_id', a.grid_id, 'grid_name', g.name, 'kind',"     \
	" a.kind, 'title', a.title, 'held_on', a.held_on, 'organiser', a.organiser, 'note',"   \
	" a.note, 'participant_count', (SELECT count(*) FROM women.activity_participant ap"    \
	" WHERE ap.activity_id = a.id), 'version', a.version, 'created_by', a.created_by,"     \
	" 'created_at', a.created_at, 'updated_at', a.updated_at)"
#define WOMEN_ACT_DETAIL                                                                      \
	"(" WOMEN_ACT_JSON "::jsonb || jsonb_build_object('participants', (SELECT"              \
	" coalesce(jsonb_agg(jsonb_build_object('resident_id', x.id, 'name', x.name,"          \
	" 'gender', x.gender, 'age', " WOMEN_AGE("x", "current_date") ", 'grid_id', x.grid_id)" \
	" ORDER BY x.id), '[]') FROM women.activity_participant ap JOIN core.resident x"       \
	" ON x.id = ap.resident_id WHERE ap.activity_id = a.id)))::json"
/* clang-format on */

static int women_activity_load(og_req *req, const og_host_api *host, int64_t id, bool lock,
                               json_t **out)
{
	const og_caller *me = host->caller(req);
	char sid[24];
	const char *params[2] = {women_id_text(id, sid), me->scope_path};
	int n;

	n = host->query_json(
	        req,
	        lock ? "SELECT " WOMEN_ACT_DETAIL WOMEN_ACT_FROM
	               " WHERE a.id = $1::bigint AND " WOMEN_IN_SCOPE("$2") " FOR UPDATE OF a"
	             : "SELECT " WOMEN_ACT_DETAIL WOMEN_ACT_FROM
	               " WHERE a.id = $1::bigint AND " WOMEN_IN_SCOPE("$2"),
	        2, params, out);
	if (n == 0)
		women_not_found(req, host, "activity");
	return n;
}

/* GET /api/v1/women/activities?kind=&year=&region=&limit=&cursor= */
static void women_activities_list(og_req *req, const og_host_api *host)
{
	const char *kind, *year = host->query_param(req, "year");
	const char *params[5];
	int64_t y;
	char *path;
	json_t *page;
	int rc;

	if (host->query_enum(req, "kind", women_activity_kinds, &kind) < 0)
		return;
	if (host->query_int(req, "year", 1990, 2999, &y) < 0)
		return;
	if ((path = women_region_path(req, host)) == NULL)
		return;
	params[2] = path;
	params[3] = kind;
	params[4] = year;
	rc = women_page(req, host, WOMEN_ACT_FROM,
	                WOMEN_IN_SCOPE("$3") " AND ($4::text IS NULL OR a.kind = $4::text)"
	                                     " AND ($5::int IS NULL OR"
	                                     " date_part('year', a.held_on) = $5::int)",
	                WOMEN_ACT_JSON, 5, params, &page);
	free(path);
	if (rc == 0)
		host->reply_json(req, 200, page); /* steals page */
}

/* GET /api/v1/women/activities/{id} */
static void women_activity_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *a;

	if (host->path_id(req, "id", &id) < 0 || women_activity_load(req, host, id, false, &a) != 1)
		return;
	women_set_etag(req, host, a);
	host->reply_json(req, 200, a); /* steals a */
}

/* POST /api/v1/women/activities
 * {"grid_id", "kind", "title", "held_on", "organiser", "note"} */
static void women_activity_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"grid_id",   "kind", "title", "held_on",
	                                    "organiser", "note", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *after = NULL;
	const char *kind, *title, *held_on, *organiser, *note;
	int64_t grid, id;
	char sg[24], su[24], sid[24], location[80];
	const char *params[7];
	og_result *r;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "grid_id", OG_REQUIRED, &grid) < 0 ||
	    host->body_enum(req, in, "kind", women_activity_kinds, OG_REQUIRED, &kind) < 0 ||
	    host->body_text(req, in, "title", 200, OG_REQUIRED, &title) < 0 ||
	    host->body_date(req, in, "held_on", OG_OPTIONAL, &held_on) < 0 ||
	    host->body_text(req, in, "organiser", 100, OG_REQUIRED, &organiser) < 0 ||
	    host->body_text(req, in, "note", 1000, OG_OPTIONAL, &note) < 0)
		return;
	if (held_on == NULL) {
		women_invalid(req, host, "held_on", "held_on (YYYY-MM-DD) is required");
		return;
	}
	if (women_grid_check(req, host, grid, "grid_id") != 1)
		return;
	params[0] = women_id_text(grid, sg);
	params[1] = kind;
	params[2] = title;
	params[3] = held_on;
	params[4] = organiser;
	params[5] = note;
	params[6] = me->user_id > 0 ? women_id_text(me->user_id, su) : NULL;
	r = host->query(req,
	                "INSERT INTO women.activity (grid_id, kind, title, held_on, organiser,"
	                " note, created_by) VALUES ($1::bigint, $2, $3, $4::date, $5, $6,"
	                " $7::bigint) RETURNING id",
	                7, params);
	if (r == NULL)
		return;
	id = host->result_int64(r, 0, 0);
	host->result_free(r);
	if (women_activity_load(req, host, id, false, &after) != 1)
		return;
	if (host->audit(req, "create", "women.activity", women_id_text(id, sid), grid, NULL,
	                after) < 0) {
		json_decref(after);
		return;
	}
	snprintf(location, sizeof(location), "/api/v1/women/activities/%" PRId64, id);
	host->set_header(req, "Location", location);
	women_set_etag(req, host, after);
	host->reply_json(req, 201, after); /* steals after */
}

/* PATCH /api/v1/women/activities/{id}
 * {"version", "kind", "title", "held_on", "organiser", "note"} */
static void women_activity_patch(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version",   "kind", "title", "held_on",
	                                    "organiser", "note", NULL};
	json_t *in, *cur = NULL, *after = NULL;
	const char *kind, *title, *held_on, *organiser, *note;
	int64_t id, version;
	char sid[24], sv[24];
	const char *params[7];
	og_result *r;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_enum(req, in, "kind", women_activity_kinds, OG_OPTIONAL, &kind) < 0 ||
	    host->body_text(req, in, "title", 200, OG_OPTIONAL, &title) < 0 ||
	    host->body_date(req, in, "held_on", OG_OPTIONAL, &held_on) < 0 ||
	    host->body_text(req, in, "organiser", 100, OG_OPTIONAL, &organiser) < 0 ||
	    host->body_text(req, in, "note", 1000, OG_OPTIONAL, &note) < 0)
		return;
	if (women_activity_load(req, host, id, true, &cur) != 1)
		return;
	if (women_int(cur, "version") != version) {
		women_conflict(req, host, "activity", version, women_int(cur, "version"));
		goto out;
	}
	params[0] = women_id_text(id, sid);
	params[1] = kind;
	params[2] = title;
	params[3] = held_on;
	params[4] = organiser;
	params[5] = note;
	params[6] = women_id_text(version, sv);
	r = host->query(req,
	                "UPDATE women.activity a SET kind = coalesce($2, a.kind),"
	                " title = coalesce($3, a.title), held_on = coalesce($4::date, a.held_on),"
	                " organiser = coalesce($5, a.organiser), note = coalesce($6, a.note),"
	                " version = a.version + 1, updated_at = now()"
	                " WHERE a.id = $1::bigint AND a.version = $7::int RETURNING a.id",
	                7, params);
	if (r == NULL)
		goto out;
	host->result_free(r);
	if (women_activity_load(req, host, id, false, &after) != 1 ||
	    host->audit(req, "update", "women.activity", sid, women_int(cur, "grid_id"), cur,
	                after) < 0)
		goto out;
	women_set_etag(req, host, after);
	host->reply_json(req, 200, after); /* steals after */
	after = NULL;
out:
	json_decref(cur);
	json_decref(after);
}

/*
 * POST /api/v1/women/activities/{id}/participants {"resident_ids": [...]}
 * Adds residents in the caller's scope; one taking part already (or named
 * twice) is counted once.  Answers {"added", "already", "participant_count",
 * "activity"}.
 */
static void women_activity_participants(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"resident_ids", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *ids, *v, *cur = NULL, *after = NULL, *res = NULL, *audit;
	int64_t id;
	size_t i;
	char sid[24], su[24], msg[128], field[48], *idtext = NULL;
	const char *params[4];
	og_result *r;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0)
		return;
	ids = json_object_get(in, "resident_ids");
	if (!json_is_array(ids) || json_array_size(ids) < 1 ||
	    json_array_size(ids) > WOMEN_PARTICIPANTS_MAX) {
		women_invalid(req, host, "resident_ids",
		              "resident_ids must be an array of 1 to 500 resident ids");
		return;
	}
	json_array_foreach(ids, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			snprintf(field, sizeof(field), "resident_ids[%zu]", i);
			women_invalid(req, host, field, "a resident id is a positive integer");
			return;
		}
	}
	if (women_activity_load(req, host, id, true, &cur) != 1)
		return;
	idtext = json_dumps(ids, JSON_COMPACT);
	params[0] = idtext;
	params[1] = me->scope_path;
	/* The first id not a resident in scope, named by its position. */
	r = host->query(req,
	                "SELECT i.ord - 1 FROM jsonb_array_elements_text($1::jsonb) WITH ORDINALITY"
	                " AS i(v, ord) WHERE NOT EXISTS (SELECT 1 FROM core.resident x JOIN"
	                " core.region g ON g.id = x.grid_id WHERE x.id = i.v::bigint AND"
	                " ($2::text = '' OR g.path <@ $2::text::ltree)) ORDER BY i.ord LIMIT 1",
	                2, params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) > 0) {
		snprintf(field, sizeof(field), "resident_ids[%s]", host->result_text(r, 0, 0));
		host->result_free(r);
		snprintf(msg, sizeof(msg), "%s: no such resident in your scope", field);
		women_invalid(req, host, field, msg);
		goto out;
	}
	host->result_free(r);
	params[0] = women_id_text(id, sid);
	params[1] = idtext;
	params[2] = me->user_id > 0 ? women_id_text(me->user_id, su) : NULL;
	if (host->query_json(req,
	                     "WITH want AS (SELECT DISTINCT v::bigint AS rid FROM"
	                     " jsonb_array_elements_text($2::jsonb) v), "
	                     "ins AS (INSERT INTO women.activity_participant (activity_id,"
	                     " resident_id, added_by) SELECT $1::bigint, rid, $3::bigint FROM want"
	                     " ON CONFLICT (activity_id, resident_id) DO NOTHING RETURNING"
	                     " resident_id) "
	                     "SELECT json_build_object('added', (SELECT coalesce(json_agg("
	                     "resident_id ORDER BY resident_id), '[]') FROM ins), 'already',"
	                     " (SELECT count(*) FROM want) - (SELECT count(*) FROM ins))",
	                     3, params, &res) != 1)
		goto out;
	if (women_activity_load(req, host, id, false, &after) != 1)
		goto out;
	audit = json_pack("{s:O}", "added", json_object_get(res, "added"));
	if (host->audit(req, "participants.add", "women.activity", sid, women_int(cur, "grid_id"),
	                NULL, audit) < 0) {
		json_decref(audit);
		goto out;
	}
	json_decref(audit);
	host->reply_json(req, 200,
	                 json_pack("{s:I, s:O, s:O, s:O}", "added",
	                           (json_int_t)json_array_size(json_object_get(res, "added")),
	                           "already", json_object_get(res, "already"), "participant_count",
	                           json_object_get(after, "participant_count"), "activity", after));
out:
	free(idtext);
	json_decref(cur);
	json_decref(after);
	json_decref(res);
}

/* DELETE /api/v1/women/activities/{id}/participants/{resident_id} */
static void women_activity_participant_remove(og_req *req, const og_host_api *host)
{
	json_t *cur = NULL, *b;
	int64_t id, rid;
	char sid[24], sr[24];
	const char *params[2];
	og_result *r;

	if (host->path_id(req, "id", &id) < 0 || host->path_id(req, "resident_id", &rid) < 0 ||
	    women_activity_load(req, host, id, true, &cur) != 1)
		return;
	params[0] = women_id_text(id, sid);
	params[1] = women_id_text(rid, sr);
	r = host->query(req,
	                "DELETE FROM women.activity_participant WHERE activity_id = $1::bigint"
	                " AND resident_id = $2::bigint RETURNING resident_id",
	                2, params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		host->reply_error(req, 404, "not_found", "that resident is not a participant",
		                  "resident_id");
		goto out;
	}
	host->result_free(r);
	b = json_pack("{s:I}", "resident_id", (json_int_t)rid);
	if (host->audit(req, "participants.remove", "women.activity", sid,
	                women_int(cur, "grid_id"), b, NULL) == 0)
		host->reply_json(req, 200,
		                 json_pack("{s:b, s:I, s:I}", "removed", 1, "activity_id",
		                           (json_int_t)id, "resident_id", (json_int_t)rid));
	json_decref(b);
out:
	json_decref(cur);
}

/* ------------------------------------------------------------------ */
/* honours given to households */

static const char *const women_titles[] = {"most_beautiful_family", "safe_family", NULL};

/* clang-format off */
#define WOMEN_HH_ADDRESS(h)                                                                   \
	"concat_ws(' ', nullif(" h ".address, ''), (SELECT b.name FROM core.building b"       \
	" WHERE b.id = " h ".building_id), nullif(" h ".unit, ''), nullif(" h ".room, ''))"
#define WOMEN_HON_FROM                                                                        \
	" FROM women.honour a JOIN core.household h ON h.id = a.household_id"                  \
	" JOIN core.region g ON g.id = h.grid_id"
#define WOMEN_HON_JSON                                                                        \
	"json_build_object('id', a.id, 'household_id', a.household_id, 'address', "           \
	WOMEN_HH_ADDRESS("h") ", 'head_name', (SELECT r.name FROM core.resident r WHERE"       \
	" r.id = h.head_resident_id), 'grid_id', h.grid_id, 'grid_name', g.name,"              \
	" 'title', a.title, 'year', a.year, 'awarded_on', a.awarded_on, 'awarded_by',"        \
	" a.awarded_by, 'note', a.note, 'created_by', a.created_by, 'created_at', a.created_at)"
/* clang-format on */

/* GET /api/v1/women/honours?title=&year=&region=&limit=&cursor= */
static void women_honours_list(og_req *req, const og_host_api *host)
{
	const char *title, *year = host->query_param(req, "year");
	const char *params[5];
	int64_t y;
	char *path;
	json_t *page;
	int rc;

	if (host->query_enum(req, "title", women_titles, &title) < 0)
		return;
	if (host->query_int(req, "year", 1990, 2999, &y) < 0)
		return;
	if ((path = women_region_path(req, host)) == NULL)
		return;
	params[2] = path;
	params[3] = title;
	params[4] = year;
	rc = women_page(req, host, WOMEN_HON_FROM,
	                WOMEN_IN_SCOPE("$3") " AND ($4::text IS NULL OR a.title = $4::text)"
	                                     " AND ($5::int IS NULL OR a.year = $5::int)",
	                WOMEN_HON_JSON, 5, params, &page);
	free(path);
	if (rc == 0)
		host->reply_json(req, 200, page); /* steals page */
}

/* POST /api/v1/women/honours
 * {"household_id", "title", "year", "awarded_on", "awarded_by", "note"} */
static void women_honour_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"household_id", "title", "year", "awarded_on",
	                                    "awarded_by",   "note",  NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *after = NULL;
	const char *title, *awarded_on, *awarded_by, *note;
	int64_t household, year = 0, grid;
	char sh[24], sy[24], su[24], sc[24];
	const char *params[7];
	og_result *r;
	int n;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "household_id", OG_REQUIRED, &household) < 0 ||
	    host->body_enum(req, in, "title", women_titles, OG_REQUIRED, &title) < 0 ||
	    host->body_date(req, in, "awarded_on", OG_OPTIONAL, &awarded_on) < 0 ||
	    host->body_text(req, in, "awarded_by", 100, OG_REQUIRED, &awarded_by) < 0 ||
	    host->body_text(req, in, "note", 500, OG_OPTIONAL, &note) < 0 ||
	    host->body_int(req, in, "year", 1990, 2999, OG_OPTIONAL, &year) < 0)
		return;
	params[0] = women_id_text(household, sh);
	params[1] = me->scope_path;
	r = host->query(req,
	                "SELECT h.grid_id FROM core.household h JOIN core.region g ON g.id ="
	                " h.grid_id WHERE h.id = $1::bigint AND ($2::text = '' OR g.path <@"
	                " $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		women_invalid(req, host, "household_id", "no such household in your scope");
		return;
	}
	grid = host->result_int64(r, 0, 0);
	host->result_free(r);
	params[1] = title;
	params[2] = year != 0 ? women_id_text(year, sy) : NULL;
	params[3] = awarded_on;
	params[4] = awarded_by;
	params[5] = note;
	params[6] = me->user_id > 0 ? women_id_text(me->user_id, su) : NULL;
	r = host->query(req,
	                "INSERT INTO women.honour AS a (household_id, title, year, awarded_on,"
	                " awarded_by, note, created_by) SELECT $1::bigint, $2,"
	                " coalesce($3::int, date_part('year', coalesce($4::date,"
	                " current_date))::int), coalesce($4::date, current_date), $5, $6,"
	                " $7::bigint WHERE coalesce($4::date, current_date) <= current_date"
	                " ON CONFLICT (household_id, title, year) DO NOTHING RETURNING a.id, true",
	                7, params);
	if (r == NULL)
		return;
	n = host->result_rows(r);
	if (n == 1)
		women_id_text(host->result_int64(r, 0, 0), sc);
	host->result_free(r);
	if (n == 0) {
		if (awarded_on != NULL) {
			/* Either a future date or the same honour again: say which. */
			params[1] = awarded_on;
			r = host->query(req, "SELECT $2::date > current_date", 2, params);
			if (r == NULL)
				return;
			n = host->result_bool(r, 0, 0);
			host->result_free(r);
			if (n) {
				women_invalid(req, host, "awarded_on",
				              "awarded_on cannot be in the future");
				return;
			}
		}
		host->reply_error(req, 409, "duplicate",
		                  "the household already holds this honour for that year", "title");
		return;
	}
	params[0] = sc;
	if (host->query_json(req,
	                     "SELECT " WOMEN_HON_JSON WOMEN_HON_FROM " WHERE a.id = $1::bigint", 1,
	                     params, &after) != 1)
		return;
	if (host->audit(req, "create", "women.honour", sc, grid, NULL, after) < 0) {
		json_decref(after);
		return;
	}
	host->reply_json(req, 201, after); /* steals after */
}

/* DELETE /api/v1/women/honours/{id}: an honour recorded by mistake. */
static void women_honour_delete(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	json_t *before = NULL;
	int64_t id;
	char sid[24];
	const char *params[2];
	og_result *r;

	if (host->path_id(req, "id", &id) < 0)
		return;
	params[0] = women_id_text(id, sid);
	params[1] = me->scope_path;
	if (host->query_json(req,
	                     "SELECT " WOMEN_HON_JSON WOMEN_HON_FROM " WHERE a.id = $1::bigint"
	                     " AND " WOMEN_IN_SCOPE("$2") " FOR UPDATE OF a",
	                     2, params, &before) != 1) {
		if (host->last_sqlstate(req)[0] == '\0')
			women_not_found(req, host, "honour");
		return;
	}
	r = host->query(req, "DELETE FROM women.honour WHERE id = $1::bigint", 1, params);
	if (r == NULL)
		goto out;
	host->result_free(r);
	if (host->audit(req, "delete", "women.honour", sid, women_int(before, "grid_id"), before,
	                NULL) == 0)
		host->reply_json(req, 200,
		                 json_pack("{s:b, s:I}", "deleted", 1, "id", (json_int_t)id));
out:
	json_decref(before);
}

/* ------------------------------------------------------------------ */
/* indicators and ledgers */

/* clang-format off */
/*
 * Indicators: $1 the report date; one row (grid_id, value) per grid,
 * zeros included.  Residents are counted as the shared model holds them
 * now (active, entered by the date), aged at the date.
 */
#define WOMEN_RESIDENT_ON(cond)                                                               \
	"x.life_status = 'active' AND x.created_at::date <= $1::date AND " cond
#define WOMEN_IND_RESIDENTS(cond)                                                             \
	"SELECT g.id, count(x.id) FROM core.region g LEFT JOIN core.resident x"                 \
	" ON x.grid_id = g.id AND " WOMEN_RESIDENT_ON(cond) " WHERE g.level = 'grid' GROUP BY g.id"
#define WOMEN_ROWS_RESIDENTS(cond)                                                            \
	"SELECT x.id AS id, x.name AS name, CASE x.gender WHEN 'male' THEN '男' WHEN 'female'"   \
	" THEN '女' END AS gender, " WOMEN_AGE("x", "$1::date") " AS age, CASE"                 \
	" x.residence_status WHEN 'registered' THEN '户籍' WHEN 'resident' THEN '常住'"           \
	" WHEN 'floating' THEN '流动' END AS residence, g.name AS grid FROM core.resident x"     \
	" JOIN core.region g ON g.id = x.grid_id WHERE g.path <@ $2::ltree AND "               \
	WOMEN_RESIDENT_ON(cond) " ORDER BY x.id"
#define WOMEN_AGE_ON WOMEN_AGE("x", "$1::date")
#define WOMEN_C_WOMEN "x.gender = 'female' AND " WOMEN_AGE_ON " >= 18"
#define WOMEN_C_4_9 WOMEN_AGE_ON " BETWEEN 4 AND 9"
#define WOMEN_C_10_14 WOMEN_AGE_ON " BETWEEN 10 AND 14"
#define WOMEN_C_FLOATING "x.residence_status = 'floating' AND " WOMEN_AGE_ON " < 18"

/* Rights cases open on $1, or closed this year up to $1. */
#define WOMEN_OPEN_ON "k.intake_on <= $1::date AND (k.closed_on IS NULL OR k.closed_on > $1::date)"
#define WOMEN_CLOSED_YTD                                                                      \
	"k.closed_on <= $1::date AND k.closed_on >= date_trunc('year', $1::date)::date"
#define WOMEN_IND_CASES(cond)                                                                 \
	"SELECT g.id, count(k.id) FROM core.region g LEFT JOIN women.rights_case k"             \
	" ON k.grid_id = g.id AND " cond " WHERE g.level = 'grid' GROUP BY g.id"
#define WOMEN_CATEGORY_ZH(col)                                                                \
	"CASE " col " WHEN 'domestic_violence' THEN '家庭暴力' WHEN 'marriage_family' THEN"       \
	" '婚姻家庭' WHEN 'property' THEN '财产权益' WHEN 'employment' THEN '劳动就业'"            \
	" ELSE '其他' END"
#define WOMEN_CHANNEL_ZH(col)                                                                 \
	"CASE " col " WHEN 'visit' THEN '来访' WHEN 'phone' THEN '来电' ELSE '转介' END"
#define WOMEN_STATUS_ZH(col) "CASE " col " WHEN 'open' THEN '在办' ELSE '已结案' END"
/* Anonymised: no party, no narrative, no handler. */
#define WOMEN_ROWS_CASES(cond)                                                                \
	"SELECT k.id AS id, g.name AS grid, k.intake_on AS intake_on, "                        \
	WOMEN_CHANNEL_ZH("k.channel") " AS channel, " WOMEN_CATEGORY_ZH("k.category")           \
	" AS category, " WOMEN_STATUS_ZH("k.status") " AS status, k.closed_on AS closed_on"     \
	" FROM women.rights_case k JOIN core.region g ON g.id = k.grid_id"                      \
	" WHERE g.path <@ $2::ltree AND " cond " ORDER BY k.id"
#define WOMEN_CAT(c) " AND k.category = '" c "'"

#define WOMEN_THIS_YEAR(col) col " <= $1::date AND " col " >= date_trunc('year', $1::date)::date"
#define WOMEN_ACTIVITIES_SQL                                                                  \
	"SELECT g.id, count(k.id) FROM core.region g LEFT JOIN women.activity k"                \
	" ON k.grid_id = g.id AND " WOMEN_THIS_YEAR("k.held_on") " WHERE g.level = 'grid'"     \
	" GROUP BY g.id"
#define WOMEN_ACTIVITY_KIND_ZH(col)                                                           \
	"CASE " col " WHEN 'womens_day' THEN '三八妇女节' WHEN 'childrens_day' THEN '六一儿童节'"  \
	" WHEN 'family_education' THEN '家庭教育' WHEN 'health' THEN '健康' ELSE '其他' END"
#define WOMEN_ACTIVITIES_ROWS                                                                 \
	"SELECT k.id AS id, k.held_on AS held_on, " WOMEN_ACTIVITY_KIND_ZH("k.kind") " AS kind,"\
	" k.title AS title, k.organiser AS organiser, g.name AS grid, (SELECT count(*) FROM"    \
	" women.activity_participant ap WHERE ap.activity_id = k.id) AS participants"          \
	" FROM women.activity k JOIN core.region g ON g.id = k.grid_id WHERE g.path <@ $2::ltree"\
	" AND " WOMEN_THIS_YEAR("k.held_on") " ORDER BY k.id"
/* Participation: one per resident per activity (the primary key says so). */
#define WOMEN_PARTICIPANTS_SQL                                                                \
	"SELECT g.id, count(ap.resident_id) FROM core.region g LEFT JOIN women.activity k"      \
	" ON k.grid_id = g.id AND " WOMEN_THIS_YEAR("k.held_on") " LEFT JOIN"                  \
	" women.activity_participant ap ON ap.activity_id = k.id WHERE g.level = 'grid'"       \
	" GROUP BY g.id"
/* A unique id per participation: activity and resident folded together. */
#define WOMEN_PARTICIPANTS_ROWS                                                               \
	"SELECT row_number() OVER (ORDER BY k.id, x.id) AS id, k.id AS activity_id, k.title"    \
	" AS activity, k.held_on AS held_on, x.name AS name, g.name AS grid"                    \
	" FROM women.activity k JOIN core.region g ON g.id = k.grid_id"                         \
	" JOIN women.activity_participant ap ON ap.activity_id = k.id"                          \
	" JOIN core.resident x ON x.id = ap.resident_id WHERE g.path <@ $2::ltree"             \
	" AND " WOMEN_THIS_YEAR("k.held_on") " ORDER BY k.id, x.id"
#define WOMEN_HONOURED_SQL                                                                    \
	"SELECT g.id, count(DISTINCT k.household_id) FROM core.region g LEFT JOIN"              \
	" core.household h ON h.grid_id = g.id LEFT JOIN women.honour k ON k.household_id ="   \
	" h.id AND k.year = date_part('year', $1::date)::int AND k.awarded_on <= $1::date"     \
	" WHERE g.level = 'grid' GROUP BY g.id"
#define WOMEN_HONOURED_ROWS                                                                   \
	"SELECT h.id AS id, " WOMEN_HH_ADDRESS("h") " AS address, (SELECT r.name FROM"          \
	" core.resident r WHERE r.id = h.head_resident_id) AS head, g.name AS grid,"          \
	" string_agg(CASE k.title WHEN 'most_beautiful_family' THEN '最美家庭' ELSE '平安家庭'"  \
	" END, '、' ORDER BY k.title) AS honours FROM women.honour k JOIN core.household h"    \
	" ON h.id = k.household_id JOIN core.region g ON g.id = h.grid_id"                      \
	" WHERE g.path <@ $2::ltree AND k.year = date_part('year', $1::date)::int"             \
	" AND k.awarded_on <= $1::date GROUP BY h.id, g.name ORDER BY h.id"

#if OG_ABI_MINOR >= 2
#define WOMEN_ROWS(sql) , .rows_sql = sql
#else
#define WOMEN_ROWS(sql)
#endif

/*
 * The same figures in the facts form (ABI 1.3), started from the region
 * ($2): its residents (active, entered by the date) once for the four
 * counts of people, its rights cases once for the twelve counts of cases,
 * its honoured households.  The conditions over f say what the ones over
 * x and k above say; an age of N or more on the day is a birth date on or
 * before the day N years earlier (the same for every day and birth date,
 * 29 February included), a comparison with a constant instead of age()
 * for each of a district's residents.  Each of the four counts a woman or
 * someone under 18: the facts leave out the men of 18 or more.
 */
#define WOMEN_BORN_BY(n) "f.birth_date <= ($1::date - interval '" #n " years')::date"
#define WOMEN_BORN_AFTER(n) "f.birth_date > ($1::date - interval '" #n " years')::date"
#define WOMEN_FACTS_RESIDENTS                                                                 \
	"SELECT x.grid_id, x.gender, x.residence_status, x.birth_date"                           \
	" FROM core.resident x JOIN core.region g ON g.id = x.grid_id"                          \
	" WHERE g.path <@ $2::ltree AND " WOMEN_RESIDENT_ON("(x.gender = 'female'"              \
	" OR x.birth_date > ($1::date - interval '18 years')::date)")
#define WOMEN_FACTS_CASES                                                                     \
	"SELECT k.grid_id, k.intake_on, k.closed_on, k.category FROM women.rights_case k"       \
	" JOIN core.region g ON g.id = k.grid_id WHERE g.path <@ $2::ltree"
#define WOMEN_FACTS_HONOURED                                                                  \
	"SELECT h.grid_id FROM (SELECT DISTINCT k.household_id FROM women.honour k"            \
	" WHERE k.year = date_part('year', $1::date)::int AND k.awarded_on <= $1::date) k"      \
	" JOIN core.household h ON h.id = k.household_id JOIN core.region g ON g.id = h.grid_id" \
	" WHERE g.path <@ $2::ltree"
#define WOMEN_F_OPEN_ON                                                                       \
	"f.intake_on <= $1::date AND (f.closed_on IS NULL OR f.closed_on > $1::date)"
#define WOMEN_F_CLOSED_YTD                                                                    \
	"f.closed_on <= $1::date AND f.closed_on >= date_trunc('year', $1::date)::date"
#define WOMEN_F_CAT(c) " AND f.category = '" c "'"
#if OG_ABI_MINOR >= 3
#define WOMEN_FACTS(sql, filter) , .facts_sql = sql, .fact_filter = filter
#else
#define WOMEN_FACTS(sql, filter)
#endif

#define WOMEN_CASE_IND(c, l, cond, fcond)                                                     \
	{.code = c, .label = l, .unit = "件", .sql = WOMEN_IND_CASES(cond)                      \
	 WOMEN_ROWS(WOMEN_ROWS_CASES(cond)) WOMEN_FACTS(WOMEN_FACTS_CASES, fcond)}
/* clang-format on */

static const og_indicator_def women_indicators[] = {
        {.code = "women.women",
         .label = "妇女人数(18岁及以上女性)",
         .unit = "人",
         .sql = WOMEN_IND_RESIDENTS(WOMEN_C_WOMEN) WOMEN_ROWS(WOMEN_ROWS_RESIDENTS(WOMEN_C_WOMEN))
                 WOMEN_FACTS(WOMEN_FACTS_RESIDENTS, "f.gender = 'female' AND " WOMEN_BORN_BY(18))},
        {.code = "women.children_4_9",
         .label = "4-9岁儿童数",
         .unit = "人",
         .sql = WOMEN_IND_RESIDENTS(WOMEN_C_4_9) WOMEN_ROWS(WOMEN_ROWS_RESIDENTS(WOMEN_C_4_9))
                 WOMEN_FACTS(WOMEN_FACTS_RESIDENTS, WOMEN_BORN_BY(4) " AND " WOMEN_BORN_AFTER(10))},
        {.code = "women.children_10_14",
         .label = "10-14岁儿童数",
         .unit = "人",
         .sql = WOMEN_IND_RESIDENTS(WOMEN_C_10_14) WOMEN_ROWS(WOMEN_ROWS_RESIDENTS(WOMEN_C_10_14))
                 WOMEN_FACTS(WOMEN_FACTS_RESIDENTS, WOMEN_BORN_BY(10) " AND " WOMEN_BORN_AFTER(15))},
        {.code = "women.floating_children",
         .label = "流动儿童数(18岁以下流动人口)",
         .unit = "人",
         .sql = WOMEN_IND_RESIDENTS(WOMEN_C_FLOATING)
                 WOMEN_ROWS(WOMEN_ROWS_RESIDENTS(WOMEN_C_FLOATING))
                         WOMEN_FACTS(WOMEN_FACTS_RESIDENTS,
                                     "f.residence_status = 'floating' AND " WOMEN_BORN_AFTER(18))},
        WOMEN_CASE_IND("women.rights_open", "在办维权案件数", WOMEN_OPEN_ON, WOMEN_F_OPEN_ON),
        WOMEN_CASE_IND("women.rights_open_domestic_violence", "在办维权案件数-家庭暴力",
                       WOMEN_OPEN_ON WOMEN_CAT("domestic_violence"),
                       WOMEN_F_OPEN_ON WOMEN_F_CAT("domestic_violence")),
        WOMEN_CASE_IND("women.rights_open_marriage_family", "在办维权案件数-婚姻家庭",
                       WOMEN_OPEN_ON WOMEN_CAT("marriage_family"),
                       WOMEN_F_OPEN_ON WOMEN_F_CAT("marriage_family")),
        WOMEN_CASE_IND("women.rights_open_property", "在办维权案件数-财产权益",
                       WOMEN_OPEN_ON WOMEN_CAT("property"),
                       WOMEN_F_OPEN_ON WOMEN_F_CAT("property")),
        WOMEN_CASE_IND("women.rights_open_employment", "在办维权案件数-劳动就业",
                       WOMEN_OPEN_ON WOMEN_CAT("employment"),
                       WOMEN_F_OPEN_ON WOMEN_F_CAT("employment")),
        WOMEN_CASE_IND("women.rights_open_other", "在办维权案件数-其他",
                       WOMEN_OPEN_ON WOMEN_CAT("other"),
                       WOMEN_F_OPEN_ON WOMEN_F_CAT("other")),
        WOMEN_CASE_IND("women.rights_closed", "本年结案维权案件数", WOMEN_CLOSED_YTD,
                       WOMEN_F_CLOSED_YTD),
        WOMEN_CASE_IND("women.rights_closed_domestic_violence", "本年结案维权案件数-家庭暴力",
                       WOMEN_CLOSED_YTD WOMEN_CAT("domestic_violence"),
                       WOMEN_F_CLOSED_YTD WOMEN_F_CAT("domestic_violence")),
        WOMEN_CASE_IND("women.rights_closed_marriage_family", "本年结案维权案件数-婚姻家庭",
                       WOMEN_CLOSED_YTD WOMEN_CAT("marriage_family"),
                       WOMEN_F_CLOSED_YTD WOMEN_F_CAT("marriage_family")),
        WOMEN_CASE_IND("women.rights_closed_property", "本年结案维权案件数-财产权益",
                       WOMEN_CLOSED_YTD WOMEN_CAT("property"),
                       WOMEN_F_CLOSED_YTD WOMEN_F_CAT("property")),
        WOMEN_CASE_IND("women.rights_closed_employment", "本年结案维权案件数-劳动就业",
                       WOMEN_CLOSED_YTD WOMEN_CAT("employment"),
                       WOMEN_F_CLOSED_YTD WOMEN_F_CAT("employment")),
        WOMEN_CASE_IND("women.rights_closed_other", "本年结案维权案件数-其他",
                       WOMEN_CLOSED_YTD WOMEN_CAT("other"),
                       WOMEN_F_CLOSED_YTD WOMEN_F_CAT("other")),
        {.code = "women.activities",
         .label = "本年开展妇女儿童活动次数",
         .unit = "次",
         .sql = WOMEN_ACTIVITIES_SQL WOMEN_ROWS(WOMEN_ACTIVITIES_ROWS)},
        {.code = "women.activity_participants",
         .label = "本年活动参与人次",
         .unit = "人次",
         .sql = WOMEN_PARTICIPANTS_SQL WOMEN_ROWS(WOMEN_PARTICIPANTS_ROWS)},
        {.code = "women.honoured_households",
         .label = "本年受表彰家庭户数(最美家庭、平安家庭)",
         .unit = "户",
         .sql = WOMEN_HONOURED_SQL WOMEN_ROWS(WOMEN_HONOURED_ROWS)
                 WOMEN_FACTS(WOMEN_FACTS_HONOURED, NULL)},
};

/* clang-format off */
/* Ledgers: $1 the ltree path of the region rendered; as of today. */
static const char *const women_cases_columns[] = {
    "case_id", "grid", "intake_on", "channel", "category", "referrals", "status", "closed_on"};
static const char *const women_cases_labels[] = {
    "案件编号", "网格", "受理日期", "受理方式", "类别", "转介", "状态", "结案日期"};
/* Anonymised for everyone: the full register is GET /api/v1/women/cases,
 * which only case readers reach and which audits every read. */
static const og_ledger_def women_ledger_cases = {
    .name = "rights_cases",
    .title = "妇女维权案件登记(匿名)",
    .permission = WOMEN_PERM_READ,
    .sql = "SELECT k.id, g.name, k.intake_on, " WOMEN_CHANNEL_ZH("k.channel") ", "
           WOMEN_CATEGORY_ZH("k.category") ","
           " (SELECT string_agg(DISTINCT CASE a.referral_to WHEN 'police' THEN '公安'"
           "  WHEN 'court' THEN '法院' WHEN 'legal_aid' THEN '法律援助' ELSE '庇护所' END,"
           "  '、') FROM women.case_action a WHERE a.case_id = k.id AND a.kind = 'referral'),"
           " " WOMEN_STATUS_ZH("k.status") ", k.closed_on"
           " FROM women.rights_case k JOIN core.region g ON g.id = k.grid_id"
           " WHERE g.path <@ $1::ltree ORDER BY k.intake_on, k.id",
    .columns = women_cases_columns,
    .labels = women_cases_labels,
    .ncolumns = sizeof(women_cases_columns) / sizeof(women_cases_columns[0]),
};

static const char *const women_activities_columns[] = {
    "activity_id", "held_on", "kind", "title", "organiser", "grid", "participants"};
static const char *const women_activities_labels[] = {
    "活动编号", "日期", "类别", "活动名称", "组织者", "网格", "参与人数"};
static const og_ledger_def women_ledger_activities = {
    .name = "activities",
    .title = "妇女儿童活动台账",
    .permission = WOMEN_PERM_READ,
    .sql = "SELECT k.id, k.held_on, " WOMEN_ACTIVITY_KIND_ZH("k.kind") ", k.title,"
           " k.organiser, g.name, (SELECT count(*) FROM women.activity_participant ap"
           " WHERE ap.activity_id = k.id) FROM women.activity k JOIN core.region g"
           " ON g.id = k.grid_id WHERE g.path <@ $1::ltree ORDER BY k.held_on, k.id",
    .columns = women_activities_columns,
    .labels = women_activities_labels,
    .ncolumns = sizeof(women_activities_columns) / sizeof(women_activities_columns[0]),
};

static const char *const women_honours_columns[] = {
    "honour_id", "year", "title", "grid", "address", "head", "awarded_on", "awarded_by"};
static const char *const women_honours_labels[] = {
    "编号", "年度", "荣誉", "网格", "家庭住址", "户主", "授予日期", "授予单位"};
static const og_ledger_def women_ledger_honours = {
    .name = "honoured_families",
    .title = "最美家庭、平安家庭名录",
    .permission = WOMEN_PERM_READ,
    .sql = "SELECT k.id, k.year, CASE k.title WHEN 'most_beautiful_family' THEN '最美家庭'"
           " ELSE '平安家庭' END, g.name, " WOMEN_HH_ADDRESS("h") ","
           " (SELECT r.name FROM core.resident r WHERE r.id = h.head_resident_id),"
           " k.awarded_on, k.awarded_by FROM women.honour k JOIN core.household h"
           " ON h.id = k.household_id JOIN core.region g ON g.id = h.grid_id"
           " WHERE g.path <@ $1::ltree ORDER BY k.year DESC, k.title, k.id",
    .columns = women_honours_columns,
    .labels = women_honours_labels,
    .ncolumns = sizeof(women_honours_columns) / sizeof(women_honours_columns[0]),
};
/* clang-format on */

/* ------------------------------------------------------------------ */
/* OpenAPI detail of the routes */

/* clang-format off */
#define WOMEN_P_PAGE                                                                          \
	"{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1,"   \
	"\"maximum\":500,\"default\":50}},"                                                      \
	"{\"name\":\"cursor\",\"in\":\"query\",\"description\":\"next_cursor of the previous "   \
	"page\",\"schema\":{\"type\":\"string\"}}"
#define WOMEN_P_REGION                                                                        \
	"{\"name\":\"region\",\"in\":\"query\",\"description\":\"a region in your scope "        \
	"(default: your scope)\",\"schema\":{\"type\":\"integer\",\"minimum\":1}}"
#define WOMEN_P_ENUM(name, list)                                                              \
	"{\"name\":\"" name "\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":"      \
	list "}}"
#define WOMEN_P_YEAR                                                                          \
	"{\"name\":\"year\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1990," \
	"\"maximum\":2999}}"
#define WOMEN_BODY(schema)                                                                    \
	"\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":"      \
	schema "}}}"
#define WOMEN_S_DATE(what) "{\"type\":\"string\",\"format\":\"date\",\"description\":\"" what "\"}"
#define WOMEN_S_TEXT(max) "{\"type\":\"string\",\"minLength\":1,\"maxLength\":" #max "}"
#define WOMEN_S_ID "{\"type\":\"integer\",\"minimum\":1}"
#define WOMEN_S_VERSION                                                                       \
	"\"version\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"the version you "     \
	"read (or send If-Match)\"}"
#define WOMEN_E_CHANNEL "[\"visit\",\"phone\",\"referral\"]"
#define WOMEN_E_CATEGORY                                                                      \
	"[\"domestic_violence\",\"marriage_family\",\"property\",\"employment\",\"other\"]"
#define WOMEN_E_STATUS "[\"open\",\"closed\"]"
#define WOMEN_E_PROGRAMME "[\"floating\",\"disadvantaged\"]"
#define WOMEN_E_KIND "[\"womens_day\",\"childrens_day\",\"family_education\",\"health\",\"other\"]"
#define WOMEN_E_TITLE "[\"most_beautiful_family\",\"safe_family\"]"
#define WOMEN_S_PARTY                                                                         \
	"{\"type\":\"object\",\"required\":[\"role\"],\"description\":\"a resident "            \
	"(resident_id) or, when not in the shared model, a name kept only in the case\","       \
	"\"properties\":{\"role\":{\"type\":\"string\",\"enum\":[\"complainant\",\"respondent\","\
	"\"child\",\"other\"]},\"resident_id\":" WOMEN_S_ID ",\"name\":" WOMEN_S_TEXT(100) ","   \
	"\"note\":" WOMEN_S_TEXT(500) "}}"

static const char women_doc_overview[] =
	"{\"parameters\":[" WOMEN_P_REGION "],\"description\":\"Active residents of the region "
	"from the shared model: female (all ages), women (18+) by age band 18-34/35-59/60+, "
	"girls and children (under 18) by band 0-3/4-9/10-14/15-17, each by residence status "
	"(registered/resident/floating); children.floating; age_unknown.\"}";
static const char women_doc_cases_list[] =
	"{\"parameters\":[" WOMEN_P_ENUM("status", WOMEN_E_STATUS) ","
	WOMEN_P_ENUM("category", WOMEN_E_CATEGORY) "," WOMEN_P_REGION ","
	"{\"name\":\"handler\",\"in\":\"query\",\"schema\":" WOMEN_S_ID "}," WOMEN_P_PAGE "],"
	"\"description\":\"The rights cases the caller may read: those they handle, and with "
	"women.case.read those in scope. Every page read is audited.\"}";
static const char women_doc_cases_create[] =
	"{" WOMEN_BODY("{\"type\":\"object\",\"required\":[\"channel\",\"category\"],"
	"\"properties\":{\"grid_id\":{\"type\":\"integer\",\"minimum\":1,\"description\":"
	"\"default: the first resident party's grid\"},"
	"\"intake_on\":" WOMEN_S_DATE("default today; not in the future") ","
	"\"channel\":{\"type\":\"string\",\"enum\":" WOMEN_E_CHANNEL "},"
	"\"category\":{\"type\":\"string\",\"enum\":" WOMEN_E_CATEGORY "},"
	"\"summary\":" WOMEN_S_TEXT(2000) ","
	"\"handler_id\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"the user who "
	"holds the case (default: you); their scope must cover the grid\"},"
	"\"parties\":{\"type\":\"array\",\"maxItems\":20,\"items\":" WOMEN_S_PARTY "}}}") "}";
static const char women_doc_case_get[] =
	"{\"description\":\"One rights case (parties, actions, referrals); 404 unless you "
	"handle it or hold women.case.read in scope. The read is audited.\"}";
static const char women_doc_case_patch[] =
	"{" WOMEN_BODY("{\"type\":\"object\",\"required\":[\"version\"],\"properties\":{"
	WOMEN_S_VERSION ",\"channel\":{\"type\":\"string\",\"enum\":" WOMEN_E_CHANNEL "},"
	"\"category\":{\"type\":\"string\",\"enum\":" WOMEN_E_CATEGORY "},"
	"\"summary\":" WOMEN_S_TEXT(2000) ",\"handler_id\":" WOMEN_S_ID ","
	"\"status\":{\"type\":\"string\",\"enum\":" WOMEN_E_STATUS ",\"description\":\"closed "
	"needs closure; open reopens\"},"
	"\"closed_on\":" WOMEN_S_DATE("default today") ",\"closure\":" WOMEN_S_TEXT(1000) "}}")
	"}";
static const char women_doc_case_action[] =
	"{" WOMEN_BODY("{\"type\":\"object\",\"required\":[\"kind\",\"note\"],\"properties\":{"
	"\"acted_on\":" WOMEN_S_DATE("default today") ","
	"\"kind\":{\"type\":\"string\",\"enum\":[\"action\",\"referral\"]},"
	"\"referral_to\":{\"type\":\"string\",\"enum\":[\"police\",\"court\",\"legal_aid\","
	"\"shelter\"],\"description\":\"required for a referral\"},"
	"\"note\":" WOMEN_S_TEXT(1000) "}}") "}";
static const char women_doc_case_party[] = "{" WOMEN_BODY(WOMEN_S_PARTY) "}";
static const char women_doc_children_list[] =
	"{\"parameters\":[" WOMEN_P_ENUM("programme", WOMEN_E_PROGRAMME) ","
	WOMEN_P_ENUM("status", WOMEN_E_STATUS) "," WOMEN_P_REGION "," WOMEN_P_PAGE "]}";
static const char women_doc_children_create[] =
	"{" WOMEN_BODY("{\"type\":\"object\",\"required\":[\"resident_id\",\"programme\"],"
	"\"properties\":{\"resident_id\":{\"type\":\"integer\",\"minimum\":1,\"description\":"
	"\"an active child (under 18) in your scope\"},"
	"\"programme\":{\"type\":\"string\",\"enum\":" WOMEN_E_PROGRAMME "},"
	"\"project\":" WOMEN_S_TEXT(100) ",\"needs\":" WOMEN_S_TEXT(1000) ","
	"\"started_on\":" WOMEN_S_DATE("default today") "}}") "}";
static const char women_doc_child_get[] =
	"{\"description\":\"One children's care record with its visits.\"}";
static const char women_doc_child_patch[] =
	"{" WOMEN_BODY("{\"type\":\"object\",\"required\":[\"version\"],\"properties\":{"
	WOMEN_S_VERSION ",\"project\":" WOMEN_S_TEXT(100) ",\"needs\":" WOMEN_S_TEXT(1000) ","
	"\"status\":{\"type\":\"string\",\"enum\":" WOMEN_E_STATUS "},"
	"\"closed_on\":" WOMEN_S_DATE("with status closed; default today") "}}") "}";
static const char women_doc_child_visit[] =
	"{" WOMEN_BODY("{\"type\":\"object\",\"required\":[\"helper\"],\"properties\":{"
	"\"visited_on\":" WOMEN_S_DATE("default today") ",\"needs\":" WOMEN_S_TEXT(1000) ","
	"\"help\":" WOMEN_S_TEXT(1000) ",\"helper\":{\"type\":\"string\",\"minLength\":1,"
	"\"maxLength\":100,\"description\":\"who helped (person or organisation)\"}}}") "}";
static const char women_doc_activities_list[] =
	"{\"parameters\":[" WOMEN_P_ENUM("kind", WOMEN_E_KIND) "," WOMEN_P_YEAR ","
	WOMEN_P_REGION "," WOMEN_P_PAGE "]}";
static const char women_doc_activities_create[] =
	"{" WOMEN_BODY("{\"type\":\"object\",\"required\":[\"grid_id\",\"kind\",\"title\","
	"\"held_on\",\"organiser\"],\"properties\":{\"grid_id\":{\"type\":\"integer\","
	"\"minimum\":1,\"description\":\"the grid it is held in\"},"
	"\"kind\":{\"type\":\"string\",\"enum\":" WOMEN_E_KIND "},\"title\":" WOMEN_S_TEXT(200)
	",\"held_on\":" WOMEN_S_DATE("the date") ",\"organiser\":" WOMEN_S_TEXT(100) ","
	"\"note\":" WOMEN_S_TEXT(1000) "}}") "}";
static const char women_doc_activity_get[] =
	"{\"description\":\"One activity with its participants (residents, by name).\"}";
static const char women_doc_activity_patch[] =
	"{" WOMEN_BODY("{\"type\":\"object\",\"required\":[\"version\"],\"properties\":{"
	WOMEN_S_VERSION ",\"kind\":{\"type\":\"string\",\"enum\":" WOMEN_E_KIND "},"
	"\"title\":" WOMEN_S_TEXT(200) ",\"held_on\":" WOMEN_S_DATE("the date") ","
	"\"organiser\":" WOMEN_S_TEXT(100) ",\"note\":" WOMEN_S_TEXT(1000) "}}") "}";
static const char women_doc_participants[] =
	"{" WOMEN_BODY("{\"type\":\"object\",\"required\":[\"resident_ids\"],\"properties\":{"
	"\"resident_ids\":{\"type\":\"array\",\"minItems\":1,\"maxItems\":500,\"items\":"
	WOMEN_S_ID ",\"description\":\"residents in your scope; one already taking part is "
	"counted once\"}}}") "}";
static const char women_doc_participant_remove[] =
	"{\"description\":\"404 (field resident_id) when the resident is not a participant.\"}";
static const char women_doc_honours_list[] =
	"{\"parameters\":[" WOMEN_P_ENUM("title", WOMEN_E_TITLE) "," WOMEN_P_YEAR ","
	WOMEN_P_REGION "," WOMEN_P_PAGE "]}";
static const char women_doc_honours_create[] =
	"{" WOMEN_BODY("{\"type\":\"object\",\"required\":[\"household_id\",\"title\","
	"\"awarded_by\"],\"properties\":{\"household_id\":" WOMEN_S_ID ","
	"\"title\":{\"type\":\"string\",\"enum\":" WOMEN_E_TITLE "},"
	"\"year\":{\"type\":\"integer\",\"minimum\":1990,\"maximum\":2999,\"description\":"
	"\"default: the year of awarded_on\"},\"awarded_on\":" WOMEN_S_DATE("default today") ","
	"\"awarded_by\":" WOMEN_S_TEXT(100) ",\"note\":" WOMEN_S_TEXT(500) "}}") "}";
static const char women_doc_honour_delete[] =
	"{\"description\":\"Removes an honour recorded by mistake; answers {deleted, id}.\"}";
/* clang-format on */

/* ------------------------------------------------------------------ */
/* registration */

static const char *const women_read_roles[] = {"district", "street", "community", "grid_worker",
                                               NULL};
static const char *const women_write_roles[] = {"street", "community", "grid_worker", NULL};
static const char *const women_case_roles[] = {"community", NULL};

static const struct {
	const char *code;
	const char *label;
	const char *const *roles;
} women_permissions[] = {
        {WOMEN_PERM_READ, "妇联-查看(妇女儿童概况、活动、儿童关爱、表彰)", women_read_roles},
        {WOMEN_PERM_WRITE, "妇联-登记活动、儿童关爱与表彰", women_write_roles},
        {WOMEN_PERM_CASE_READ, "妇联-查看妇女维权案件(敏感)", women_case_roles},
        {WOMEN_PERM_CASE_WRITE, "妇联-受理和办理妇女维权案件(敏感)", women_case_roles},
};

static const struct {
	unsigned method;
	const char *path;
	const char *permission;
	og_handler handler;
	const char *summary;
	const char *doc;
} women_routes[] = {
        {OG_GET, "/api/v1/women/overview", WOMEN_PERM_READ, women_overview,
         "Women, girls and children by age band and residence status, from the shared model",
         women_doc_overview},
        /* Case reads need only women.read at the door: the handler of a case
         * reads it without women.case.read; the rule is applied inside. */
        {OG_GET, "/api/v1/women/cases", WOMEN_PERM_READ, women_cases_list,
         "Rights cases the caller handles or may read in scope (audited)", women_doc_cases_list},
        {OG_POST, "/api/v1/women/cases", WOMEN_PERM_CASE_WRITE, women_case_create,
         "Take in a rights-protection case (维权)", women_doc_cases_create},
        {OG_GET, "/api/v1/women/cases/{id}", WOMEN_PERM_READ, women_case_get,
         "One rights case (its handler, or women.case.read in scope; audited)", women_doc_case_get},
        {OG_PATCH, "/api/v1/women/cases/{id}", WOMEN_PERM_READ, women_case_patch,
         "Change, hand over, close or reopen a rights case (handler or women.case.write)",
         women_doc_case_patch},
        {OG_POST, "/api/v1/women/cases/{id}/actions", WOMEN_PERM_READ, women_case_action,
         "Record an action taken or a referral (police, court, legal aid, shelter)",
         women_doc_case_action},
        {OG_POST, "/api/v1/women/cases/{id}/parties", WOMEN_PERM_READ, women_case_party,
         "Add a party to a rights case", women_doc_case_party},
        {OG_GET, "/api/v1/women/children", WOMEN_PERM_READ, women_children_list,
         "Children's care records (流动儿童, 困境儿童) in scope", women_doc_children_list},
        {OG_POST, "/api/v1/women/children", WOMEN_PERM_WRITE, women_child_create,
         "Open a children's care record for a child in scope", women_doc_children_create},
        {OG_GET, "/api/v1/women/children/{id}", WOMEN_PERM_READ, women_child_get,
         "One children's care record with its visits", women_doc_child_get},
        {OG_PATCH, "/api/v1/women/children/{id}", WOMEN_PERM_WRITE, women_child_patch,
         "Change or close a children's care record (send the version)", women_doc_child_patch},
        {OG_POST, "/api/v1/women/children/{id}/visits", WOMEN_PERM_WRITE, women_child_visit,
         "Record a follow-up visit: needs, help given, who helped", women_doc_child_visit},
        {OG_GET, "/api/v1/women/activities", WOMEN_PERM_READ, women_activities_list,
         "Activities held in scope", women_doc_activities_list},
        {OG_POST, "/api/v1/women/activities", WOMEN_PERM_WRITE, women_activity_create,
         "Record an activity (三八, 六一, family education, health)", women_doc_activities_create},
        {OG_GET, "/api/v1/women/activities/{id}", WOMEN_PERM_READ, women_activity_get,
         "One activity with its participants", women_doc_activity_get},
        {OG_PATCH, "/api/v1/women/activities/{id}", WOMEN_PERM_WRITE, women_activity_patch,
         "Change an activity (send the version)", women_doc_activity_patch},
        {OG_POST, "/api/v1/women/activities/{id}/participants", WOMEN_PERM_WRITE,
         women_activity_participants, "Add participants (each resident counted once)",
         women_doc_participants},
        {OG_DELETE, "/api/v1/women/activities/{id}/participants/{resident_id}", WOMEN_PERM_WRITE,
         women_activity_participant_remove, "Remove a participant", women_doc_participant_remove},
        {OG_GET, "/api/v1/women/honours", WOMEN_PERM_READ, women_honours_list,
         "Honours given to households in scope (最美家庭, 平安家庭)", women_doc_honours_list},
        {OG_POST, "/api/v1/women/honours", WOMEN_PERM_WRITE, women_honour_create,
         "Give a household an honour for a year", women_doc_honours_create},
        {OG_DELETE, "/api/v1/women/honours/{id}", WOMEN_PERM_WRITE, women_honour_delete,
         "Remove an honour recorded by mistake", women_doc_honour_delete},
};

/*
 * Registers everything, in the order the host needs: migrations,
 * permissions (before the routes and ledgers naming them), routes,
 * indicators, ledgers.  Each host call logs its own failure.
 */
static int women_init(og_plugin *self, const og_host_api *host)
{
	size_t i;

	for (i = 0; i < women_migrations_count; i++)
		if (host->register_migration(self, women_migrations[i].version,
		                             women_migrations[i].name, women_migrations[i].sql) < 0)
			return -1;
	for (i = 0; i < sizeof(women_permissions) / sizeof(women_permissions[0]); i++)
		if (host->register_permission(self, women_permissions[i].code,
		                              women_permissions[i].label,
		                              women_permissions[i].roles) < 0)
			return -1;
	for (i = 0; i < sizeof(women_routes) / sizeof(women_routes[0]); i++) {
		if (host->register_route(self, women_routes[i].method, women_routes[i].path,
		                         women_routes[i].permission, women_routes[i].handler,
		                         women_routes[i].summary) < 0)
			return -1;
		if (host->describe_route(self, women_routes[i].method, women_routes[i].path,
		                         women_routes[i].doc) < 0)
			return -1;
	}
	for (i = 0; i < sizeof(women_indicators) / sizeof(women_indicators[0]); i++)
		if (host->register_indicator(self, &women_indicators[i]) < 0)
			return -1;
	if (host->register_ledger(self, &women_ledger_cases) < 0 ||
	    host->register_ledger(self, &women_ledger_activities) < 0 ||
	    host->register_ledger(self, &women_ledger_honours) < 0)
		return -1;
	return 0;
}

/* The one exported symbol.  No dependencies, no fini: nothing to release. */
OG_PLUGIN_DEFINE("women", "1.0.0", "妇联", NULL, women_init, NULL);

/*
 * core/regions.c — the region tree district → street → community → grid:
 * listing, reading, children, whole subtrees, creating, changing, closing,
 * moving grids and deleting unreferenced regions.
 *
 * Rules enforced here:
 *   - reads see the caller's scope region and everything under it (admin:
 *     everything); a region outside the scope answers 404 like a missing one;
 *   - writes happen strictly under the caller's scope region: a new region's
 *     parent must be in scope (the scope region itself included), and a
 *     region changed or deleted must lie below the scope region, never be it
 *     (only an administrator creates, changes or deletes districts);
 *   - each level sits exactly one below its parent (street under district,
 *     community under street, grid under community);
 *   - codes are unique among siblings; when the district's code is a 12-digit
 *     statistical division code (GB/T 2260 + "000000") its streets and
 *     communities take 12-digit statistical codes derived from their
 *     parent's, and in every district a grid's code extends its community's;
 *   - a closed region (closed_on set) takes no new children, and a region
 *     with open children cannot be closed;
 *   - only a grid moves (to another community); its path and the path of
 *     anything under it change in the request's one transaction.  Buildings,
 *     households and residents reference the grid by id, so they follow it
 *     without being rewritten: they now belong to the new community's scope.
 *   - a region is deleted only while no row anywhere references it: the
 *     database's foreign keys decide, so a plugin table that references
 *     core.region is covered without this file knowing it.
 *
 * Also here, for the other route modules: turning a ?region= filter into
 * the ltree path of a region in the caller's scope (ogc_regions_filter_path).
 *
 * Not here: the change feed (triggers on core.region write it), users'
 * scope regions (users.c), and residents, households and buildings (their
 * own files).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

#define NAME_MAX_CHARS 50
#define CODE_MAX 32      /* bytes of a free-text code */
#define Q_MAX_CHARS 50   /* characters of the ?q= name filter */
#define DEPTH_MAX 10     /* ?depth= of a tree */
#define STAT_CODE_LEN 12 /* a statistical division code, district to community */

static const char *const levels[] = {"district", "street", "community", "grid"};
#define NLEVELS 4

/* The API's picture of a region `r`. */
#define REGION_JSON                                                                        \
	"json_build_object('id', r.id, 'parent_id', r.parent_id, 'level', r.level, "       \
	"'code', r.code, 'name', r.name, 'path', r.path::text, 'closed_on', r.closed_on, " \
	"'version', r.version, 'created_at', r.created_at, 'updated_at', r.updated_at, "   \
	"'children_count', (SELECT count(*) FROM core.region c WHERE c.parent_id = r.id))"

/* "r is in the caller's scope", the scope being parameter $N ("" = all). */
#define IN_SCOPE(n) "($" n "::text = '' OR r.path <@ $" n "::text::ltree)"

/* ------------------------------------------------------------------ */
/* small checks */

static int level_index(const char *s)
{
	for (int i = 0; s != NULL && i < NLEVELS; i++)
		if (strcmp(s, levels[i]) == 0)
			return i;
	return -1;
}

static bool is_admin(const og_caller *c)
{
	return c->role != NULL && strcmp(c->role, "admin") == 0;
}

static void fmt_id(char *buf, size_t len, int64_t id)
{
	snprintf(buf, len, "%lld", (long long)id);
}

static bool digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Three decimal digits as a number (caller checked they are digits). */
static int num3(const char *s)
{
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* A district that uses statistical division codes: 6 digits + "000000". */
static bool stat_district(const char *code)
{
	return code != NULL && strlen(code) == STAT_CODE_LEN && digits(code, STAT_CODE_LEN) &&
	       strcmp(code + 6, "000000") == 0;
}

/* ^[A-Za-z0-9_-]{1,32}$ */
static bool free_code(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CODE_MAX)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* A calendar date written YYYY-MM-DD. */
static bool valid_date(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4) || !digits(s + 5, 2) ||
	    !digits(s + 8, 2))
		return false;
	y = atoi(s);
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return m != 2 || d < 29 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

/* Today in the daemon's local time zone, YYYY-MM-DD. */
static void today(char out[11])
{
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static void not_found(og_req *req, const og_host_api *host)
{
	host->reply_error(req, 404, "not_found", "no such region", NULL);
}

/* A string member: 0 absent, 1 present (*out borrowed; NULL for JSON null
 * when nullable), -1 after a 422 naming the member. */
static int string_member(og_req *req, json_t *body, const char *name, bool nullable,
                         const char **out)
{
	json_t *v = json_object_get(body, name);
	char msg[96];

	*out = NULL;
	if (v == NULL)
		return 0;
	if (json_is_null(v) && nullable)
		return 1;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(msg, sizeof(msg), "%s must be a string%s", name,
		         nullable ? " or null" : "");
		ogc_util_invalid(req, name, msg);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

/* An id member: 0 absent or null, 1 present with *out, -1 after a 422. */
static int id_member(og_req *req, json_t *body, const char *name, int64_t *out)
{
	json_t *v = json_object_get(body, name);
	char msg[96];

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		snprintf(msg, sizeof(msg), "%s must be a region id", name);
		ogc_util_invalid(req, name, msg);
		return -1;
	}
	*out = (int64_t)json_integer_value(v);
	return 1;
}

static bool name_ok(og_req *req, const char *name)
{
	size_t n = ogc_util_utf8_len(name);

	if (n < 1 || n > NAME_MAX_CHARS || strspn(name, " \t\r\n") == strlen(name)) {
		ogc_util_invalid(req, "name", "name must be 1 to 50 characters, not blank");
		return false;
	}
	return true;
}

/*
 * Checks `code` for a new (or re-coded, or moved) region of level `lvl`
 * under a parent with code `parent_code` (NULL for a district) in a district
 * whose code is `district_code`.  0 ok; -1 after a 422 naming field "code"
 * and saying what is expected.
 */
static int check_code(og_req *req, int lvl, const char *code, const char *parent_code,
                      const char *district_code)
{
	bool stat = lvl > 0 && stat_district(district_code);
	size_t n = strlen(code), pn = parent_code ? strlen(parent_code) : 0;
	char msg[320];

	if (!free_code(code)) {
		ogc_util_invalid(req, "code",
		                 "code must be 1 to 32 letters, digits or the characters _ -");
		return -1;
	}
	if (lvl == 1 && stat &&
	    !(n == STAT_CODE_LEN && digits(code, n) && strncmp(code, district_code, 6) == 0 &&
	      num3(code + 6) >= 1 && num3(code + 6) <= 399 && strcmp(code + 9, "000") == 0)) {
		snprintf(msg, sizeof(msg),
		         "street code must be 12 digits: the district's %.6s, a township number "
		         "001-399 and 000 (e.g. %.6s001000)",
		         district_code, district_code);
		ogc_util_invalid(req, "code", msg);
		return -1;
	}
	if (lvl == 2 && stat &&
	    !(n == STAT_CODE_LEN && digits(code, n) && pn >= 9 &&
	      strncmp(code, parent_code, 9) == 0 && num3(code + 9) >= 1 && num3(code + 9) <= 399)) {
		snprintf(msg, sizeof(msg),
		         "community code must be 12 digits: its street's %.9s and a number "
		         "001-399 (e.g. %.9s001)",
		         parent_code, parent_code);
		ogc_util_invalid(req, "code", msg);
		return -1;
	}
	if (lvl == 3) {
		bool ok = n > pn && strncmp(code, parent_code, pn) == 0;
		const char *seq = code + pn;

		/* Statistical districts: a 3-digit (or 4-digit) sequence from 1. */
		if (ok && stat)
			ok = (n - pn == 3 || n - pn == 4) && digits(seq, n - pn) &&
			     strspn(seq, "0") != n - pn;
		if (!ok) {
			if (stat)
				snprintf(msg, sizeof(msg),
				         "grid code must start with its community's code %s "
				         "followed by a 3- or 4-digit sequence number (e.g. %s001)",
				         parent_code, parent_code);
			else
				snprintf(msg, sizeof(msg),
				         "grid code must start with its community's code %s "
				         "followed by at least one more character",
				         parent_code);
			ogc_util_invalid(req, "code", msg);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* one region row, for the write rules */

struct region {
	int64_t id, parent_id, version;
	int level;
	bool closed;
	char *code, *path, *district_code; /* owned */
};

static void region_clear(struct region *r)
{
	free(r->code);
	free(r->path);
	free(r->district_code);
	memset(r, 0, sizeof(*r));
}

/*
 * Loads region `id` if it is inside `scope` ("" = everything), locked with
 * `lock` ("" none, "FOR UPDATE OF r", "FOR SHARE OF r").  1 found; 0 not
 * found or outside the scope (no reply set); -1 after an error reply.
 */
static int region_load(og_req *req, const og_host_api *host, int64_t id, const char *scope,
                       const char *lock, struct region *out)
{
	char sid[24], sql[640];
	const char *params[2] = {sid, scope};
	og_result *res;
	int found;

	memset(out, 0, sizeof(*out));
	fmt_id(sid, sizeof(sid), id);
	snprintf(sql, sizeof(sql),
	         "SELECT r.id, r.parent_id, r.level, r.code, r.path::text, "
	         "  r.closed_on IS NOT NULL, r.version, "
	         "  (SELECT d.code FROM core.region d "
	         "    WHERE d.id = subpath(r.path, 0, 1)::text::bigint) "
	         "FROM core.region r WHERE r.id = $1::bigint AND " IN_SCOPE("2") " %s",
	         lock);
	res = host->query(req, sql, 2, params);
	if (res == NULL)
		return -1;
	found = host->result_rows(res) == 1;
	if (found) {
		const char *dc = host->result_text(res, 0, 7);

		out->id = host->result_int64(res, 0, 0);
		out->parent_id = host->result_int64(res, 0, 1);
		out->level = level_index(host->result_text(res, 0, 2));
		out->code = strdup(host->result_text(res, 0, 3));
		out->path = strdup(host->result_text(res, 0, 4));
		out->closed = host->result_bool(res, 0, 5);
		out->version = host->result_int64(res, 0, 6);
		out->district_code = strdup(dc != NULL ? dc : "");
	}
	host->result_free(res);
	if (found && (out->code == NULL || out->path == NULL || out->district_code == NULL)) {
		region_clear(out);
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	return found;
}

/* The API's JSON of region id (no scope check: the caller did it).  1 with
 * *out new, 0 when gone, -1 after an error reply. */
static int region_json(og_req *req, const og_host_api *host, int64_t id, json_t **out)
{
	char sid[24];
	const char *params[1] = {sid};

	fmt_id(sid, sizeof(sid), id);
	return host->query_json(req,
	                        "SELECT " REGION_JSON " FROM core.region r "
	                        "WHERE r.id = $1::bigint",
	                        1, params, out);
}

/* Is `code` taken by a sibling under parent_id (0: among districts) other
 * than region `self`?  1 taken (409 replied), 0 free, -1 error. */
static int sibling_taken(og_req *req, const og_host_api *host, int64_t parent_id, const char *code,
                         int64_t self)
{
	char spar[24], sself[24];
	const char *params[3] = {spar, code, sself};
	og_result *res;
	int taken;

	fmt_id(spar, sizeof(spar), parent_id);
	fmt_id(sself, sizeof(sself), self);
	res = host->query(req,
	                  "SELECT 1 FROM core.region "
	                  "WHERE coalesce(parent_id, 0) = $1::bigint AND code = $2 "
	                  "  AND id <> $3::bigint",
	                  3, params);
	if (res == NULL)
		return -1;
	taken = host->result_rows(res) > 0;
	host->result_free(res);
	if (taken)
		host->reply_error(req, 409, "duplicate",
		                  "another region under the same parent already has this code",
		                  "code");
	return taken;
}

/* After a failed INSERT/UPDATE: a unique violation is the sibling code
 * (a concurrent writer won the race); anything else keeps its reply. */
static void code_race(og_req *req, const og_host_api *host)
{
	if (strcmp(host->last_sqlstate(req), "23505") == 0)
		host->reply_error(req, 409, "duplicate",
		                  "another region under the same parent already has this code",
		                  "code");
}

/* Direct children of region id: all of them, and the open ones. */
static int count_children(og_req *req, const og_host_api *host, int64_t id, int64_t *all,
                          int64_t *open)
{
	char sid[24];
	const char *params[1] = {sid};
	og_result *res;

	fmt_id(sid, sizeof(sid), id);
	res = host->query(req,
	                  "SELECT count(*), count(*) FILTER (WHERE closed_on IS NULL) "
	                  "FROM core.region WHERE parent_id = $1::bigint",
	                  1, params);
	if (res == NULL)
		return -1;
	*all = host->result_int64(res, 0, 0);
	*open = host->result_int64(res, 0, 1);
	host->result_free(res);
	return 0;
}

/* ?include_closed=: 0 false (default), 1 true, -1 after a 422. */
static int include_closed(og_req *req, const og_host_api *host)
{
	const char *s = host->query_param(req, "include_closed");

	if (s == NULL || *s == '\0' || strcmp(s, "false") == 0)
		return 0;
	if (strcmp(s, "true") == 0)
		return 1;
	ogc_util_invalid(req, "include_closed", "include_closed must be true or false");
	return -1;
}

/* Replies with a page of `items` (stolen): limit+1 rows were asked for, so
 * a surplus row means there is a next page. */
static void reply_page(og_req *req, const og_host_api *host, json_t *items, int limit)
{
	int64_t next = ogc_util_page_cut(&items, limit);

	host->reply_json(req, 200, ogc_util_list(items, next));
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/regions */

static void regions_list(og_req *req, const og_host_api *host)
{
	const char *level, *parent, *q, *code, *params[8];
	char scursor[24], slimit[24], *pattern = NULL;
	int limit, closed, rc;
	int64_t cursor, parent_id;
	json_t *items = NULL;

	if (host->page(req, &limit, &cursor) != 0)
		return;
	level = host->query_param(req, "level");
	if (level != NULL && *level == '\0')
		level = NULL;
	if (level != NULL && level_index(level) < 0) {
		ogc_util_invalid(req, "level", "level must be district, street, community or grid");
		return;
	}
	parent = host->query_param(req, "parent");
	if (parent != NULL && *parent == '\0')
		parent = NULL;
	if (parent != NULL && !ogc_util_parse_id(parent, &parent_id)) {
		ogc_util_invalid(req, "parent", "parent must be a region id");
		return;
	}
	code = host->query_param(req, "code");
	if (code != NULL && *code == '\0')
		code = NULL;
	if (code != NULL && strlen(code) > CODE_MAX) {
		ogc_util_invalid(req, "code", "code must be at most 32 characters");
		return;
	}
	closed = include_closed(req, host);
	if (closed < 0)
		return;
	q = host->query_param(req, "q");
	if (q != NULL && *q != '\0') {
		if (ogc_util_utf8_len(q) > Q_MAX_CHARS) {
			ogc_util_invalid(req, "q", "q must be at most 50 characters");
			return;
		}
		/* Substring match on the name. */
		pattern = ogc_util_like_pattern(q, strlen(q));
		if (pattern == NULL) {
			host->reply_error(req, 500, "internal", "out of memory", NULL);
			return;
		}
	}
	fmt_id(scursor, sizeof(scursor), cursor);
	snprintf(slimit, sizeof(slimit), "%d", limit + 1);
	params[0] = ogc_util_scope(req);
	params[1] = scursor;
	params[2] = level;
	params[3] = parent;
	params[4] = pattern;
	params[5] = code;
	params[6] = closed ? "t" : "f";
	params[7] = slimit;
	rc = host->query_json(
	        req,
	        "SELECT coalesce(json_agg(x.j ORDER BY x.id), '[]') FROM ("
	        "  SELECT r.id, " REGION_JSON " AS j FROM core.region r "
	        "  WHERE " IN_SCOPE("1") " AND r.id > $2::bigint "
	                                 "    AND ($3::text IS NULL OR r.level = $3::text) "
	                                 "    AND ($4::bigint IS NULL OR r.parent_id = $4::bigint) "
	                                 "    AND ($5::text IS NULL OR r.name ILIKE $5::text) "
	                                 "    AND ($6::text IS NULL OR r.code = $6::text) "
	                                 "    AND ($7::boolean OR r.closed_on IS NULL) "
	                                 "  ORDER BY r.id LIMIT $8::int) x",
	        8, params, &items);
	free(pattern);
	if (rc < 0)
		return;
	reply_page(req, host, items, limit);
}

/* ------------------------------------------------------------------ */
/* ?region= of other modules' lists and exports */

int ogc_regions_filter_path(og_req *req, const char *region, int64_t *id, char **path)
{
	const char *params[2] = {region, ogc_util_scope(req)};
	PGresult *r;

	if (region == NULL) {
		*path = strdup(params[1]);
		return 0;
	}
	*path = NULL;
	if (!ogc_util_parse_id(region, id)) {
		ogc_util_invalid(req, "region", "region must be a region id");
		return -1;
	}
	r = ogc_req_exec(req,
	                 "SELECT path::text FROM core.region WHERE id = $1::bigint "
	                 "AND ($2 = '' OR path <@ $2::ltree)",
	                 2, params);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		ogc_req_reply_error(req, 404, "not_found", "no such region in your scope", NULL);
		return -1;
	}
	*path = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/regions/{id} */

/* Region {id} of the path if in the caller's scope: 1 with *id, or -1 after
 * a reply (404 or an error). */
static int scoped_path_region(og_req *req, const og_host_api *host, int64_t *id)
{
	char sid[24];
	const char *params[2] = {sid, ogc_util_scope(req)};
	og_result *res;
	int n;

	if (host->path_id(req, "id", id) != 0)
		return -1;
	fmt_id(sid, sizeof(sid), *id);
	res = host->query(req,
	                  "SELECT 1 FROM core.region r WHERE r.id = $1::bigint AND " IN_SCOPE("2"),
	                  2, params);
	if (res == NULL)
		return -1;
	n = host->result_rows(res);
	host->result_free(res);
	if (n == 0) {
		not_found(req, host);
		return -1;
	}
	return 1;
}

static void regions_get(og_req *req, const og_host_api *host)
{
	char sid[24];
	const char *params[2] = {sid, NULL};
	json_t *region = NULL;
	int64_t id;
	int n;

	if (host->path_id(req, "id", &id) != 0)
		return;
	fmt_id(sid, sizeof(sid), id);
	params[1] = ogc_util_scope(req);
	n = host->query_json(req,
	                     "SELECT " REGION_JSON " FROM core.region r "
	                     "WHERE r.id = $1::bigint AND " IN_SCOPE("2"),
	                     2, params, &region);
	if (n < 0)
		return;
	if (n == 0) {
		not_found(req, host);
		return;
	}
	host->reply_json(req, 200, region);
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/regions/{id}/children */

static void regions_children(og_req *req, const og_host_api *host)
{
	char sid[24], scursor[24], slimit[24];
	const char *params[4] = {sid, scursor, NULL, slimit};
	json_t *items = NULL;
	int64_t id, cursor;
	int limit, closed;

	if (scoped_path_region(req, host, &id) < 0)
		return;
	if (host->page(req, &limit, &cursor) != 0)
		return;
	closed = include_closed(req, host);
	if (closed < 0)
		return;
	fmt_id(sid, sizeof(sid), id);
	fmt_id(scursor, sizeof(scursor), cursor);
	snprintf(slimit, sizeof(slimit), "%d", limit + 1);
	params[2] = closed ? "t" : "f";
	if (host->query_json(req,
	                     "SELECT coalesce(json_agg(x.j ORDER BY x.id), '[]') FROM ("
	                     "  SELECT r.id, " REGION_JSON " AS j FROM core.region r "
	                     "  WHERE r.parent_id = $1::bigint AND r.id > $2::bigint "
	                     "    AND ($3::boolean OR r.closed_on IS NULL) "
	                     "  ORDER BY r.id LIMIT $4::int) x",
	                     4, params, &items) < 0)
		return;
	reply_page(req, host, items, limit);
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/regions/{id}/tree */

/*
 * Nests the flat rows of one subtree (ordered by depth, then id; the first
 * row is the root) into {..., "children": [...]}.  rows: borrowed.  Returns
 * the root (new) or NULL.  A row whose parent is not among the rows (a
 * closed parent filtered out) is left out with its subtree.
 */
static json_t *nest(json_t *rows)
{
	json_t *byid = json_object(), *root = NULL, *row;
	size_t i;
	char key[24];

	json_array_foreach(rows, i, row) {
		json_t *parent;

		if (!json_is_object(row))
			continue;
		json_object_set_new(row, "children", json_array());
		if (i == 0) {
			root = json_incref(row);
		} else {
			fmt_id(key, sizeof(key),
			       json_integer_value(json_object_get(row, "parent_id")));
			parent = json_object_get(byid, key);
			if (parent == NULL)
				continue;
			json_array_append(json_object_get(parent, "children"), row);
		}
		fmt_id(key, sizeof(key), json_integer_value(json_object_get(row, "id")));
		json_object_set(byid, key, row);
	}
	json_decref(byid);
	return root;
}

static void regions_tree(og_req *req, const og_host_api *host)
{
	char sid[24];
	const char *params[4] = {sid, NULL, NULL, NULL};
	const char *depth;
	json_t *rows = NULL, *root;
	int64_t id, d;
	int closed, n;

	if (host->path_id(req, "id", &id) != 0)
		return;
	depth = host->query_param(req, "depth");
	if (depth != NULL && *depth == '\0')
		depth = NULL;
	if (depth != NULL && (!ogc_util_parse_id(depth, &d) || d > DEPTH_MAX)) {
		ogc_util_invalid(req, "depth", "depth must be an integer from 1 to 10");
		return;
	}
	closed = include_closed(req, host);
	if (closed < 0)
		return;
	fmt_id(sid, sizeof(sid), id);
	params[1] = ogc_util_scope(req);
	params[2] = depth;
	params[3] = closed ? "t" : "f";
	/* One ltree query for the whole subtree, never one per node. */
	n = host->query_json(
	        req,
	        "WITH top AS (SELECT r.path FROM core.region r "
	        "  WHERE r.id = $1::bigint AND " IN_SCOPE(
	                "2") ") "
	                     "SELECT json_agg(" REGION_JSON " ORDER BY nlevel(r.path), r.id) "
	                     "FROM core.region r, top "
	                     "WHERE r.path <@ top.path "
	                     "  AND ($3::int IS NULL "
	                     "       OR nlevel(r.path) <= nlevel(top.path) + $3::int) "
	                     "  AND (r.path = top.path OR $4::boolean OR r.closed_on IS NULL)",
	        4, params, &rows);
	if (n < 0)
		return;
	root = json_is_array(rows) ? nest(rows) : NULL;
	json_decref(rows);
	if (root == NULL) {
		not_found(req, host);
		return;
	}
	host->reply_json(req, 200, root);
}

/* ------------------------------------------------------------------ */
/* POST /api/v1/regions */

static void regions_create(og_req *req, const og_host_api *host)
{
	const og_caller *c = host->caller(req);
	json_t *body = host->body(req), *region = NULL;
	const char *level, *code, *name, *params[5];
	struct region parent = {0};
	char spar[24], sid[24];
	int64_t parent_id, new_id;
	int lvl, n;

	if (c == NULL || !ogc_util_body_object(req, body, false))
		return;
	if (string_member(req, body, "level", false, &level) < 0)
		return;
	lvl = level_index(level);
	if (lvl < 0) {
		ogc_util_invalid(req, "level",
		                 "level is required: district, street, community or grid");
		return;
	}
	if (id_member(req, body, "parent_id", &parent_id) < 0)
		return;
	if (string_member(req, body, "code", false, &code) < 0)
		return;
	if (code == NULL) {
		ogc_util_invalid(req, "code", "code is required");
		return;
	}
	if (string_member(req, body, "name", false, &name) < 0)
		return;
	if (name == NULL) {
		ogc_util_invalid(req, "name", "name is required");
		return;
	}
	if (!name_ok(req, name))
		return;

	if (lvl == 0) {
		if (!is_admin(c)) {
			host->reply_error(req, 403, "forbidden",
			                  "only an administrator may create a district", "level");
			return;
		}
		if (parent_id != 0) {
			ogc_util_invalid(req, "parent_id",
			                 "a district has no parent: omit parent_id");
			return;
		}
		if (check_code(req, 0, code, NULL, NULL) != 0)
			return;
	} else {
		char msg[160];

		if (parent_id == 0) {
			snprintf(msg, sizeof(msg), "parent_id is required: the %s above the new %s",
			         levels[lvl - 1], levels[lvl]);
			ogc_util_invalid(req, "parent_id", msg);
			return;
		}
		/* FOR SHARE: a concurrent close of the parent waits for us, or we
		 * see it closed. */
		n = region_load(req, host, parent_id, ogc_util_scope(req), "FOR SHARE OF r",
		                &parent);
		if (n < 0)
			return;
		if (n == 0) {
			ogc_util_invalid(req, "parent_id", "no such region in your scope");
			return;
		}
		if (parent.level != lvl - 1) {
			snprintf(msg, sizeof(msg),
			         "a %s belongs directly under a %s, not under a %s", levels[lvl],
			         levels[lvl - 1],
			         parent.level >= 0 ? levels[parent.level] : "region");
			ogc_util_invalid(req, "level", msg);
			goto out;
		}
		if (parent.closed) {
			ogc_util_invalid(req, "parent_id",
			                 "the parent region is closed: no new regions under it");
			goto out;
		}
		if (check_code(req, lvl, code, parent.code, parent.district_code) != 0)
			goto out;
	}
	if (sibling_taken(req, host, parent_id, code, 0) != 0)
		goto out;

	fmt_id(spar, sizeof(spar), parent_id);
	params[0] = parent_id != 0 ? spar : NULL;
	params[1] = levels[lvl];
	params[2] = code;
	params[3] = name;
	params[4] = parent_id != 0 ? parent.path : NULL;
	/* The path is the chain of ids, so the id is drawn first. */
	n = host->query_json(req,
	                     "WITH n AS (SELECT nextval('core.region_id_seq') AS id) "
	                     "INSERT INTO core.region (id, parent_id, level, code, name, path) "
	                     "SELECT n.id, $1::bigint, $2, $3, $4, "
	                     "  coalesce($5::text::ltree, ''::ltree) || n.id::text::ltree FROM n "
	                     "RETURNING id",
	                     5, params, &region);
	if (n < 0) {
		code_race(req, host);
		goto out;
	}
	new_id = (int64_t)json_integer_value(region);
	json_decref(region);
	region = NULL;
	fmt_id(sid, sizeof(sid), new_id);
	if (region_json(req, host, new_id, &region) != 1)
		goto out;
	if (host->audit(req, "create", "region", sid, new_id, NULL, region) != 0)
		goto out;
	host->reply_json(req, 201, region);
	region = NULL; /* stolen */
out:
	json_decref(region);
	region_clear(&parent);
}

/* ------------------------------------------------------------------ */
/* PATCH /api/v1/regions/{id} and DELETE /api/v1/regions/{id} */

/*
 * The region {id} of the path for a write: in scope, strictly below the
 * caller's scope region, locked FOR UPDATE.  1 with *r; -1 after a reply.
 */
static int writable_region(og_req *req, const og_host_api *host, struct region *r)
{
	const og_caller *c = host->caller(req);
	int64_t id;
	int n;

	if (c == NULL || host->path_id(req, "id", &id) != 0)
		return -1;
	n = region_load(req, host, id, ogc_util_scope(req), "FOR UPDATE OF r", r);
	if (n < 0)
		return -1;
	if (n == 0) {
		not_found(req, host);
		return -1;
	}
	if (!is_admin(c) && r->id == c->scope_region_id) {
		host->reply_error(req, 403, "forbidden",
		                  r->level == 0 ? "only an administrator may change a district"
		                                : "your own scope region is managed from above it",
		                  NULL);
		region_clear(r);
		return -1;
	}
	return 1;
}

struct region_patch {
	bool has_name, has_code, has_closed, has_parent;
	const char *name, *code, *closed_on; /* borrowed from the body; closed_on NULL = reopen */
	int64_t parent_id;
};

/* Shapes of the patchable members; -1 after a 422. */
static int read_patch(og_req *req, json_t *body, struct region_patch *p)
{
	int rc;

	memset(p, 0, sizeof(*p));
	if ((rc = string_member(req, body, "name", false, &p->name)) < 0)
		return -1;
	p->has_name = rc == 1;
	if (p->has_name && !name_ok(req, p->name))
		return -1;
	if ((rc = string_member(req, body, "code", false, &p->code)) < 0)
		return -1;
	p->has_code = rc == 1;
	if ((rc = string_member(req, body, "closed_on", true, &p->closed_on)) < 0)
		return -1;
	p->has_closed = rc == 1;
	if (p->closed_on != NULL && !valid_date(p->closed_on)) {
		ogc_util_invalid(req, "closed_on",
		                 "closed_on must be a date YYYY-MM-DD (or null to reopen)");
		return -1;
	}
	if (json_object_get(body, "parent_id") != NULL) {
		if (json_is_null(json_object_get(body, "parent_id"))) {
			ogc_util_invalid(req, "parent_id", "parent_id cannot be removed");
			return -1;
		}
		if (id_member(req, body, "parent_id", &p->parent_id) < 0)
			return -1;
		p->has_parent = true;
	}
	return 0;
}

/* Level and path are derived, never set: a different value is a 422. */
static int immutable_members(og_req *req, json_t *body, const struct region *r)
{
	json_t *v = json_object_get(body, "level");

	if (v != NULL && (!json_is_string(v) || level_index(json_string_value(v)) != r->level)) {
		ogc_util_invalid(req, "level", "a region's level cannot change");
		return -1;
	}
	v = json_object_get(body, "path");
	if (v != NULL && (!json_is_string(v) || strcmp(json_string_value(v), r->path) != 0)) {
		ogc_util_invalid(req, "path", "path follows parent_id and cannot be set");
		return -1;
	}
	return 0;
}

/* Counts what a moved grid (and anything under it) carries, for the audit. */
static json_t *moved_contents(og_req *req, const og_host_api *host, const char *path)
{
	const char *params[1] = {path};
	json_t *out = NULL;

	if (host->query_json(req,
	                     "WITH g AS (SELECT id FROM core.region WHERE path <@ $1::ltree) "
	                     "SELECT json_build_object("
	                     " 'buildings', (SELECT count(*) FROM core.building b "
	                     "   WHERE b.grid_id IN (SELECT id FROM g)), "
	                     " 'households', (SELECT count(*) FROM core.household h "
	                     "   WHERE h.grid_id IN (SELECT id FROM g)), "
	                     " 'residents', (SELECT count(*) FROM core.resident x "
	                     "   WHERE x.grid_id IN (SELECT id FROM g)))",
	                     1, params, &out) != 1)
		return NULL;
	return out;
}

static void regions_patch(og_req *req, const og_host_api *host)
{
	json_t *body = host->body(req), *before = NULL, *after = NULL;
	struct region r = {0}, np = {0};
	struct region_patch p;
	const char *params[11], *eff_code, *eff_parent_code, *eff_district_code;
	char sid[24], sver[24], spar[24], day[11], msg[160];
	int64_t version, all, open, eff_parent;
	bool moving, recode, closing, reopening;
	int n;

	/* What the token query reads changes: other workers must ask again. */
	ogc_auth_cache_invalidate(req);
	if (!ogc_util_body_object(req, body, false) ||
	    host->client_version(req, body, &version) != 0)
		return;
	if (read_patch(req, body, &p) != 0)
		return;
	if (writable_region(req, host, &r) < 0)
		return;
	if (immutable_members(req, body, &r) != 0)
		goto out;
	if (r.version != version) {
		host->reply_error(req, 409, "version_conflict",
		                  "the region was changed since you read it; reload and retry",
		                  "version");
		goto out;
	}

	/* Moving: only a grid, only to an open community in scope. */
	moving = p.has_parent && p.parent_id != r.parent_id;
	if (p.has_parent && r.level == 0) {
		ogc_util_invalid(req, "parent_id", "a district has no parent");
		goto out;
	}
	if (moving && r.level != 3) {
		ogc_util_invalid(req, "parent_id",
		                 "only a grid can move (to another community); streets and "
		                 "communities stay where they are");
		goto out;
	}
	if (moving) {
		n = region_load(req, host, p.parent_id, ogc_util_scope(req), "FOR SHARE OF r", &np);
		if (n < 0)
			goto out;
		if (n == 0) {
			ogc_util_invalid(req, "parent_id", "no such community in your scope");
			goto out;
		}
		if (np.level != 2) {
			ogc_util_invalid(req, "parent_id", "a grid moves only to a community");
			goto out;
		}
		if (np.closed) {
			ogc_util_invalid(req, "parent_id",
			                 "the community is closed: no grid can move into it");
			goto out;
		}
	}
	eff_parent = moving ? np.id : r.parent_id;
	reopening = p.has_closed && p.closed_on == NULL;
	if (!moving && r.parent_id != 0 && (p.has_code || reopening)) {
		/* The current parent: its code for the code rules, its state
		 * for a reopening (locked so it cannot close meanwhile). */
		if (region_load(req, host, r.parent_id, "", "FOR SHARE OF r", &np) < 0)
			goto out;
	}
	eff_parent_code = np.code; /* NULL for a district or when not needed */
	eff_district_code = moving ? np.district_code : r.district_code;

	eff_code = p.has_code ? p.code : r.code;
	recode = p.has_code && strcmp(p.code, r.code) != 0;
	if (count_children(req, host, r.id, &all, &open) != 0)
		goto out;
	if (recode && all > 0 && (r.level == 0 || r.level == 2 || stat_district(r.district_code))) {
		snprintf(msg, sizeof(msg),
		         "code cannot change while %lld child region(s) have codes derived from it",
		         (long long)all);
		ogc_util_invalid(req, "code", msg);
		goto out;
	}
	if (recode || moving) {
		if (r.level == 0)
			n = check_code(req, 0, eff_code, NULL, NULL);
		else
			n = check_code(req, r.level, eff_code, eff_parent_code, eff_district_code);
		if (n != 0) /* a moved grid whose code does not fit: the message says what would */
			goto out;
		if (sibling_taken(req, host, eff_parent, eff_code, r.id) != 0)
			goto out;
	}

	/* Closing needs closed children; reopening needs an open parent. */
	closing = p.has_closed && p.closed_on != NULL;
	if (closing) {
		today(day);
		if (strcmp(p.closed_on, day) > 0) {
			ogc_util_invalid(req, "closed_on", "closed_on cannot be in the future");
			goto out;
		}
		if (open > 0) {
			snprintf(msg, sizeof(msg),
			         "the region has %lld open child region(s): "
			         "close its children first",
			         (long long)open);
			ogc_util_invalid(req, "closed_on", msg);
			goto out;
		}
	}
	if (reopening && r.closed && eff_parent != 0 && np.closed) {
		ogc_util_invalid(req, "closed_on",
		                 "its parent region is closed: reopen the parent first");
		goto out;
	}

	if (region_json(req, host, r.id, &before) != 1)
		goto out;
	fmt_id(sid, sizeof(sid), r.id);
	fmt_id(sver, sizeof(sver), version);
	fmt_id(spar, sizeof(spar), eff_parent);
	params[0] = sid;
	params[1] = sver;
	params[2] = p.has_name ? "t" : "f";
	params[3] = p.name;
	params[4] = p.has_code ? "t" : "f";
	params[5] = p.code;
	params[6] = p.has_closed ? "t" : "f";
	params[7] = p.closed_on;
	params[8] = moving ? "t" : "f";
	params[9] = spar;
	params[10] = moving ? np.path : NULL;
	n = host->query_json(req,
	                     "UPDATE core.region SET "
	                     "  name = CASE WHEN $3::boolean THEN $4::text ELSE name END, "
	                     "  code = CASE WHEN $5::boolean THEN $6::text ELSE code END, "
	                     "  closed_on = CASE WHEN $7::boolean THEN $8::date "
	                     "                   ELSE closed_on END, "
	                     "  parent_id = CASE WHEN $9::boolean THEN $10::bigint "
	                     "                   ELSE parent_id END, "
	                     "  path = CASE WHEN $9::boolean "
	                     "              THEN $11::text::ltree || id::text::ltree "
	                     "              ELSE path END, "
	                     "  version = version + 1, updated_at = now() "
	                     "WHERE id = $1::bigint AND version = $2::int RETURNING id",
	                     11, params, &after);
	if (n < 0) {
		code_race(req, host);
		goto out;
	}
	json_decref(after);
	after = NULL;
	if (n == 0) { /* locked and checked above: cannot happen, but never half-write */
		host->reply_error(req, 409, "version_conflict",
		                  "the region was changed since you read it; reload and retry",
		                  "version");
		goto out;
	}
	if (moving) {
		/* Whatever hangs below the moved region follows it (a grid has no
		 * child regions today; the rule holds for any depth). */
		const char *mp[3] = {r.path, np.path, sid};
		og_result *res = host->query(
		        req,
		        "UPDATE core.region SET path = $2::text::ltree || $3::text::ltree || "
		        "  subpath(path, nlevel($1::text::ltree)), version = version + 1, "
		        "  updated_at = now() "
		        "WHERE path <@ $1::text::ltree AND id <> $3::text::bigint",
		        3, mp);
		if (res == NULL)
			goto out;
		host->result_free(res);
	}
	if (region_json(req, host, r.id, &after) != 1)
		goto out;
	if (host->audit(req, "update", "region", sid, r.id, before, after) != 0)
		goto out;
	if (moving) {
		/* Rows of the shared model keep their grid_id: they now belong to
		 * the new community's scope.  Said once, in the audit. */
		json_t *what = moved_contents(req, host,
		                              json_string_value(json_object_get(after, "path")));
		json_t *mb, *ma;
		int rc;

		if (what == NULL)
			goto out;
		mb = json_pack("{s:I, s:s}", "parent_id", (json_int_t)r.parent_id, "path", r.path);
		ma = json_pack("{s:I, s:O, s:O, s:s}", "parent_id", (json_int_t)np.id, "path",
		               json_object_get(after, "path"), "contents", what, "note",
		               "the grid's buildings, households and residents keep their grid "
		               "and now belong to the new community's scope");
		rc = host->audit(req, "move", "region", sid, r.id, mb, ma);
		json_decref(what);
		json_decref(mb);
		json_decref(ma);
		if (rc != 0)
			goto out;
	}
	host->reply_json(req, 200, after);
	after = NULL; /* stolen */
out:
	json_decref(before);
	json_decref(after);
	region_clear(&r);
	region_clear(&np);
}

static void regions_delete(og_req *req, const og_host_api *host)
{
	struct region r = {0};
	json_t *before = NULL;
	char sid[24];
	const char *params[1] = {sid};
	og_result *res;

	/* What the token query reads changes: other workers must ask again. */
	ogc_auth_cache_invalidate(req);
	if (writable_region(req, host, &r) < 0)
		return;
	if (region_json(req, host, r.id, &before) != 1)
		goto out;
	fmt_id(sid, sizeof(sid), r.id);
	/* Every table that references core.region — children, users, plugin
	 * enablement, buildings, households, residents, plugins' own rows —
	 * has a foreign key: the database knows better than any list here. */
	res = host->query(req, "DELETE FROM core.region WHERE id = $1::bigint", 1, params);
	if (res == NULL) {
		if (strcmp(host->last_sqlstate(req), "23503") == 0)
			host->reply_error(req, 409, "in_use",
			                  "region is still referenced; close it instead", NULL);
		goto out;
	}
	host->result_free(res);
	/* Audited against the parent: the region's own path is gone. */
	if (host->audit(req, "delete", "region", sid, r.parent_id, before, NULL) != 0)
		goto out;
	host->reply_json(req, 200, json_pack("{s:b, s:I}", "deleted", 1, "id", (json_int_t)r.id));
out:
	json_decref(before);
	region_clear(&r);
}

/* ------------------------------------------------------------------ */
/* routes and their OpenAPI detail */

#define P_LIMIT                                                                                \
	"{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1," \
	"\"maximum\":500,\"default\":50}}"
#define P_CURSOR                                                                               \
	"{\"name\":\"cursor\",\"in\":\"query\",\"description\":\"next_cursor of the previous " \
	"page\",\"schema\":{\"type\":\"string\"}}"
#define P_CLOSED                                                                               \
	"{\"name\":\"include_closed\",\"in\":\"query\",\"description\":\"also closed regions " \
	"(default false)\",\"schema\":{\"type\":\"boolean\",\"default\":false}}"
#define S_LEVEL "{\"type\":\"string\",\"enum\":[\"district\",\"street\",\"community\",\"grid\"]}"
#define S_CODE                                                                                    \
	"{\"type\":\"string\",\"minLength\":1,\"maxLength\":32,\"pattern\":\"^[A-Za-z0-9_-]+$\"," \
	"\"description\":\"unique among siblings; in a district coded 6 digits + 000000: "        \
	"street 12 digits (district's 6 + 001-399 + 000), community 12 digits (street's 9 + "     \
	"001-399), grid = community code + 3 or 4 digits; elsewhere free text, a grid's code "    \
	"starting with its community's\"}"
#define S_NAME "{\"type\":\"string\",\"minLength\":1,\"maxLength\":50}"

static const char doc_list[] =
        "{\"parameters\":["
        "{\"name\":\"level\",\"in\":\"query\",\"schema\":" S_LEVEL "},"
        "{\"name\":\"parent\",\"in\":\"query\",\"description\":\"direct children of this region\","
        "\"schema\":{\"type\":\"integer\",\"minimum\":1}},"
        "{\"name\":\"q\",\"in\":\"query\",\"description\":\"substring of the name\","
        "\"schema\":{\"type\":\"string\",\"maxLength\":50}},"
        "{\"name\":\"code\",\"in\":\"query\",\"description\":\"exact code\","
        "\"schema\":{\"type\":\"string\",\"maxLength\":32}}," P_CLOSED "," P_LIMIT "," P_CURSOR
        "]}";

static const char doc_get[] =
        "{\"parameters\":[],\"description\":\"id, parent_id, level, code, name, path, closed_on, "
        "version, created_at, updated_at, children_count (direct children, open and closed); 404 "
        "outside the caller's scope\"}";

static const char doc_children[] = "{\"parameters\":[" P_CLOSED "," P_LIMIT "," P_CURSOR "]}";

static const char doc_tree[] =
        "{\"parameters\":["
        "{\"name\":\"depth\",\"in\":\"query\",\"description\":\"levels below the region "
        "(default: all)\",\"schema\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10}}," P_CLOSED
        "],"
        "\"description\":\"the region with nested children: {..., children: [...]}\"}";

static const char doc_create[] =
        "{\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":{"
        "\"type\":\"object\",\"required\":[\"level\",\"code\",\"name\"],\"properties\":{"
        "\"parent_id\":{\"type\":\"integer\",\"minimum\":1,\"nullable\":true,\"description\":"
        "\"required except for a district (administrators only); the level just above\"},"
        "\"level\":" S_LEVEL ",\"code\":" S_CODE ",\"name\":" S_NAME "}}}}}}";

static const char doc_patch[] =
        "{\"parameters\":[{\"name\":\"If-Match\",\"in\":\"header\",\"description\":\"the version "
        "read, when the body has none\",\"schema\":{\"type\":\"string\"}}],"
        "\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":{"
        "\"type\":\"object\",\"properties\":{"
        "\"version\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"the version read "
        "(required here or in If-Match)\"},"
        "\"name\":" S_NAME ",\"code\":" S_CODE ","
        "\"closed_on\":{\"type\":\"string\",\"format\":\"date\",\"nullable\":true,\"description\":"
        "\"a date closes the region (its children must be closed), null reopens it\"},"
        "\"parent_id\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"grids only: move to "
        "another community\"}}}}}}}";

static const char doc_delete[] =
        "{\"parameters\":[],\"description\":\"only while nothing references the region (409 "
        "in_use otherwise: close it instead); answers {deleted: true, id}\"}";

void ogc_regions_register_routes(void)
{
	ogc_router_add(NULL, OG_GET, "/api/v1/regions", "regions.read", regions_list,
	               "Regions in the caller's scope (filters: level, parent, q, code, "
	               "include_closed; keyset on id)");
	ogc_router_describe(OG_GET, "/api/v1/regions", doc_list);
	ogc_router_add(NULL, OG_POST, "/api/v1/regions", "regions.write", regions_create,
	               "Create a region one level below a parent in the caller's scope");
	ogc_router_describe(OG_POST, "/api/v1/regions", doc_create);
	ogc_router_add(NULL, OG_GET, "/api/v1/regions/{id}", "regions.read", regions_get,
	               "One region in the caller's scope");
	ogc_router_describe(OG_GET, "/api/v1/regions/{id}", doc_get);
	ogc_router_add(NULL, OG_PATCH, "/api/v1/regions/{id}", "regions.write", regions_patch,
	               "Rename, re-code, close or reopen a region, or move a grid to another "
	               "community (needs the version read)");
	ogc_router_describe(OG_PATCH, "/api/v1/regions/{id}", doc_patch);
	ogc_router_add(NULL, OG_DELETE, "/api/v1/regions/{id}", "regions.write", regions_delete,
	               "Delete a region nothing references");
	ogc_router_describe(OG_DELETE, "/api/v1/regions/{id}", doc_delete);
	ogc_router_add(NULL, OG_GET, "/api/v1/regions/{id}/children", "regions.read",
	               regions_children, "Direct children of a region in the caller's scope");
	ogc_router_describe(OG_GET, "/api/v1/regions/{id}/children", doc_children);
	ogc_router_add(NULL, OG_GET, "/api/v1/regions/{id}/tree", "regions.read", regions_tree,
	               "A region and everything under it, nested (one ltree query)");
	ogc_router_describe(OG_GET, "/api/v1/regions/{id}/tree", doc_tree);
}

/*
 * core/households.c — buildings (courtyards and buildings inside a grid),
 * households, and moving a household with its members to another grid or
 * address.
 *
 * Rules enforced here: every row is reached through its grid, so a caller
 * sees and changes only rows whose grid lies inside the caller's scope (a
 * row outside it answers 404 like a row that does not exist); new rows go
 * into open grids only; a building never changes grid and a household
 * changes grid only through POST /api/v1/households/{id}/move, which
 * moves the household and every resident in it in one transaction
 * (set-based statements, not a loop over members), records the move in
 * core.household_move and a 'household_changed' event per member, audits
 * it and fires "household.moved".  Every update carries the version it
 * read; every write is audited in its transaction.
 *
 * Not here: residents themselves (residents.c) — this file only lists a
 * household's members by name and relation, never their ID numbers or
 * phones; regions (regions.c); the change feed (written by triggers) and
 * Idempotency-Key (the router).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define NAME_MAX_CHARS 100
#define ADDRESS_MAX 200
#define UNIT_MAX 20
#define ROOM_MAX 20
#define HOUSEHOLD_NUMBER_MAX 40
#define REASON_MAX 200
#define Q_MAX 100

/* clang-format off */
/* The scope rule of the whole API in one predicate over region g: the
 * caller's scope path p is "" (everything) or the region's path lies at or
 * under it. */
#define IN_SCOPE(p) "(" p "::text = '' OR g.path <@ " p "::text::ltree)"

/* The API's picture of a building; b is the core.building row. */
#define BUILDING_JSON                                                                      \
	"json_build_object('id', b.id, 'grid_id', b.grid_id, 'kind', b.kind, "           \
	"'parent_id', b.parent_id, 'name', b.name, 'address', b.address, "              \
	"'floors', b.floors, 'units', b.units, 'version', b.version, "                   \
	"'created_at', b.created_at, 'updated_at', b.updated_at)"

/* The API's picture of a household; h is the core.household row.
 * member_count counts the members still living there (life status
 * active); GET /households/{id} lists every member with its status. */
#define HOUSEHOLD_JSON                                                                      \
	"json_build_object('id', h.id, 'grid_id', h.grid_id, 'building_id', h.building_id, " \
	"'unit', h.unit, 'room', h.room, 'address', h.address, 'kind', h.kind, "           \
	"'household_number', h.household_number, 'head_resident_id', h.head_resident_id, " \
	"'member_count', (SELECT count(*) FROM core.resident m "                           \
	"                  WHERE m.household_id = h.id AND m.life_status = 'active'), "   \
	"'version', h.version, 'created_at', h.created_at, 'updated_at', h.updated_at)"

/* One recorded move; m is the core.household_move row. */
#define MOVE_JSON                                                                          \
	"json_build_object('id', m.id, 'household_id', m.household_id, "                  \
	"'from_grid_id', m.from_grid_id, 'to_grid_id', m.to_grid_id, "                   \
	"'from_address', m.from_address, 'to_address', m.to_address, "                   \
	"'moved_on', m.moved_on, 'reason', m.reason, 'recorded_by', m.recorded_by, "     \
	"'recorded_at', m.recorded_at)"
/* clang-format on */

static const char *const BUILDING_KINDS[] = {"courtyard", "building", NULL};
static const char *const HOUSEHOLD_KINDS[] = {"registered", "resident", "rented", "collective",
                                              NULL};

/* ------------------------------------------------------------------ */
/* small helpers */

static void invalid(og_req *req, const char *field, const char *msg)
{
	ogc_util_invalid(req, field, msg);
}

static void internal(og_req *req, const og_host_api *host)
{
	host->reply_error(req, 500, "internal", "internal error", NULL);
}

static const char *id_text(int64_t v, char *buf, size_t n)
{
	snprintf(buf, n, "%lld", (long long)v);
	return buf;
}

/* A member of obj as a SQL text parameter: a string is borrowed, an
 * integer is printed into buf, null or absent is SQL NULL. */
static const char *jparam(json_t *obj, const char *key, char *buf, size_t n)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	return NULL;
}

/* The request body as an object (borrowed; NULL when there is none, which
 * reads like {}).  false after a 400 when it is some other JSON value. */
static bool body_object(og_req *req, const og_host_api *host, json_t **body)
{
	*body = host->body(req);
	return ogc_util_body_object(req, *body, true);
}

/*
 * Field readers.  Each looks at member `name` of in (borrowed, may be
 * NULL), and when it is present and valid stores the normalised value in
 * out under the same name.  They return 0 when absent, 1 when stored, -1
 * after a 422 naming the field.
 */
enum {
	T_NULLABLE = 1,   /* null (or "") stores JSON null */
	T_NULL_EMPTY = 2, /* null stores "" (a NOT NULL DEFAULT '' column) */
	T_NOT_BLANK = 4   /* must hold something besides spaces */
};

static int take_text(og_req *req, json_t *in, json_t *out, const char *name, size_t min, size_t max,
                     int flags)
{
	json_t *v = json_object_get(in, name);
	const char *s;
	char msg[128];
	size_t n;

	if (v == NULL)
		return 0;
	if (json_is_null(v) && (flags & (T_NULLABLE | T_NULL_EMPTY))) {
		json_object_set_new(out, name,
		                    (flags & T_NULLABLE) ? json_null() : json_string(""));
		return 1;
	}
	if (!json_is_string(v)) {
		snprintf(msg, sizeof(msg), "%s must be a string", name);
		invalid(req, name, msg);
		return -1;
	}
	s = json_string_value(v);
	/* A "\u0000" inside the string would be cut short by the database. */
	if (strlen(s) != json_string_length(v)) {
		snprintf(msg, sizeof(msg), "%s must not contain NUL characters", name);
		invalid(req, name, msg);
		return -1;
	}
	n = ogc_util_utf8_len(s);
	if (n == 0 && (flags & T_NULLABLE)) {
		json_object_set_new(out, name, json_null());
		return 1;
	}
	if (n < min || n > max || ((flags & T_NOT_BLANK) && s[strspn(s, " \t\r\n")] == '\0')) {
		if (min > 0)
			snprintf(msg, sizeof(msg), "%s must be %zu to %zu characters", name, min,
			         max);
		else
			snprintf(msg, sizeof(msg), "%s must be at most %zu characters", name, max);
		invalid(req, name, msg);
		return -1;
	}
	json_object_set_new(out, name, json_string(s));
	return 1;
}

static int take_int(og_req *req, json_t *in, json_t *out, const char *name, json_int_t min,
                    json_int_t max, bool nullable)
{
	json_t *v = json_object_get(in, name);
	char msg[128];

	if (v == NULL)
		return 0;
	if (json_is_null(v) && nullable) {
		json_object_set_new(out, name, json_null());
		return 1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(msg, sizeof(msg),
		         "%s must be an integer from %" JSON_INTEGER_FORMAT
		         " to %" JSON_INTEGER_FORMAT "%s",
		         name, min, max, nullable ? " or null" : "");
		invalid(req, name, msg);
		return -1;
	}
	json_object_set_new(out, name, json_integer(json_integer_value(v)));
	return 1;
}

/* An id of another row: an integer > 0 (or null when nullable). */
static int take_id(og_req *req, json_t *in, json_t *out, const char *name, bool nullable)
{
	json_t *v = json_object_get(in, name);
	char msg[96];

	if (v == NULL)
		return 0;
	if (json_is_null(v) && nullable) {
		json_object_set_new(out, name, json_null());
		return 1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		snprintf(msg, sizeof(msg), "%s must be an id%s", name, nullable ? " or null" : "");
		invalid(req, name, msg);
		return -1;
	}
	json_object_set_new(out, name, json_integer(json_integer_value(v)));
	return 1;
}

static bool one_of(const char *s, const char *const *values)
{
	for (; *values != NULL; values++)
		if (strcmp(s, *values) == 0)
			return true;
	return false;
}

static void enum_message(char *msg, size_t n, const char *name, const char *const *values)
{
	size_t used = (size_t)snprintf(msg, n, "%s must be one of", name);

	for (const char *const *v = values; *v != NULL && used < n; v++)
		used += (size_t)snprintf(msg + used, n - used, "%s %s", v == values ? "" : ",", *v);
}

static int take_enum(og_req *req, json_t *in, json_t *out, const char *name,
                     const char *const *values)
{
	json_t *v = json_object_get(in, name);
	char msg[160];

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || !one_of(json_string_value(v), values)) {
		enum_message(msg, sizeof(msg), name, values);
		invalid(req, name, msg);
		return -1;
	}
	json_object_set_new(out, name, json_string(json_string_value(v)));
	return 1;
}

/* YYYY-MM-DD naming a real day of the Gregorian calendar. */
static bool valid_date(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	return true;
}

/* An optional id filter of the query string: 0 ok (*out 0 when absent),
 * -1 after a 422 naming the parameter. */
static int query_id(og_req *req, const og_host_api *host, const char *name, int64_t *out)
{
	const char *s = host->query_param(req, name);
	char msg[96];

	*out = 0;
	if (s == NULL || *s == '\0')
		return 0;
	if (!ogc_util_parse_id(s, out)) {
		snprintf(msg, sizeof(msg), "%s must be an id", name);
		invalid(req, name, msg);
		return -1;
	}
	return 0;
}

/* ?kind=: NULL when absent, else one of values; false after a 422. */
static bool query_kind(og_req *req, const og_host_api *host, const char *const *values,
                       const char **out)
{
	const char *s = host->query_param(req, "kind");
	char msg[160];

	*out = NULL;
	if (s == NULL || *s == '\0')
		return true;
	if (!one_of(s, values)) {
		enum_message(msg, sizeof(msg), "kind", values);
		invalid(req, "kind", msg);
		return false;
	}
	*out = s;
	return true;
}

/* ?q= as an ILIKE substring pattern (new, caller frees; NULL when absent).
 * false after a 422 or on allocation failure (reply set). */
static bool query_pattern(og_req *req, const og_host_api *host, char **out)
{
	const char *q = host->query_param(req, "q");

	*out = NULL;
	if (q == NULL || *q == '\0')
		return true;
	if (ogc_util_utf8_len(q) > Q_MAX) {
		invalid(req, "q", "q must be at most 100 characters");
		return false;
	}
	*out = ogc_util_like_pattern(q, strlen(q));
	if (*out == NULL) {
		internal(req, host);
		return false;
	}
	return true;
}

/* Replies a page: items (stolen) holds up to limit + 1 rows in id order;
 * the extra one only says that there is a next page. */
static void reply_page(og_req *req, const og_host_api *host, json_t *items, int limit)
{
	int64_t next = ogc_util_page_cut(&items, limit);

	host->reply_json(req, 200, ogc_util_list(items, next));
}

/*
 * Is grid_id a grid the caller may put rows into: inside the caller's
 * scope (a grid outside it reads like one that does not exist), a grid
 * (not a street or community), and open?  0 yes; -1 after a 422 naming
 * field (or a database error).
 */
static int check_grid(og_req *req, const og_host_api *host, int64_t grid_id, const char *field)
{
	char sid[24], msg[160];
	const char *params[2] = {id_text(grid_id, sid, sizeof(sid)), ogc_util_scope(req)};
	og_result *r;
	int rc = 0;

	r = host->query(req,
	                "SELECT g.level, g.closed_on::text FROM core.region g "
	                "WHERE g.id = $1::bigint AND " IN_SCOPE("$2"),
	                2, params);
	if (r == NULL)
		return -1;
	if (host->result_rows(r) == 0) {
		snprintf(msg, sizeof(msg), "grid %s is not in your scope", sid);
		invalid(req, field, msg);
		rc = -1;
	} else if (strcmp(host->result_text(r, 0, 0), "grid") != 0) {
		snprintf(msg, sizeof(msg), "region %s is a %s, not a grid", sid,
		         host->result_text(r, 0, 0));
		invalid(req, field, msg);
		rc = -1;
	} else if (host->result_text(r, 0, 1) != NULL) {
		snprintf(msg, sizeof(msg), "grid %s was closed on %s", sid,
		         host->result_text(r, 0, 1));
		invalid(req, field, msg);
		rc = -1;
	}
	host->result_free(r);
	return rc;
}

/* Is building_id a building (or courtyard) of grid_id?  0 yes; -1 after
 * a 422 naming building_id (or a database error). */
static int check_building_in_grid(og_req *req, const og_host_api *host, int64_t building_id,
                                  int64_t grid_id)
{
	char sb[24], sg[24];
	const char *params[2] = {id_text(building_id, sb, sizeof(sb)),
	                         id_text(grid_id, sg, sizeof(sg))};
	og_result *r;
	int n;

	r = host->query(
	        req, "SELECT 1 FROM core.building WHERE id = $1::bigint AND grid_id = $2::bigint",
	        2, params);
	if (r == NULL)
		return -1;
	n = host->result_rows(r);
	host->result_free(r);
	if (n == 0) {
		invalid(req, "building_id", "no such building in the household's grid");
		return -1;
	}
	return 0;
}

/* Loads one row as JSON through sql ($1 id, $2 scope): 1 with *out new;
 * 0 after a 404 (absent or outside the scope); -1 after an error. */
static int load_row(og_req *req, const og_host_api *host, const char *sql, int64_t id,
                    const char *what, json_t **out)
{
	char sid[24], msg[64];
	const char *params[2] = {id_text(id, sid, sizeof(sid)), ogc_util_scope(req)};
	int n;

	*out = NULL;
	n = host->query_json(req, sql, 2, params, out);
	if (n < 0)
		return -1;
	if (n == 0 || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		snprintf(msg, sizeof(msg), "no such %s", what);
		host->reply_error(req, 404, "not_found", msg, NULL);
		return 0;
	}
	return 1;
}

static void version_conflict(og_req *req, const og_host_api *host, const char *what)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "the %s was changed since you read it; reload and retry", what);
	host->reply_error(req, 409, "version_conflict", msg, "version");
}

/* A PATCH or move body's grid_id may only repeat the row's grid. */
static int same_grid_only(og_req *req, json_t *body, int64_t grid_id, const char *why)
{
	json_t *v = json_object_get(body, "grid_id");

	if (v == NULL || (json_is_integer(v) && json_integer_value(v) == grid_id))
		return 0;
	invalid(req, "grid_id", why);
	return -1;
}

/*
 * The start of a PATCH of a `what` ("building", "household"): loads row id
 * locked through sql_lock, checks the version the client read and that the
 * body keeps the row's grid (grid_why says why otherwise), and merges patch
 * (borrowed) into a copy of the row.  0 with *before and *merged new; -1
 * after the reply (the caller frees *before and *merged, NULL or not).
 */
static int patch_begin(og_req *req, const og_host_api *host, const char *sql_lock, const char *what,
                       int64_t id, int64_t version, json_t *body, json_t *patch,
                       const char *grid_why, json_t **before, json_t **merged)
{
	if (load_row(req, host, sql_lock, id, what, before) != 1)
		return -1;
	if (ogc_util_json_id(*before, "version") != version) {
		version_conflict(req, host, what);
		return -1;
	}
	if (same_grid_only(req, body, ogc_util_json_id(*before, "grid_id"), grid_why) != 0)
		return -1;
	*merged = json_deep_copy(*before);
	if (*merged == NULL) {
		internal(req, host);
		return -1;
	}
	json_object_update(*merged, patch);
	return 0;
}

/*
 * The end of a create (before NULL) or a PATCH of a `what` after its INSERT
 * or UPDATE ... RETURNING gave n >= 0 rows into *after.  No row: an
 * internal error for a create, for a PATCH the version moved on (409).
 * Else the audit row (before borrowed) and the reply (201 or 200), which
 * steals *after (set to NULL).  The reply is set either way.
 */
static void write_end(og_req *req, const og_host_api *host, const char *what, json_t *before, int n,
                      json_t **after)
{
	char sid[24];

	if (n == 0) {
		if (before == NULL)
			internal(req, host);
		else
			version_conflict(req, host, what);
		return;
	}
	id_text(ogc_util_json_id(*after, "id"), sid, sizeof(sid));
	if (ogc_audit_write(req, before == NULL ? "create" : "update", what, sid,
	                    ogc_util_json_id(*after, "grid_id"), before, *after) != 0)
		return;
	host->reply_json(req, before == NULL ? 201 : 200, *after);
	*after = NULL; /* stolen */
}

/* ------------------------------------------------------------------ */
/* buildings */

/* clang-format off */
static const char sql_building_get[] =
    "SELECT " BUILDING_JSON " FROM core.building b JOIN core.region g ON g.id = b.grid_id "
    "WHERE b.id = $1::bigint AND " IN_SCOPE("$2");

static const char sql_building_lock[] =
    "SELECT " BUILDING_JSON " FROM core.building b JOIN core.region g ON g.id = b.grid_id "
    "WHERE b.id = $1::bigint AND " IN_SCOPE("$2") " FOR UPDATE OF b";
/* clang-format on */

/* Reads every writable building member of body into out; -1 after a 422. */
static int take_building(og_req *req, json_t *body, json_t *out)
{
	if (take_enum(req, body, out, "kind", BUILDING_KINDS) < 0 ||
	    take_id(req, body, out, "parent_id", true) < 0 ||
	    take_text(req, body, out, "name", 1, NAME_MAX_CHARS, T_NOT_BLANK) < 0 ||
	    take_text(req, body, out, "address", 0, ADDRESS_MAX, T_NULL_EMPTY) < 0 ||
	    take_int(req, body, out, "floors", 1, 200, true) < 0 ||
	    take_int(req, body, out, "units", 1, 100, true) < 0)
		return -1;
	return 0;
}

/*
 * The parent of building b (its merged values, borrowed) must be a
 * courtyard of the same grid; a courtyard stands in no courtyard, so
 * parents never form a cycle.  self_id: the building's own id (0 when
 * new).  0 ok; -1 after a 422 naming parent_id (or a database error).
 */
static int check_parent(og_req *req, const og_host_api *host, json_t *b, int64_t self_id)
{
	int64_t parent = ogc_util_json_id(b, "parent_id");
	char sp[24];
	const char *params[1] = {id_text(parent, sp, sizeof(sp))};
	const char *kind = json_string_value(json_object_get(b, "kind"));
	og_result *r;
	int rc = 0;

	if (parent == 0)
		return 0;
	if (kind != NULL && strcmp(kind, "courtyard") == 0) {
		invalid(req, "parent_id", "a courtyard cannot stand inside another courtyard");
		return -1;
	}
	if (parent == self_id) {
		invalid(req, "parent_id", "a building cannot be its own parent");
		return -1;
	}
	r = host->query(req, "SELECT grid_id, kind FROM core.building WHERE id = $1::bigint", 1,
	                params);
	if (r == NULL)
		return -1;
	if (host->result_rows(r) == 0 ||
	    host->result_int64(r, 0, 0) != ogc_util_json_id(b, "grid_id")) {
		invalid(req, "parent_id", "no such courtyard in this grid");
		rc = -1;
	} else if (strcmp(host->result_text(r, 0, 1), "courtyard") != 0) {
		invalid(req, "parent_id", "parent_id must be a courtyard, not a building");
		rc = -1;
	}
	host->result_free(r);
	return rc;
}

/* A duplicate name within grid and parent is the only unique index the
 * building writes can hit: name the field (other failures keep the reply
 * the failed query set). */
static void building_failed(og_req *req, const og_host_api *host)
{
	if (strcmp(host->last_sqlstate(req), "23505") == 0)
		host->reply_error(req, 409, "duplicate",
		                  "a building or courtyard of that name already stands there",
		                  "name");
}

/* clang-format off */
/* $1 scope, $2 cursor, $3 grid, $4 kind, $5 ILIKE pattern (all may be NULL
 * but the first two), $6 limit + 1. */
static const char sql_buildings_list[] =
    "SELECT coalesce(json_agg(x.j ORDER BY x.id), '[]') FROM ("
    "  SELECT b.id, " BUILDING_JSON " AS j "
    "  FROM core.building b JOIN core.region g ON g.id = b.grid_id "
    "  WHERE " IN_SCOPE("$1") " AND b.id > $2::bigint "
    "    AND ($3::bigint IS NULL OR b.grid_id = $3::bigint) "
    "    AND ($4::text IS NULL OR b.kind = $4::text) "
    "    AND ($5::text IS NULL OR b.name ILIKE $5::text "
    "         OR b.address ILIKE $5::text) "
    "  ORDER BY b.id LIMIT $6::int) x";
/* clang-format on */

/* GET /api/v1/buildings?grid=&q=&kind=&limit=&cursor= */
static void buildings_list(og_req *req, const og_host_api *host)
{
	char scursor[24], slimit[24], sgrid[24], *pattern = NULL;
	const char *kind, *params[6];
	json_t *items = NULL;
	int64_t cursor, grid;
	int limit, rc;

	if (host->page(req, &limit, &cursor) != 0 || query_id(req, host, "grid", &grid) != 0 ||
	    !query_kind(req, host, BUILDING_KINDS, &kind) || !query_pattern(req, host, &pattern))
		return;
	params[0] = ogc_util_scope(req);
	params[1] = id_text(cursor, scursor, sizeof(scursor));
	params[2] = grid != 0 ? id_text(grid, sgrid, sizeof(sgrid)) : NULL;
	params[3] = kind;
	params[4] = pattern;
	params[5] = id_text(limit + 1, slimit, sizeof(slimit)); /* +1: is there a next page? */
	rc = host->query_json(req, sql_buildings_list, 6, params, &items);
	free(pattern);
	if (rc < 0)
		return;
	reply_page(req, host, items, limit);
}

/* GET /api/v1/buildings/{id} */
static void buildings_get(og_req *req, const og_host_api *host)
{
	json_t *b;
	int64_t id;

	if (host->path_id(req, "id", &id) != 0)
		return;
	if (load_row(req, host, sql_building_get, id, "building", &b) != 1)
		return;
	host->reply_json(req, 200, b);
}

/* POST /api/v1/buildings */
static void buildings_create(og_req *req, const og_host_api *host)
{
	json_t *body, *v = json_object(), *after = NULL;
	char b0[24], b1[24], b2[24], b3[24];
	const char *params[7];
	int n;

	if (!body_object(req, host, &body))
		goto out;
	if (take_id(req, body, v, "grid_id", false) < 0 || take_building(req, body, v) < 0)
		goto out;
	if (ogc_util_json_id(v, "grid_id") == 0) {
		invalid(req, "grid_id", "grid_id is required");
		goto out;
	}
	if (json_object_get(v, "name") == NULL) {
		invalid(req, "name", "name is required");
		goto out;
	}
	if (json_object_get(v, "kind") == NULL)
		json_object_set_new(v, "kind", json_string("building"));
	if (check_grid(req, host, ogc_util_json_id(v, "grid_id"), "grid_id") != 0 ||
	    check_parent(req, host, v, 0) != 0)
		goto out;

	params[0] = jparam(v, "grid_id", b0, sizeof(b0));
	params[1] = jparam(v, "kind", NULL, 0);
	params[2] = jparam(v, "parent_id", b1, sizeof(b1));
	params[3] = jparam(v, "name", NULL, 0);
	params[4] = json_object_get(v, "address") ? jparam(v, "address", NULL, 0) : "";
	params[5] = jparam(v, "floors", b2, sizeof(b2));
	params[6] = jparam(v, "units", b3, sizeof(b3));
	n = host->query_json(req,
	                     "INSERT INTO core.building AS b "
	                     "  (grid_id, kind, parent_id, name, address, floors, units) "
	                     "VALUES ($1::bigint, $2, $3::bigint, $4, $5, $6::int, $7::int) "
	                     "RETURNING " BUILDING_JSON,
	                     7, params, &after);
	if (n < 0)
		building_failed(req, host);
	else
		write_end(req, host, "building", NULL, n, &after);
out:
	json_decref(v);
	json_decref(after);
}

/* PATCH /api/v1/buildings/{id} */
static void buildings_patch(og_req *req, const og_host_api *host)
{
	json_t *body, *before = NULL, *patch = json_object(), *merged = NULL, *after = NULL;
	char sid[24], sver[24], b1[24], b2[24], b3[24];
	const char *params[8];
	int64_t id, version;
	int n;

	if (host->path_id(req, "id", &id) != 0 || !body_object(req, host, &body))
		goto out;
	if (host->client_version(req, body, &version) != 0 || take_building(req, body, patch) < 0)
		goto out;
	if (patch_begin(req, host, sql_building_lock, "building", id, version, body, patch,
	                "a building cannot change grid; move its households instead", &before,
	                &merged) != 0)
		goto out;
	if (check_parent(req, host, merged, id) != 0)
		goto out;
	/* A courtyard with buildings in it stays a courtyard. */
	if (strcmp(json_string_value(json_object_get(merged, "kind")), "courtyard") != 0 &&
	    strcmp(json_string_value(json_object_get(before, "kind")), "courtyard") == 0) {
		const char *cp[1] = {id_text(id, sid, sizeof(sid))};
		og_result *r = host->query(
		        req, "SELECT 1 FROM core.building WHERE parent_id = $1::bigint LIMIT 1", 1,
		        cp);

		if (r == NULL)
			goto out;
		n = host->result_rows(r);
		host->result_free(r);
		if (n > 0) {
			invalid(req, "kind",
			        "buildings stand in this courtyard: move them out before changing "
			        "its kind");
			goto out;
		}
	}

	params[0] = id_text(id, sid, sizeof(sid));
	params[1] = jparam(merged, "kind", NULL, 0);
	params[2] = jparam(merged, "parent_id", b1, sizeof(b1));
	params[3] = jparam(merged, "name", NULL, 0);
	params[4] = jparam(merged, "address", NULL, 0);
	params[5] = jparam(merged, "floors", b2, sizeof(b2));
	params[6] = jparam(merged, "units", b3, sizeof(b3));
	params[7] = id_text(version, sver, sizeof(sver));
	n = host->query_json(req,
	                     "UPDATE core.building AS b SET kind = $2, parent_id = $3::bigint, "
	                     "  name = $4, address = coalesce($5, ''), floors = $6::int, "
	                     "  units = $7::int, version = b.version + 1, updated_at = now() "
	                     "WHERE b.id = $1::bigint AND b.version = $8::int "
	                     "RETURNING " BUILDING_JSON,
	                     8, params, &after);
	if (n < 0)
		building_failed(req, host);
	else
		write_end(req, host, "building", before, n, &after);
out:
	json_decref(before);
	json_decref(patch);
	json_decref(merged);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* households */

/* clang-format off */
static const char sql_household_get[] =
    "SELECT " HOUSEHOLD_JSON " FROM core.household h JOIN core.region g ON g.id = h.grid_id "
    "WHERE h.id = $1::bigint AND " IN_SCOPE("$2");

static const char sql_household_lock[] =
    "SELECT " HOUSEHOLD_JSON " FROM core.household h JOIN core.region g ON g.id = h.grid_id "
    "WHERE h.id = $1::bigint AND " IN_SCOPE("$2") " FOR UPDATE OF h";
/* clang-format on */

/* The address members shared by create, update and move; -1 after a 422. */
static int take_address(og_req *req, json_t *body, json_t *out)
{
	if (take_id(req, body, out, "building_id", true) < 0 ||
	    take_text(req, body, out, "unit", 0, UNIT_MAX, T_NULLABLE) < 0 ||
	    take_text(req, body, out, "room", 0, ROOM_MAX, T_NULLABLE) < 0 ||
	    take_text(req, body, out, "address", 0, ADDRESS_MAX, T_NULL_EMPTY) < 0)
		return -1;
	return 0;
}

static int take_household(og_req *req, json_t *body, json_t *out)
{
	if (take_address(req, body, out) < 0 ||
	    take_enum(req, body, out, "kind", HOUSEHOLD_KINDS) < 0 ||
	    take_text(req, body, out, "household_number", 0, HOUSEHOLD_NUMBER_MAX, T_NULLABLE) < 0)
		return -1;
	return 0;
}

/* Where there is no building record the free-text address is the whole
 * address: it must be there.  h holds the merged values (borrowed). */
static int check_address(og_req *req, json_t *h)
{
	const char *a = json_string_value(json_object_get(h, "address"));

	if (ogc_util_json_id(h, "building_id") == 0 &&
	    (a == NULL || a[strspn(a, " \t\r\n")] == '\0')) {
		invalid(req, "address", "address is required when there is no building_id");
		return -1;
	}
	return 0;
}

/* The household's members (new array): names, relations and life status
 * only, the head first. */
static json_t *members_of(og_req *req, const og_host_api *host, int64_t household_id)
{
	char sid[24];
	const char *params[1] = {id_text(household_id, sid, sizeof(sid))};
	json_t *members = NULL;

	if (host->query_json(req,
	                     "SELECT coalesce(json_agg(json_build_object('id', m.id, "
	                     "  'name', m.name, 'relation', m.relation, "
	                     "  'life_status', m.life_status) "
	                     "  ORDER BY (m.id = h.head_resident_id) DESC, m.id), '[]') "
	                     "FROM core.household h JOIN core.resident m ON m.household_id = h.id "
	                     "WHERE h.id = $1::bigint",
	                     1, params, &members) < 0)
		return NULL;
	if (!json_is_array(members)) {
		json_decref(members);
		members = json_array();
	}
	return members;
}

/* clang-format off */
/* $1 scope, $2 cursor, $3 grid, $4 building, $5 kind, $6 ILIKE pattern,
 * $7 limit + 1. */
static const char sql_households_list[] =
    "SELECT coalesce(json_agg(x.j ORDER BY x.id), '[]') FROM ("
    "  SELECT h.id, " HOUSEHOLD_JSON " AS j "
    "  FROM core.household h JOIN core.region g ON g.id = h.grid_id "
    "  WHERE " IN_SCOPE("$1") " AND h.id > $2::bigint "
    "    AND ($3::bigint IS NULL OR h.grid_id = $3::bigint) "
    "    AND ($4::bigint IS NULL OR h.building_id = $4::bigint) "
    "    AND ($5::text IS NULL OR h.kind = $5::text) "
    "    AND ($6::text IS NULL OR h.address ILIKE $6::text "
    "         OR h.household_number ILIKE $6::text) "
    "  ORDER BY h.id LIMIT $7::int) x";
/* clang-format on */

/* GET /api/v1/households?grid=&building=&kind=&q=&limit=&cursor= */
static void households_list(og_req *req, const og_host_api *host)
{
	char scursor[24], slimit[24], sgrid[24], sbuilding[24], *pattern = NULL;
	const char *kind, *params[7];
	json_t *items = NULL;
	int64_t cursor, grid, building;
	int limit, rc;

	if (host->page(req, &limit, &cursor) != 0 || query_id(req, host, "grid", &grid) != 0 ||
	    query_id(req, host, "building", &building) != 0 ||
	    !query_kind(req, host, HOUSEHOLD_KINDS, &kind) || !query_pattern(req, host, &pattern))
		return;
	params[0] = ogc_util_scope(req);
	params[1] = id_text(cursor, scursor, sizeof(scursor));
	params[2] = grid != 0 ? id_text(grid, sgrid, sizeof(sgrid)) : NULL;
	params[3] = building != 0 ? id_text(building, sbuilding, sizeof(sbuilding)) : NULL;
	params[4] = kind;
	params[5] = pattern;
	params[6] = id_text(limit + 1, slimit, sizeof(slimit)); /* +1: is there a next page? */
	rc = host->query_json(req, sql_households_list, 7, params, &items);
	free(pattern);
	if (rc < 0)
		return;
	reply_page(req, host, items, limit);
}

/* GET /api/v1/households/{id} */
static void households_get(og_req *req, const og_host_api *host)
{
	json_t *h, *members;
	int64_t id;

	if (host->path_id(req, "id", &id) != 0)
		return;
	if (load_row(req, host, sql_household_get, id, "household", &h) != 1)
		return;
	members = members_of(req, host, id);
	if (members == NULL) {
		json_decref(h);
		return;
	}
	json_object_set_new(h, "members", members);
	host->reply_json(req, 200, h);
}

/* POST /api/v1/households */
static void households_create(og_req *req, const og_host_api *host)
{
	json_t *body, *v = json_object(), *after = NULL, *head;
	char b0[24], b1[24];
	const char *params[7];
	int n;

	if (!body_object(req, host, &body))
		goto out;
	if (take_id(req, body, v, "grid_id", false) < 0 || take_household(req, body, v) < 0)
		goto out;
	if (ogc_util_json_id(v, "grid_id") == 0) {
		invalid(req, "grid_id", "grid_id is required");
		goto out;
	}
	if (json_object_get(v, "kind") == NULL) {
		invalid(req, "kind",
		        "kind is required: registered, resident, rented or collective");
		goto out;
	}
	/* A new household has no members yet, so it cannot have a head. */
	head = json_object_get(body, "head_resident_id");
	if (head != NULL && !json_is_null(head)) {
		invalid(req, "head_resident_id",
		        "a new household has no members: set head_resident_id once the head "
		        "is a member");
		goto out;
	}
	if (check_address(req, v) != 0 ||
	    check_grid(req, host, ogc_util_json_id(v, "grid_id"), "grid_id") != 0)
		goto out;
	if (ogc_util_json_id(v, "building_id") != 0 &&
	    check_building_in_grid(req, host, ogc_util_json_id(v, "building_id"),
	                           ogc_util_json_id(v, "grid_id")))
		goto out;

	params[0] = jparam(v, "grid_id", b0, sizeof(b0));
	params[1] = jparam(v, "building_id", b1, sizeof(b1));
	params[2] = jparam(v, "unit", NULL, 0);
	params[3] = jparam(v, "room", NULL, 0);
	params[4] = json_object_get(v, "address") ? jparam(v, "address", NULL, 0) : "";
	params[5] = jparam(v, "kind", NULL, 0);
	params[6] = jparam(v, "household_number", NULL, 0);
	n = host->query_json(
	        req,
	        "INSERT INTO core.household AS h "
	        "  (grid_id, building_id, unit, room, address, kind, household_number) "
	        "VALUES ($1::bigint, $2::bigint, $3, $4, $5, $6, $7) "
	        "RETURNING " HOUSEHOLD_JSON,
	        7, params, &after);
	if (n >= 0)
		write_end(req, host, "household", NULL, n, &after);
out:
	json_decref(v);
	json_decref(after);
}

/* The head of a household is one of its members still living there.
 * 0 ok; -1 after a 422 naming head_resident_id (or a database error). */
static int check_head(og_req *req, const og_host_api *host, int64_t resident_id,
                      int64_t household_id)
{
	char sr[24], sh[24];
	const char *params[2] = {id_text(resident_id, sr, sizeof(sr)),
	                         id_text(household_id, sh, sizeof(sh))};
	og_result *r;
	int n;

	r = host->query(req,
	                "SELECT 1 FROM core.resident WHERE id = $1::bigint "
	                "  AND household_id = $2::bigint AND life_status = 'active'",
	                2, params);
	if (r == NULL)
		return -1;
	n = host->result_rows(r);
	host->result_free(r);
	if (n == 0) {
		invalid(req, "head_resident_id",
		        "the head of household must be an active member of this household");
		return -1;
	}
	return 0;
}

/* PATCH /api/v1/households/{id} */
static void households_patch(og_req *req, const og_host_api *host)
{
	json_t *body, *before = NULL, *patch = json_object(), *merged = NULL, *after = NULL;
	char sid[24], sver[24], b1[24], b2[24];
	const char *params[9];
	int64_t id, version, building;
	int n;

	if (host->path_id(req, "id", &id) != 0 || !body_object(req, host, &body))
		goto out;
	if (host->client_version(req, body, &version) != 0 ||
	    take_household(req, body, patch) < 0 ||
	    take_id(req, body, patch, "head_resident_id", true) < 0)
		goto out;
	if (patch_begin(req, host, sql_household_lock, "household", id, version, body, patch,
	                "a household changes grid only by a move: "
	                "POST /api/v1/households/{id}/move",
	                &before, &merged) != 0)
		goto out;
	if (check_address(req, merged) != 0)
		goto out;
	building = ogc_util_json_id(patch, "building_id");
	if (building != 0 && building != ogc_util_json_id(before, "building_id") &&
	    check_building_in_grid(req, host, building, ogc_util_json_id(before, "grid_id")) != 0)
		goto out;
	if (ogc_util_json_id(patch, "head_resident_id") != 0 &&
	    check_head(req, host, ogc_util_json_id(patch, "head_resident_id"), id) != 0)
		goto out;

	params[0] = id_text(id, sid, sizeof(sid));
	params[1] = jparam(merged, "building_id", b1, sizeof(b1));
	params[2] = jparam(merged, "unit", NULL, 0);
	params[3] = jparam(merged, "room", NULL, 0);
	params[4] = jparam(merged, "address", NULL, 0);
	params[5] = jparam(merged, "kind", NULL, 0);
	params[6] = jparam(merged, "household_number", NULL, 0);
	params[7] = jparam(merged, "head_resident_id", b2, sizeof(b2));
	params[8] = id_text(version, sver, sizeof(sver));
	n = host->query_json(req,
	                     "UPDATE core.household AS h SET building_id = $2::bigint, unit = $3, "
	                     "  room = $4, address = coalesce($5, ''), kind = $6, "
	                     "  household_number = $7, head_resident_id = $8::bigint, "
	                     "  version = h.version + 1, updated_at = now() "
	                     "WHERE h.id = $1::bigint AND h.version = $9::int "
	                     "RETURNING " HOUSEHOLD_JSON,
	                     9, params, &after);
	if (n >= 0)
		write_end(req, host, "household", before, n, &after);
out:
	json_decref(before);
	json_decref(patch);
	json_decref(merged);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* moves */

/*
 * The region an audit row of a move belongs to (*out): the grid itself
 * for a move within a grid, else the lowest region holding both grids, so
 * that whoever is responsible for both sides (as the mover must be) finds
 * it.  0, or -1 after a database error.
 */
static int move_audit_region(og_req *req, const og_host_api *host, int64_t from, int64_t to,
                             int64_t *out)
{
	char sf[24], st[24];
	const char *params[2] = {id_text(from, sf, sizeof(sf)), id_text(to, st, sizeof(st))};
	og_result *r;

	*out = to;
	if (from == to)
		return 0;
	r = host->query(req,
	                "SELECT c.id FROM core.region a, core.region b, core.region c "
	                "WHERE a.id = $1::bigint AND b.id = $2::bigint "
	                "  AND c.path = lca(a.path, b.path)",
	                2, params);
	if (r == NULL)
		return -1;
	*out = host->result_rows(r) == 1 ? host->result_int64(r, 0, 0) : 0;
	host->result_free(r);
	return 0;
}

/* POST /api/v1/households/{id}/move */
static void households_move(og_req *req, const og_host_api *host)
{
	const og_caller *c = host->caller(req);
	json_t *body, *before = NULL, *v = json_object(), *move = NULL, *after = NULL;
	json_t *member_ids = NULL, *payload = NULL;
	char sid[24], sver[24], suser[24], b0[24], b1[24], smove[24];
	const char *params[10], *moved_on;
	int64_t id, version, from_grid, to_grid, audit_region;
	og_result *r;
	int n;

	if (host->path_id(req, "id", &id) != 0 || !body_object(req, host, &body))
		goto out;
	if (host->client_version(req, body, &version) != 0 ||
	    take_id(req, body, v, "grid_id", false) < 0 || take_address(req, body, v) < 0 ||
	    take_text(req, body, v, "reason", 0, REASON_MAX, T_NULLABLE) < 0)
		goto out;
	if (ogc_util_json_id(v, "grid_id") == 0) {
		invalid(req, "grid_id",
		        "grid_id (the grid moved to; the current one for an address-only move) "
		        "is required");
		goto out;
	}
	moved_on = json_string_value(json_object_get(body, "moved_on"));
	if (moved_on == NULL || !valid_date(moved_on)) {
		invalid(req, "moved_on", "moved_on is required: the date of the move, YYYY-MM-DD");
		goto out;
	}
	if (check_address(req, v) != 0)
		goto out;
	{
		const char *dp[1] = {moved_on};

		r = host->query(req, "SELECT $1::date > current_date", 1, dp);
		if (r == NULL)
			goto out;
		n = host->result_bool(r, 0, 0);
		host->result_free(r);
		if (n) {
			invalid(req, "moved_on", "moved_on cannot be in the future");
			goto out;
		}
	}
	/* The household (so its source grid) must be in the caller's scope. */
	if (load_row(req, host, sql_household_lock, id, "household", &before) != 1)
		goto out;
	if (ogc_util_json_id(before, "version") != version) {
		version_conflict(req, host, "household");
		goto out;
	}
	from_grid = ogc_util_json_id(before, "grid_id");
	to_grid = ogc_util_json_id(v, "grid_id");
	if (check_grid(req, host, to_grid, "grid_id") != 0)
		goto out;
	if (ogc_util_json_id(v, "building_id") != 0 &&
	    check_building_in_grid(req, host, ogc_util_json_id(v, "building_id"), to_grid) != 0)
		goto out;

	/* 1. The move record, with the address before and after. */
	params[0] = id_text(id, sid, sizeof(sid));
	params[1] = jparam(v, "grid_id", b0, sizeof(b0));
	params[2] = jparam(v, "building_id", b1, sizeof(b1));
	params[3] = jparam(v, "unit", NULL, 0);
	params[4] = jparam(v, "room", NULL, 0);
	params[5] = json_object_get(v, "address") ? jparam(v, "address", NULL, 0) : "";
	params[6] = moved_on;
	params[7] = jparam(v, "reason", NULL, 0);
	params[8] = c != NULL && c->user_id > 0 ? id_text(c->user_id, suser, sizeof(suser)) : NULL;
	n = host->query_json(req,
	                     "WITH m AS (INSERT INTO core.household_move (household_id, "
	                     "    from_grid_id, to_grid_id, from_address, to_address, moved_on, "
	                     "    reason, recorded_by) "
	                     "  SELECT h.id, h.grid_id, $2::bigint, "
	                     "    jsonb_build_object('building_id', h.building_id, 'unit', h.unit, "
	                     "      'room', h.room, 'address', h.address), "
	                     "    jsonb_build_object('building_id', $3::bigint, 'unit', $4::text, "
	                     "      'room', $5::text, 'address', $6::text), "
	                     "    $7::date, $8::text, $9::bigint "
	                     "  FROM core.household h WHERE h.id = $1::bigint RETURNING *) "
	                     "SELECT " MOVE_JSON " FROM m",
	                     9, params, &move);
	if (n < 0)
		goto out;
	if (n == 0) {
		internal(req, host);
		goto out;
	}

	/* 2. The household itself. */
	params[6] = id_text(version, sver, sizeof(sver));
	n = host->query_json(req,
	                     "UPDATE core.household AS h SET grid_id = $2::bigint, "
	                     "  building_id = $3::bigint, unit = $4, room = $5, address = $6, "
	                     "  version = h.version + 1, updated_at = now() "
	                     "WHERE h.id = $1::bigint AND h.version = $7::int "
	                     "RETURNING " HOUSEHOLD_JSON,
	                     7, params, &after);
	if (n < 0)
		goto out;
	if (n == 0) {
		version_conflict(req, host, "household");
		goto out;
	}

	/* 3. Every member follows, and each gets a life event: one UPDATE and
	 * one INSERT ... SELECT, however many members there are.  Members who
	 * moved out or died move too: a resident's grid is its household's
	 * grid whenever it has one. */
	id_text(ogc_util_json_id(move, "id"), smove, sizeof(smove));
	{
		char sfrom[24];
		const char *mp[6];

		mp[0] = sid;
		mp[1] = b0; /* the target grid */
		mp[2] = moved_on;
		mp[3] = id_text(from_grid, sfrom, sizeof(sfrom));
		mp[4] = smove;
		mp[5] = params[8]; /* the recorder */

		n = host->query_json(
		        req,
		        "WITH moved AS (UPDATE core.resident SET grid_id = $2::bigint, "
		        "    version = version + 1, updated_at = now() "
		        "  WHERE household_id = $1::bigint RETURNING id), "
		        "ev AS (INSERT INTO core.resident_event "
		        "    (resident_id, kind, occurred_on, details, recorded_by) "
		        "  SELECT id, 'household_changed', $3::date, "
		        "    jsonb_build_object('household_id', $1::bigint, "
		        "      'from_grid_id', $4::bigint, 'to_grid_id', $2::bigint, "
		        "      'move_id', $5::bigint), $6::bigint "
		        "  FROM moved) "
		        "SELECT coalesce(json_agg(id ORDER BY id), '[]') FROM moved",
		        6, mp, &member_ids);
		if (n < 0)
			goto out;
		if (!json_is_array(member_ids)) {
			json_decref(member_ids);
			member_ids = json_array();
		}
	}

	if (move_audit_region(req, host, from_grid, to_grid, &audit_region) != 0 ||
	    ogc_audit_write(req, "move", "household", sid, audit_region, before, after) != 0)
		goto out;
	payload = json_pack("{s:O, s:I, s:I, s:O}", "household", after, "from_grid_id",
	                    (json_int_t)from_grid, "to_grid_id", (json_int_t)to_grid, "member_ids",
	                    member_ids);
	if (payload == NULL) {
		internal(req, host);
		goto out;
	}
	if (host->fire(req, "household.moved", id, payload) != 0)
		goto out; /* the hook's error is the reply; the router rolls back */
	host->reply_json(req, 200,
	                 json_pack("{s:O, s:O, s:I}", "household", after, "move", move,
	                           "members_moved", (json_int_t)json_array_size(member_ids)));
out:
	json_decref(before);
	json_decref(v);
	json_decref(move);
	json_decref(after);
	json_decref(member_ids);
	json_decref(payload);
}

/* GET /api/v1/households/{id}/moves?limit=&cursor= */
static void households_moves(og_req *req, const og_host_api *host)
{
	char sid[24], scursor[24], slimit[24];
	const char *params[3];
	json_t *h = NULL, *items = NULL;
	int64_t id, cursor;
	int limit;

	if (host->path_id(req, "id", &id) != 0 || host->page(req, &limit, &cursor) != 0)
		return;
	if (load_row(req, host, sql_household_get, id, "household", &h) != 1)
		return;
	json_decref(h);
	params[0] = id_text(id, sid, sizeof(sid));
	params[1] = id_text(cursor, scursor, sizeof(scursor));
	params[2] = id_text(limit + 1, slimit, sizeof(slimit));
	if (host->query_json(req,
	                     "SELECT coalesce(json_agg(x.j ORDER BY x.id), '[]') FROM ("
	                     "  SELECT m.id, " MOVE_JSON " AS j FROM core.household_move m "
	                     "  WHERE m.household_id = $1::bigint AND m.id > $2::bigint "
	                     "  ORDER BY m.id LIMIT $3::int) x",
	                     3, params, &items) < 0)
		return;
	reply_page(req, host, items, limit);
}

/* clang-format off */
/* ------------------------------------------------------------------ */
/* OpenAPI detail */

#define P_PAGE                                                                             \
	"{\"name\": \"limit\", \"in\": \"query\", \"description\": \"page size (default 50)\", " \
	"\"schema\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 500}}, "          \
	"{\"name\": \"cursor\", \"in\": \"query\", "                                          \
	"\"description\": \"next_cursor of the previous page\", \"schema\": {\"type\": \"string\"}}"
#define P_ID_FILTER(name, what)                                                            \
	"{\"name\": \"" name "\", \"in\": \"query\", \"description\": \"" what "\", "          \
	"\"schema\": {\"type\": \"integer\", \"minimum\": 1}}"
#define P_Q(what)                                                                          \
	"{\"name\": \"q\", \"in\": \"query\", \"description\": \"" what "\", "                 \
	"\"schema\": {\"type\": \"string\", \"maxLength\": 100}}"
#define S_TEXT_NULL(max) "{\"type\": \"string\", \"maxLength\": " #max ", \"nullable\": true}"
#define S_VERSION                                                                          \
	"\"version\": {\"type\": \"integer\", \"minimum\": 1, "                               \
	"\"description\": \"the version you read (or send If-Match)\"}"
#define BODY(schema)                                                                       \
	"\"requestBody\": {\"required\": true, \"content\": {\"application/json\": "          \
	"{\"schema\": " schema "}}}"

#define BUILDING_KIND_ENUM "[\"courtyard\", \"building\"]"
#define HOUSEHOLD_KIND_ENUM "[\"registered\", \"resident\", \"rented\", \"collective\"]"

#define BUILDING_PROPS                                                                     \
	"\"kind\": {\"type\": \"string\", \"enum\": " BUILDING_KIND_ENUM                       \
	", \"default\": \"building\"}, "                                                       \
	"\"parent_id\": {\"type\": \"integer\", \"minimum\": 1, \"nullable\": true, "          \
	"\"description\": \"a courtyard of the same grid\"}, "                                 \
	"\"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 100}, "             \
	"\"address\": {\"type\": \"string\", \"maxLength\": 200}, "                            \
	"\"floors\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 200, "               \
	"\"nullable\": true}, "                                                                \
	"\"units\": {\"type\": \"integer\", \"minimum\": 1, \"maximum\": 100, \"nullable\": true}"

#define ADDRESS_PROPS                                                                      \
	"\"building_id\": {\"type\": \"integer\", \"minimum\": 1, \"nullable\": true, "        \
	"\"description\": \"a building or courtyard of the household's grid\"}, "             \
	"\"unit\": " S_TEXT_NULL(20) ", \"room\": " S_TEXT_NULL(20) ", "                       \
	"\"address\": {\"type\": \"string\", \"maxLength\": 200, "                             \
	"\"description\": \"required when there is no building_id\"}"

#define HOUSEHOLD_PROPS                                                                    \
	ADDRESS_PROPS ", \"kind\": {\"type\": \"string\", \"enum\": " HOUSEHOLD_KIND_ENUM "}, " \
	"\"household_number\": " S_TEXT_NULL(40)

#define P_KIND(values)                                                                     \
	"{\"name\": \"kind\", \"in\": \"query\", "                                            \
	"\"schema\": {\"type\": \"string\", \"enum\": " values "}}"

static const char doc_buildings_list[] =
    "{\"parameters\": [" P_ID_FILTER("grid", "only this grid") ", "
    P_Q("substring of the name or address") ", " P_KIND(BUILDING_KIND_ENUM) ", " P_PAGE "]}";

static const char doc_buildings_create[] =
    "{" BODY("{\"type\": \"object\", \"required\": [\"grid_id\", \"name\"], \"properties\": {"
             "\"grid_id\": {\"type\": \"integer\", \"minimum\": 1, "
             "\"description\": \"an open grid in your scope\"}, " BUILDING_PROPS "}}") "}";

static const char doc_buildings_patch[] =
    "{" BODY("{\"type\": \"object\", \"required\": [\"version\"], \"properties\": {" S_VERSION
             ", \"grid_id\": {\"type\": \"integer\", \"description\": \"may only repeat the "
             "current grid: a building never changes grid\"}, " BUILDING_PROPS "}}") "}";

static const char doc_households_list[] =
    "{\"parameters\": [" P_ID_FILTER("grid", "only this grid") ", "
    P_ID_FILTER("building", "only this building") ", " P_KIND(HOUSEHOLD_KIND_ENUM) ", "
    P_Q("substring of the address or household number") ", " P_PAGE "]}";

static const char doc_households_create[] =
    "{" BODY("{\"type\": \"object\", \"required\": [\"grid_id\", \"kind\"], \"properties\": {"
             "\"grid_id\": {\"type\": \"integer\", \"minimum\": 1, "
             "\"description\": \"an open grid in your scope\"}, " HOUSEHOLD_PROPS "}}") "}";

static const char doc_households_patch[] =
    "{" BODY("{\"type\": \"object\", \"required\": [\"version\"], \"properties\": {" S_VERSION
             ", \"grid_id\": {\"type\": \"integer\", \"description\": \"may only repeat the "
             "current grid: use POST /api/v1/households/{id}/move\"}, " HOUSEHOLD_PROPS
             ", \"head_resident_id\": {\"type\": \"integer\", \"minimum\": 1, "
             "\"nullable\": true, \"description\": \"an active member of this household\"}"
             "}}") "}";

static const char doc_households_move[] =
    "{" BODY("{\"type\": \"object\", \"required\": [\"version\", \"grid_id\", \"moved_on\"], "
             "\"properties\": {" S_VERSION ", \"grid_id\": {\"type\": \"integer\", "
             "\"minimum\": 1, \"description\": \"the open grid moved to, in your scope (the "
             "current grid for an address-only move)\"}, " ADDRESS_PROPS
             ", \"moved_on\": {\"type\": \"string\", \"format\": \"date\", "
             "\"description\": \"not in the future\"}, "
             "\"reason\": " S_TEXT_NULL(200) "}}") "}";

static const char doc_households_moves[] = "{\"parameters\": [" P_PAGE "]}";
/* clang-format on */

static void route(unsigned method, const char *path, const char *permission, og_handler h,
                  const char *summary, const char *doc)
{
	if (ogc_router_add(NULL, method, path, permission, h, summary) == 0 && doc != NULL)
		ogc_router_describe(method, path, doc);
}

void ogc_households_register_routes(void)
{
	route(OG_GET, "/api/v1/buildings", "households.read", buildings_list,
	      "Courtyards and buildings in the caller's scope (filters: grid, kind, q; keyset on "
	      "id)",
	      doc_buildings_list);
	route(OG_POST, "/api/v1/buildings", "households.write", buildings_create,
	      "Create a courtyard or building in an open grid of the caller's scope",
	      doc_buildings_create);
	route(OG_GET, "/api/v1/buildings/{id}", "households.read", buildings_get,
	      "One courtyard or building", NULL);
	route(OG_PATCH, "/api/v1/buildings/{id}", "households.write", buildings_patch,
	      "Change a courtyard or building (needs the version read; never its grid)",
	      doc_buildings_patch);
	route(OG_GET, "/api/v1/households", "households.read", households_list,
	      "Households in the caller's scope with member counts (filters: grid, building, kind, "
	      "q; keyset on id)",
	      doc_households_list);
	route(OG_POST, "/api/v1/households", "households.write", households_create,
	      "Create a household in an open grid of the caller's scope", doc_households_create);
	route(OG_GET, "/api/v1/households/{id}", "households.read", households_get,
	      "One household with its members' names, relations and life status", NULL);
	route(OG_PATCH, "/api/v1/households/{id}", "households.write", households_patch,
	      "Change a household's address, kind, number or head (needs the version read)",
	      doc_households_patch);
	route(OG_POST, "/api/v1/households/{id}/move", "households.write", households_move,
	      "Move a household and all its members to another grid or address, recording the "
	      "move",
	      doc_households_move);
	route(OG_GET, "/api/v1/households/{id}/moves", "households.read", households_moves,
	      "The household's moves, oldest first", doc_households_moves);
}

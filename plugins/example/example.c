/*
 * plugins/example/example.c — the template plugin: short notes attached to
 * regions, written by the staff who work there.
 *
 * For: showing a plugin author every call a department plugin makes — a
 * migration, permissions with default role grants, routes that list, read,
 * create and update rows of the plugin's own table within the caller's
 * scope, an audit record and an event per write, an indicator and a ledger.
 * Copy this directory to plugins/<name>/, rename "example" everywhere, and
 * replace the notes with your department's data (docs/plugin-guide.md walks
 * through it).  Not for: anything a district needs; it is built so the
 * tests and the guide have a real plugin to point at.
 *
 * Rules this file follows, which every plugin must follow:
 *   - include <onegrid/plugin.h> only; call the host only through `host`;
 *   - everything static except the descriptor (OG_PLUGIN_DEFINE);
 *   - register everything in init, permissions before the routes and
 *     ledgers that use them;
 *   - never BEGIN/COMMIT: the host runs a write request in one transaction
 *     and commits it only if the reply's status is below 400;
 *   - keep no pointer into a request (params, caller, body) after the
 *     handler returns; keep nothing between requests at all — another
 *     worker process serves the next one.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <onegrid/plugin.h>

/*
 * The files of schema/ embedded at build time by
 * `sql2c.sh --static example_migrations example schema/NNNN_*.sql`: a
 * static array example_migrations[] of {schema, version, name, sql} and
 * example_migrations_count.  The generated file is in the build directory.
 */
#include "example_migrations.c"

#define EXAMPLE_BODY_MAX 2000 /* characters, as the CHECK in 0001_notes.sql */

/*
 * SQL.  Parameters are always $n (never pasted into the text).  The scope
 * rule of the whole API is in one predicate: the caller's scope_path is ""
 * for an administrator (everything) or the ltree path of their region, and
 * a row is visible when its region lies at or under it.  Rows outside the
 * scope are answered 404 exactly like rows that do not exist.
 */
#define EXAMPLE_IN_SCOPE(p) "(" p " = '' OR r.path <@ " p "::ltree)"

/* One note as the API shows it; `n` is the note row. */
#define EXAMPLE_NOTE_JSON                                                                \
	"json_build_object('id', n.id, 'region_id', n.region_id, 'body', n.body, "       \
	"'version', n.version, 'created_by', n.created_by, 'created_at', n.created_at, " \
	"'updated_at', n.updated_at)"

/* $1 scope, $2 cursor (last id seen, 0 for the first page), $3 limit.
 * Reads one row more than asked to know whether there is a next page. */
static const char example_sql_list[] =
        "WITH page AS ("
        "  SELECT n.* FROM example.note n JOIN core.region r ON r.id = n.region_id"
        "   WHERE " EXAMPLE_IN_SCOPE(
                "$1") " AND n.id > $2::bigint"
                      "   ORDER BY n.id LIMIT $3::int + 1), "
                      "shown AS (SELECT * FROM page ORDER BY id LIMIT $3::int) "
                      "SELECT json_build_object("
                      "  'items', coalesce((SELECT json_agg(" EXAMPLE_NOTE_JSON " ORDER BY n.id)"
                      "                      FROM shown n), '[]'::json),"
                      "  'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $3::int"
                      "                      THEN (SELECT max(id)::text FROM shown) END)";

/* $1 id, $2 scope */
static const char example_sql_get[] =
        "SELECT " EXAMPLE_NOTE_JSON " FROM example.note n JOIN core.region r ON r.id = n.region_id"
        " WHERE n.id = $1::bigint AND " EXAMPLE_IN_SCOPE("$2");

/* $1 region id, $2 body, $3 user id, $4 scope.  Inserts nothing (0 rows)
 * when the region does not exist or is outside the scope. */
static const char example_sql_create[] =
        "INSERT INTO example.note AS n (region_id, body, created_by)"
        " SELECT r.id, $2, $3::bigint FROM core.region r"
        "  WHERE r.id = $1::bigint AND " EXAMPLE_IN_SCOPE("$4") " RETURNING " EXAMPLE_NOTE_JSON;

/* $1 id, $2 scope.  FOR UPDATE: nobody changes the row between our version
 * check and our update. */
static const char example_sql_lock[] =
        "SELECT " EXAMPLE_NOTE_JSON " FROM example.note n JOIN core.region r ON r.id = n.region_id"
        " WHERE n.id = $1::bigint AND " EXAMPLE_IN_SCOPE("$2") " FOR UPDATE OF n";

/* $1 id, $2 body, $3 the version the client read. */
static const char example_sql_update[] =
        "UPDATE example.note AS n SET body = $2, version = n.version + 1, updated_at = now()"
        " WHERE n.id = $1::bigint AND n.version = $3::int RETURNING " EXAMPLE_NOTE_JSON;

/* ---- small helpers ------------------------------------------------- */

/* ETag: "<version>", so a client may echo it in If-Match. */
static void example_set_etag(og_req *req, const og_host_api *host, json_t *note)
{
	char etag[32];

	snprintf(etag, sizeof(etag), "\"%" JSON_INTEGER_FORMAT "\"",
	         json_integer_value(json_object_get(note, "version")));
	host->set_header(req, "ETag", etag);
}

/* ---- handlers ------------------------------------------------------- */

/* GET /api/v1/example/notes?limit=&cursor= */
static void example_list(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req); /* never NULL: the route is not public */
	int limit;
	int64_t after;
	char limit_buf[24], after_buf[24];
	const char *params[3];
	json_t *page;

	/* ?limit= (default 50, 1..500) and ?cursor=, checked by the host as
	 * for every list: a 422 naming the parameter.  The cursor is opaque to
	 * clients; here it is the last id they saw (0 for the first page). */
	if (host->page(req, &limit, &after) < 0)
		return;
	snprintf(limit_buf, sizeof(limit_buf), "%d", limit);
	snprintf(after_buf, sizeof(after_buf), "%" PRId64, after);
	params[0] = me->scope_path;
	params[1] = after_buf;
	params[2] = limit_buf;
	/* On failure the host has already set the error reply: just return.
	 * (An aggregate always yields one row, so 0 cannot happen.) */
	if (host->query_json(req, example_sql_list, 3, params, &page) != 1)
		return;
	host->reply_json(req, 200, page); /* steals page */
}

/* GET /api/v1/example/notes/{id} */
static void example_get(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	int64_t id;
	char id_buf[24];
	const char *params[2];
	json_t *note;
	int rc;

	/* "/notes/abc" names no note: 404, as for a missing one. */
	if (host->path_id(req, "id", &id) < 0)
		return;
	snprintf(id_buf, sizeof(id_buf), "%" PRId64, id);
	params[0] = id_buf;
	params[1] = me->scope_path;
	rc = host->query_json(req, example_sql_get, 2, params, &note);
	if (rc < 0)
		return;
	if (rc == 0) {
		host->reply_error(req, 404, "not_found", "no such note", NULL);
		return;
	}
	example_set_etag(req, host, note);
	host->reply_json(req, 200, note); /* steals note */
}

/* POST /api/v1/example/notes  {"region_id": 12, "body": "..."} */
static void example_create(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	json_t *in, *note;
	const char *text; /* borrowed from the request body */
	char region_buf[24], user_buf[24], id_buf[24], location[96];
	const char *params[4];
	int64_t id, region_id;
	int rc;

	/* The host's readers answer bad input as the core does (400 for a body
	 * that is not an object, 422 naming the member) and return < 0. */
	if ((in = host->body_object(req)) == NULL ||
	    host->body_id(req, in, "region_id", OG_REQUIRED, &region_id) < 0 ||
	    host->body_text(req, in, "body", EXAMPLE_BODY_MAX, OG_REQUIRED, &text) < 0)
		return;

	snprintf(region_buf, sizeof(region_buf), "%" PRId64, region_id);
	snprintf(user_buf, sizeof(user_buf), "%" PRId64, me->user_id);
	params[0] = region_buf;
	params[1] = text;
	params[2] = user_buf;
	params[3] = me->scope_path;
	rc = host->query_json(req, example_sql_create, 4, params, &note);
	if (rc < 0)
		return;
	if (rc == 0) {
		/* Missing and out-of-scope regions look alike: existence is not
		 * leaked. */
		host->reply_error(req, 422, "invalid", "no such region in your scope", "region_id");
		return;
	}
	id = json_integer_value(json_object_get(note, "id"));
	snprintf(id_buf, sizeof(id_buf), "%" PRId64, id);

	/* Audit and event run in this request's transaction: if either fails
	 * (it has set the error reply), returning makes the host roll back
	 * the insert too. */
	if (host->audit(req, "create", "example.note", id_buf, region_id, NULL, note) < 0 ||
	    host->fire(req, "example.note_created", id, note) < 0) {
		json_decref(note);
		return;
	}
	snprintf(location, sizeof(location), "/api/v1/example/notes/%" PRId64, id);
	host->set_header(req, "Location", location);
	example_set_etag(req, host, note);
	host->reply_json(req, 201, note); /* steals note */
}

/* PATCH /api/v1/example/notes/{id}  {"version": 1, "body": "..."} */
static void example_update(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	json_t *in, *before = NULL, *after = NULL;
	int64_t id, version, current;
	char id_buf[24], version_buf[24], msg[96];
	const char *text; /* borrowed from the request body */
	const char *params[3];
	int rc;

	/* The version the client read comes in the body or as If-Match ("3",
	 * W/"3"); client_version answers 422 naming "version" when missing. */
	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_text(req, in, "body", EXAMPLE_BODY_MAX, OG_REQUIRED, &text) < 0)
		return;

	snprintf(id_buf, sizeof(id_buf), "%" PRId64, id);
	params[0] = id_buf;
	params[1] = me->scope_path;
	rc = host->query_json(req, example_sql_lock, 2, params, &before);
	if (rc < 0)
		return;
	if (rc == 0) {
		host->reply_error(req, 404, "not_found", "no such note", NULL);
		return;
	}
	current = json_integer_value(json_object_get(before, "version"));
	if (version != current) {
		snprintf(msg, sizeof(msg),
		         "the note has changed: you sent version %" PRId64
		         ", it is now at %" PRId64,
		         version, current);
		host->reply_error(req, 409, "version_conflict", msg, "version");
		json_decref(before);
		return;
	}

	snprintf(version_buf, sizeof(version_buf), "%" PRId64, version);
	params[0] = id_buf;
	params[1] = text;
	params[2] = version_buf;
	rc = host->query_json(req, example_sql_update, 3, params, &after);
	if (rc == 0) /* cannot happen under FOR UPDATE; answer as a conflict */
		host->reply_error(req, 409, "version_conflict", "the note has changed", "version");
	if (rc == 1 && host->audit(req, "update", "example.note", id_buf,
	                           json_integer_value(json_object_get(before, "region_id")), before,
	                           after) == 0) {
		example_set_etag(req, host, after);
		host->reply_json(req, 200, after); /* steals after */
		after = NULL;
	}
	json_decref(before);
	json_decref(after); /* NULL-safe */
}

/* ---- registration ---------------------------------------------------- */

/* Default grants, written when the permission is first registered; a
 * district administrator may change them afterwards and the change sticks.
 * The admin role holds every permission without a grant. */
static const char *const example_read_roles[] = {"district", "street", "community", "grid_worker",
                                                 NULL};
static const char *const example_write_roles[] = {"street", "community", "grid_worker", NULL};

static const struct {
	unsigned methods;
	const char *path; /* under /api/v1/<plugin name> */
	const char *permission;
	og_handler handler;
	const char *summary; /* shown in GET /openapi.json */
	const char *openapi; /* parameters and body schema, merged into it */
} example_routes[] = {
        {OG_GET, "/api/v1/example/notes", "example.read", example_list,
         "List the notes of the caller's scope",
         "{\"parameters\": [{\"name\": \"limit\", \"in\": \"query\", \"schema\": {\"type\": "
         "\"integer\", \"minimum\": 1, \"maximum\": 500}}, {\"name\": \"cursor\", \"in\": "
         "\"query\", \"schema\": {\"type\": \"string\"}}]}"},
        {OG_POST, "/api/v1/example/notes", "example.write", example_create, "Create a note",
         "{\"requestBody\": {\"required\": true, \"content\": {\"application/json\": {\"schema\": "
         "{\"type\": \"object\", \"required\": [\"region_id\", \"body\"], \"properties\": "
         "{\"region_id\": {\"type\": \"integer\"}, \"body\": {\"type\": \"string\", "
         "\"minLength\": 1, \"maxLength\": 2000}}}}}}}"},
        {OG_GET, "/api/v1/example/notes/{id}", "example.read", example_get, "Read one note", NULL},
        {OG_PATCH, "/api/v1/example/notes/{id}", "example.write", example_update,
         "Change a note's body (send the version you read)",
         "{\"requestBody\": {\"required\": true, \"content\": {\"application/json\": {\"schema\": "
         "{\"type\": \"object\", \"required\": [\"body\"], \"properties\": {\"version\": "
         "{\"type\": \"integer\", \"minimum\": 1}, \"body\": {\"type\": \"string\", "
         "\"minLength\": 1, \"maxLength\": 2000}}}}}}}"},
};

/* An indicator: one figure per grid, which the core rolls up the region
 * tree.  $1 is the report date: count the notes written by then.  rows_sql
 * lists the very notes counted ($2: the ltree path of the region asked
 * about), with a unique "id" first so the core can keyset-page them: an
 * inspector opens the figure instead of trusting it. */
static const og_indicator_def example_indicator = {
        .code = "example.notes",
        .label = "笔记数",
        .unit = "条",
        .sql = "SELECT r.id, count(n.id) FROM core.region r"
               " LEFT JOIN example.note n ON n.region_id = r.id AND n.created_at::date <= $1::date"
               " WHERE r.level = 'grid' GROUP BY r.id",
        .rows_sql = "SELECT n.id, r.name AS grid, n.body, n.created_at FROM example.note n"
                    " JOIN core.region r ON r.id = n.region_id"
                    " WHERE r.level = 'grid' AND r.path <@ $2::ltree"
                    " AND n.created_at::date <= $1::date ORDER BY n.id",
};

/* A ledger (台账): a labelled list for any region; $1 is its ltree path. */
static const char *const example_ledger_columns[] = {"id", "region", "body", "created_at"};
static const char *const example_ledger_labels[] = {"编号", "所属区域", "内容", "创建时间"};
static const og_ledger_def example_ledger = {
        .name = "notes",
        .title = "笔记台账",
        .permission = "example.read",
        .sql = "SELECT n.id, r.name, n.body, n.created_at FROM example.note n"
               " JOIN core.region r ON r.id = n.region_id WHERE r.path <@ $1::ltree ORDER BY n.id",
        .columns = example_ledger_columns,
        .labels = example_ledger_labels,
        .ncolumns = sizeof(example_ledger_columns) / sizeof(example_ledger_columns[0]),
};

/*
 * Registers everything; the only place a plugin may.  Each host call logs
 * its own failure, so init just stops and returns -1 (a plugin whose init
 * fails stops onegridd from starting).
 */
static int example_init(og_plugin *self, const og_host_api *host)
{
	size_t i;

	for (i = 0; i < example_migrations_count; i++)
		if (host->register_migration(self, example_migrations[i].version,
		                             example_migrations[i].name,
		                             example_migrations[i].sql) < 0)
			return -1;

	/* Permissions before the routes and ledgers that name them. */
	if (host->register_permission(self, "example.read", "查看示例笔记", example_read_roles) <
	            0 ||
	    host->register_permission(self, "example.write", "编写示例笔记", example_write_roles) <
	            0)
		return -1;

	for (i = 0; i < sizeof(example_routes) / sizeof(example_routes[0]); i++)
		if (host->register_route(self, example_routes[i].methods, example_routes[i].path,
		                         example_routes[i].permission, example_routes[i].handler,
		                         example_routes[i].summary) < 0 ||
		    (example_routes[i].openapi != NULL &&
		     host->describe_route(self, example_routes[i].methods, example_routes[i].path,
		                          example_routes[i].openapi) < 0))
			return -1;

	if (host->register_indicator(self, &example_indicator) < 0 ||
	    host->register_ledger(self, &example_ledger) < 0)
		return -1;
	return 0;
}

/* The one exported symbol.  No dependencies, no fini: the example keeps no
 * state to release. */
OG_PLUGIN_DEFINE("example", "1.0.0", "示例插件", NULL, example_init, NULL);

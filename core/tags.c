/*
 * core/tags.c — the tag vocabulary and tags on residents.
 *
 * For: GET /api/v1/tags (every tag of core.tag with its owner); PUT and
 * DELETE /api/v1/residents/{id}/tags/{code}, which set and clear the
 * core's own tags on a resident in the caller's scope; and the host API's
 * set_tag / clear_tag (ogc_tags_set, ogc_tags_clear), through which a
 * plugin sets and clears the tags it owns, naming the record that gives
 * each one ("civil.case:17").  Rules: a tag owned by a plugin is set only
 * by that plugin (403 for anyone else, the core API included); a plugin
 * cannot set a core tag; setting a tag that is set, or clearing one that
 * is not, changes nothing and succeeds.  Each real change fires
 * resident.tag_added or resident.tag_removed (payload {resident_id, tag,
 * source}) and is audited as tag.add / tag.remove on the resident, in the
 * request's transaction.
 *
 * Not for: registering tags (registry.c stores the core's and plugins'
 * declarations at start-up), listing a resident's tags or filtering
 * residents by tag (residents.c), the change feed rows of resident_tag
 * (written by triggers).
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

#define TAG_CODE_MAX 64 /* registry.c's rule: [a-z0-9_.-]{1,64} */
#define SOURCE_MAX 200  /* bytes of a plugin's source reference */
#define OWNER_MAX 64

/* One resident_tag row t as the API and the hooks see it. */
#define TAG_ROW_JSON                                                                         \
	"json_build_object('resident_id', t.resident_id, 'tag', t.tag, 'source', t.source, " \
	"'created_at', t.created_at)"

/* ------------------------------------------------------------------ */
/* lookups */

/*
 * The grid of resident `id`; with `scope` not NULL, only if it lies inside
 * that scope ("" = everything).  1 found (*grid set); 0 after a 404 (a
 * resident outside the scope does not exist for the caller); -1 after a
 * database error (reply set by the query).
 */
static int load_resident(og_req *req, const og_host_api *host, int64_t id, const char *scope,
                         int64_t *grid)
{
	char sid[24];
	const char *params[2] = {sid, scope};
	og_result *r;
	int n;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	r = host->query(req,
	                "SELECT x.grid_id FROM core.resident x "
	                "JOIN core.region g ON g.id = x.grid_id "
	                "WHERE x.id = $1::bigint "
	                "  AND ($2::text IS NULL OR $2::text = '' OR g.path <@ $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return -1;
	n = host->result_rows(r);
	if (n > 0)
		*grid = host->result_int64(r, 0, 0);
	host->result_free(r);
	if (n == 0) {
		host->reply_error(req, 404, "not_found", "no such resident", NULL);
		return 0;
	}
	return 1;
}

/* The owner ("core" or a plugin name) of tag `code` into owner.  1 found;
 * 0 after a 404 naming field "code"; -1 after a database error. */
static int load_tag(og_req *req, const og_host_api *host, const char *code, char *owner,
                    size_t ownerlen)
{
	const char *params[1] = {code};
	og_result *r;
	int n;

	if (code == NULL || *code == '\0' || strlen(code) > TAG_CODE_MAX) {
		host->reply_error(req, 404, "not_found", "no such tag", "code");
		return 0;
	}
	r = host->query(req, "SELECT owner FROM core.tag WHERE code = $1", 1, params);
	if (r == NULL)
		return -1;
	n = host->result_rows(r);
	if (n > 0)
		snprintf(owner, ownerlen, "%s", host->result_text(r, 0, 0));
	host->result_free(r);
	if (n == 0) {
		char msg[TAG_CODE_MAX + 32];

		snprintf(msg, sizeof(msg), "no such tag: %s", code);
		host->reply_error(req, 404, "not_found", msg, "code");
		return 0;
	}
	return 1;
}

/* {resident_id, tag, source} of a row image (new), for hooks and audit. */
static json_t *hook_payload(json_t *row)
{
	return json_pack("{s:O, s:O, s:O}", "resident_id", json_object_get(row, "resident_id"),
	                 "tag", json_object_get(row, "tag"), "source",
	                 json_object_get(row, "source"));
}

/* ------------------------------------------------------------------ */
/* the two writes, shared by the routes and the host API */

/*
 * Sets tag `code` on resident `id` (grid `grid`, for the audit row's
 * scope) with `source` (may be NULL).  When the tag is already set with
 * the same source nothing changes; with another source (a plugin naming a
 * newer record) the source is updated and audited, without firing
 * tag_added again.  *row (new, may be NULL) gets the row as it stands.
 * 0, or -1 with the reply set (a failed hook's included).
 */
static int tag_add(og_req *req, const og_host_api *host, int64_t id, int64_t grid, const char *code,
                   const char *source, json_t **row)
{
	char sid[24], uid[24];
	const char *params[4] = {sid, code, source, NULL};
	json_t *before = NULL, *after = NULL, *payload;
	const char *old;
	int n, rc = -1;

	if (row != NULL)
		*row = NULL;
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	snprintf(uid, sizeof(uid), "%lld", (long long)req->caller.user_id);
	params[3] = req->caller.user_id > 0 ? uid : NULL;
	n = host->query_json(req,
	                     "INSERT INTO core.resident_tag AS t "
	                     "  (resident_id, tag, source, created_by) "
	                     "VALUES ($1::bigint, $2, $3, $4::bigint) "
	                     "ON CONFLICT (resident_id, tag) DO NOTHING RETURNING " TAG_ROW_JSON,
	                     4, params, &after);
	if (n < 0)
		return -1;
	if (n == 1) {
		payload = hook_payload(after);
		if (host->fire(req, "resident.tag_added", id, payload) != 0 ||
		    host->audit(req, "tag.add", "resident", sid, grid, NULL, payload) != 0) {
			json_decref(payload);
			goto out;
		}
		json_decref(payload);
		rc = 0;
		goto out;
	}

	/* Already set: lock the row, and bring its source up to date. */
	n = host->query_json(req,
	                     "SELECT " TAG_ROW_JSON " FROM core.resident_tag t "
	                     "WHERE t.resident_id = $1::bigint AND t.tag = $2 FOR UPDATE",
	                     2, params, &before);
	if (n < 0)
		goto out;
	if (n == 0) {
		/* Cleared by a concurrent request between our two statements. */
		host->reply_error(req, 409, "conflict",
		                  "the tag was changed concurrently; retry the request", NULL);
		goto out;
	}
	old = json_string_value(json_object_get(before, "source")); /* NULL when null */
	if (old == NULL ? source == NULL : source != NULL && strcmp(old, source) == 0) {
		after = before;
		before = NULL;
		rc = 0;
		goto out;
	}
	n = host->query_json(
	        req,
	        "UPDATE core.resident_tag t SET source = $3 "
	        "WHERE t.resident_id = $1::bigint AND t.tag = $2 RETURNING " TAG_ROW_JSON,
	        3, params, &after);
	if (n < 0)
		goto out;
	{
		json_t *b = hook_payload(before), *a = hook_payload(after);

		rc = host->audit(req, "tag.add", "resident", sid, grid, b, a) != 0 ? -1 : 0;
		json_decref(b);
		json_decref(a);
	}
out:
	json_decref(before);
	if (rc == 0 && row != NULL)
		*row = after;
	else
		json_decref(after);
	return rc;
}

/*
 * Clears tag `code` from resident `id`.  *removed (may be NULL) says
 * whether it was set.  0, or -1 with the reply set.
 */
static int tag_remove(og_req *req, const og_host_api *host, int64_t id, int64_t grid,
                      const char *code, bool *removed)
{
	char sid[24];
	const char *params[2] = {sid, code};
	json_t *before = NULL, *payload;
	int n;

	if (removed != NULL)
		*removed = false;
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	n = host->query_json(
	        req,
	        "DELETE FROM core.resident_tag t "
	        "WHERE t.resident_id = $1::bigint AND t.tag = $2 RETURNING " TAG_ROW_JSON,
	        2, params, &before);
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	payload = hook_payload(before);
	json_decref(before);
	if (host->fire(req, "resident.tag_removed", id, payload) != 0 ||
	    host->audit(req, "tag.remove", "resident", sid, grid, payload, NULL) != 0) {
		json_decref(payload);
		return -1;
	}
	json_decref(payload);
	if (removed != NULL)
		*removed = true;
	return 0;
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/tags */

static void tags_list(og_req *req, const og_host_api *host)
{
	json_t *items = NULL;

	if (host->query_json(req,
	                     "SELECT coalesce(json_agg(json_build_object('code', code, 'label', "
	                     "label, 'owner', owner) ORDER BY owner, code), '[]') FROM core.tag",
	                     0, NULL, &items) < 0)
		return;
	if (!json_is_array(items)) {
		json_decref(items);
		items = json_array();
	}
	/* The whole vocabulary fits one page: next_cursor is always null. */
	host->reply_json(req, 200, ogc_util_list(items, 0));
}

/* ------------------------------------------------------------------ */
/* PUT and DELETE /api/v1/residents/{id}/tags/{code} */

/*
 * The checks both routes share: resident in the caller's scope (404), tag
 * known (404, field "code") and owned by the core (403).  1 go on (*id,
 * *grid, *code set); otherwise the reply is set.
 */
static int route_target(og_req *req, const og_host_api *host, int64_t *id, int64_t *grid,
                        const char **code)
{
	char owner[OWNER_MAX + 1];
	int n;

	if (host->path_id(req, "id", id) != 0)
		return 0;
	n = load_resident(req, host, *id, ogc_util_scope(req), grid);
	if (n != 1)
		return n;
	*code = host->path_param(req, "code");
	n = load_tag(req, host, *code, owner, sizeof(owner));
	if (n != 1)
		return n;
	if (strcmp(owner, "core") != 0) {
		char msg[TAG_CODE_MAX + OWNER_MAX + 64];

		snprintf(msg, sizeof(msg), "tag %s is owned by plugin %s and set only by it", *code,
		         owner);
		host->reply_error(req, 403, "forbidden", msg, "code");
		return 0;
	}
	return 1;
}

static void tags_put(og_req *req, const og_host_api *host)
{
	json_t *row = NULL;
	const char *code = NULL;
	int64_t id, grid;

	if (route_target(req, host, &id, &grid, &code) != 1)
		return;
	/* A core tag set by hand names no record: created_by says who. */
	if (tag_add(req, host, id, grid, code, NULL, &row) != 0)
		return;
	host->reply_json(req, 200, row); /* steals row */
}

static void tags_delete(og_req *req, const og_host_api *host)
{
	const char *code = NULL;
	int64_t id, grid;
	bool removed;

	if (route_target(req, host, &id, &grid, &code) != 1)
		return;
	if (tag_remove(req, host, id, grid, code, &removed) != 0)
		return;
	host->reply_json(req, 200,
	                 json_pack("{s:b, s:I, s:s}", "removed", removed, "resident_id",
	                           (json_int_t)id, "tag", code));
}

/* ------------------------------------------------------------------ */
/* the host API: set_tag / clear_tag for the plugin that owns the tag */

/*
 * May plugin `owner` change tag `code` in this request?  It must be a
 * loaded plugin (its own handle), the request a write (inside the
 * transaction), the resident must exist and the tag be owned by it.  1 go
 * on (*grid set); otherwise the reply is set.  Plugins act within their
 * route's scope already: no scope check beyond existence.
 */
static int plugin_target(og_req *req, const og_host_api *host, og_plugin *owner,
                         int64_t resident_id, const char *code, const char *what, int64_t *grid)
{
	char tag_owner[OWNER_MAX + 1], msg[TAG_CODE_MAX + 2 * OWNER_MAX + 96];
	const char *name = NULL;
	int n;

	for (size_t i = 0; owner != NULL && i < ogc_plugins_count(); i++)
		if (ogc_plugins_get(i) == owner)
			name = owner->desc->name;
	if (name == NULL) {
		ogc_log(OG_LOG_ERROR,
		        "request %s: %s refused: not called with a loaded plugin's handle",
		        req->request_id, what);
		host->reply_error(
		        req, 403, "forbidden",
		        "tags are set through the host API only by the plugin that owns them",
		        "code");
		return 0;
	}
	if (!req->in_tx) {
		ogc_log(OG_LOG_ERROR,
		        "request %s: plugin %s: %s refused: only a write request "
		        "(not GET) may change tags",
		        req->request_id, name, what);
		host->reply_error(req, 500, "internal", "a tag may only change in a write request",
		                  NULL);
		return 0;
	}
	if (resident_id <= 0) {
		host->reply_error(req, 404, "not_found", "no such resident", NULL);
		return 0;
	}
	/* Within the caller's scope, like every other write: a plugin route
	 * need not repeat the check, and cannot forget it. */
	n = load_resident(req, host, resident_id, ogc_util_scope(req), grid);
	if (n != 1)
		return n;
	n = load_tag(req, host, code, tag_owner, sizeof(tag_owner));
	if (n != 1)
		return n;
	if (strcmp(tag_owner, name) != 0) {
		if (strcmp(tag_owner, "core") == 0)
			snprintf(msg, sizeof(msg),
			         "tag %s is a core tag: plugin %s cannot set or clear it", code,
			         name);
		else
			snprintf(
			        msg, sizeof(msg),
			        "tag %s is owned by plugin %s and set only by it, not by plugin %s",
			        code, tag_owner, name);
		host->reply_error(req, 403, "forbidden", msg, "code");
		return 0;
	}
	return 1;
}

int ogc_tags_set(og_req *req, og_plugin *owner, int64_t resident_id, const char *code,
                 const char *source)
{
	const og_host_api *host = ogc_host_api();
	int64_t grid;

	if (plugin_target(req, host, owner, resident_id, code, "set_tag", &grid) != 1)
		return -1;
	if (source != NULL && strlen(source) > SOURCE_MAX) {
		ogc_log(OG_LOG_ERROR,
		        "request %s: plugin %s: set_tag %s: source longer than %d bytes",
		        req->request_id, owner->desc->name, code, SOURCE_MAX);
		host->reply_error(req, 500, "internal", "a tag's source reference is too long",
		                  NULL);
		return -1;
	}
	return tag_add(req, host, resident_id, grid, code, source, NULL);
}

int ogc_tags_clear(og_req *req, og_plugin *owner, int64_t resident_id, const char *code)
{
	const og_host_api *host = ogc_host_api();
	int64_t grid;

	if (plugin_target(req, host, owner, resident_id, code, "clear_tag", &grid) != 1)
		return -1;
	return tag_remove(req, host, resident_id, grid, code, NULL);
}

/* ------------------------------------------------------------------ */

/* OpenAPI detail of the three routes (JSON text, merged into each operation). */
/* clang-format off */
#define ERROR_RESPONSE                                                                       \
	"\"default\": {\"description\": \"{\\\"error\\\": {code, message, field}}\","       \
	"  \"content\": {\"application/json\": {\"schema\": "                                \
	"    {\"$ref\": \"#/components/schemas/Error\"}}}}"

static const char doc_list[] =
	"{\"responses\": {\"200\": {\"description\": \"every tag, ordered by owner then code\","
	"  \"content\": {\"application/json\": {\"schema\": {\"type\": \"object\","
	"    \"required\": [\"items\", \"next_cursor\"],"
	"    \"properties\": {"
	"      \"items\": {\"type\": \"array\", \"items\": {\"type\": \"object\","
	"        \"required\": [\"code\", \"label\", \"owner\"],"
	"        \"properties\": {"
	"          \"code\": {\"type\": \"string\", \"maxLength\": 64},"
	"          \"label\": {\"type\": \"string\"},"
	"          \"owner\": {\"type\": \"string\","
	"                      \"description\": \"core or a plugin name\"}}}},"
	"      \"next_cursor\": {\"type\": \"null\"}}}}}},"
	ERROR_RESPONSE "}}";

static const char doc_put[] =
	"{\"requestBody\": {\"required\": false, \"description\": \"none (a body is ignored)\","
	"  \"content\": {\"application/json\": {\"schema\": {\"type\": \"object\","
	"    \"maxProperties\": 0}}}},"
	" \"responses\": {\"200\": {\"description\": "
	"    \"the tag as set (the same answer when it was already set)\","
	"  \"content\": {\"application/json\": {\"schema\": {\"type\": \"object\","
	"    \"required\": [\"resident_id\", \"tag\", \"source\", \"created_at\"],"
	"    \"properties\": {"
	"      \"resident_id\": {\"type\": \"integer\"},"
	"      \"tag\": {\"type\": \"string\"},"
	"      \"source\": {\"type\": [\"string\", \"null\"]},"
	"      \"created_at\": {\"type\": \"string\", \"format\": \"date-time\"}}}}}},"
	ERROR_RESPONSE "}}";

static const char doc_delete[] =
	"{\"responses\": {\"200\": {\"description\": \"removed: whether the tag was set\","
	"  \"content\": {\"application/json\": {\"schema\": {\"type\": \"object\","
	"    \"required\": [\"removed\", \"resident_id\", \"tag\"],"
	"    \"properties\": {"
	"      \"removed\": {\"type\": \"boolean\"},"
	"      \"resident_id\": {\"type\": \"integer\"},"
	"      \"tag\": {\"type\": \"string\"}}}}}},"
	ERROR_RESPONSE "}}";
/* clang-format on */

void ogc_tags_register_routes(void)
{
	ogc_router_add(NULL, OG_GET, "/api/v1/tags", OG_PERM_AUTHENTICATED, tags_list,
	               "The tag vocabulary: every tag with its label and owner (core or a plugin)");
	ogc_router_describe(OG_GET, "/api/v1/tags", doc_list);
	ogc_router_add(NULL, OG_PUT, "/api/v1/residents/{id}/tags/{code}", "residents.write",
	               tags_put,
	               "Set a core tag on a resident in the caller's scope (idempotent; tags "
	               "owned by a plugin: 403)");
	ogc_router_describe(OG_PUT, "/api/v1/residents/{id}/tags/{code}", doc_put);
	ogc_router_add(NULL, OG_DELETE, "/api/v1/residents/{id}/tags/{code}", "residents.write",
	               tags_delete,
	               "Clear a core tag from a resident in the caller's scope (idempotent)");
	ogc_router_describe(OG_DELETE, "/api/v1/residents/{id}/tags/{code}", doc_delete);
}

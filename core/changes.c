/*
 * core/changes.c — the change feed: GET /api/v1/changes.
 *
 * Triggers (schema/core/0002_shared_model.sql) record every change to the
 * shared model in core.change and number them at commit, so seq order is
 * commit order and a reader that has seen seq N has seen everything
 * committed before it.  This file only reads: the rows after a client's
 * cursor, inside the caller's scope (a row that left a region is recorded
 * there as a 'remove', so a scoped client drops it), resident data masked
 * exactly as the resident API masks it.  A client that applies the items
 * in order — upsert replaces the entity's record, remove deletes it;
 * resident_tag items add or drop one tag of a resident — ends with what
 * a full export shows.
 *
 * A resident upsert also carries the resident's tags as they are now (when
 * the resident is still in the caller's scope): tags set before a resident
 * moved into the scope were recorded under the old region, so without this
 * a client would never learn them.  Later resident_tag items re-apply on
 * top, which converges to the same set.
 *
 * Not here: writing change rows (the triggers do), the other lists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define LIMIT_DEFAULT 500
#define LIMIT_MAX 5000

/* A non-negative decimal integer (the cursor may be "0"). */
static bool parse_seq(const char *s, int64_t *out)
{
	if (s != NULL && strcmp(s, "0") == 0) {
		*out = 0;
		return true;
	}
	return ogc_util_parse_id(s, out);
}

static bool is_resident_upsert(json_t *item)
{
	return strcmp(json_string_value(json_object_get(item, "entity")), "resident") == 0 &&
	       strcmp(json_string_value(json_object_get(item, "op")), "upsert") == 0 &&
	       json_is_object(json_object_get(item, "data"));
}

/* Current tags of the resident upserts in items (borrowed, changed) that
 * are still inside path, written into their data.  0 or -1 (reply set). */
static int add_tags(og_req *req, json_t *items, const char *path)
{
	json_t *ids = json_array(), *item, *by_id;
	const char *params[2];
	char *text;
	PGresult *r;
	size_t i;

	json_array_foreach(items, i, item)
		if (is_resident_upsert(item))
			json_array_append(ids, json_object_get(item, "id"));
	text = json_array_size(ids) > 0 ? json_dumps(ids, JSON_COMPACT) : NULL;
	json_decref(ids);
	if (text == NULL)
		return 0;
	params[0] = text;
	params[1] = path;
	r = ogc_req_exec(
	        req,
	        "SELECT x.id, coalesce((SELECT json_agg(rt.tag ORDER BY rt.tag) "
	        "  FROM core.resident_tag rt WHERE rt.resident_id = x.id), '[]'::json) "
	        "FROM core.resident x JOIN core.region g ON g.id = x.grid_id "
	        "WHERE x.id IN (SELECT value::bigint FROM json_array_elements_text($1::json)) "
	        "  AND ($2 = '' OR g.path <@ $2::ltree)",
	        2, params);
	free(text);
	if (r == NULL)
		return -1;
	by_id = json_object();
	for (int k = 0; k < PQntuples(r); k++) {
		json_error_t jerr;
		json_t *tags = json_loads(PQgetvalue(r, k, 1), 0, &jerr);
		if (tags != NULL)
			json_object_set_new(by_id, PQgetvalue(r, k, 0), tags);
	}
	PQclear(r);
	json_array_foreach(items, i, item) {
		json_t *tags;
		char key[24];

		if (!is_resident_upsert(item))
			continue;
		snprintf(key, sizeof(key), "%lld",
		         (long long)json_integer_value(json_object_get(item, "id")));
		tags = json_object_get(by_id, key); /* borrowed */
		/* Out of scope now: a later 'remove' for this client follows. */
		json_object_set_new(json_object_get(item, "data"), "tags",
		                    tags ? json_incref(tags) : json_array());
	}
	json_decref(by_id);
	return 0;
}

static void changes_list(og_req *req, const og_host_api *host)
{
	const char *since_s = host->query_param(req, "since");
	const char *limit_s = host->query_param(req, "limit");
	const char *region = host->query_param(req, "region");
	char *path = NULL;
	char since_buf[24], limit_buf[24];
	int64_t since = 0, limit = LIMIT_DEFAULT, last = 0, rid;
	const char *params[3];
	PGresult *r;
	json_t *items;
	bool unmasked, has_more;
	json_t *shown;
	int n;

	if (since_s != NULL && since_s[0] != '\0' && !parse_seq(since_s, &since)) {
		ogc_util_invalid(req, "since", "since must be a cursor this API returned");
		return;
	}
	if (limit_s != NULL && (!ogc_util_parse_id(limit_s, &limit) || limit > LIMIT_MAX)) {
		ogc_util_invalid(req, "limit", "limit must be an integer from 1 to 5000");
		return;
	}
	if (ogc_regions_filter_path(req, region, &rid, &path) != 0)
		return;

	snprintf(since_buf, sizeof(since_buf), "%lld", (long long)since);
	snprintf(limit_buf, sizeof(limit_buf), "%lld", (long long)limit + 1);
	params[0] = since_buf;
	params[1] = path;
	params[2] = limit_buf;
	r = ogc_req_exec(req,
	                 "SELECT seq, entity, entity_id, op, data FROM core.change "
	                 "WHERE seq IS NOT NULL AND seq > $1::bigint "
	                 "  AND ($2 = '' OR region_path <@ $2::ltree) "
	                 "ORDER BY seq LIMIT $3::int",
	                 3, params);
	if (r == NULL) {
		free(path);
		return;
	}
	n = PQntuples(r);
	has_more = n > limit;
	if (has_more)
		n = (int)limit;
	unmasked = ogc_auth_has_permission(req, "residents.read_sensitive");
	items = json_array();
	shown = json_array();
	for (int i = 0; i < n; i++) {
		json_error_t jerr;
		const char *entity = PQgetvalue(r, i, 1);
		json_t *data = PQgetisnull(r, i, 4) ? json_null()
		                                    : json_loads(PQgetvalue(r, i, 4), 0, &jerr);

		if (data == NULL)
			data = json_null();
		if (strcmp(entity, "resident") == 0 && json_is_object(data)) {
			if (!unmasked)
				ogc_residents_mask(data);
			else if (json_is_string(json_object_get(data, "id_number")) ||
			         json_is_string(json_object_get(data, "phone")))
				json_array_append_new(
				        shown,
				        json_integer(strtoll(PQgetvalue(r, i, 2), NULL, 10)));
		}
		last = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		json_array_append_new(items,
		                      json_pack("{s:I, s:s, s:I, s:s, s:o}", "seq",
		                                (json_int_t)last, "entity", entity, "id",
		                                (json_int_t)strtoll(PQgetvalue(r, i, 2), NULL, 10),
		                                "op", PQgetvalue(r, i, 3), "data", data));
	}
	PQclear(r);
	if (add_tags(req, items, path) != 0) {
		json_decref(items);
		json_decref(shown);
		free(path);
		return;
	}
	free(path);
	/* Full ID numbers and phones were shown: audited as the resident
	 * API audits its lists. */
	if (json_array_size(shown) > 0) {
		json_t *what = json_pack("{s:o, s:s, s:s, s:I}", "ids", shown, "via", "changes",
		                         "since", since_buf, "last_seq", (json_int_t)last);
		int rc = host->audit(req, "read_sensitive", "resident", NULL,
		                     req->caller.scope_region_id, NULL, what);
		json_decref(what);
		if (rc != 0) {
			json_decref(items);
			return;
		}
	} else {
		json_decref(shown);
	}
	snprintf(since_buf, sizeof(since_buf), "%lld", (long long)(n > 0 ? last : since));
	host->reply_json(req, 200,
	                 json_pack("{s:o, s:s, s:b}", "items", items, "next_cursor", since_buf,
	                           "has_more", has_more));
}

void ogc_changes_register_routes(void)
{
	ogc_router_add(NULL, OG_GET, "/api/v1/changes", "residents.read", changes_list,
	               "The change feed: every change to the shared model in the caller's scope "
	               "after a cursor, in commit order");
	ogc_router_describe(
	        OG_GET, "/api/v1/changes",
	        "{\"description\": \"Items in commit order.  Apply each: upsert replaces the "
	        "record "
	        "of (entity, id) with data, remove deletes it; entity resident_tag keys on "
	        "(id = resident id, data.tag) and adds or drops that tag.  Resident upserts carry "
	        "the resident's current tags.  id_number and phone are masked unless the caller "
	        "holds residents.read_sensitive.  Poll again with since = next_cursor.\","
	        "\"parameters\": ["
	        "{\"name\": \"since\", \"in\": \"query\", \"schema\": {\"type\": \"string\", "
	        "\"pattern\": \"^[0-9]+$\", \"default\": \"0\"}, \"description\": \"next_cursor of "
	        "the previous page; 0 or absent for everything\"},"
	        "{\"name\": \"region\", \"in\": \"query\", \"schema\": {\"type\": \"integer\", "
	        "\"minimum\": 1}, \"description\": \"a region inside the caller's scope\"},"
	        "{\"name\": \"limit\", \"in\": \"query\", \"schema\": {\"type\": \"integer\", "
	        "\"minimum\": 1, \"maximum\": 5000, \"default\": 500}}],"
	        "\"responses\": {\"200\": {\"description\": \"a page of changes\", \"content\": "
	        "{\"application/json\": {\"schema\": {\"type\": \"object\", \"properties\": {"
	        "\"items\": {\"type\": \"array\", \"items\": {\"type\": \"object\", "
	        "\"properties\": {"
	        "\"seq\": {\"type\": \"integer\"}, \"entity\": {\"type\": \"string\", \"enum\": "
	        "[\"region\", \"building\", \"household\", \"resident\", \"resident_tag\"]}, "
	        "\"id\": {\"type\": \"integer\"}, \"op\": {\"type\": \"string\", \"enum\": "
	        "[\"upsert\", \"remove\"]}, \"data\": {\"type\": \"object\"}}}}, "
	        "\"next_cursor\": {\"type\": \"string\"}, \"has_more\": {\"type\": "
	        "\"boolean\"}}}}}}}}");
}

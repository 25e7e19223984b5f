/*
 * core/audit.c — the audit log: writing one row per write, and reading it back.
 *
 * ogc_audit_write records who (from the request's caller), when, which
 * request, what action on which entity, the region it belongs to (stored as
 * the region's ltree path so a scope filter is one predicate) and the row
 * before and after.  It runs on the request's connection, so inside the
 * request's transaction: the audit row and the write commit or roll back
 * together.  GET /api/v1/audit lists rows in the caller's scope, newest
 * first.
 *
 * Not here: deciding what is worth auditing or what a before/after image
 * holds (each writer does; none may include password hashes), and the host
 * API's audit entry (host_api.c forwards to ogc_audit_write).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define AUDIT_FILTER_MAX 256 /* bytes of any filter value */

int ogc_audit_write(og_req *req, const char *action, const char *entity, const char *entity_id,
                    int64_t region_id, json_t *before, json_t *after)
{
	char uid[24], rid[24];
	char *b = NULL, *a = NULL;
	const char *params[9];
	PGresult *res;

	if (before != NULL)
		b = json_dumps(before, JSON_COMPACT | JSON_ENCODE_ANY);
	if (after != NULL)
		a = json_dumps(after, JSON_COMPACT | JSON_ENCODE_ANY);
	if ((before != NULL && b == NULL) || (after != NULL && a == NULL)) {
		free(b);
		free(a);
		ogc_log(OG_LOG_ERROR, "audit %s %s: cannot encode before/after", action, entity);
		ogc_req_reply_error(req, 500, "internal", "internal error", NULL);
		return -1;
	}
	snprintf(uid, sizeof(uid), "%lld", (long long)req->caller.user_id);
	snprintf(rid, sizeof(rid), "%lld", (long long)region_id);
	/* user_id/username are whatever the caller says: empty on an
	 * unauthenticated request, lent by the login route for its own row. */
	params[0] = req->caller.user_id > 0 ? uid : NULL;
	params[1] = req->caller.username;
	params[2] = req->request_id[0] != '\0' ? req->request_id : NULL;
	params[3] = action;
	params[4] = entity;
	params[5] = entity_id;
	params[6] = region_id > 0 ? rid : NULL;
	params[7] = b;
	params[8] = a;
	res = ogc_req_exec(req,
	                   "INSERT INTO core.audit (user_id, username, request_id, action, entity, "
	                   "  entity_id, region_path, before, after) "
	                   "VALUES ($1::bigint, $2, $3, $4, $5, $6, "
	                   "  (SELECT r.path FROM core.region r WHERE r.id = $7::bigint), "
	                   "  $8::jsonb, $9::jsonb)",
	                   9, params);
	free(b);
	free(a);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/audit */

/* An optional bounded query filter; 0 ok (*out NULL if absent), -1 after a 422. */
static int filter_param(og_req *req, const og_host_api *host, const char *name, const char **out)
{
	const char *v = host->query_param(req, name);

	*out = NULL;
	if (v == NULL || *v == '\0')
		return 0;
	if (strlen(v) > AUDIT_FILTER_MAX) {
		host->reply_error(req, 422, "invalid", "filter value too long", name);
		return -1;
	}
	*out = v;
	return 0;
}

/* Audit rows keep writes whole (unmasked), so reading them must mask what
 * the caller may not see elsewhere: every "id_number" and "phone" member,
 * at any depth, unless the caller holds residents.read_sensitive. */
static void mask_sensitive(json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			mask_sensitive(m);
		return;
	}
	if (!json_is_object(v))
		return;
	json_object_foreach(v, key, m) {
		char masked[64];
		bool id = strcmp(key, "id_number") == 0, phone = strcmp(key, "phone") == 0;

		if ((id || phone) && json_is_string(m)) {
			if (id)
				ogc_mask_id_number(json_string_value(m), masked, sizeof(masked));
			else
				ogc_mask_phone(json_string_value(m), masked, sizeof(masked));
			json_object_set_new(v, key, json_string(masked));
		} else {
			mask_sensitive(m);
		}
	}
}

static void audit_list(og_req *req, const og_host_api *host)
{
	const og_caller *c = host->caller(req);
	const char *entity, *entity_id, *user, *action;
	char cursor[24], limit[24];
	const char *params[7];
	int64_t v, cur, next;
	int page_limit;
	json_t *items = NULL;

	if (c == NULL) {
		host->reply_error(req, 401, "unauthorized", "missing or malformed bearer token",
		                  NULL);
		return;
	}
	if (host->page(req, &page_limit, &cur) != 0)
		return;
	v = page_limit;
	if (filter_param(req, host, "entity", &entity) != 0 ||
	    filter_param(req, host, "id", &entity_id) != 0 ||
	    filter_param(req, host, "user", &user) != 0 ||
	    filter_param(req, host, "action", &action) != 0)
		return;
	snprintf(cursor, sizeof(cursor), "%lld", (long long)cur);
	/* One row more than asked for says whether there is a next page. */
	snprintf(limit, sizeof(limit), "%lld", (long long)v + 1);
	params[0] = c->scope_path != NULL ? c->scope_path : "";
	params[1] = cur > 0 ? cursor : NULL;
	params[2] = entity;
	params[3] = entity_id;
	params[4] = user;
	params[5] = action;
	params[6] = limit;
	/* Rows without a region are outside every scope but the admin's ''. */
	if (host->query_json(req,
	                     "SELECT coalesce(json_agg(x.j ORDER BY x.id DESC), '[]') FROM ("
	                     "  SELECT a.id, json_build_object('id', a.id, 'at', a.at, "
	                     "    'user_id', a.user_id, 'username', a.username, "
	                     "    'request_id', a.request_id, 'action', a.action, "
	                     "    'entity', a.entity, 'entity_id', a.entity_id, "
	                     "    'before', a.before, 'after', a.after) AS j "
	                     "  FROM core.audit a "
	                     "  WHERE ($1::text = '' OR a.region_path <@ $1::text::ltree) "
	                     "    AND ($2::bigint IS NULL OR a.id < $2::bigint) "
	                     "    AND ($3::text IS NULL OR a.entity = $3::text) "
	                     "    AND ($4::text IS NULL OR a.entity_id = $4::text) "
	                     "    AND ($5::text IS NULL OR a.username = $5::text "
	                     "         OR a.user_id::text = $5::text) "
	                     "    AND ($6::text IS NULL OR a.action = $6::text) "
	                     "  ORDER BY a.id DESC LIMIT $7::int) x",
	                     7, params, &items) < 0)
		return;
	next = ogc_util_page_cut(&items, page_limit);
	if (!host->has_permission(req, "residents.read_sensitive"))
		mask_sensitive(items);
	host->reply_json(req, 200, ogc_util_list(items, next));
}

void ogc_audit_register_routes(void)
{
	ogc_router_add(NULL, OG_GET, "/api/v1/audit", "audit.read", audit_list,
	               "Audit log in the caller's scope, newest first "
	               "(filters: entity, id, user, action)");
	ogc_router_describe(
	        OG_GET, "/api/v1/audit",
	        "{\"parameters\": [{\"name\": \"limit\", \"in\": \"query\", \"schema\": {\"type\": "
	        "\"integer\", \"minimum\": 1, \"maximum\": 500, \"default\": 50}}, {\"name\": "
	        "\"cursor\", \"in\": \"query\", \"schema\": {\"type\": \"string\"}, "
	        "\"description\": \"next_cursor of the previous page\"}, {\"name\": \"entity\", "
	        "\"in\": \"query\", \"schema\": {\"type\": \"string\", \"maxLength\": 256}}, "
	        "{\"name\": \"id\", \"in\": \"query\", \"schema\": {\"type\": \"string\", "
	        "\"maxLength\": 256}, \"description\": \"entity id\"}, {\"name\": \"user\", "
	        "\"in\": \"query\", \"schema\": {\"type\": \"string\", \"maxLength\": 256}, "
	        "\"description\": \"username or user id\"}, {\"name\": \"action\", \"in\": "
	        "\"query\", \"schema\": {\"type\": \"string\", \"maxLength\": 256}}]}");
}

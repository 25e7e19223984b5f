/*
 * core/enablement.c — which loaded plugins each district has switched on.
 *
 * A district enables the plugins it needs: core.plugin_enablement holds a
 * row only where a district has said something, and no row means enabled,
 * so a newly deployed plugin is on everywhere until a district turns it
 * off.  The admin (district 0: above every district) always sees every
 * plugin enabled.  Routes: the list of loaded plugins for the caller, and
 * the switch per district.
 *
 * Not here: loading plugins (plugin_loader.c) and refusing a request to a
 * disabled plugin (router.c calls ogc_enable_check before the handler).
 * The caller's own district's switched-off plugins come with the token
 * (auth.c), which a worker may cache; a switch marks its request so every
 * worker forgets cached tokens (auth_cache.c) and takes effect at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define PLUGIN_NAME_MAX 64

int ogc_enable_check(og_req *req, const char *name, int64_t district_id)
{
	char did[24];
	const char *params[2] = {did, name};
	PGresult *res;
	int enabled;

	if (district_id <= 0)
		return 1;
	/* The caller's own district was read with the token. */
	if (req->authenticated && district_id == req->caller.district_id &&
	    json_is_array(req->disabled_plugins)) {
		size_t i;
		json_t *v;

		json_array_foreach(req->disabled_plugins, i, v)
			if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
				return 0;
		return 1;
	}
	snprintf(did, sizeof(did), "%lld", (long long)district_id);
	res = ogc_req_exec(req,
	                   "SELECT enabled FROM core.plugin_enablement "
	                   "WHERE district_id = $1::bigint AND plugin = $2",
	                   2, params);
	if (res == NULL)
		return -1;
	enabled = PQntuples(res) == 0 || strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return enabled;
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/plugins */

static void plugins_list(og_req *req, const og_host_api *host)
{
	const og_caller *c = host->caller(req);
	og_result *r = NULL;
	char did[24];
	const char *params[1] = {did};
	json_t *items;
	size_t count = ogc_plugins_count();

	if (c == NULL) {
		host->reply_error(req, 401, "unauthorized", "missing or malformed bearer token",
		                  NULL);
		return;
	}
	if (c->district_id > 0) {
		snprintf(did, sizeof(did), "%lld", (long long)c->district_id);
		r = host->query(req,
		                "SELECT plugin, enabled FROM core.plugin_enablement "
		                "WHERE district_id = $1::bigint",
		                1, params);
		if (r == NULL)
			return;
	}
	items = json_array();
	for (size_t i = 0; i < count; i++) {
		const og_plugin *p = ogc_plugins_get(i);
		const og_plugin_descriptor *d = p != NULL ? p->desc : NULL;
		json_t *deps = json_array();
		bool enabled = true;

		if (d == NULL) {
			json_decref(deps);
			continue;
		}
		for (const char *const *dep = d->depends; dep != NULL && *dep != NULL; dep++)
			json_array_append_new(deps, json_string(*dep));
		for (int row = 0; r != NULL && row < host->result_rows(r); row++) {
			if (strcmp(host->result_text(r, row, 0), d->name) == 0)
				enabled = host->result_bool(r, row, 1);
		}
		json_array_append_new(items,
		                      json_pack("{s:s, s:s, s:s?, s:o, s:b}", "name", d->name,
		                                "version", d->version, "title", d->title, "depends",
		                                deps, "enabled", enabled));
	}
	if (r != NULL)
		host->result_free(r);
	host->reply_json(req, 200, json_pack("{s:o}", "items", items));
}

/* ------------------------------------------------------------------ */
/* PUT /api/v1/regions/{id}/plugins/{name} */

static void plugin_switch(og_req *req, const og_host_api *host)
{
	const og_caller *c = host->caller(req);
	json_t *body = host->body(req);
	json_t *v = json_object_get(body, "enabled");
	const char *name = host->path_param(req, "name");
	const char *params[4];
	char sid[24], uid[24], msg[128];
	json_t *before, *after;
	og_result *r;
	int64_t id;
	bool enabled, was;

	/* What the token query reads changes: other workers must ask again. */
	ogc_auth_cache_invalidate(req);
	if (c == NULL) {
		host->reply_error(req, 401, "unauthorized", "missing or malformed bearer token",
		                  NULL);
		return;
	}
	if (!json_is_boolean(v)) {
		host->reply_error(req, 422, "invalid", "enabled must be true or false", "enabled");
		return;
	}
	enabled = json_is_true(v);
	if (host->path_id(req, "id", &id) != 0)
		return;
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	params[0] = sid;
	params[1] = c->scope_path != NULL ? c->scope_path : "";
	r = host->query(req,
	                "SELECT r.level FROM core.region r WHERE r.id = $1::bigint "
	                "  AND ($2::text = '' OR r.path <@ $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		host->reply_error(req, 404, "not_found", "no such region", NULL);
		return;
	}
	if (strcmp(host->result_text(r, 0, 0), "district") != 0) {
		host->result_free(r);
		host->reply_error(req, 422, "invalid", "plugins are enabled per district", "id");
		return;
	}
	host->result_free(r);
	if (name == NULL || strlen(name) > PLUGIN_NAME_MAX || ogc_plugins_find(name) == NULL) {
		snprintf(msg, sizeof(msg), "no plugin named %.*s is loaded", PLUGIN_NAME_MAX,
		         name != NULL ? name : "");
		host->reply_error(req, 404, "not_found", msg, NULL);
		return;
	}

	snprintf(uid, sizeof(uid), "%lld", (long long)c->user_id);
	params[1] = name;
	params[2] = enabled ? "t" : "f";
	params[3] = c->user_id > 0 ? uid : NULL;
	/* Both CTEs see the snapshot before the upsert: "old" is the state before. */
	r = host->query(req,
	                "WITH old AS (SELECT enabled FROM core.plugin_enablement "
	                "             WHERE district_id = $1::bigint AND plugin = $2), "
	                "up AS (INSERT INTO core.plugin_enablement "
	                "         (district_id, plugin, enabled, updated_by) "
	                "       VALUES ($1::bigint, $2, $3::boolean, $4::bigint) "
	                "       ON CONFLICT (district_id, plugin) DO UPDATE "
	                "         SET enabled = EXCLUDED.enabled, updated_at = now(), "
	                "             updated_by = EXCLUDED.updated_by "
	                "       RETURNING enabled) "
	                "SELECT coalesce((SELECT enabled FROM old), true), "
	                "       (SELECT enabled FROM up)",
	                4, params);
	if (r == NULL)
		return;
	was = host->result_bool(r, 0, 0);
	host->result_free(r);

	before = json_pack("{s:s, s:b}", "plugin", name, "enabled", was);
	after = json_pack("{s:s, s:b}", "plugin", name, "enabled", enabled);
	if (ogc_audit_write(req, enabled ? "plugin.enable" : "plugin.disable", "region", sid, id,
	                    before, after) != 0) {
		json_decref(before);
		json_decref(after);
		return;
	}
	json_decref(before);
	json_decref(after);
	host->reply_json(req, 200,
	                 json_pack("{s:I, s:s, s:b}", "district_id", (json_int_t)id, "plugin", name,
	                           "enabled", enabled));
}

void ogc_enable_register_routes(void)
{
	ogc_router_add(NULL, OG_GET, "/api/v1/plugins", OG_PERM_AUTHENTICATED, plugins_list,
	               "Loaded plugins and whether the caller's district has them enabled");
	ogc_router_add(NULL, OG_PUT, "/api/v1/regions/{id}/plugins/{name}", "plugins.manage",
	               plugin_switch, "Enable or disable a plugin for a district");
	ogc_router_describe(
	        OG_PUT, "/api/v1/regions/{id}/plugins/{name}",
	        "{\"requestBody\": {\"required\": true, \"content\": {\"application/json\": "
	        "{\"schema\": {\"type\": \"object\", \"required\": [\"enabled\"], \"properties\": "
	        "{\"enabled\": {\"type\": \"boolean\"}}}}}}}");
}

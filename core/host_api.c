/*
 * core/host_api.c — the og_host_api table handed to plugins and core
 * route modules.
 *
 * Every entry is a thin adapter onto a core subsystem; the policy (what a
 * plugin may register, when) is checked here once so the subsystems need
 * not know about plugins' init phase.  The table is a constant: entries are
 * only ever appended (see include/onegrid/plugin.h).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core.h"

static bool registering(og_plugin *p, const char *what)
{
	if (p == NULL || !p->in_init) {
		ogc_log(OG_LOG_ERROR, "plugin %s: %s refused: registration is allowed only in init",
		        p ? p->desc->name : "?", what);
		return false;
	}
	return true;
}

static int h_register_route(og_plugin *p, unsigned methods, const char *path,
                            const char *permission, og_handler handler, const char *summary)
{
	if (!registering(p, "register_route") || path == NULL ||
	    ogc_plugins_check_route(p, path, permission) != 0)
		return -1;
	/* A refused registration refuses the plugin, even if its init
	 * ignores the -1: half a plugin must not serve. */
	if (ogc_router_add(p, methods, path, permission, handler, summary) != 0) {
		p->registration_failed = true;
		return -1;
	}
	return 0;
}

static int h_register_migration(og_plugin *p, int version, const char *name, const char *sql)
{
	if (!registering(p, "register_migration"))
		return -1;
	if (version <= 0 || name == NULL || sql == NULL) {
		ogc_log(OG_LOG_ERROR, "plugin %s: migration needs a version > 0, a name and SQL",
		        p->desc->name);
		return -1;
	}
	if (ogc_migrate_add(p->desc->name, version, name, sql) != 0) {
		p->registration_failed = true;
		return -1;
	}
	return 0;
}

static int h_register_permission(og_plugin *p, const char *code, const char *label,
                                 const char *const *roles)
{
	if (!registering(p, "register_permission"))
		return -1;
	return ogc_registry_permission(p, code, label, roles);
}

static int h_register_tag(og_plugin *p, const char *code, const char *label)
{
	if (!registering(p, "register_tag"))
		return -1;
	return ogc_registry_tag(p, code, label);
}

static int h_register_hook(og_plugin *p, const char *event, og_hook_fn fn)
{
	if (!registering(p, "register_hook"))
		return -1;
	return ogc_registry_hook(p, event, fn);
}

static int h_register_indicator(og_plugin *p, const og_indicator_def *def)
{
	if (!registering(p, "register_indicator"))
		return -1;
	return ogc_registry_indicator(p, def);
}

static int h_register_ledger(og_plugin *p, const og_ledger_def *def)
{
	if (!registering(p, "register_ledger"))
		return -1;
	return ogc_registry_ledger(p, def);
}

static const char *h_path_param(og_req *req, const char *name)
{
	for (int i = 0; i < req->nparams; i++)
		if (strcmp(req->param_name[i], name) == 0)
			return req->param_value[i];
	return NULL;
}

static const char *h_query_param(og_req *req, const char *name)
{
	return evhttp_find_header(&req->query, name);
}

static const char *h_header(og_req *req, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

static json_t *h_body(og_req *req)
{
	return req->body;
}

static const og_caller *h_caller(og_req *req)
{
	return req->authenticated ? &req->caller : NULL;
}

static const char *h_request_id(og_req *req)
{
	return req->request_id;
}

static int h_has_permission(og_req *req, const char *permission)
{
	return ogc_auth_has_permission(req, permission) ? 1 : 0;
}

static void h_set_header(og_req *req, const char *name, const char *value)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);
	evhttp_remove_header(h, name);
	evhttp_add_header(h, name, value);
}

/* og_result is a PGresult under another name: plugins never see libpq. */
static og_result *h_query(og_req *req, const char *sql, int nparams, const char *const *params)
{
	return (og_result *)ogc_req_exec(req, sql, nparams, params);
}

static int h_query_json(og_req *req, const char *sql, int nparams, const char *const *params,
                        json_t **out)
{
	PGresult *res = ogc_req_exec(req, sql, nparams, params);
	json_error_t jerr;
	const char *text;

	*out = NULL;
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0 || PQnfields(res) == 0) {
		PQclear(res);
		return 0;
	}
	text = PQgetisnull(res, 0, 0) ? "null" : PQgetvalue(res, 0, 0);
	*out = json_loads(text, JSON_DECODE_ANY, &jerr);
	PQclear(res);
	if (*out == NULL) {
		ogc_log(OG_LOG_ERROR, "request %s: query_json: column is not JSON: %s",
		        req->request_id, jerr.text);
		ogc_req_reply_error(req, 500, "internal", "query did not return JSON", NULL);
		return -1;
	}
	return 1;
}

static int h_result_rows(const og_result *r)
{
	return PQntuples((const PGresult *)r);
}

static int h_result_cols(const og_result *r)
{
	return PQnfields((const PGresult *)r);
}

static const char *h_result_text(const og_result *r, int row, int col)
{
	const PGresult *res = (const PGresult *)r;
	if (row < 0 || row >= PQntuples(res) || col < 0 || col >= PQnfields(res) ||
	    PQgetisnull(res, row, col))
		return NULL;
	return PQgetvalue(res, row, col);
}

static int64_t h_result_int64(const og_result *r, int row, int col)
{
	const char *t = h_result_text(r, row, col);
	return t ? strtoll(t, NULL, 10) : 0;
}

static int h_result_bool(const og_result *r, int row, int col)
{
	const char *t = h_result_text(r, row, col);
	return t != NULL && t[0] == 't';
}

static void h_result_free(og_result *r)
{
	PQclear((PGresult *)r);
}

static const char *h_last_sqlstate(og_req *req)
{
	return req->sqlstate;
}

static int h_audit(og_req *req, const char *action, const char *entity, const char *entity_id,
                   int64_t region_id, json_t *before, json_t *after)
{
	return ogc_audit_write(req, action, entity, entity_id, region_id, before, after);
}

static int h_fire(og_req *req, const char *event, int64_t entity_id, json_t *payload)
{
	return ogc_registry_fire(req, event, entity_id, payload);
}

static void h_log(og_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ogc_logv(level, fmt, ap);
	va_end(ap);
}

static int h_describe_route(og_plugin *p, unsigned method, const char *path, const char *openapi)
{
	if (!registering(p, "describe_route"))
		return -1;
	for (size_t i = 0; i < ogc_router_count(); i++) {
		const ogc_route *r = ogc_router_get(i);
		if (strcmp(r->path, path) == 0 && (r->methods & method) && r->owner != p) {
			ogc_log(OG_LOG_ERROR, "plugin %s: describe_route %s: not its route",
			        p->desc->name, path);
			return -1;
		}
	}
	return ogc_router_describe(method, path, openapi);
}

static const og_host_api host_api = {
        .size = sizeof(og_host_api),
        .abi_major = OG_ABI_MAJOR,
        .abi_minor = OG_ABI_MINOR,
        .register_route = h_register_route,
        .register_migration = h_register_migration,
        .register_permission = h_register_permission,
        .register_tag = h_register_tag,
        .register_hook = h_register_hook,
        .register_indicator = h_register_indicator,
        .register_ledger = h_register_ledger,
        .path_param = h_path_param,
        .query_param = h_query_param,
        .header = h_header,
        .body = h_body,
        .caller = h_caller,
        .request_id = h_request_id,
        .has_permission = h_has_permission,
        .reply_json = ogc_req_reply_json,
        .reply_error = ogc_req_reply_error,
        .set_header = h_set_header,
        .query = h_query,
        .query_json = h_query_json,
        .result_rows = h_result_rows,
        .result_cols = h_result_cols,
        .result_text = h_result_text,
        .result_int64 = h_result_int64,
        .result_bool = h_result_bool,
        .result_free = h_result_free,
        .last_sqlstate = h_last_sqlstate,
        .audit = h_audit,
        .fire = h_fire,
        .log = h_log,
        /* ABI 1.1 */
        .path_id = ogc_util_path_id,
        .page = ogc_util_page,
        .client_version = ogc_util_client_version,
        .set_tag = ogc_tags_set,
        .clear_tag = ogc_tags_clear,
        .describe_route = h_describe_route,
        .reply_stream_begin = ogc_req_stream_begin,
        .reply_stream_write = ogc_req_stream_write,
        .reply_stream_end = ogc_req_stream_end,
        /* ===== ABI 1.3: request readers ===== */
        .body_object = ogc_util_body,
        .body_known_keys = ogc_util_body_known_keys,
        .body_text = ogc_util_body_text,
        .body_id = ogc_util_body_id,
        .body_int = ogc_util_body_int,
        .body_date = ogc_util_body_date,
        .body_enum = ogc_util_body_enum,
        .query_id = ogc_util_query_id,
        .query_int = ogc_util_query_int,
        .query_date = ogc_util_query_date,
        .query_enum = ogc_util_query_enum,
        .query_bool = ogc_util_query_bool,
};

const og_host_api *ogc_host_api(void)
{
	return &host_api;
}

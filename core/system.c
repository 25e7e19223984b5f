/*
 * core/system.c — the routes about the daemon itself: GET /healthz,
 * GET /metrics and GET /openapi.json.  None needs a token: a load
 * balancer, Prometheus and a client generator must reach them without one.
 * /openapi.json is generated from the live route table, so it describes
 * exactly the core and plugin routes this daemon has loaded.
 */
#include <poll.h>
#include <string.h>

#include <event2/buffer.h>

#include "core.h"

/*
 * /healthz is what load balancers poll, often many times a second per
 * host: a database round trip on every one would make the check the
 * heaviest public route.  So a worker answers from its last good check for
 * health_cache_ms (250 ms unless configured; docs/operations.md gives the
 * bound) and runs SELECT 1 only after that, or at once when the connection
 * is known broken: a query of any request that lost the connection marks
 * it so (db.c), and an idle connection the server closed (pg_ctl stop,
 * pg_terminate_backend, a restart) has its end-of-file read here without a
 * round trip.  That look costs a system call, so a flood of /healthz makes
 * it at most every HEALTH_PEEK_S.  So an outage shows on the next /healthz
 * (HEALTH_PEEK_S after the last) in those cases, and within health_cache_ms
 * otherwise (a network partition, a hung server).
 * Only a success is cached: while the database is down every call asks
 * again, which db.c's reconnect backoff keeps cheap.  Per worker process:
 * each checks its own connection, which is what its 200/503 is about.
 */
#define HEALTH_PEEK_S 0.01

static double health_ok_at;   /* ogc_now() of this worker's last good check; 0: none */
static double health_peek_at; /* ogc_now() of its last look at the idle connection */

/* true when the idle connection has nothing to say, or what it said did not
 * end it: one poll(2) with a zero timeout when it is quiet.  A server that
 * ends a session sends a FATAL message, then closes: libpq reads one, then
 * the end-of-file, in separate reads; PQisBusy parses what was read (an
 * idle connection's error is a notice) so no stale message waits for the
 * next query. */
static bool conn_still_open(ogc_db *db)
{
	PGconn *conn = ogc_db_conn(db); /* borrowed */
	struct pollfd p = {.fd = conn ? PQsocket(conn) : -1, .events = POLLIN};

	if (p.fd < 0)
		return false;
	for (int i = 0; i < 4 && poll(&p, 1, 0) > 0; i++) {
		if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK)
			return false;
		(void)PQisBusy(conn);
	}
	return true;
}

static bool database_up(og_req *req)
{
	ogc_dberr err;
	bool up;

	double now = req->started;

	if (health_ok_at > 0 && now - health_ok_at < req->cfg->health_cache_ms / 1000.0 &&
	    ogc_db_is_up(req->db)) {
		if (now - health_peek_at < HEALTH_PEEK_S)
			return true;
		health_peek_at = now;
		if (conn_still_open(req->db))
			return true;
	}
	up = ogc_db_ensure(req->db) == 0 && ogc_db_command(req->db, "SELECT 1", &err) == 0;
	health_ok_at = up ? ogc_now() : 0;
	return up;
}

static void health(og_req *req, const og_host_api *host)
{
	/* This worker's two answers never change: written once, then sent by
	 * reference instead of packed and encoded on every call. */
	static char text[2][96];
	bool up = database_up(req);

	(void)host;
	if (text[up][0] == '\0')
		snprintf(text[up], sizeof(text[up]),
		         "{\"status\":\"%s\",\"database\":\"%s\",\"worker\":%d}\n",
		         up ? "ok" : "unavailable", up ? "ok" : "unreachable", req->worker->number);
	req->raw = evbuffer_new();
	req->raw_type = "application/json; charset=utf-8";
	evbuffer_add_reference(req->raw, text[up], strlen(text[up]), NULL, NULL);
	req->status = up ? 200 : 503;
}

static void metrics(og_req *req, const og_host_api *host)
{
	(void)host; /* the reply is not JSON: set it directly */
	req->raw = evbuffer_new();
	req->raw_type = "text/plain; version=0.0.4; charset=utf-8";
	ogc_metrics_render(req->raw);
	req->status = 200;
}

static const char *const method_keys[] = {"get", "post", "put", "patch", "delete"};

static json_t *operation(const ogc_route *r, unsigned method)
{
	json_t *op = json_object(), *params = json_array(), *responses = json_object();
	const char *owner = r->owner ? r->owner->desc->name : "core";
	const char *p = r->path;

	json_object_set_new(op, "summary", json_string(r->summary));
	json_object_set_new(op, "tags", json_pack("[s]", owner));
	json_object_set_new(op, "x-permission", json_string(r->permission));
	if (strcmp(r->permission, OG_PERM_PUBLIC) != 0)
		json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearer"));
	else
		json_object_set_new(op, "security", json_array());
	while ((p = strchr(p, '{')) != NULL) {
		const char *end = strchr(p, '}');
		if (end == NULL)
			break;
		json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1,
		                                        (size_t)(end - p - 1), "in", "path",
		                                        "required", 1, "schema", "type", "string"));
		p = end;
	}
	json_object_set_new(op, "parameters", params);
	if (method & (OG_POST | OG_PUT | OG_PATCH))
		json_object_set_new(op, "requestBody",
		                    json_pack("{s:{s:{s:{s:s}}}}", "content", "application/json",
		                              "schema", "type", "object"));
	json_object_set_new(responses, "default",
	                    json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
	                              "JSON body, or {\"error\": {code, message, field}}",
	                              "content", "application/json", "schema", "$ref",
	                              "#/components/schemas/Error"));
	json_object_set_new(op, "responses", responses);
	{
		/* Detail the route module described (parameters, body schema)
		 * wins over the generic parts above. */
		json_t *doc = ogc_router_description(r, method);
		if (doc != NULL) {
			json_t *extra = json_object_get(doc, "parameters");
			if (json_is_array(extra)) {
				json_array_extend(params, extra);
				doc = json_deep_copy(doc);
				json_object_del(doc, "parameters");
				json_object_update(op, doc);
				json_decref(doc);
			} else {
				json_object_update(op, doc);
			}
			/* "requestBody": null: the route takes no body. */
			if (json_is_null(json_object_get(op, "requestBody")))
				json_object_del(op, "requestBody");
		}
	}
	return op;
}

static void openapi(og_req *req, const og_host_api *host)
{
	json_t *paths = json_object();

	for (size_t i = 0; i < ogc_router_count(); i++) {
		const ogc_route *r = ogc_router_get(i);
		json_t *item = json_object_get(paths, r->path);

		if (item == NULL) {
			item = json_object();
			json_object_set_new(paths, r->path, item);
		}
		for (int k = 0; k < 5; k++)
			if (r->methods & (1u << k))
				json_object_set_new(item, method_keys[k], operation(r, 1u << k));
	}
	host->reply_json(req, 200,
	                 json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s}}, s:{s:{s:s, "
	                           "s:{s:{s:{s:s}, "
	                           "s:{s:s}, s:{s:s}}}}}}}",
	                           "openapi", "3.0.3", "info", "title", "OneGrid 一网通 API",
	                           "version", PACKAGE_VERSION, "description",
	                           "Core and loaded plugin routes of this onegridd.", "paths",
	                           paths, "components", "securitySchemes", "bearer", "type", "http",
	                           "scheme", "bearer", "schemas", "Error", "type", "object",
	                           "properties", "error", "properties", "code", "type", "string",
	                           "message", "type", "string", "field", "type", "string"));
}

void ogc_system_register_routes(void)
{
	ogc_router_add(NULL, OG_GET, "/healthz", OG_PERM_PUBLIC, health,
	               "Liveness and database reachability");
	ogc_router_add(NULL, OG_GET, "/metrics", OG_PERM_PUBLIC, metrics,
	               "Prometheus metrics of the whole daemon");
	ogc_router_add(NULL, OG_GET, "/openapi.json", OG_PERM_PUBLIC, openapi,
	               "OpenAPI description of every loaded route");
}

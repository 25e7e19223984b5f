/*
 * tests/plugins/faulty.c — a fixture plugin whose routes and hook misbehave
 * on purpose, for the API tests of what the host guarantees around them.
 *
 * For:
 *   POST /api/v1/faulty/fail-after-write  writes a row and an audit record,
 *        then answers 422: the test checks that neither survives (the
 *        request's transaction rolls back on a status >= 400);
 *   POST /api/v1/faulty/write             the same, answering 201: both
 *        survive;
 *   GET  /api/v1/faulty/slow?ms=N         sleeps N ms in the database, then
 *        answers {"slept_ms": N} (SIGTERM must drain it, not cut it);
 *   GET  /api/v1/faulty/crash             abort()s: the worker dies, the
 *        master logs it and starts another;
 *   GET  /api/v1/faulty/nullderef         writes through a NULL pointer
 *        (SIGSEGV): the same, and the log must name this plugin;
 *   a hook on "example.note_created" that rejects a note whose body is
 *        "FAIL-HOOK" (422 "rejected"), rolling back the note, its audit
 *        record and everything else of that request;
 *   the tag "faulty_flag" (测试标记), owned by this plugin, and
 *   POST   /api/v1/faulty/residents/{id}/flag[?tag=CODE][&source=S]  sets
 *        tag CODE (default faulty_flag) through host->set_tag with source
 *        S (default "faulty.mark:1"), answering {"flagged": true}: the
 *        core must refuse any tag faulty does not own (a core tag: 403);
 *   DELETE /api/v1/faulty/residents/{id}/flag[?tag=CODE]  clears it
 *        through host->clear_tag, answering {"flagged": false};
 *   a hook on "resident.created" that rejects a resident named
 *        "FAIL-HOOK" (422 "rejected"): the resident must not be created;
 *   hooks on "resident.tag_added" and "resident.tag_removed" that record
 *        each call as a faulty.mark row "<event> <resident> <tag> <source>"
 *        (so a test sees that, and with what, they fired) and reject any
 *        tag change of a resident named "FAIL-TAG-HOOK" (422 "rejected").
 * faulty depends on nothing: without the example plugin the hook never
 * fires.  Its migration is a literal string (fixtures need not use
 * sql2c.sh).  Not for: anything a district runs; never installed.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <onegrid/plugin.h>

#define FAULTY_SLEEP_MAX_MS 60000

static const char *const faulty_roles[] = {"district", "street", "community", "grid_worker",
                                           NULL};

/* The host table outlives every plugin, so fini may use the one init got. */
static const og_host_api *faulty_host;
/* Our own handle, which set_tag/clear_tag want; the host keeps it for the
 * life of the process. */
static og_plugin *faulty_self;

static const char faulty_migration[] =
    "CREATE TABLE faulty.mark (id bigserial PRIMARY KEY, note text);";

/* Inserts a mark (note from the body's "note", else `fallback`) and audits
 * it.  Returns the new row as {"id", "note"} (new), or NULL with the error
 * reply already set. */
static json_t *faulty_mark(og_req *req, const og_host_api *host, const char *fallback)
{
	const og_caller *me = host->caller(req);
	json_t *in = host->body(req); /* borrowed; NULL without a body */
	json_t *note = json_object_get(in, "note");
	const char *params[1];
	char id[24];
	json_t *row;

	params[0] = json_is_string(note) ? json_string_value(note) : fallback;
	if (host->query_json(req,
	                     "INSERT INTO faulty.mark (note) VALUES ($1)"
	                     " RETURNING json_build_object('id', id, 'note', note)",
	                     1, params, &row) != 1)
		return NULL;
	snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
	         json_integer_value(json_object_get(row, "id")));
	if (host->audit(req, "create", "faulty.mark", id, me != NULL ? me->scope_region_id : 0, NULL,
	                row) < 0) {
		json_decref(row);
		return NULL;
	}
	return row;
}

/* POST /api/v1/faulty/fail-after-write */
static void faulty_fail_after_write(og_req *req, const og_host_api *host)
{
	json_t *row = faulty_mark(req, host, "fail-after-write");

	if (row == NULL)
		return;
	json_decref(row);
	host->reply_error(req, 422, "invalid", "faulty: failing after a write, on purpose", NULL);
}

/* POST /api/v1/faulty/write */
static void faulty_write(og_req *req, const og_host_api *host)
{
	json_t *row = faulty_mark(req, host, "write");

	if (row != NULL)
		host->reply_json(req, 201, row); /* steals row */
}

/* GET /api/v1/faulty/slow?ms=N */
static void faulty_slow(og_req *req, const og_host_api *host)
{
	const char *ms_s = host->query_param(req, "ms");
	const char *params[1];
	og_result *r;
	char *end;
	long ms;

	if (ms_s == NULL || ms_s[0] < '0' || ms_s[0] > '9' ||
	    (ms = strtol(ms_s, &end, 10), *end != '\0') || ms > FAULTY_SLEEP_MAX_MS) {
		host->reply_error(req, 422, "invalid", "ms must be an integer from 0 to 60000", "ms");
		return;
	}
	params[0] = ms_s;
	r = host->query(req, "SELECT pg_sleep($1::float8 / 1000.0)", 1, params);
	if (r == NULL)
		return;
	host->result_free(r);
	host->reply_json(req, 200, json_pack("{s:I}", "slept_ms", (json_int_t)ms));
}

/* GET /api/v1/faulty/crash */
static void faulty_crash(og_req *req, const og_host_api *host)
{
	host->log(OG_LOG_WARN, "faulty: crashing on purpose (request %s)", host->request_id(req));
	abort();
}

/* Written through by faulty_nullderef; volatile so that no compiler proves
 * it NULL and drops the store. */
static int *volatile faulty_null;

/* GET /api/v1/faulty/nullderef.  Not instrumented: the sanitizers would
 * report the store themselves (and abort) instead of letting it fault,
 * and the test wants a plain SIGSEGV. */
__attribute__((no_sanitize("address", "undefined")))
static void faulty_nullderef(og_req *req, const og_host_api *host)
{
	host->log(OG_LOG_WARN, "faulty: dereferencing NULL on purpose (request %s)",
	          host->request_id(req));
	*faulty_null = 1;
	host->reply_error(req, 500, "internal", "faulty: survived a NULL dereference", NULL);
}

/* Hook on example.note_created: rejects the note whose body is FAIL-HOOK. */
static int faulty_on_note(og_req *req, const og_host_api *host, const char *event,
                          int64_t entity_id, json_t *payload)
{
	const char *body = json_string_value(json_object_get(payload, "body"));

	(void)event;
	(void)entity_id;
	if (body != NULL && strcmp(body, "FAIL-HOOK") == 0) {
		host->reply_error(req, 422, "rejected",
		                  "the faulty plugin rejected this note (test fixture)", "body");
		return -1;
	}
	return 0;
}

/* The tag of ?tag= (default faulty_flag) and the resident of the path;
 * 0, or -1 with the reply set. */
static int faulty_flag_target(og_req *req, const og_host_api *host, int64_t *id,
                              const char **tag)
{
	*tag = host->query_param(req, "tag");
	if (*tag == NULL || **tag == '\0')
		*tag = "faulty_flag";
	return host->path_id(req, "id", id);
}

/* POST /api/v1/faulty/residents/{id}/flag */
static void faulty_flag(og_req *req, const og_host_api *host)
{
	const char *tag;
	int64_t id;

	const char *source = host->query_param(req, "source");

	if (source == NULL || *source == '\0')
		source = "faulty.mark:1";
	if (faulty_flag_target(req, host, &id, &tag) != 0 ||
	    host->set_tag(req, faulty_self, id, tag, source) != 0)
		return;
	host->reply_json(req, 200, json_pack("{s:b}", "flagged", 1));
}

/* DELETE /api/v1/faulty/residents/{id}/flag */
static void faulty_unflag(og_req *req, const og_host_api *host)
{
	const char *tag;
	int64_t id;

	if (faulty_flag_target(req, host, &id, &tag) != 0 ||
	    host->clear_tag(req, faulty_self, id, tag) != 0)
		return;
	host->reply_json(req, 200, json_pack("{s:b}", "flagged", 0));
}

/* Hook on resident.created: rejects the resident named FAIL-HOOK. */
static int faulty_on_resident(og_req *req, const og_host_api *host, const char *event,
                              int64_t entity_id, json_t *payload)
{
	const char *name = json_string_value(json_object_get(payload, "name"));

	(void)event;
	(void)entity_id;
	if (name != NULL && strcmp(name, "FAIL-HOOK") == 0) {
		host->reply_error(req, 422, "rejected",
		                  "plugin faulty rejected this resident (test fixture)", "name");
		return -1;
	}
	return 0;
}

/* Hook on resident.tag_added / resident.tag_removed: records the call as a
 * mark; rejects any tag change of the resident named FAIL-TAG-HOOK. */
static int faulty_on_tag(og_req *req, const og_host_api *host, const char *event,
                         int64_t entity_id, json_t *payload)
{
	const char *tag = json_string_value(json_object_get(payload, "tag"));
	const char *source = json_string_value(json_object_get(payload, "source"));
	char rid[24], note[256];
	const char *params[1];
	og_result *r;
	int rejected;

	snprintf(rid, sizeof(rid), "%" PRId64, entity_id);
	params[0] = rid;
	r = host->query(req,
	                "SELECT name = 'FAIL-TAG-HOOK' FROM core.resident WHERE id = $1::bigint", 1,
	                params);
	if (r == NULL)
		return -1;
	rejected = host->result_rows(r) == 1 && host->result_bool(r, 0, 0);
	host->result_free(r);
	if (rejected) {
		host->reply_error(req, 422, "rejected",
		                  "plugin faulty rejected this tag change (test fixture)", "code");
		return -1;
	}
	snprintf(note, sizeof(note), "%s %s %s %s", event, rid, tag != NULL ? tag : "-",
	         source != NULL ? source : "-");
	params[0] = note;
	r = host->query(req, "INSERT INTO faulty.mark (note) VALUES ($1)", 1, params);
	if (r == NULL)
		return -1;
	host->result_free(r);
	return 0;
}

static const char faulty_flag_doc[] =
    "{\"parameters\":[{\"name\":\"tag\",\"in\":\"query\",\"required\":false,"
    "\"schema\":{\"type\":\"string\",\"maxLength\":64,\"default\":\"faulty_flag\"}}]}";
static const char faulty_set_doc[] =
    "{\"parameters\":[{\"name\":\"tag\",\"in\":\"query\",\"required\":false,"
    "\"schema\":{\"type\":\"string\",\"maxLength\":64,\"default\":\"faulty_flag\"}},"
    "{\"name\":\"source\",\"in\":\"query\",\"required\":false,"
    "\"schema\":{\"type\":\"string\",\"maxLength\":200,\"default\":\"faulty.mark:1\"}}]}";

static int faulty_init(og_plugin *self, const og_host_api *host)
{
	faulty_host = host;
	faulty_self = self;
	if (host->register_tag(self, "faulty_flag", "测试标记") < 0 ||
	    host->register_hook(self, "resident.created", faulty_on_resident) < 0 ||
	    host->register_hook(self, "resident.tag_added", faulty_on_tag) < 0 ||
	    host->register_hook(self, "resident.tag_removed", faulty_on_tag) < 0)
		return -1;
	if (host->register_migration(self, 1, "0001_mark", faulty_migration) < 0 ||
	    host->register_permission(self, "faulty.use", "故障测试", faulty_roles) < 0 ||
	    host->register_route(self, OG_POST, "/api/v1/faulty/fail-after-write", "faulty.use",
	                         faulty_fail_after_write, "Write, then fail with 422") < 0 ||
	    host->register_route(self, OG_POST, "/api/v1/faulty/write", "faulty.use", faulty_write,
	                         "Write and succeed") < 0 ||
	    host->register_route(self, OG_GET, "/api/v1/faulty/slow", "faulty.use", faulty_slow,
	                         "Sleep ms milliseconds in the database") < 0 ||
	    host->register_route(self, OG_GET, "/api/v1/faulty/crash", "faulty.use", faulty_crash,
	                         "Crash the worker") < 0 ||
	    host->register_route(self, OG_GET, "/api/v1/faulty/nullderef", "faulty.use",
	                         faulty_nullderef, "Dereference NULL (SIGSEGV)") < 0 ||
	    host->register_hook(self, "example.note_created", faulty_on_note) < 0)
		return -1;
	if (host->register_route(self, OG_POST, "/api/v1/faulty/residents/{id}/flag", "faulty.use",
	                         faulty_flag, "Set faulty_flag (or ?tag=) on a resident") < 0 ||
	    host->register_route(self, OG_DELETE, "/api/v1/faulty/residents/{id}/flag",
	                         "faulty.use", faulty_unflag,
	                         "Clear faulty_flag (or ?tag=) from a resident") < 0 ||
	    host->describe_route(self, OG_POST, "/api/v1/faulty/residents/{id}/flag",
	                         faulty_set_doc) < 0 ||
	    host->describe_route(self, OG_DELETE, "/api/v1/faulty/residents/{id}/flag",
	                         faulty_flag_doc) < 0)
		return -1;
	return 0;
}

/* Lets the tests see that fini runs at an orderly shutdown. */
static void faulty_fini(void)
{
	if (faulty_host != NULL)
		faulty_host->log(OG_LOG_INFO, "faulty: fini");
}

OG_PLUGIN_DEFINE("faulty", "1.0.0", "故障测试插件", NULL, faulty_init, faulty_fini);

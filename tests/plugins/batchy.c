/*
 * tests/plugins/batchy.c — a fixture plugin that records how the host
 * delivers resident.created and its batch form residents.imported (ABI
 * 1.3), for tests/api/test_import_hooks.py.
 *
 * For: hooks on both events that write one row per call into
 * <name>.call (event, entity_id, n = residents in the call, ids = their
 * ids in the order received), and reject (422 "rejected") a call carrying
 * a resident named "FAIL-BATCH", so that a test sees which calls came,
 * with what, and that a failing batch hook rolls the import back.
 *
 * Built twice from this file: "batchy" with OG_PLUGIN_DEFINE (the current
 * ABI: it must get one residents.imported call per chunk of an import and
 * no resident.created for the imported rows), and, with BATCHY_OLD,
 * "batchy_old", whose descriptor says ABI 1.2 (built before the batch
 * event existed: it must keep getting resident.created per imported row
 * and never the batch).  Its migration is a literal string.  Not for:
 * anything a district runs; never installed.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <onegrid/plugin.h>

#ifdef BATCHY_OLD
#define BATCHY_NAME "batchy_old"
#else
#define BATCHY_NAME "batchy"
#endif

static const char batchy_migration[] =
        "CREATE TABLE " BATCHY_NAME ".call (id bigserial PRIMARY KEY, event text NOT NULL, "
        "entity_id bigint NOT NULL, n integer NOT NULL, ids bigint[] NOT NULL);";

/* Appends the resident r's id to the array literal in buf; false when
 * the resident is named FAIL-BATCH. */
static bool batchy_add(json_t *r, char *buf, size_t cap, size_t *len)
{
	const char *name = json_string_value(json_object_get(r, "name"));
	json_int_t id = json_integer_value(json_object_get(r, "id"));

	if (*len + 24 < cap)
		*len += (size_t)snprintf(buf + *len, cap - *len, "%s%" JSON_INTEGER_FORMAT,
		                         *len > 1 ? "," : "", id);
	return name == NULL || strcmp(name, "FAIL-BATCH") != 0;
}

static int batchy_hook(og_req *req, const og_host_api *host, const char *event, int64_t entity_id,
                       json_t *payload)
{
	size_t n = json_is_array(payload) ? json_array_size(payload) : 1;
	size_t cap = n * 24 + 3, len = 0, i;
	char *ids = malloc(cap), sid[24], sn[24];
	const char *params[4];
	bool ok = true;
	og_result *r;
	json_t *x;

	if (ids == NULL)
		return -1;
	ids[len++] = '{';
	if (json_is_array(payload)) {
		json_array_foreach(payload, i, x)
			ok = batchy_add(x, ids, cap, &len) && ok;
	} else {
		ok = batchy_add(payload, ids, cap, &len);
	}
	ids[len++] = '}';
	ids[len] = '\0';
	if (!ok) {
		free(ids);
		host->reply_error(req, 422, "rejected", BATCHY_NAME " rejects FAIL-BATCH", "name");
		return -1;
	}
	snprintf(sid, sizeof(sid), "%" PRId64, entity_id);
	snprintf(sn, sizeof(sn), "%zu", n);
	params[0] = event;
	params[1] = sid;
	params[2] = sn;
	params[3] = ids;
	r = host->query(req,
	                "INSERT INTO " BATCHY_NAME ".call (event, entity_id, n, ids) "
	                "VALUES ($1, $2::bigint, $3::int, $4::bigint[])",
	                4, params);
	free(ids);
	if (r == NULL)
		return -1;
	host->result_free(r);
	return 0;
}

static int batchy_init(og_plugin *self, const og_host_api *host)
{
	if (host->register_migration(self, 1, "0001_call", batchy_migration) < 0 ||
	    host->register_hook(self, "resident.created", batchy_hook) < 0 ||
	    host->register_hook(self, "residents.imported", batchy_hook) < 0)
		return -1;
	return 0;
}

#ifdef BATCHY_OLD
/* Written out by hand (not OG_PLUGIN_DEFINE) to say ABI 1.2.  The
 * descriptor's layout has not changed since, so the host reads it as it
 * would read a plugin really built then. */
OG_EXPORT const og_plugin_descriptor og_plugin_desc = {
        .magic = OG_PLUGIN_MAGIC,
        .abi_major = 1,
        .abi_minor = 2,
        .size = (uint32_t)sizeof(og_plugin_descriptor),
        .name = BATCHY_NAME,
        .version = "1.0.0",
        .title = "批量钩子测试插件(旧)",
        .depends = NULL,
        .init = batchy_init,
        .fini = NULL,
};
#else
OG_PLUGIN_DEFINE(BATCHY_NAME, "1.0.0", "批量钩子测试插件", NULL, batchy_init, NULL);
#endif

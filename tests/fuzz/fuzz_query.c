/*
 * tests/fuzz/fuzz_query.c — libFuzzer harness for what the router does with
 * a request line before any handler: the input's first line is the raw
 * path, the rest the raw query string.  The path is decoded as
 * ogc_router_dispatch decodes it and matched against a route table with
 * {id}/{code} parameters (router.c's match), the id parsed as
 * ogc_util_path_id does; the query goes through evhttp_parse_query_str,
 * ogc_util_page and ogc_util_parse_id on every value.  Includes
 * core/router.c to reach its static functions.
 * Not for: the handlers (no database here).
 */
#include "../../core/router.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void fuzz_nop(og_req *req, const og_host_api *host)
{
	(void)req;
	(void)host;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const paths[] = {"/api/v1/residents",
	                                    "/api/v1/residents/{id}",
	                                    "/api/v1/residents/{id}/tags/{code}",
	                                    "/api/v1/residents/{id}/history",
	                                    "/api/v1/ledgers/{plugin}/{name}",
	                                    "/api/v1/regions/{id}/children",
	                                    "/healthz"};

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		ogc_router_add(NULL, OG_GET | OG_PATCH, paths[i], OG_PERM_AUTHENTICATED, fuzz_nop,
		               "fuzz");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *nl;
	og_req req;
	size_t dlen = 0;
	unsigned allowed = 0;
	int64_t id;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	nl = strchr(text, '\n');
	if (nl != NULL)
		*nl = '\0';

	memset(&req, 0, sizeof(req));
	TAILQ_INIT(&req.query);
	req.method = OG_GET;
	req.path = evhttp_uridecode(text[0] ? text : "/", 0, &dlen);
	if (req.path != NULL && strlen(req.path) == dlen && match(&req, OG_GET, &allowed) != NULL) {
		if (ogc_util_path_id(&req, "id", &id) == 0 && id <= 0)
			abort(); /* parse_id promises a positive id */
		(void)ogc_host_api()->path_param(&req, "code");
	}
	if (nl != NULL && evhttp_parse_query_str(nl + 1, &req.query) == 0) {
		struct evkeyval *kv;
		int limit;
		int64_t cursor;

		if (ogc_util_page(&req, &limit, &cursor) == 0 && (limit < 1 || limit > 500))
			abort();
		TAILQ_FOREACH(kv, &req.query, next)
		{
			if (ogc_util_parse_id(kv->value, &id) && id <= 0)
				abort();
			(void)ogc_util_utf8_len(kv->value);
		}
	}
	free_req(&req);
	free(text);
	return 0;
}

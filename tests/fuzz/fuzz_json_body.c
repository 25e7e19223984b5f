/*
 * tests/fuzz/fuzz_json_body.c — libFuzzer harness for the request body path:
 * router.c's read_body (size limit, Content-Type, the json_depth pre-scan,
 * Jansson with JSON_REJECT_DUPLICATES), then the resident validator
 * (residents.c, ogc_residents_validate) on whatever object parsed, whole
 * and as a PATCH.  Includes core/router.c to reach its static functions.
 * Not for: routing or the handlers' database work (no database here).
 */
#include "../../core/router.c"

#include <event2/http_struct.h>

static ogc_config fuzz_cfg = {.max_body_bytes = 1024 * 1024, .max_json_depth = 32};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	og_req req;
	char why[256];
	const char *field;
	json_t *out;

	memset(&req, 0, sizeof(req));
	TAILQ_INIT(&req.query);
	req.cfg = &fuzz_cfg;
	req.method = OG_POST;
	req.path = strdup("/api/v1/residents");
	req.ev = evhttp_request_new(NULL, NULL);
	evhttp_add_header(evhttp_request_get_input_headers(req.ev), "Content-Type",
	                  "application/json; charset=utf-8");
	evbuffer_add(evhttp_request_get_input_buffer(req.ev), data, size);

	if (read_body(&req) == 0 && json_is_object(req.body)) {
		for (int partial = 0; partial <= 1; partial++) {
			json_t *copy = json_deep_copy(req.body);

			out = NULL;
			field = NULL;
			(void)ogc_residents_validate(copy, partial, &out, &field, why, sizeof(why));
			json_decref(out);
			json_decref(copy);
		}
	}
	free(req.path);
	req.path = NULL;
	json_decref(req.body);
	json_decref(req.reply);
	evhttp_request_free(req.ev);
	return 0;
}

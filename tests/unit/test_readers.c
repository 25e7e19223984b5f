/*
 * tests/unit/test_readers.c — the request readers of og_host_api ABI 1.3
 * (body members and query parameters, core/util.c), called through the
 * host table as a plugin calls them, on a hand-made og_req.
 *
 * For: what each reader returns, what it hands back, and the 422 it sets
 * (status, code, the field it names, a message starting with that name).
 * Not for: routing, the body parser or the plugins' own checks; the API
 * tests drive those through the real daemon.  Links libonegrid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/queue.h>

#include <cmocka.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core.h"

/* A request with `query` ("a=1&b=x") and `body` (JSON text, may be NULL). */
static og_req *req_new(const char *query, const char *body)
{
	og_req *req = test_calloc(1, sizeof(*req));

	TAILQ_INIT(&req->query);
	assert_int_equal(evhttp_parse_query_str(query, &req->query), 0);
	if (body != NULL)
		/* JSON_ALLOW_NUL: the daemon's parser refuses "\u0000", but the
		 * readers must not rely on it. */
		assert_non_null(req->body = json_loads(body, JSON_DECODE_ANY | JSON_ALLOW_NUL,
		                                       NULL));
	return req;
}

static void req_free(og_req *req)
{
	evhttp_clear_headers(&req->query);
	json_decref(req->body);
	json_decref(req->reply);
	test_free(req);
}

/* The reply set is a 422 "invalid" naming field, its message starting
 * with `message` (the whole message when exact). */
static void expect_invalid(og_req *req, const char *field, const char *message, bool exact)
{
	json_t *err = json_object_get(req->reply, "error");
	const char *msg = json_string_value(json_object_get(err, "message"));

	assert_int_equal(req->status, 422);
	assert_string_equal(json_string_value(json_object_get(err, "code")), "invalid");
	assert_string_equal(json_string_value(json_object_get(err, "field")), field);
	assert_non_null(msg);
	if (exact)
		assert_string_equal(msg, message);
	else
		assert_memory_equal(msg, message, strlen(message));
}

static void test_table_is_abi_1_3(void **state)
{
	const og_host_api *h = ogc_host_api();

	(void)state;
	assert_int_equal(h->abi_minor, 3);
	assert_true(h->size >= offsetof(og_host_api, query_bool) + sizeof(h->query_bool));
	assert_non_null(h->body_object);
	assert_non_null(h->query_bool);
}

static void test_body_object(void **state)
{
	const og_host_api *h = ogc_host_api();
	og_req *req = req_new("", "{\"a\": 1}");
	json_t *err;

	(void)state;
	assert_ptr_equal(h->body_object(req), req->body);
	assert_int_equal(req->status, 0);
	req_free(req);

	req = req_new("", "[1]");
	assert_null(h->body_object(req));
	err = json_object_get(req->reply, "error");
	assert_int_equal(req->status, 400);
	assert_string_equal(json_string_value(json_object_get(err, "code")), "bad_request");
	req_free(req);

	req = req_new("", NULL);
	assert_null(h->body_object(req));
	assert_int_equal(req->status, 400);
	req_free(req);
}

static void test_body_text(void **state)
{
	const og_host_api *h = ogc_host_api();
	og_req *req = req_new("", "{\"name\": \"王小明\", \"n\": null, \"x\": 3, \"e\": \"\","
	                          " \"z\": \"a\\u0000b\"}");
	const char *s = "unset";

	(void)state;
	assert_int_equal(h->body_text(req, req->body, "name", 3, OG_REQUIRED, &s), 1);
	assert_string_equal(s, "王小明"); /* 3 characters, 9 bytes */
	assert_ptr_equal(s, json_string_value(json_object_get(req->body, "name"))); /* borrowed */
	assert_int_equal(h->body_text(req, req->body, "absent", 3, OG_OPTIONAL, &s), 0);
	assert_null(s);
	assert_int_equal(h->body_text(req, req->body, "n", 3, OG_OPTIONAL, &s), 0);
	assert_null(s);
	assert_int_equal(req->status, 0);

	assert_int_equal(h->body_text(req, req->body, "name", 2, OG_OPTIONAL, &s), -1);
	expect_invalid(req, "name", "name must be 1 to 2 characters (no NUL)", true);
	assert_int_equal(h->body_text(req, req->body, "n", 3, OG_REQUIRED, &s), -1);
	expect_invalid(req, "n", "n is required", true);
	assert_int_equal(h->body_text(req, req->body, "absent", 3, OG_REQUIRED, &s), -1);
	expect_invalid(req, "absent", "absent is required", true);
	assert_int_equal(h->body_text(req, req->body, "x", 3, OG_OPTIONAL, &s), -1);
	expect_invalid(req, "x", "x must be a string", true);
	assert_int_equal(h->body_text(req, req->body, "e", 3, OG_OPTIONAL, &s), -1);
	expect_invalid(req, "e", "e must be 1 to 3 characters", false);
	assert_int_equal(h->body_text(req, req->body, "z", 3, OG_OPTIONAL, &s), -1);
	expect_invalid(req, "z", "z must be 1 to 3 characters (no NUL)", true);
	req_free(req);
}

static void test_nested_member_is_named_by_its_path(void **state)
{
	static const char *const known[] = {"role", "name", NULL};
	const og_host_api *h = ogc_host_api();
	og_req *req = req_new("", "{\"parties\": [{\"role\": \"child\", \"name\": 5}]}");
	json_t *p = json_array_get(json_object_get(req->body, "parties"), 0);
	const char *s;

	(void)state;
	assert_int_equal(h->body_text(req, p, "parties[0].role", 10, OG_REQUIRED, &s), 1);
	assert_string_equal(s, "child");
	assert_int_equal(h->body_text(req, p, "parties[0].name", 10, OG_REQUIRED, &s), -1);
	expect_invalid(req, "parties[0].name", "parties[0].name must be a string", true);
	assert_int_equal(h->body_known_keys(req, p, known, "parties[0]"), 0);
	json_object_set_new(p, "colour", json_string("red"));
	assert_int_equal(h->body_known_keys(req, p, known, "parties[0]"), -1);
	expect_invalid(req, "parties[0].colour", "unknown field parties[0].colour", true);
	req_free(req);
}

static void test_body_known_keys(void **state)
{
	static const char *const known[] = {"a", "b", NULL};
	const og_host_api *h = ogc_host_api();
	og_req *req = req_new("", "{\"a\": 1, \"b\": 2}");

	(void)state;
	assert_int_equal(h->body_known_keys(req, req->body, known, NULL), 0);
	assert_int_equal(req->status, 0);
	json_object_set_new(req->body, "monthly_amount", json_integer(1));
	assert_int_equal(h->body_known_keys(req, req->body, known, NULL), -1);
	expect_invalid(req, "monthly_amount", "unknown field monthly_amount", true);
	req_free(req);
}

static void test_body_id_and_int(void **state)
{
	const og_host_api *h = ogc_host_api();
	og_req *req = req_new("", "{\"id\": 7, \"zero\": 0, \"s\": \"5\", \"f\": 1.5, \"n\": 61}");
	int64_t v = -1;

	(void)state;
	assert_int_equal(h->body_id(req, req->body, "id", OG_REQUIRED, &v), 1);
	assert_int_equal(v, 7);
	assert_int_equal(h->body_id(req, req->body, "absent", OG_OPTIONAL, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(h->body_id(req, req->body, "zero", OG_OPTIONAL, &v), -1);
	expect_invalid(req, "zero", "zero must be an id (a positive integer)", true);
	assert_int_equal(h->body_id(req, req->body, "s", OG_OPTIONAL, &v), -1);
	expect_invalid(req, "s", "s must be an id", false);
	assert_int_equal(h->body_id(req, req->body, "absent", OG_REQUIRED, &v), -1);
	expect_invalid(req, "absent", "absent is required", true);

	assert_int_equal(h->body_int(req, req->body, "zero", 0, 60, OG_REQUIRED, &v), 1);
	assert_int_equal(v, 0);
	assert_int_equal(h->body_int(req, req->body, "n", 0, 60, OG_OPTIONAL, &v), -1);
	expect_invalid(req, "n", "n must be an integer from 0 to 60", true);
	assert_int_equal(h->body_int(req, req->body, "f", 0, 60, OG_OPTIONAL, &v), -1);
	expect_invalid(req, "f", "f must be an integer from 0 to 60", true);
	req_free(req);
}

static void test_body_date(void **state)
{
	static const char *const good[] = {"2024-02-29", "1900-01-01", "2999-12-31", NULL};
	static const char *const bad[] = {"2023-02-29", "1899-12-31", "2024-13-01", "2024-04-31",
	                                  "2024-2-01",  "2024/02/01", "20240201",   NULL};
	const og_host_api *h = ogc_host_api();
	const char *s;

	(void)state;
	for (size_t i = 0; good[i] != NULL; i++) {
		og_req *req = req_new("", "{}");

		json_object_set_new(req->body, "on", json_string(good[i]));
		assert_int_equal(h->body_date(req, req->body, "on", OG_REQUIRED, &s), 1);
		assert_string_equal(s, good[i]);
		req_free(req);
	}
	for (size_t i = 0; bad[i] != NULL; i++) {
		og_req *req = req_new("", "{}");

		json_object_set_new(req->body, "on", json_string(bad[i]));
		assert_int_equal(h->body_date(req, req->body, "on", OG_OPTIONAL, &s), -1);
		expect_invalid(req, "on", "on must be a date written YYYY-MM-DD", true);
		req_free(req);
	}
}

static void test_body_enum(void **state)
{
	static const char *const kinds[] = {"visit", "phone", "referral", NULL};
	const og_host_api *h = ogc_host_api();
	og_req *req = req_new("", "{\"channel\": \"phone\", \"bad\": \"fax\", \"num\": 1}");
	const char *s;

	(void)state;
	assert_int_equal(h->body_enum(req, req->body, "channel", kinds, OG_REQUIRED, &s), 1);
	assert_ptr_equal(s, kinds[1]); /* the entry of values, not the body's string */
	assert_int_equal(h->body_enum(req, req->body, "absent", kinds, OG_OPTIONAL, &s), 0);
	assert_null(s);
	assert_int_equal(h->body_enum(req, req->body, "bad", kinds, OG_OPTIONAL, &s), -1);
	expect_invalid(req, "bad", "bad must be one of visit, phone, referral", true);
	assert_int_equal(h->body_enum(req, req->body, "num", kinds, OG_OPTIONAL, &s), -1);
	expect_invalid(req, "num", "num must be one of visit, phone, referral", true);
	req_free(req);
}

static void test_query_readers(void **state)
{
	static const char *const statuses[] = {"open", "closed", NULL};
	const og_host_api *h = ogc_host_api();
	og_req *req = req_new("region=12&year=2026&neg=-5&on=2024-02-29&status=open&active=false"
	                      "&empty=&bad=x1",
	                      NULL);
	int64_t v;
	const char *s;
	int b;

	(void)state;
	assert_int_equal(h->query_id(req, "region", &v), 1);
	assert_int_equal(v, 12);
	assert_int_equal(h->query_id(req, "absent", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(h->query_int(req, "year", 1990, 2999, &v), 1);
	assert_int_equal(v, 2026);
	assert_int_equal(h->query_int(req, "neg", -10, 10, &v), 1);
	assert_int_equal(v, -5);
	assert_int_equal(h->query_date(req, "on", &s), 1);
	assert_string_equal(s, "2024-02-29");
	assert_int_equal(h->query_enum(req, "status", statuses, &s), 1);
	assert_ptr_equal(s, statuses[0]);
	assert_int_equal(h->query_bool(req, "active", &b), 1);
	assert_int_equal(b, 0);
	assert_int_equal(h->query_bool(req, "absent", &b), 0);
	assert_int_equal(b, -1);
	assert_int_equal(req->status, 0);

	assert_int_equal(h->query_id(req, "empty", &v), -1);
	expect_invalid(req, "empty", "empty must be an id (a positive integer)", true);
	assert_int_equal(h->query_id(req, "neg", &v), -1);
	expect_invalid(req, "neg", "neg must be an id", false);
	assert_int_equal(h->query_int(req, "year", 1990, 2025, &v), -1);
	expect_invalid(req, "year", "year must be an integer from 1990 to 2025", true);
	assert_int_equal(h->query_int(req, "bad", 0, 10, &v), -1);
	expect_invalid(req, "bad", "bad must be an integer", false);
	assert_int_equal(h->query_date(req, "year", &s), -1);
	expect_invalid(req, "year", "year must be a date written YYYY-MM-DD", true);
	assert_int_equal(h->query_enum(req, "bad", statuses, &s), -1);
	expect_invalid(req, "bad", "bad must be one of open, closed", true);
	assert_int_equal(h->query_bool(req, "status", &b), -1);
	expect_invalid(req, "status", "status must be true or false", true);
	req_free(req);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_is_abi_1_3),
		cmocka_unit_test(test_body_object),
		cmocka_unit_test(test_body_text),
		cmocka_unit_test(test_nested_member_is_named_by_its_path),
		cmocka_unit_test(test_body_known_keys),
		cmocka_unit_test(test_body_id_and_int),
		cmocka_unit_test(test_body_date),
		cmocka_unit_test(test_body_enum),
		cmocka_unit_test(test_query_readers),
	};

	return cmocka_run_group_tests_name("readers", tests, NULL, NULL);
}

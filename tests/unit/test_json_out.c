/*
 * tests/unit/test_json_out.c — core/json_out.c writes exactly what
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes, and fails where it
 * fails: scalars, every escape, multi-byte and invalid UTF-8, key order,
 * nesting, cycles, and a few thousand random values.
 *
 * Not for: how replies use it (the API tests read every reply back).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

struct text {
	char buf[1 << 16];
	size_t n;
	size_t limit; /* the sink stops past this many bytes */
};

static int to_text(const char *data, size_t len, void *arg)
{
	struct text *t = arg;

	if (t->n + len > t->limit || t->n + len >= sizeof(t->buf))
		return -1;
	memcpy(t->buf + t->n, data, len);
	t->n += len;
	return 0;
}

/* Both encoders agree on v: the same text, or both fail. */
static void expect_same(json_t *v)
{
	static struct text t;
	char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	int rc;

	t.n = 0;
	t.limit = sizeof(t.buf);
	rc = ogc_json_write(v, to_text, &t);
	if (want == NULL) {
		assert_int_equal(rc, -1);
		return;
	}
	assert_int_equal(rc, 0);
	t.buf[t.n] = '\0';
	assert_int_equal(t.n, strlen(want));
	assert_memory_equal(t.buf, want, t.n);
	free(want);
}

static void same_and_free(json_t *v)
{
	expect_same(v);
	json_decref(v);
}

static void test_scalars(void **state)
{
	static const double reals[] = {0.0,   -0.0, 0.1,           3.0,      -2.5,
	                               1e300, 1e-7, 123456789.125, 1.0 / 3.0};
	(void)state;
	same_and_free(json_null());
	same_and_free(json_true());
	same_and_free(json_false());
	same_and_free(json_integer(0));
	same_and_free(json_integer(-1));
	same_and_free(json_integer(42));
	same_and_free(json_integer(INT64_MAX));
	same_and_free(json_integer(INT64_MIN));
	for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++)
		same_and_free(json_real(reals[i]));
}

static void test_escapes(void **state)
{
	char s[2];

	(void)state;
	for (int c = 1; c < 0x80; c++) {
		s[0] = (char)c;
		same_and_free(json_stringn(s, 1));
	}
	same_and_free(json_string(""));
	same_and_free(json_string("plain text / with a slash"));
	same_and_free(json_string("\"quoted\" and \\back\\slashed\\"));
	same_and_free(json_string("tab\there\r\nnew line\b\f\x01\x1f\x7f"));
	same_and_free(json_stringn("nul\0inside", 10));
}

static void test_utf8(void **state)
{
	static const char *const invalid[] = {
	        "\x80",             /* lone continuation byte */
	        "\xC0\x80",         /* overlong NUL */
	        "\xC1\xBF",         /* overlong */
	        "\xE0\x80\x80",     /* overlong */
	        "\xE0\x9F\xBF",     /* overlong U+07FF, the largest */
	        "\xF0\x8F\xBF\xBF", /* overlong U+FFFF in four bytes */
	        "\xED\xA0\x80",     /* surrogate */
	        "\xF4\x90\x80\x80", /* past U+10FFFF */
	        "\xF5\x80\x80\x80", /* invalid lead */
	        "\xE4\xB8",         /* truncated */
	        "ok\xE4\xB8",       /* truncated at the end */
	        "\xE4\x41\x80",     /* bad continuation */
	};
	(void)state;
	same_and_free(json_string("网格员 一网通 ünïcödé"));
	same_and_free(json_string("emoji \xF0\x9F\x98\x80 and U+10FFFF \xF4\x8F\xBF\xBF"));
	same_and_free(json_string("\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80"));
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		same_and_free(json_stringn_nocheck(invalid[i], strlen(invalid[i])));
}

static void test_containers(void **state)
{
	json_t *o, *a;

	(void)state;
	same_and_free(json_object());
	same_and_free(json_array());
	same_and_free(json_pack("{s:i, s:s, s:[i, s, n, b, {}], s:{s:{s:[]}}}", "id", 7, "名字",
	                        "张三", "list", 1, "x", 0, "deep", "a", "b"));
	/* Key order is insertion order, also after a deletion and re-insertion. */
	o = json_object();
	json_object_set_new(o, "z", json_integer(1));
	json_object_set_new(o, "a", json_integer(2));
	json_object_set_new(o, "m", json_integer(3));
	json_object_del(o, "a");
	json_object_set_new(o, "a", json_string("again"));
	json_object_set_new(o, "key \"with\" \\ and \n", json_true());
	json_object_setn_new(o, "nul\0key", 7, json_false());
	same_and_free(o);
	/* An array of many small objects: the shape of a list reply. */
	a = json_array();
	for (int i = 0; i < 200; i++)
		json_array_append_new(a,
		                      json_pack("{s:i, s:s, s:n}", "id", i, "name", "李四", "x"));
	same_and_free(a);
}

static void test_cycle_fails(void **state)
{
	json_t *a = json_array(), *b = json_array();
	struct text t = {.n = 0, .limit = sizeof(t.buf)};

	(void)state;
	json_array_append(a, b);
	json_array_append(b, a);
	assert_null(json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY));
	assert_int_equal(ogc_json_write(a, to_text, &t), -1);
	json_array_clear(b); /* break the cycle so both can be freed */
	json_decref(a);
	json_decref(b);
}

static void test_sink_stop_fails(void **state)
{
	json_t *v = json_pack("{s:s, s:[i, i, i]}", "a", "some text", "b", 1, 2, 3);
	struct text t = {.n = 0, .limit = 10};

	(void)state;
	assert_int_equal(ogc_json_write(v, to_text, &t), -1);
	json_decref(v);
}

/* A small deterministic generator (xorshift), so a failure can be replayed. */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* Random text: ASCII, controls, escapes, 2-4 byte characters and now and
 * then a byte that breaks UTF-8. */
static size_t random_text(char *s, size_t max)
{
	static const char *const pieces[] = {"a",    "Z",    " ",   "\"",   "\\",
	                                     "/",    "\n",   "\t",  "\x01", "\x1f",
	                                     "\x7f", "é",    "中",  "网格", "\xF0\x9F\x98\x80",
	                                     "\0",   "\xC3", "\x80"};
	size_t n = 0, k = rnd(12);

	for (size_t i = 0; i < k; i++) {
		unsigned p = rnd(rnd(40) == 0 ? 18 : 16); /* invalid bytes are rare */
		size_t len = p == 15 ? 1 : strlen(pieces[p]);
		if (n + len > max)
			break;
		memcpy(s + n, pieces[p], len);
		n += len;
	}
	return n;
}

static json_t *random_value(int depth)
{
	char s[64];
	size_t n;

	switch (rnd(depth > 4 ? 6 : 8)) {
	case 0:
		return json_null();
	case 1:
		return rnd(2) ? json_true() : json_false();
	case 2:
		return json_integer((json_int_t)rnd(2000000) - 1000000);
	case 3:
		return json_real((double)rnd(100000) / 64.0 - 700.0);
	case 4:
	case 5:
		n = random_text(s, sizeof(s));
		return json_stringn_nocheck(s, n);
	case 6: {
		json_t *a = json_array();
		for (unsigned i = rnd(5); i > 0; i--)
			json_array_append_new(a, random_value(depth + 1));
		return a;
	}
	default: {
		json_t *o = json_object();
		for (unsigned i = rnd(5); i > 0; i--) {
			n = random_text(s, sizeof(s) - 1);
			s[n] = '\0';
			/* keys through the checked setter: invalid ones are refused */
			json_object_set_new(o, s, random_value(depth + 1));
		}
		return o;
	}
	}
}

static void test_random_values(void **state)
{
	(void)state;
	for (int i = 0; i < 5000; i++)
		same_and_free(random_value(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_scalars),       cmocka_unit_test(test_escapes),
	        cmocka_unit_test(test_utf8),          cmocka_unit_test(test_containers),
	        cmocka_unit_test(test_cycle_fails),   cmocka_unit_test(test_sink_stop_fails),
	        cmocka_unit_test(test_random_values),
	};

	return cmocka_run_group_tests_name("json_out", tests, NULL, NULL);
}

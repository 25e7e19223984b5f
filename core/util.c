/*
 * core/util.c — small request helpers every route needs: ids from the
 * path, page parameters, the version a client read, a body that must be a
 * JSON object, integer members, list envelopes and cutting a page to its
 * limit, ILIKE patterns for ?q= searches; and the readers of body members
 * and query parameters (text, id, integer, date, enum, bool, unknown keys)
 * that plugins reach through og_host_api ABI 1.3.
 *
 * They exist once so that every core route and every plugin (through the
 * host API) answers the same bad input with the same error.  Nothing here
 * touches the database.  Also: handing freed memory back to the system
 * after a large request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_MALLOC_TRIM
#include <malloc.h>
#endif

#include <event2/http.h>

#include "core.h"

bool ogc_util_parse_id(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || s[0] < '0' || s[0] > '9' || strlen(s) > 19)
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return false;
	*out = v;
	return true;
}

void ogc_util_invalid(og_req *req, const char *field, const char *message)
{
	ogc_req_reply_error(req, 422, "invalid", message, field);
}

bool ogc_util_body_object(og_req *req, json_t *body, bool optional)
{
	if (json_is_object(body) || (body == NULL && optional))
		return true;
	ogc_req_reply_error(req, 400, "bad_request", "request body must be a JSON object", NULL);
	return false;
}

int ogc_util_path_id(og_req *req, const char *name, int64_t *out)
{
	const char *v = ogc_host_api()->path_param(req, name);

	/* A non-numeric or negative id names no row: 404, not 400, so that
	 * probing ids tells nothing. */
	if (!ogc_util_parse_id(v, out)) {
		ogc_req_reply_error(req, 404, "not_found", "no such row", NULL);
		return -1;
	}
	return 0;
}

int ogc_util_page(og_req *req, int *limit, int64_t *cursor)
{
	const char *l = evhttp_find_header(&req->query, "limit");
	const char *c = evhttp_find_header(&req->query, "cursor");
	int64_t v;

	*limit = 50;
	*cursor = 0;
	if (l != NULL) {
		if (!ogc_util_parse_id(l, &v) || v > 500) {
			ogc_util_invalid(req, "limit", "limit must be an integer from 1 to 500");
			return -1;
		}
		*limit = (int)v;
	}
	if (c != NULL && c[0] != '\0') {
		if (!ogc_util_parse_id(c, &v)) {
			ogc_util_invalid(req, "cursor", "cursor is not one this API returned");
			return -1;
		}
		*cursor = v;
	}
	return 0;
}

int ogc_util_client_version(og_req *req, json_t *body, int64_t *version)
{
	json_t *v = body ? json_object_get(body, "version") : NULL;
	const char *h;

	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			ogc_util_invalid(req, "version", "version must be the integer you read");
			return -1;
		}
		*version = json_integer_value(v);
		return 0;
	}
	h = evhttp_find_header(evhttp_request_get_input_headers(req->ev), "If-Match");
	if (h != NULL) {
		char buf[32];
		size_t n;

		if (strncmp(h, "W/", 2) == 0)
			h += 2;
		n = strlen(h);
		if (n >= 2 && h[0] == '"' && h[n - 1] == '"') {
			h++;
			n -= 2;
		}
		if (n < sizeof(buf)) {
			memcpy(buf, h, n);
			buf[n] = '\0';
			if (ogc_util_parse_id(buf, version))
				return 0;
		}
		ogc_util_invalid(req, "version", "If-Match must carry the version you read");
		return -1;
	}
	ogc_util_invalid(req, "version",
	                 "version is required (the version you read, in the body or If-Match)");
	return -1;
}

uint64_t ogc_util_fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

json_t *ogc_util_list(json_t *items, int64_t next_cursor)
{
	char buf[24];

	if (next_cursor <= 0)
		return json_pack("{s:o, s:n}", "items", items, "next_cursor");
	snprintf(buf, sizeof(buf), "%lld", (long long)next_cursor);
	return json_pack("{s:o, s:s}", "items", items, "next_cursor", buf);
}

const char *ogc_util_scope(og_req *req)
{
	return req->authenticated && req->caller.scope_path ? req->caller.scope_path : "";
}

int64_t ogc_util_json_id(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

size_t ogc_util_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

char *ogc_util_like_pattern(const char *s, size_t n)
{
	char *pattern = malloc(2 * n + 3), *p = pattern;

	if (pattern == NULL)
		return NULL;
	*p++ = '%';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			*p++ = '\\';
		*p++ = s[i];
	}
	*p++ = '%';
	*p = '\0';
	return pattern;
}

int64_t ogc_util_page_cut(json_t **items, int limit)
{
	json_t *last;
	size_t n;

	if (!json_is_array(*items)) {
		json_decref(*items);
		*items = json_array();
	}
	n = json_array_size(*items);
	if (n <= (size_t)limit)
		return 0;
	while (json_array_size(*items) > (size_t)limit)
		json_array_remove(*items, json_array_size(*items) - 1);
	last = json_array_get(*items, (size_t)limit - 1);
	return json_integer_value(json_object_get(last, "id"));
}

/* ------------------------------------------------------------------ */
/* Readers of body members and query parameters (og_host_api ABI 1.3).
 * Each returns 1 present, 0 absent (and not required), -1 after a 422
 * naming the member or parameter; the messages start with that name. */

bool ogc_util_date_valid(const char *s)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, m, d, max;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = atoi(s);
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1)
		return false;
	max = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		max = 29;
	return d <= max;
}

/* A 422 naming field, the message formatted (it starts with the name). */
static void invalidf(og_req *req, const char *field, const char *fmt, ...) OG_PRINTF(3, 4);

static void invalidf(og_req *req, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ogc_util_invalid(req, field, msg);
}

/* "<name> must be one of a, b, c" for an enum refused. */
static void invalid_enum(og_req *req, const char *name, const char *const *values)
{
	char list[400];
	size_t used = 0;

	list[0] = '\0';
	for (size_t i = 0; values[i] != NULL && used < sizeof(list); i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
		                         values[i]);
	invalidf(req, name, "%s must be one of %s", name, list);
}

/* The entry of values (NULL-terminated) equal to s, or NULL. */
static const char *one_of(const char *s, const char *const *values)
{
	for (size_t i = 0; s != NULL && values[i] != NULL; i++)
		if (strcmp(values[i], s) == 0)
			return values[i];
	return NULL;
}

/*
 * Member `name` of obj: its key is the part after the last '.', so that a
 * member of a nested object may be named by its JSON path.  1 with *v
 * borrowed; 0 when absent or null and not required; -1 after a 422.
 */
static int member(og_req *req, json_t *obj, const char *name, int required, json_t **v)
{
	const char *dot = strrchr(name, '.');

	*v = json_object_get(obj, dot != NULL ? dot + 1 : name);
	if (*v != NULL && !json_is_null(*v))
		return 1;
	*v = NULL;
	if (!required)
		return 0;
	invalidf(req, name, "%s is required", name);
	return -1;
}

json_t *ogc_util_body(og_req *req)
{
	return ogc_util_body_object(req, req->body, false) ? req->body : NULL;
}

int ogc_util_body_known_keys(og_req *req, json_t *obj, const char *const *known, const char *path)
{
	const char *key;
	json_t *v;
	char field[160];

	json_object_foreach(obj, key, v) {
		(void)v;
		if (one_of(key, known) != NULL)
			continue;
		if (path != NULL && path[0] != '\0')
			snprintf(field, sizeof(field), "%s.%.64s", path, key);
		else
			snprintf(field, sizeof(field), "%.64s", key);
		invalidf(req, field, "unknown field %s", field);
		return -1;
	}
	return 0;
}

/*
 * The check of each kind, shared by a body member and a query parameter so
 * that both answer with the same message: 1 with *out set, or -1 after the
 * 422.  ok says the value had the right JSON type or parsed as a number.
 */
static int take_id(og_req *req, const char *name, bool ok, int64_t v, int64_t *out)
{
	if (!ok || v < 1) {
		invalidf(req, name, "%s must be an id (a positive integer)", name);
		return -1;
	}
	*out = v;
	return 1;
}

static int take_int(og_req *req, const char *name, bool ok, int64_t v, int64_t min, int64_t max,
                    int64_t *out)
{
	if (!ok || v < min || v > max) {
		invalidf(req, name, "%s must be an integer from %" PRId64 " to %" PRId64, name, min,
		         max);
		return -1;
	}
	*out = v;
	return 1;
}

/* s: NULL when the member is not a string. */
static int take_date(og_req *req, const char *name, const char *s, const char **out)
{
	if (!ogc_util_date_valid(s)) {
		invalidf(req, name, "%s must be a date written YYYY-MM-DD", name);
		return -1;
	}
	*out = s;
	return 1;
}

static int take_enum(og_req *req, const char *name, const char *s, const char *const *values,
                     const char **out)
{
	if ((*out = one_of(s, values)) != NULL)
		return 1;
	invalid_enum(req, name, values);
	return -1;
}

int ogc_util_body_text(og_req *req, json_t *obj, const char *name, size_t max, int required,
                       const char **out)
{
	json_t *v;
	const char *s;
	size_t n;
	int rc = member(req, obj, name, required, &v);

	*out = NULL;
	if (rc <= 0)
		return rc;
	if (!json_is_string(v)) {
		invalidf(req, name, "%s must be a string", name);
		return -1;
	}
	s = json_string_value(v);
	n = ogc_util_utf8_len(s);
	/* A "\u0000" inside the string would be cut short by the database. */
	if (strlen(s) != json_string_length(v) || n < 1 || n > max) {
		invalidf(req, name, "%s must be 1 to %zu characters (no NUL)", name, max);
		return -1;
	}
	*out = s;
	return 1;
}

int ogc_util_body_id(og_req *req, json_t *obj, const char *name, int required, int64_t *out)
{
	json_t *v;
	int rc = member(req, obj, name, required, &v);

	*out = 0;
	if (rc <= 0)
		return rc;
	return take_id(req, name, json_is_integer(v), json_integer_value(v), out);
}

int ogc_util_body_int(og_req *req, json_t *obj, const char *name, int64_t min, int64_t max,
                      int required, int64_t *out)
{
	json_t *v;
	int rc = member(req, obj, name, required, &v);

	*out = 0;
	if (rc <= 0)
		return rc;
	return take_int(req, name, json_is_integer(v), json_integer_value(v), min, max, out);
}

int ogc_util_body_date(og_req *req, json_t *obj, const char *name, int required, const char **out)
{
	json_t *v;
	int rc = member(req, obj, name, required, &v);

	*out = NULL;
	return rc <= 0 ? rc : take_date(req, name, json_string_value(v), out);
}

int ogc_util_body_enum(og_req *req, json_t *obj, const char *name, const char *const *values,
                       int required, const char **out)
{
	json_t *v;
	int rc = member(req, obj, name, required, &v);

	*out = NULL;
	return rc <= 0 ? rc : take_enum(req, name, json_string_value(v), values, out);
}

int ogc_util_query_id(og_req *req, const char *name, int64_t *out)
{
	const char *s = evhttp_find_header(&req->query, name);
	int64_t v = 0;
	bool ok;

	*out = 0;
	if (s == NULL)
		return 0;
	ok = ogc_util_parse_id(s, &v); /* before v is read: argument order is unspecified */
	return take_id(req, name, ok, v, out);
}

int ogc_util_query_int(og_req *req, const char *name, int64_t min, int64_t max, int64_t *out)
{
	const char *s = evhttp_find_header(&req->query, name);
	const char *digits = s != NULL && s[0] == '-' ? s + 1 : s;
	char *end = NULL;
	long long v = 0;

	*out = 0;
	if (s == NULL)
		return 0;
	/* Digits with an optional minus: not "+1", " 1", "1x", nor overflow. */
	errno = 0;
	if (digits[0] >= '0' && digits[0] <= '9')
		v = strtoll(s, &end, 10);
	return take_int(req, name, end != NULL && *end == '\0' && errno == 0, v, min, max, out);
}

int ogc_util_query_date(og_req *req, const char *name, const char **out)
{
	const char *s = evhttp_find_header(&req->query, name);

	*out = NULL;
	return s == NULL ? 0 : take_date(req, name, s, out);
}

int ogc_util_query_enum(og_req *req, const char *name, const char *const *values, const char **out)
{
	const char *s = evhttp_find_header(&req->query, name);

	*out = NULL;
	return s == NULL ? 0 : take_enum(req, name, s, values, out);
}

int ogc_util_query_bool(og_req *req, const char *name, int *out)
{
	const char *s = evhttp_find_header(&req->query, name);

	*out = -1;
	if (s == NULL)
		return 0;
	if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
		*out = s[0] == 't';
		return 1;
	}
	invalidf(req, name, "%s must be true or false", name);
	return -1;
}

void ogc_util_release_memory(void)
{
#ifdef HAVE_MALLOC_TRIM
	(void)malloc_trim(0);
#endif
}

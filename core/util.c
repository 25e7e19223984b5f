/*
 * core/util.c — small request helpers every route needs: ids from the
 * path, page parameters, the version a client read, a body that must be a
 * JSON object, integer members, list envelopes and cutting a page to its
 * limit, ILIKE patterns for ?q= searches.
 *
 * They exist once so that every core route and every plugin (through the
 * host API) answers the same bad input with the same error.  Nothing here
 * touches the database.  Also: handing freed memory back to the system
 * after a large request.
 */
#include <errno.h>
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

void ogc_util_release_memory(void)
{
#ifdef HAVE_MALLOC_TRIM
	(void)malloc_trim(0);
#endif
}

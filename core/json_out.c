/*
 * core/json_out.c — writes a Jansson value as compact JSON text: the same
 * bytes as json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY), handed to a
 * caller's sink in pieces.
 *
 * Why not Jansson's own encoder (json_dump_callback): for every object and
 * array it formats the container's address with snprintf into a hash table
 * (set up with a malloc per call) to detect cycles, and it calls the sink
 * for every token; on a small reply that cost more instructions than the
 * rest of the daemon's own work for it.  This encoder bounds the depth
 * instead (a cycle ends in an error, as it does in Jansson) and passes
 * strings on in runs.  Reals are rare in replies and their formatting is
 * subtle, so they are left to Jansson.  tests/unit/test_json_out.c holds
 * the two encoders to the same output.
 *
 * Two differences, neither reachable through the checked Jansson setters:
 * an object key that is not valid UTF-8 (json_object_set_nocheck) fails
 * here, where Jansson writes broken text; and nesting deeper than
 * MAX_DEPTH fails (parsed bodies are limited to max_json_depth anyway).
 *
 * Not for: parsing, indentation, sorted keys or any other json_dumps flag.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Deeper than any reply; a cyclic value reaches it and fails. */
#define MAX_DEPTH 2048

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid:
 * Jansson's rules (utf.c): no overlong forms, no surrogates, nothing past
 * U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned long v;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, v = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, v = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, v = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (len == 3 && v < 0x800) ||
	    (len == 4 && v < 0x10000))
		return 0;
	return len;
}

static int write_string(const char *str, size_t len, ogc_json_sink sink, void *arg)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0, i = 0;

	if (sink("\"", 1, arg) != 0)
		return -1;
	while (i < len) {
		unsigned char c = s[i];
		char esc[6];
		size_t elen = 2;

		if (c >= 0x20 && c != '"' && c != '\\') {
			size_t k = c < 0x80 ? 1 : utf8_len(s + i, len - i);
			if (k == 0)
				return -1;
			i += k;
			continue;
		}
		/* c needs an escape: pass on the run before it */
		if (i > run && sink(str + run, i - run, arg) != 0)
			return -1;
		esc[0] = '\\';
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default: /* other control characters, as Jansson: \u00XX, upper case */
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			elen = 6;
			break;
		}
		if (sink(esc, elen, arg) != 0)
			return -1;
		run = ++i;
	}
	if (i > run && sink(str + run, i - run, arg) != 0)
		return -1;
	return sink("\"", 1, arg);
}

static int write_integer(json_int_t v, ogc_json_sink sink, void *arg)
{
	char buf[24];
	int k = (int)sizeof(buf);
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	do
		buf[--k] = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (v < 0)
		buf[--k] = '-';
	return sink(buf + k, sizeof(buf) - (size_t)k, arg);
}

static int write_value(const json_t *v, int depth, ogc_json_sink sink, void *arg)
{
	if (v == NULL || depth > MAX_DEPTH)
		return -1;
	switch (json_typeof(v)) {
	case JSON_NULL:
		return sink("null", 4, arg);
	case JSON_TRUE:
		return sink("true", 4, arg);
	case JSON_FALSE:
		return sink("false", 5, arg);
	case JSON_INTEGER:
		return write_integer(json_integer_value(v), sink, arg);
	case JSON_STRING:
		return write_string(json_string_value(v), json_string_length(v), sink, arg);
	case JSON_REAL: {
		char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY); /* new */
		int rc = text ? sink(text, strlen(text), arg) : -1;
		free(text);
		return rc;
	}
	case JSON_ARRAY: {
		size_t n = json_array_size(v);

		if (sink("[", 1, arg) != 0)
			return -1;
		for (size_t i = 0; i < n; i++) {
			if ((i > 0 && sink(",", 1, arg) != 0) ||
			    write_value(json_array_get(v, i), depth + 1, sink, arg) != 0)
				return -1;
		}
		return sink("]", 1, arg);
	}
	case JSON_OBJECT: {
		bool first = true;

		if (sink("{", 1, arg) != 0)
			return -1;
		/* Jansson keeps keys in insertion order; its iterator gives it. */
		for (void *it = json_object_iter((json_t *)v); it != NULL;
		     it = json_object_iter_next((json_t *)v, it)) {
			if ((!first && sink(",", 1, arg) != 0) ||
			    write_string(json_object_iter_key(it), json_object_iter_key_len(it),
			                 sink, arg) != 0 ||
			    sink(":", 1, arg) != 0 ||
			    write_value(json_object_iter_value(it), depth + 1, sink, arg) != 0)
				return -1;
			first = false;
		}
		return sink("}", 1, arg);
	}
	}
	return -1;
}

int ogc_json_write(const json_t *value, ogc_json_sink sink, void *arg)
{
	return write_value(value, 0, sink, arg);
}

/*
 * tests/fuzz/fuzz_json_out.c — differential libFuzzer harness for the reply
 * encoder: whatever Jansson parses, core/json_out.c must write as the very
 * bytes json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) writes, or fail where
 * Jansson fails.  Abort on the first difference, so a finding is a crash
 * file with the input that shows it.
 * Not for: Jansson's parser itself, or what the daemon puts in replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

typedef struct out_buf {
	char *data;
	size_t len, cap;
} out_buf;

static int sink(const char *data, size_t len, void *arg)
{
	out_buf *b = arg;

	if (b->len + len + 1 > b->cap) {
		size_t cap = (b->len + len + 1) * 2;
		char *p = realloc(b->data, cap);

		if (p == NULL)
			return -1;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	out_buf b = {NULL, 0, 0};
	char *want;
	int rc;

	if (v == NULL)
		return 0;
	want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	rc = ogc_json_write(v, sink, &b);
	if ((want == NULL) != (rc != 0) ||
	    (want != NULL && (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0))) {
		fprintf(stderr, "json_out differs from json_dumps:\n  jansson: %s\n  ours:    %.*s\n",
		        want ? want : "(fails)", (int)b.len, b.data ? b.data : "");
		abort();
	}
	free(want);
	free(b.data);
	json_decref(v);
	return 0;
}

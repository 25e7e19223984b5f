/*
 * tests/fuzz/fuzz_import.c — libFuzzer harness for the bulk import's
 * parsing (core/transfer.c): the first input byte picks CSV (even) or
 * NDJSON (odd), the rest is the body.  Runs the UTF-8 scan and the GB18030
 * conversion a GBK upload goes through, then the libcsv callbacks (header
 * mapping in Chinese or English, records) or the NDJSON line splitter, and
 * every row through the resident validator into the COPY buffer, with a
 * table of two grids.  Includes core/transfer.c for its static functions.
 * Not for: loading (COPY needs a database).
 */
#include "../../core/transfer.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	og_req req;
import im;
	size_t outlen = 0, bad_at = 0;
	char *conv;
	const char *body = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;

	if (size == 0)
		return 0;
	memset(&req, 0, sizeof(req));
	memset(&im, 0, sizeof(im));
	im.req = &req;
	im.copy = evbuffer_new();
	im.default_grid = 7;
	im.ngrids = 2;
	im.by_code = calloc(2, sizeof(grid));
	im.by_id = calloc(2, sizeof(grid));
	im.by_code[0] = (grid){"11010500100101", 7, false};
	im.by_code[1] = (grid){"11010500100102", 8, true};
	memcpy(im.by_id, im.by_code, 2 * sizeof(grid));

	(void)utf8_bad_at((const unsigned char *)body, len);
	conv = gb18030_to_utf8(body, len, &outlen, &bad_at);
	free(conv);
	if (data[0] % 2 == 0)
		(void)parse_csv(&im, body, len);
	else
		parse_ndjson(&im, body, len);
	json_decref(errors_json(&im));
	import_free(&im);
	json_decref(req.reply);
	return 0;
}

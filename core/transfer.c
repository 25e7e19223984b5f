/*
 * core/transfer.c — bulk import and export of residents.
 *
 * POST /api/v1/import/residents takes a CSV file (Chinese or English
 * column headers, parsed by libcsv: quoted fields, embedded newlines, CRLF,
 * a UTF-8 BOM; GBK/GB18030 converted with iconv when the client says so,
 * refused otherwise) or NDJSON (one API resident object per line).  Every
 * row goes through ogc_residents_validate, the same rules as POST
 * /api/v1/residents, and through the caller's scope; the rows that pass are
 * loaded with one COPY into a temporary table, checked for duplicate ID
 * numbers (in the file and in the database) in one statement, and moved
 * into core.household / core.resident with one INSERT ... SELECT each, all
 * inside the request's transaction: a 100,000-row file is a dozen
 * statements plus one FETCH per 1,000 rows for the hooks, never one
 * statement per row.  ?mode=all_or_nothing writes nothing when any row is
 * bad.  One audit row records the import.
 *
 * Households: rows with a household number join the household of that
 * number in their grid or create it once per file; rows with only an
 * address do the same by address.  A row names its grid by code or id,
 * resolved among the grids of the caller's scope (a grid worker's rows may
 * leave it out).  The columns an export writes are accepted back (the
 * read-only ones are dropped), so an export can be re-imported.
 *
 * GET /api/v1/export/residents streams the caller's scope (or a region in
 * it) as CSV or NDJSON from a server-side cursor, masked exactly as the
 * resident API masks; an unmasked export is audited.
 *
 * Not here: the validation rules themselves (residents.c), the change feed
 * rows the import causes (written by triggers), deciding which bodies reach
 * a handler unparsed (router.c passes text/csv, application/x-ndjson and
 * application/octet-stream under /api/v1/import/ through untouched).
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "core.h"

#define MAX_REPLY_ERRORS 1000 /* row errors listed in a reply; all are counted */
#define COPY_CHUNK (1 << 20)  /* bytes handed to PQputCopyData at a time */
#define FETCH_ROWS "1000"     /* rows per FETCH from a cursor */
#define HOUSEHOLD_NUMBER_MAX 40
#define ADDRESS_MAX 200
#define MAX_COLUMNS 64

/* ------------------------------------------------------------------ */
/* Vocabulary: API values and their Chinese words, both ways */

typedef struct word {
	const char *value; /* the API's value */
	const char *zh;    /* the word written in exports, first of its value */
} word;

static const word id_type_words[] = {{"resident_id", "居民身份证"},
                                     {"passport", "护照"},
                                     {"hmt_permit", "港澳台居民居住证"},
                                     {"foreign_permanent", "外国人永久居留身份证"},
                                     {"none", "无"},
                                     {"resident_id", "身份证"},
                                     {"resident_id", "二代身份证"},
                                     {"hmt_permit", "港澳居民居住证"},
                                     {"hmt_permit", "台湾居民居住证"},
                                     {"hmt_permit", "港澳居民来往内地通行证"},
                                     {"hmt_permit", "台湾居民来往大陆通行证"},
                                     {"foreign_permanent", "外国人永久居留证"},
                                     {"foreign_permanent", "外国人永久居留身份证件"},
                                     {NULL, NULL}};
static const word gender_words[] = {{"male", "男"}, {"female", "女"}, {NULL, NULL}};
static const word residence_words[] = {{"registered", "户籍"},
                                       {"resident", "常住"},
                                       {"floating", "流动"},
                                       {"registered", "户籍人口"},
                                       {"resident", "常住人口"},
                                       {"floating", "流动人口"},
                                       {NULL, NULL}};
static const word life_words[] = {{"active", "正常"}, {"moved_out", "迁出"}, {"deceased", "死亡"},
                                  {"active", "在册"}, {"deceased", "已故"},  {NULL, NULL}};
static const word kind_words[] = {{"registered", "户籍户"},
                                  {"resident", "常住户"},
                                  {"rented", "租住户"},
                                  {"collective", "集体户"},
                                  {"registered", "户籍"},
                                  {"resident", "常住"},
                                  {"rented", "租住"},
                                  {"rented", "租户"},
                                  {"rented", "出租户"},
                                  {"collective", "集体"},
                                  {NULL, NULL}};

/* The API value for a Chinese word or an API value in any case; NULL when
 * s is neither (the caller passes s on for the validator to name). */
static const char *word_value(const word *w, const char *s)
{
	for (; w->value != NULL; w++)
		if (strcmp(w->zh, s) == 0 || strcasecmp(w->value, s) == 0)
			return w->value;
	return NULL;
}

static const char *word_zh(const word *w, const char *value)
{
	for (; value != NULL && w->value != NULL; w++)
		if (strcmp(w->value, value) == 0)
			return w->zh;
	return value;
}

/* ------------------------------------------------------------------ */
/* Columns of the CSV file */

enum column {
	COL_IGNORED, /* export-only columns (id, age, tags ...): read and dropped */
	COL_NAME,
	COL_ID_TYPE,
	COL_ID_NUMBER,
	COL_GENDER,
	COL_BIRTH_DATE,
	COL_ETHNICITY,
	COL_PHONE,
	COL_RESIDENCE,
	COL_PROVINCE,
	COL_GRID_CODE,
	COL_GRID_ID,
	COL_HOUSEHOLD_ID,
	COL_HOUSEHOLD_NUMBER,
	COL_ADDRESS,
	COL_HOUSEHOLD_KIND,
	COL_RELATION,
	COL_LIFE_STATUS,
	COL_COUNT
};

/* The field name of each column: the API's name, the English header, the
 * key of an NDJSON row. */
static const char *const column_field[COL_COUNT] = {
        [COL_IGNORED] = "",
        [COL_NAME] = "name",
        [COL_ID_TYPE] = "id_type",
        [COL_ID_NUMBER] = "id_number",
        [COL_GENDER] = "gender",
        [COL_BIRTH_DATE] = "birth_date",
        [COL_ETHNICITY] = "ethnicity",
        [COL_PHONE] = "phone",
        [COL_RESIDENCE] = "residence_status",
        [COL_PROVINCE] = "registered_province",
        [COL_GRID_CODE] = "grid_code",
        [COL_GRID_ID] = "grid_id",
        [COL_HOUSEHOLD_ID] = "household_id",
        [COL_HOUSEHOLD_NUMBER] = "household_number",
        [COL_ADDRESS] = "address",
        [COL_HOUSEHOLD_KIND] = "household_kind",
        [COL_RELATION] = "relation",
        [COL_LIFE_STATUS] = "life_status",
};

/* Chinese headers (and English ones that are not a field name). */
static const struct {
	const char *header;
	enum column col;
} header_words[] = {
        {"姓名", COL_NAME},
        {"证件类型", COL_ID_TYPE},
        {"证件号码", COL_ID_NUMBER},
        {"身份证号", COL_ID_NUMBER},
        {"身份证号码", COL_ID_NUMBER},
        {"公民身份号码", COL_ID_NUMBER},
        {"性别", COL_GENDER},
        {"出生日期", COL_BIRTH_DATE},
        {"民族", COL_ETHNICITY},
        {"联系电话", COL_PHONE},
        {"电话", COL_PHONE},
        {"手机", COL_PHONE},
        {"手机号", COL_PHONE},
        {"手机号码", COL_PHONE},
        {"人口类型", COL_RESIDENCE},
        {"居住状态", COL_RESIDENCE},
        {"户籍省份", COL_PROVINCE},
        {"网格编码", COL_GRID_CODE},
        {"户号", COL_HOUSEHOLD_NUMBER},
        {"地址", COL_ADDRESS},
        {"住址", COL_ADDRESS},
        {"户类型", COL_HOUSEHOLD_KIND},
        {"与户主关系", COL_RELATION},
        {"生存状态", COL_LIFE_STATUS},
        /* written by the export, dropped by the import */
        {"编号", COL_IGNORED},
        {"id", COL_IGNORED},
        {"年龄", COL_IGNORED},
        {"age", COL_IGNORED},
        {"网格名称", COL_IGNORED},
        {"grid_name", COL_IGNORED},
        {"状态日期", COL_IGNORED},
        {"life_status_date", COL_IGNORED},
        {"标签", COL_IGNORED},
        {"tags", COL_IGNORED},
        {"version", COL_IGNORED},
        {"created_at", COL_IGNORED},
        {"updated_at", COL_IGNORED},
};

/* NDJSON keys the export writes and the import drops (read-only fields). */
static const char *const readonly_keys[] = {
        "id",       "age", "tags", "version", "created_at", "updated_at", "life_status_date",
        "grid_name"};

/* ------------------------------------------------------------------ */
/* Text helpers */

/* Offset of the first byte that breaks UTF-8 (overlong forms, surrogates
 * and code points above U+10FFFF included), or len when s is valid. */
static size_t utf8_bad_at(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		if (i + n >= len)
			return i; /* cut short at the end */
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += n + 1;
	}
	return len;
}

/* GB18030 (a superset of GBK and GB2312) to UTF-8.  Returns a new buffer
 * (caller frees) or NULL with *bad_at the offset iconv stopped at. */
static char *gb18030_to_utf8(const char *in, size_t len, size_t *outlen, size_t *bad_at)
{
	iconv_t cd = iconv_open("UTF-8", "GB18030");
	size_t cap = len * 2 + 16, left_in = len, left_out;
	char *out, *src = (char *)in, *dst;

	*bad_at = 0;
	if (cd == (iconv_t)-1)
		return NULL;
	out = malloc(cap);
	if (out == NULL) {
		iconv_close(cd);
		return NULL;
	}
	dst = out;
	left_out = cap - 1;
	while (left_in > 0) {
		if (iconv(cd, &src, &left_in, &dst, &left_out) != (size_t)-1)
			continue;
		if (errno == E2BIG) {
			size_t used = (size_t)(dst - out);
			char *bigger = realloc(out, cap * 2);
			if (bigger == NULL)
				break;
			out = bigger;
			cap *= 2;
			dst = out + used;
			left_out = cap - used - 1;
			continue;
		}
		break; /* EILSEQ or EINVAL: not GB18030 */
	}
	iconv_close(cd);
	if (left_in > 0) {
		*bad_at = (size_t)(src - in);
		free(out);
		return NULL;
	}
	*outlen = (size_t)(dst - out);
	out[*outlen] = '\0';
	return out;
}

/* Trims ASCII white space and U+3000 (the full-width space spreadsheets
 * leave behind) from both ends, in place; returns s. */
static char *trim(char *s)
{
	char *end;

	for (;;) {
		if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		else if (strncmp(s, "\xE3\x80\x80", 3) == 0)
			s += 3;
		else
			break;
	}
	end = s + strlen(s);
	for (;;) {
		if (end > s &&
		    (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
			end--;
		else if (end - s >= 3 && strncmp(end - 3, "\xE3\x80\x80", 3) == 0)
			end -= 3;
		else
			break;
	}
	*end = '\0';
	return s;
}

/* Spreadsheet dates 1990/1/2, 1990.1.2, 1990-1-2 and 19900102 as
 * 1990-01-02 in out; anything else is copied unchanged for the validator
 * to refuse. */
static void normalise_date(const char *s, char *out, size_t outlen)
{
	unsigned y, m, d;
	char sep1, sep2, extra;

	if (strlen(s) == 8 && strspn(s, "0123456789") == 8 &&
	    sscanf(s, "%4u%2u%2u", &y, &m, &d) == 3) {
		snprintf(out, outlen, "%04u-%02u-%02u", y, m, d);
		return;
	}
	if (sscanf(s, "%4u%c%2u%c%2u%c", &y, &sep1, &m, &sep2, &d, &extra) == 5 && sep1 == sep2 &&
	    (sep1 == '-' || sep1 == '/' || sep1 == '.') && y >= 1000) {
		snprintf(out, outlen, "%04u-%02u-%02u", y, m, d);
		return;
	}
	snprintf(out, outlen, "%s", s);
}

/* Appends s to a COPY text-format line, escaped; NULL is \N.  The runs
 * between characters that need escaping go in with one call each (one
 * call per byte was a measurable share of a 100,000-row import). */
static void copy_field(struct evbuffer *b, const char *s, bool last)
{
	if (s == NULL) {
		evbuffer_add(b, "\\N", 2);
	} else {
		const char *run = s, *p;

		for (p = s; *p; p++) {
			const char *esc;

			switch (*p) {
			case '\\':
				esc = "\\\\";
				break;
			case '\t':
				esc = "\\t";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
			default:
				continue;
			}
			if (p > run)
				evbuffer_add(b, run, (size_t)(p - run));
			evbuffer_add(b, esc, 2);
			run = p + 1;
		}
		if (p > run)
			evbuffer_add(b, run, (size_t)(p - run));
	}
	evbuffer_add(b, last ? "\n" : "\t", 1);
}

/* An id member as the resident API takes it: a JSON integer > 0 or its
 * decimal text.  0 absent, null or blank; 1 with *id; -1 anything else. */
static int id_member(json_t *o, const char *key, int64_t *id)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	*id = 0;
	if (v == NULL || json_is_null(v) || (s != NULL && *s == '\0'))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		*id = (int64_t)json_integer_value(v);
		return 1;
	}
	return s != NULL && ogc_util_parse_id(s, id) ? 1 : -1;
}

/* A string member of o or NULL (absent, null or not a string). */
static const char *str_member(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ------------------------------------------------------------------ */
/* Import: state of one request */

typedef struct grid {
	const char *code; /* borrowed from the PGresult */
	int64_t id;
	bool closed;
} grid;

typedef struct row_error {
	long row;
	char *field;  /* owned (the validator's names of unknown fields do not last) */
	char *reason; /* owned */
} row_error;

typedef struct import {
	og_req *req;
	PGresult *grids_res; /* owns the strings of grids */
	grid *by_code, *by_id;
	size_t ngrids;
	int64_t default_grid; /* the caller's own grid, used when a row names none */

	/* CSV state */
	enum column map[MAX_COLUMNS];
	char *header[MAX_COLUMNS]; /* owned, for messages */
	int ncols;
	bool have_header;
	char *fields[MAX_COLUMNS]; /* current record, owned */
	int nfields;
	bool too_many_fields;
	long record; /* records seen, header included */
	bool stop;   /* a whole-request error reply is set */

	/* results */
	struct evbuffer *copy; /* COPY text of the rows that passed, not sent yet */
	bool copying;          /* the COPY into import_row is open */
	bool copy_failed;      /* sending failed: the rest is dropped, COPY ended with an error */
	long received;         /* data rows (blank ones excluded) */
	long passed;           /* rows in copy */
	row_error *errors;     /* in row order; only the first MAX_REPLY_ERRORS kept */
	size_t nerrors;
	long error_count; /* every row error */
} import;

static void add_error(import *im, long row, const char *field, const char *fmt, ...)
        OG_PRINTF(4, 5);

static void add_error(import *im, long row, const char *field, const char *fmt, ...)
{
	va_list ap;
	char *reason = NULL, *f;

	im->error_count++;
	if (im->nerrors >= MAX_REPLY_ERRORS)
		return;
	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		reason = NULL;
	va_end(ap);
	f = strdup(field);
	if (im->errors == NULL)
		im->errors = calloc(MAX_REPLY_ERRORS, sizeof(*im->errors));
	if (im->errors == NULL || reason == NULL || f == NULL) {
		free(reason);
		free(f);
		return;
	}
	im->errors[im->nerrors++] = (row_error){row, f, reason};
}

static int grid_by_code_cmp(const void *a, const void *b)
{
	const grid *x = a, *y = b;
	int c = strcmp(x->code, y->code);
	return c ? c : (x->id > y->id) - (x->id < y->id);
}

static int grid_by_id_cmp(const void *a, const void *b)
{
	const grid *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

/* Every grid in the caller's scope, once per request: rows name grids by
 * code or id and are resolved here without a statement per row.  0 or -1
 * (reply set). */
static int load_grids(import *im)
{
	const char *scope = ogc_util_scope(im->req);
	PGresult *r =
	        ogc_req_exec(im->req,
	                     "SELECT id, code, closed_on IS NOT NULL AND closed_on <= current_date "
	                     "FROM core.region WHERE level = 'grid' "
	                     "AND ($1 = '' OR path <@ $1::ltree)",
	                     1, &scope);
	size_t n;

	if (r == NULL)
		return -1;
	im->grids_res = r;
	n = (size_t)PQntuples(r);
	im->by_code = calloc(n ? n : 1, sizeof(grid));
	im->by_id = calloc(n ? n : 1, sizeof(grid));
	if (im->by_code == NULL || im->by_id == NULL) {
		ogc_req_reply_error(im->req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		im->by_code[i].code = PQgetvalue(r, (int)i, 1);
		im->by_code[i].id = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
		im->by_code[i].closed = PQgetvalue(r, (int)i, 2)[0] == 't';
	}
	im->ngrids = n;
	memcpy(im->by_id, im->by_code, n * sizeof(grid));
	qsort(im->by_code, n, sizeof(grid), grid_by_code_cmp);
	qsort(im->by_id, n, sizeof(grid), grid_by_id_cmp);
	if (n == 1 && im->req->caller.scope_region_id == im->by_id[0].id)
		im->default_grid = im->by_id[0].id;
	return 0;
}

static const grid *grid_of_id(const import *im, int64_t id)
{
	grid key = {NULL, id, false};
	return bsearch(&key, im->by_id, im->ngrids, sizeof(grid), grid_by_id_cmp);
}

/* The grid with this code; *ambiguous when several grids in scope share
 * it (codes are unique among siblings only). */
static const grid *grid_of_code(const import *im, const char *code, bool *ambiguous)
{
	size_t lo = 0, hi = im->ngrids;

	*ambiguous = false;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(im->by_code[mid].code, code) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == im->ngrids || strcmp(im->by_code[lo].code, code) != 0)
		return NULL;
	*ambiguous = lo + 1 < im->ngrids && strcmp(im->by_code[lo + 1].code, code) == 0;
	return &im->by_code[lo];
}

static void import_free(import *im)
{
	PQclear(im->grids_res);
	free(im->by_code);
	free(im->by_id);
	for (int i = 0; i < im->ncols; i++)
		free(im->header[i]);
	for (int i = 0; i < im->nfields; i++)
		free(im->fields[i]);
	if (im->copy != NULL)
		evbuffer_free(im->copy);
	for (size_t i = 0; i < im->nerrors; i++) {
		free(im->errors[i].field);
		free(im->errors[i].reason);
	}
	free(im->errors);
}

/* ------------------------------------------------------------------ */
/* Import: one row, whatever the format */

/* The members of a row that are not the resident's own fields. */
typedef struct row_extra {
	const char *grid_code;        /* borrowed from hold; NULL when blank */
	const char *household_number; /* borrowed from hold; NULL when blank */
	const char *address;          /* borrowed from hold; NULL when blank */
	const char *household_kind;   /* an API value (static), or NULL */
	int64_t household_id;         /* 0 when not given */
	json_t *hold;                 /* new (the caller decrefs it): keeps the strings alive */
} row_extra;

/* Takes the non-resident members off a row (`in`, borrowed and changed):
 * grid code, household, the read-only fields an export carries; checks
 * life_status is active.  Fills *ex.  0, or -1 after a row error. */
static int take_extras(import *im, long row, json_t *in, row_extra *ex)
{
	static const char *const string_keys[] = {"grid_code", "household_number", "address",
	                                          "household_kind"};
	json_t *v;

	memset(ex, 0, sizeof(*ex));
	ex->hold = json_object();
	for (size_t i = 0; i < sizeof(readonly_keys) / sizeof(readonly_keys[0]); i++)
		json_object_del(in, readonly_keys[i]);
	for (size_t i = 0; i < sizeof(string_keys) / sizeof(string_keys[0]); i++) {
		v = json_object_get(in, string_keys[i]);
		if (v == NULL)
			continue;
		if (!json_is_null(v) && !json_is_string(v)) {
			add_error(im, row, string_keys[i], "%s must be a string", string_keys[i]);
			return -1;
		}
		if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v)) {
			add_error(im, row, string_keys[i], "%s must not contain NUL characters",
			          string_keys[i]);
			return -1;
		}
		json_object_set(ex->hold, string_keys[i], v);
		json_object_del(in, string_keys[i]);
	}
	ex->grid_code = str_member(ex->hold, "grid_code");
	ex->household_number = str_member(ex->hold, "household_number");
	ex->address = str_member(ex->hold, "address");
	ex->household_kind = str_member(ex->hold, "household_kind");
	if (ex->grid_code && !*ex->grid_code)
		ex->grid_code = NULL;
	if (ex->household_number && !*ex->household_number)
		ex->household_number = NULL;
	if (ex->address && !*ex->address)
		ex->address = NULL;

	/* Residents enter the register alive: moves and deaths are events. */
	v = json_object_get(in, "life_status");
	if (v != NULL) {
		if (!json_is_null(v) &&
		    !(json_is_string(v) && strcmp(json_string_value(v), "active") == 0)) {
			add_error(im, row, "life_status",
			          "only active residents are imported; record moves and deaths as "
			          "events");
			return -1;
		}
		json_object_del(in, "life_status");
	}
	if (id_member(in, "household_id", &ex->household_id) < 0) {
		add_error(im, row, "household_id", "household_id must be a household id");
		return -1;
	}
	json_object_del(in, "household_id");
	if (ex->household_id && (ex->household_number || ex->address)) {
		add_error(im, row, "household_id",
		          "give household_id or household_number/address, not both");
		return -1;
	}
	if (ex->household_number &&
	    ogc_util_utf8_len(ex->household_number) > HOUSEHOLD_NUMBER_MAX) {
		add_error(im, row, "household_number",
		          "household_number is longer than 40 characters");
		return -1;
	}
	if (ex->address && ogc_util_utf8_len(ex->address) > ADDRESS_MAX) {
		add_error(im, row, "address", "address is longer than 200 characters");
		return -1;
	}
	if (ex->household_kind && *ex->household_kind) {
		const char *k = word_value(kind_words, ex->household_kind);
		if (k == NULL) {
			add_error(
			        im, row, "household_kind",
			        "household_kind must be registered, resident, rented or collective "
			        "(户籍户、常住户、租住户、集体户)");
			return -1;
		}
		ex->household_kind = k;
	} else {
		ex->household_kind = NULL;
	}
	return 0;
}

/* Resolves the row's grid (grid_id, else grid_code, else the caller's own
 * grid) inside the caller's scope and writes it into in's grid_id.  0 or
 * -1 after a row error. */
static int resolve_grid(import *im, long row, json_t *in, const row_extra *ex)
{
	const grid *g = NULL;
	bool ambiguous = false;
	int64_t id;
	int rc = id_member(in, "grid_id", &id);

	if (rc < 0) {
		add_error(im, row, "grid_id", "grid_id must be a grid id");
		return -1;
	}
	if (rc == 1) {
		g = grid_of_id(im, id);
		if (g == NULL) {
			add_error(im, row, "grid_id", "no such grid in your scope");
			return -1;
		}
		if (ex->grid_code != NULL && strcmp(ex->grid_code, g->code) != 0) {
			add_error(im, row, "grid_code", "grid_code does not match grid_id");
			return -1;
		}
	} else if (ex->grid_code != NULL) {
		g = grid_of_code(im, ex->grid_code, &ambiguous);
		if (g == NULL) {
			add_error(im, row, "grid_code", "no grid with code %s in your scope",
			          ex->grid_code);
			return -1;
		}
		if (ambiguous) {
			add_error(im, row, "grid_code",
			          "several grids in your scope have code %s; give grid_id",
			          ex->grid_code);
			return -1;
		}
	} else if (im->default_grid != 0) {
		g = grid_of_id(im, im->default_grid);
	} else {
		add_error(im, row, "grid_code",
		          "every row needs its grid: 网格编码 (grid_code) or grid_id");
		return -1;
	}
	if (g->closed) {
		add_error(im, row, ex->grid_code ? "grid_code" : "grid_id", "the grid is closed");
		return -1;
	}
	json_object_set_new(in, "grid_id", json_integer(g->id));
	return 0;
}

/* Sends the COPY text gathered so far (the COPY is open while the file is
 * parsed, so a 100,000-row file never holds its COPY text whole: a
 * megabyte at most).  A failure is remembered and ends the COPY with an
 * error in copy_end; the text is dropped either way. */
static void copy_send(import *im)
{
	PGconn *conn = ogc_db_conn(im->req->db);

	while (evbuffer_get_length(im->copy) > 0) {
		size_t n = evbuffer_get_length(im->copy);

		if (n > COPY_CHUNK)
			n = COPY_CHUNK;
		if (!im->copy_failed &&
		    (conn == NULL ||
		     PQputCopyData(conn, (const char *)evbuffer_pullup(im->copy, (ssize_t)n),
		                   (int)n) != 1))
			im->copy_failed = true;
		evbuffer_drain(im->copy, n);
	}
}

/* One data row: `in` (borrowed, modified) holds API field names plus the
 * import's own (grid_code, household_number, address, household_kind).
 * Either appends a COPY line or records the row's error. */
static void import_row(import *im, long row, json_t *in)
{
	static const char *const copy_fields[] = {
	        "name",    "id_type",          "id_number",
	        "gender",  "birth_date",       "ethnicity",
	        "phone",   "residence_status", "registered_province",
	        "relation"};
	row_extra ex;
	json_t *out = NULL;
	const char *field = NULL;
	char why[256] = "", num[24];

	im->received++;
	if (take_extras(im, row, in, &ex) != 0 || resolve_grid(im, row, in, &ex) != 0) {
		json_decref(ex.hold);
		return;
	}
	if (ex.household_id != 0)
		json_object_set_new(in, "household_id", json_integer(ex.household_id));
	if (ogc_residents_validate(in, false, &out, &field, why, sizeof(why)) != 0 || out == NULL) {
		add_error(im, row, field ? field : "row", "%s", why[0] ? why : "invalid");
		json_decref(out);
		json_decref(ex.hold);
		return;
	}
	/* rownum, the resident's fields, grid, household */
	snprintf(num, sizeof(num), "%ld", row);
	copy_field(im->copy, num, false);
	for (size_t i = 0; i < sizeof(copy_fields) / sizeof(copy_fields[0]); i++)
		copy_field(im->copy, str_member(out, copy_fields[i]), false);
	snprintf(num, sizeof(num), "%lld",
	         (long long)json_integer_value(json_object_get(in, "grid_id")));
	copy_field(im->copy, num, false);
	snprintf(num, sizeof(num), "%lld", (long long)ex.household_id);
	copy_field(im->copy, ex.household_id ? num : NULL, false);
	copy_field(im->copy, ex.household_number, false);
	copy_field(im->copy, ex.address, false);
	copy_field(im->copy, ex.household_kind, true);
	im->passed++;
	if (evbuffer_get_length(im->copy) >= COPY_CHUNK)
		copy_send(im);
	json_decref(out);
	json_decref(ex.hold);
}

/* ------------------------------------------------------------------ */
/* Import: CSV */

static void csv_field(void *s, size_t len, void *data)
{
	import *im = data;

	(void)len; /* CSV_APPEND_NULL: s is NUL-terminated (no NUL inside: refused earlier) */
	if (im->nfields == MAX_COLUMNS) {
		im->too_many_fields = true;
		return;
	}
	im->fields[im->nfields++] = strdup(s ? (const char *)s : "");
}

/* The header row: every column must be known; names and ID numbers must
 * have one.  Sets the whole-request error reply otherwise. */
static void csv_header(import *im)
{
	json_t *unknown = json_array();
	char msg[512];
	size_t off = 0;
	bool have[COL_COUNT] = {false};

	if (im->too_many_fields) {
		snprintf(msg, sizeof(msg), "the file has more than %d columns", MAX_COLUMNS);
		ogc_util_invalid(im->req, "columns", msg);
		im->stop = true;
		json_decref(unknown);
		return;
	}
	im->ncols = im->nfields;
	for (int i = 0; i < im->nfields; i++) {
		char *h = trim(im->fields[i]);
		size_t n = strlen(h);
		enum column col = COL_COUNT;

		/* "姓名*": templates mark required columns with a star */
		while (n > 0 && (h[n - 1] == '*' || h[n - 1] == ' '))
			h[--n] = '\0';
		if (strncmp(h + (n >= 3 ? n - 3 : 0), "\xEF\xBC\x8A", 3) == 0 && n >= 3)
			h[n - 3] = '\0'; /* full-width star */
		im->header[i] = strdup(h);
		if (h[0] == '\0') {
			col = COL_IGNORED; /* an unnamed column (Excel's trailing cells) */
		} else {
			for (size_t k = 0; k < sizeof(header_words) / sizeof(header_words[0]); k++)
				if (strcasecmp(header_words[k].header, h) == 0)
					col = header_words[k].col;
			for (int c = 1; col == COL_COUNT && c < COL_COUNT; c++)
				if (strcasecmp(column_field[c], h) == 0)
					col = (enum column)c;
		}
		if (col == COL_COUNT) {
			json_array_append_new(unknown, json_string(h));
			if (off < sizeof(msg))
				off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s%s",
				                        off ? ", " : "", h);
			continue;
		}
		if (col != COL_IGNORED && have[col]) {
			char m[160];
			snprintf(m, sizeof(m), "column %s appears twice (as %s)", column_field[col],
			         h);
			ogc_util_invalid(im->req, "columns", m);
			im->stop = true;
			json_decref(unknown);
			return;
		}
		have[col] = true;
		im->map[i] = col;
	}
	if (json_array_size(unknown) > 0) {
		json_t *body = json_pack("{s:{s:s, s:s+, s:s}, s:o}", "error", "code", "invalid",
		                         "message", "unknown columns: ", msg, "field", "columns",
		                         "unknown_columns", unknown);
		ogc_req_reply_json(im->req, 422, body);
		im->stop = true;
		return;
	}
	json_decref(unknown);
	if (!have[COL_NAME]) {
		ogc_util_invalid(im->req, "columns", "the file has no 姓名 (name) column");
		im->stop = true;
		return;
	}
	im->have_header = true;
}

/* A CSV value to its JSON member: Chinese words to API values, dates to
 * YYYY-MM-DD, ids to integers.  Values that mean nothing are passed on
 * as they are, for the validator to name. */
static json_t *csv_value(enum column col, const char *s)
{
	const char *w = NULL;
	char date[32];
	int64_t id;

	switch (col) {
	case COL_ID_TYPE:
		w = word_value(id_type_words, s);
		break;
	case COL_GENDER:
		w = word_value(gender_words, s);
		break;
	case COL_RESIDENCE:
		w = word_value(residence_words, s);
		break;
	case COL_LIFE_STATUS:
		w = word_value(life_words, s);
		break;
	case COL_BIRTH_DATE:
		normalise_date(s, date, sizeof(date));
		return json_string(date);
	case COL_GRID_ID:
	case COL_HOUSEHOLD_ID:
		return ogc_util_parse_id(s, &id) ? json_integer(id) : json_string(s);
	default:
		break;
	}
	return json_string(w ? w : s);
}

static void csv_record(int c, void *data)
{
	import *im = data;
	long row;
	json_t *in;
	bool blank = true;

	(void)c;
	im->record++;
	if (im->stop)
		goto done;
	if (!im->have_header) {
		csv_header(im);
		goto done;
	}
	row = im->record - 1; /* data rows count from 1, header excluded */
	for (int i = 0; i < im->nfields; i++)
		if (*trim(im->fields[i]) != '\0')
			blank = false;
	if (blank && !im->too_many_fields)
		goto done; /* ",,,," lines Excel leaves at the end */
	if (im->too_many_fields || im->nfields > im->ncols) {
		im->received++;
		add_error(im, row, "row", "the row has more fields (%d) than the header (%d)",
		          im->nfields, im->ncols);
		goto done;
	}
	in = json_object();
	for (int i = 0; i < im->nfields; i++) {
		const char *v = trim(im->fields[i]);
		enum column col = im->map[i];

		if (col == COL_IGNORED || *v == '\0')
			continue;
		json_object_set_new(in, column_field[col], csv_value(col, v));
	}
	/* A spreadsheet lists an ID number without its type: a resident ID. */
	if (json_object_get(in, "id_type") == NULL)
		json_object_set_new(
		        in, "id_type",
		        json_string(json_object_get(in, "id_number") ? "resident_id" : "none"));
	import_row(im, row, in);
	json_decref(in);
done:
	for (int i = 0; i < im->nfields; i++)
		free(im->fields[i]);
	im->nfields = 0;
	im->too_many_fields = false;
}

/* 0, or -1 with the whole-request reply set. */
static int parse_csv(import *im, const char *data, size_t len)
{
	struct csv_parser p;
	size_t done;
	bool failed;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		ogc_req_reply_error(im->req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	done = csv_parse(&p, data, len, csv_field, csv_record, im);
	failed = done != len;
	if (!failed && !im->stop && csv_fini(&p, csv_field, csv_record, im) != 0)
		failed = true; /* an unterminated quoted field at the end */
	if (failed && !im->stop) {
		char msg[160];
		long line = 1;

		for (size_t i = 0; i < done && i < len; i++)
			line += data[i] == '\n';
		snprintf(msg, sizeof(msg),
		         "malformed CSV near line %ld (record %ld): a quote inside an unquoted "
		         "field or an unterminated quoted field",
		         line, im->record + 1);
		ogc_req_reply_error(im->req, 400, "malformed_csv", msg, "body");
		im->stop = true;
	}
	csv_free(&p);
	if (im->stop)
		return -1;
	if (!im->have_header) {
		ogc_util_invalid(im->req, "body", "the file has no header row");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Import: NDJSON */

static void parse_ndjson(import *im, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	long line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		size_t n = (size_t)(stop - p);
		json_error_t jerr;
		json_t *in;

		line++;
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		/* Trailing blanks are trimmed, so a blank line is an empty one (the
		 * body is not NUL-terminated: no str* function may scan it). */
		if (n == 0) {
			p = nl ? nl + 1 : end;
			continue; /* blank line */
		}
		in = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
		if (in == NULL || !json_is_object(in)) {
			im->received++;
			if (in == NULL)
				add_error(im, line, "row", "malformed JSON: %s", jerr.text);
			else
				add_error(im, line, "row", "each line must be a JSON object");
		} else {
			import_row(im, line, in);
		}
		json_decref(in);
		p = nl ? nl + 1 : end;
	}
}

/* ------------------------------------------------------------------ */
/* Import: loading */

/* Creates import_row and opens the COPY into it, before the file is
 * parsed.  0, or -1 with the reply set. */
static int copy_begin(import *im)
{
	PGconn *conn;
	PGresult *r = ogc_req_exec(
	        im->req,
	        "CREATE TEMP TABLE import_row ("
	        "  rownum integer PRIMARY KEY, "
	        "  id bigint NOT NULL DEFAULT nextval('core.resident_id_seq'), "
	        "  name text, id_type text, id_number text, gender text, birth_date date, "
	        "  ethnicity text, phone text, residence_status text, registered_province text, "
	        "  relation text, grid_id bigint NOT NULL, household_id bigint, "
	        "  household_number text, address text, household_kind text, "
	        "  error_field text, error_reason text) ON COMMIT DROP",
	        0, NULL);

	if (r == NULL)
		return -1;
	PQclear(r);
	conn = ogc_db_conn(im->req->db);
	if (conn == NULL) {
		ogc_req_reply_error(im->req, 503, "db_unavailable",
		                    "the database is unavailable; try again shortly", NULL);
		return -1;
	}
	r = PQexec(conn, "COPY import_row (rownum, name, id_type, id_number, gender, birth_date, "
	                 "ethnicity, phone, residence_status, registered_province, relation, "
	                 "grid_id, household_id, household_number, address, household_kind) "
	                 "FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		ogc_dberr err;

		memset(&err, 0, sizeof(err));
		ogc_db_map_sqlstate(PQresultErrorField(r, PG_DIAG_SQLSTATE), &err);
		if (PQstatus(conn) != CONNECTION_OK)
			ogc_db_map_sqlstate("08006", &err);
		ogc_log(OG_LOG_ERROR, "import: COPY failed: %s", PQresultErrorMessage(r));
		PQclear(r);
		ogc_req_reply_error(im->req, err.status ? err.status : 500,
		                    err.status ? err.code : "internal",
		                    "the rows could not be loaded", NULL);
		return -1;
	}
	PQclear(r);
	im->copying = true;
	return 0;
}

/* Sends the rest and closes the COPY.  With `abandon` (the file was
 * refused whole and the reply is set) the COPY is cancelled quietly: the
 * transaction is rolled back anyway.  0, or -1 with the reply set. */
static int copy_end(import *im, bool abandon)
{
	PGconn *conn = ogc_db_conn(im->req->db);
	PGresult *r;
	ogc_dberr err;
	int ok;

	if (!im->copying)
		return abandon ? -1 : 0;
	im->copying = false;
	if (!abandon)
		copy_send(im);
	memset(&err, 0, sizeof(err));
	if (conn == NULL)
		ok = 0;
	else
		ok = PQputCopyEnd(conn, abandon           ? "import refused"
		                        : im->copy_failed ? "client failed to send data"
		                                          : NULL) == 1 &&
		     !abandon && !im->copy_failed;
	/* The COPY's outcome, then NULL. */
	while (conn != NULL && (r = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			ok = 0;
		if (!ok && !abandon && err.status == 0) {
			ogc_db_map_sqlstate(PQresultErrorField(r, PG_DIAG_SQLSTATE), &err);
			if (PQstatus(conn) != CONNECTION_OK)
				ogc_db_map_sqlstate("08006", &err);
			ogc_log(OG_LOG_ERROR, "import: COPY failed: %s", PQresultErrorMessage(r));
		}
		PQclear(r);
	}
	if (abandon)
		return -1;
	if (ok)
		return 0;
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
		ogc_db_map_sqlstate("08006", &err);
	ogc_req_reply_error(im->req, err.status ? err.status : 500,
	                    err.status ? err.code : "internal", "the rows could not be loaded",
	                    NULL);
	return -1;
}

/* Row errors the database finds, one per row: duplicate ID numbers
 * (within the file: the later rows; already registered: every such row),
 * a household_id that is not in the row's grid, a new household number
 * none of whose rows gives an address.  Marks them in import_row and
 * merges them into im->errors.  0 or -1 (reply set). */
static int database_checks(import *im)
{
	PGresult *r;
	row_error *merged;
	size_t n, i = 0, k = 0, m = 0;

	r = ogc_req_exec(
	        im->req,
	        "WITH firsts AS (SELECT id_number, min(rownum) AS first FROM import_row "
	        "  WHERE id_number IS NOT NULL GROUP BY id_number), "
	        "errs AS ("
	        "  SELECT t.rownum, 1 AS rank, 'id_number' AS field, 'duplicate' AS reason "
	        "    FROM import_row t JOIN core.resident x ON x.id_number = t.id_number "
	        "  UNION ALL "
	        "  SELECT t.rownum, 2, 'id_number', 'duplicate: the same number is in row ' "
	        "         || f.first "
	        "    FROM import_row t JOIN firsts f ON f.id_number = t.id_number "
	        "   WHERE f.first <> t.rownum "
	        "  UNION ALL "
	        "  SELECT t.rownum, 3, 'household_id', 'no such household in the row''s grid' "
	        "    FROM import_row t WHERE t.household_id IS NOT NULL AND NOT EXISTS "
	        "      (SELECT 1 FROM core.household h WHERE h.id = t.household_id "
	        "          AND h.grid_id = t.grid_id) "
	        "  UNION ALL "
	        /* as POST /households: a household without a building has an address */
	        "  SELECT t.rownum, 4, 'address', 'household ' || t.household_number || "
	        "         ' is new: a row of it must give its address (地址)' "
	        "    FROM import_row t JOIN (SELECT grid_id, household_number FROM import_row "
	        "           WHERE household_number IS NOT NULL GROUP BY 1, 2 "
	        "          HAVING bool_and(address IS NULL)) g "
	        "      USING (grid_id, household_number) "
	        "   WHERE NOT EXISTS (SELECT 1 FROM core.household h "
	        "          WHERE h.grid_id = t.grid_id "
	        "            AND h.household_number = t.household_number)) "
	        "UPDATE import_row t SET error_field = e.field, error_reason = e.reason "
	        "  FROM (SELECT DISTINCT ON (rownum) * FROM errs ORDER BY rownum, rank) e "
	        " WHERE t.rownum = e.rownum",
	        0, NULL);
	if (r == NULL)
		return -1;
	n = strtoul(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	if (n == 0)
		return 0;
	im->error_count += (long)n;
	r = ogc_req_exec(im->req,
	                 "SELECT rownum, error_field, error_reason FROM import_row "
	                 "WHERE error_field IS NOT NULL ORDER BY rownum LIMIT "
	                 "1000",
	                 0, NULL);
	if (r == NULL)
		return -1;
	n = (size_t)PQntuples(r);
	/* Both lists are in row order and no row is in both: merge them. */
	merged = calloc(MAX_REPLY_ERRORS, sizeof(*merged));
	if (merged == NULL) {
		PQclear(r);
		ogc_req_reply_error(im->req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	while (m < MAX_REPLY_ERRORS && (i < im->nerrors || k < n)) {
		long krow = k < n ? strtol(PQgetvalue(r, (int)k, 0), NULL, 10) : 0;

		if (k >= n || (i < im->nerrors && im->errors[i].row < krow)) {
			merged[m++] = im->errors[i++];
		} else {
			merged[m++] = (row_error){krow, strdup(PQgetvalue(r, (int)k, 1)),
			                          strdup(PQgetvalue(r, (int)k, 2))};
			k++;
		}
	}
	for (; i < im->nerrors; i++) {
		free(im->errors[i].field);
		free(im->errors[i].reason);
	}
	free(im->errors);
	im->errors = merged;
	im->nerrors = m;
	PQclear(r);
	return 0;
}

static json_t *errors_json(const import *im)
{
	json_t *a = json_array();

	for (size_t i = 0; i < im->nerrors; i++)
		json_array_append_new(
		        a, json_pack("{s:I, s:s, s:s}", "row", (json_int_t)im->errors[i].row,
		                     "field", im->errors[i].field ? im->errors[i].field : "row",
		                     "reason", im->errors[i].reason ? im->errors[i].reason : ""));
	return a;
}

/* Runs a statement that returns nothing of interest.  0 or -1 (reply set). */
static int exec_simple(import *im, const char *sql)
{
	PGresult *r = ogc_req_exec(im->req, sql, 0, NULL);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* Households, then residents, set-based.  A row with household_number
 * joins the household of that number in its grid (the oldest, if several),
 * one is created per distinct (grid, number) otherwise; a row with only an
 * address does the same keyed by (grid, address) among households without
 * a number.  Kind and address of a created household come from its first
 * row that has them (a row refused for another reason still lends its
 * address: it describes the same household); its head is its first
 * imported row whose relation is 户主, written with the household: the
 * residents' ids were drawn when the file was loaded, and the head's
 * foreign key waits (0006) until the residents are in.  Returns households
 * created, or -1 (reply set). */
static long load_rows(import *im, long *imported)
{
	PGresult *r;
	long created;

	if (exec_simple(im, "SET CONSTRAINTS core.household_head_fk DEFERRED") != 0)
		return -1;
	r = ogc_req_exec(
	        im->req,
	        "WITH want AS ("
	        "  SELECT grid_id, household_number, "
	        "         CASE WHEN household_number IS NULL THEN address END AS key_address, "
	        "         (array_agg(household_kind ORDER BY rownum) "
	        "            FILTER (WHERE household_kind IS NOT NULL))[1] AS kind, "
	        "         (array_agg(address ORDER BY rownum) FILTER (WHERE address IS NOT "
	        "NULL))[1] "
	        "            AS address, min(rownum) AS first, "
	        "         (array_agg(id ORDER BY rownum) "
	        "            FILTER (WHERE relation = '户主' AND error_field IS NULL))[1] AS head "
	        "    FROM import_row "
	        "   WHERE household_id IS NULL "
	        "     AND (household_number IS NOT NULL OR address IS NOT NULL) "
	        "   GROUP BY 1, 2, 3 HAVING bool_or(error_field IS NULL)), "
	        /* two anti-joins rather than one with an OR: each can be hashed */
	        "fresh AS ("
	        "  SELECT w.* FROM want w WHERE w.household_number IS NOT NULL AND NOT EXISTS "
	        "    (SELECT 1 FROM core.household h WHERE h.grid_id = w.grid_id "
	        "        AND h.household_number = w.household_number) "
	        "  UNION ALL "
	        "  SELECT w.* FROM want w WHERE w.household_number IS NULL AND NOT EXISTS "
	        "    (SELECT 1 FROM core.household h WHERE h.household_number IS NULL "
	        "        AND h.grid_id = w.grid_id AND h.address = w.key_address)), "
	        "ins AS ("
	        "  INSERT INTO core.household (grid_id, kind, household_number, address, "
	        "                              head_resident_id) "
	        "  SELECT grid_id, coalesce(kind, 'registered'), household_number, address, head "
	        "    FROM fresh ORDER BY first RETURNING id) "
	        "SELECT count(*) FROM ins",
	        0, NULL);
	if (r == NULL)
		return -1;
	created = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);

	r = ogc_req_exec(
	        im->req,
	        "INSERT INTO core.resident (id, name, id_type, id_number, gender, birth_date, "
	        "  ethnicity, phone, residence_status, registered_province, grid_id, household_id, "
	        "  relation) "
	        "SELECT t.id, t.name, t.id_type, t.id_number, t.gender, t.birth_date, t.ethnicity, "
	        "       t.phone, t.residence_status, t.registered_province, t.grid_id, "
	        "       coalesce(t.household_id, hn.id, ha.id), t.relation "
	        "  FROM import_row t "
	        "  LEFT JOIN (SELECT h.grid_id, h.household_number, min(h.id) AS id "
	        "               FROM core.household h "
	        "              WHERE (h.grid_id, h.household_number) IN "
	        "                    (SELECT grid_id, household_number FROM import_row) "
	        "              GROUP BY 1, 2) hn "
	        "    ON hn.grid_id = t.grid_id AND hn.household_number = t.household_number "
	        "  LEFT JOIN (SELECT h.grid_id, h.address, min(h.id) AS id FROM core.household h "
	        "              WHERE h.household_number IS NULL AND (h.grid_id, h.address) IN "
	        "                    (SELECT grid_id, address FROM import_row "
	        "                      WHERE household_number IS NULL) "
	        "              GROUP BY 1, 2) ha "
	        "    ON t.household_number IS NULL AND ha.grid_id = t.grid_id "
	        "       AND ha.address = t.address "
	        " WHERE t.error_field IS NULL ORDER BY t.rownum",
	        0, NULL);
	if (r == NULL)
		return -1;
	*imported = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	/* The heads named above are residents now: check them here. */
	if (exec_simple(im, "SET CONSTRAINTS core.household_head_fk IMMEDIATE") != 0)
		return -1;

	/* A household that was there before the file and has no head gets the
	 * imported resident who says so (those created above have theirs).
	 * The planner knows nothing of the households created above and takes
	 * "head_resident_id IS NULL" for a row or two: were s large, it would
	 * scan core.household once per head.  s keeps only the households
	 * that are still headless (a primary-key probe per head, a filter the
	 * planner cannot count on), so it is the small side and drives the
	 * update through the primary key. */
	r = ogc_req_exec(
	        im->req,
	        "UPDATE core.household h SET head_resident_id = s.rid, version = h.version + 1, "
	        "       updated_at = now() "
	        "  FROM (SELECT DISTINCT ON (x.household_id) x.household_id, x.id AS rid "
	        "          FROM import_row t JOIN core.resident x ON x.id = t.id "
	        "         WHERE t.error_field IS NULL AND x.household_id IS NOT NULL "
	        "           AND x.relation = '户主' "
	        "           AND (SELECT hh.head_resident_id FROM core.household hh "
	        "                 WHERE hh.id = x.household_id) IS NULL "
	        "         ORDER BY x.household_id, t.rownum) s "
	        " WHERE h.id = s.household_id AND h.head_resident_id IS NULL",
	        0, NULL);
	if (r == NULL)
		return -1;
	PQclear(r);
	return created;
}

/* resident.created for every imported resident, with the resident as the
 * API shows it, a thousand per FETCH: the hooks of plugins that take the
 * batch event (ABI 1.3) get each thousand as one residents.imported call,
 * the others one resident.created call per row (ogc_registry_fire_rows).
 * 0 or -1 (reply set by the failing hook or query). */
static int fire_created(import *im)
{
	PGresult *r;
	int n;

	/* Reading 100,000 rows back only to call no hook would cost seconds. */
	if (!ogc_registry_has_row_hooks("resident.created", OG_EVENT_RESIDENTS_IMPORTED))
		return 0;
	r = ogc_req_exec(im->req,
	                 "DECLARE og_import_cur NO SCROLL CURSOR FOR "
	                 "SELECT " OGC_RESIDENT_JSON_SQL " FROM import_row t "
	                 "JOIN core.resident x ON x.id = t.id "
	                 "WHERE t.error_field IS NULL ORDER BY t.rownum",
	                 0, NULL);

	if (r == NULL)
		return -1;
	PQclear(r);
	do {
		json_t *batch;
		int rc;

		r = ogc_req_exec(im->req, "FETCH " FETCH_ROWS " FROM og_import_cur", 0, NULL);
		if (r == NULL)
			return -1;
		n = PQntuples(r);
		batch = json_array();
		for (int i = 0; i < n; i++) {
			json_error_t jerr;
			json_t *payload = json_loads(PQgetvalue(r, i, 0), 0, &jerr);

			if (payload == NULL || json_array_append_new(batch, payload) != 0) {
				json_decref(batch);
				PQclear(r);
				ogc_req_reply_error(im->req, 500, "internal",
				                    "an imported resident could not be read back",
				                    NULL);
				return -1;
			}
		}
		PQclear(r);
		rc = n > 0 ? ogc_registry_fire_rows(im->req, "resident.created",
		                                    OG_EVENT_RESIDENTS_IMPORTED, batch)
		           : 0;
		json_decref(batch);
		if (rc != 0)
			return -1;
	} while (n > 0);
	r = ogc_req_exec(im->req, "CLOSE og_import_cur", 0, NULL);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* ------------------------------------------------------------------ */
/* POST /api/v1/import/residents */

/*
 * A big file is a few long statements rather than many short ones, and the
 * transaction sits idle while the file is parsed: for this transaction
 * only (its commit, which numbers the change feed, included) the statement
 * timeout grows by 10 ms per KiB of file, at least to IMPORT_TIMEOUT_MIN_MS,
 * and the idle-in-transaction limit follows it as db.c sets it (4 times).
 * A configured timeout of 0 (none) stays none.  0 or -1 (reply set).
 */
#define IMPORT_TIMEOUT_MIN_MS 10000L

static int widen_timeouts(og_req *req, size_t bytes)
{
	long st = req->cfg->statement_timeout_ms;
	char stmt[24], idle[24];
	const char *params[2] = {stmt, idle};
	PGresult *r;

	if (st <= 0)
		return 0;
	if (st < IMPORT_TIMEOUT_MIN_MS)
		st = IMPORT_TIMEOUT_MIN_MS;
	st += (long)(bytes / 1024) * 10;
	if (st > 3600000L)
		st = 3600000L;
	snprintf(stmt, sizeof(stmt), "%ld", st);
	snprintf(idle, sizeof(idle), "%ld", st * 4);
	r = ogc_req_exec(req,
	                 "SELECT set_config('statement_timeout', $1, true), "
	                 "set_config('idle_in_transaction_session_timeout', $2, true)",
	                 2, params);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

static bool ct_is(const char *ct, const char *type)
{
	size_t n = strlen(type);
	return ct != NULL && strncasecmp(ct, type, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The charset parameter of a Content-Type, lower-cased into out ("" if none). */
static void ct_charset(const char *ct, char *out, size_t outlen)
{
	const char *p = ct ? strcasestr(ct, "charset=") : NULL;
	size_t i = 0;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += 8;
	if (*p == '"')
		p++;
	while (*p && *p != ';' && *p != '"' && *p != ' ' && i + 1 < outlen)
		out[i++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p), p++;
	out[i] = '\0';
}

static void import_residents(og_req *req, const og_host_api *host)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req->ev);
	const char *ct =
	        evhttp_find_header(evhttp_request_get_input_headers(req->ev), "Content-Type");
	const char *format = host->query_param(req, "format");
	const char *mode = host->query_param(req, "mode");
	const char *encoding = host->query_param(req, "encoding");
	char charset[32];
	size_t len = evbuffer_get_length(in), bad;
	const char *data;
	char *converted = NULL;
	bool csv, all_or_nothing = false, gbk = false, was_gbk = false;
import im;
	long imported = 0, households = 0;
	json_t *summary;

	memset(&im, 0, sizeof(im));
	im.req = req;

	/* What the client sends and how it wants it taken. */
	if (format != NULL) {
		if (strcmp(format, "csv") != 0 && strcmp(format, "ndjson") != 0) {
			ogc_util_invalid(req, "format", "format must be csv or ndjson");
			return;
		}
		csv = strcmp(format, "csv") == 0;
	} else if (ct_is(ct, "text/csv")) {
		csv = true;
	} else if (ct_is(ct, "application/x-ndjson")) {
		csv = false;
	} else if (ct_is(ct, "application/octet-stream") || len == 0) {
		ogc_util_invalid(
		        req, "format",
		        "say what the file is: Content-Type text/csv or application/x-ndjson, "
		        "or ?format=csv|ndjson");
		return;
	} else {
		ogc_req_reply_error(req, 415, "unsupported_media_type",
		                    "send the file as text/csv or application/x-ndjson", NULL);
		return;
	}
	if (ct != NULL && !ct_is(ct, "text/csv") && !ct_is(ct, "application/x-ndjson") &&
	    !ct_is(ct, "application/octet-stream")) {
		ogc_req_reply_error(req, 415, "unsupported_media_type",
		                    "send the file as text/csv or application/x-ndjson", NULL);
		return;
	}
	if (mode != NULL) {
		if (strcmp(mode, "all_or_nothing") == 0)
			all_or_nothing = true;
		else if (strcmp(mode, "partial") != 0) {
			ogc_util_invalid(req, "mode", "mode must be partial or all_or_nothing");
			return;
		}
	}
	ct_charset(ct, charset, sizeof(charset));
	if (encoding != NULL) {
		if (strcasecmp(encoding, "gbk") == 0 || strcasecmp(encoding, "gb18030") == 0 ||
		    strcasecmp(encoding, "gb2312") == 0)
			gbk = true;
		else if (strcasecmp(encoding, "utf-8") != 0 && strcasecmp(encoding, "utf8") != 0) {
			ogc_util_invalid(req, "encoding", "encoding must be utf-8 or gbk");
			return;
		}
	} else if (strcmp(charset, "gbk") == 0 || strcmp(charset, "gb18030") == 0 ||
	           strcmp(charset, "gb2312") == 0) {
		gbk = true;
	}
	if (len == 0) {
		ogc_util_invalid(req, "body", "the file is empty");
		return;
	}

	/* Bytes to UTF-8: as they are when valid, converted from GB18030 when
	 * the client says so, refused otherwise (never import mojibake). */
	data = (const char *)evbuffer_pullup(in, -1);
	/* evhttp read the body in small pieces; pulling it up into one copied
	 * and freed them: hand those back now rather than after the import. */
	ogc_util_release_memory();
	if (len >= 2 && ((unsigned char)data[0] == 0xFF || (unsigned char)data[0] == 0xFE) &&
	    ((unsigned char)data[1] == 0xFE || (unsigned char)data[1] == 0xFF)) {
		ogc_req_reply_error(
		        req, 415, "encoding",
		        "file is UTF-16; save it as UTF-8 (CSV UTF-8) and send it again",
		        "encoding");
		return;
	}
	bad = utf8_bad_at((const unsigned char *)data, len);
	if (bad != len) {
		if (!gbk) {
			ogc_req_reply_error(req, 415, "encoding",
			                    "file is not UTF-8; if it is GBK, send ?encoding=gbk",
			                    "encoding");
			return;
		}
		converted = gb18030_to_utf8(data, len, &len, &bad);
		if (converted == NULL) {
			char msg[128];
			snprintf(msg, sizeof(msg),
			         "file is neither UTF-8 nor GBK (bad byte at offset %zu)", bad);
			ogc_req_reply_error(req, 415, "encoding", msg, "encoding");
			return;
		}
		data = converted;
		was_gbk = true;
	}
	if (memchr(data, '\0', len) != NULL) {
		ogc_req_reply_error(req, 415, "encoding", "file contains NUL bytes: it is not text",
		                    "encoding");
		free(converted);
		return;
	}
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}

	/* Parse and validate every row, streaming the rows that pass into a
	 * temporary table and collecting the errors. */
	im.copy = evbuffer_new();
	if (widen_timeouts(req, len) != 0 || load_grids(&im) != 0 || copy_begin(&im) != 0)
		goto out;
	if (csv) {
		if (parse_csv(&im, data, len) != 0) {
			copy_end(&im, true);
			goto out;
		}
	} else {
		parse_ndjson(&im, data, len);
	}
	/* The file is read: give its memory back before the long part. */
	free(converted);
	converted = NULL;
	data = NULL;
	evbuffer_drain(in, evbuffer_get_length(in));
	ogc_util_release_memory();
	if (copy_end(&im, false) != 0)
		goto out;

	/* Load: duplicate checks, households, residents. */
	if (im.passed > 0) {
		/* A fresh temporary table has no statistics (autovacuum never
		 * sees it): the planner would take 100,000 rows for a few dozen
		 * and probe core.household once per row instead of hashing.  The
		 * row count and the columns the statements below join or group
		 * on are enough. */
		PGresult *r = ogc_req_exec(req,
		                           "ANALYZE import_row (rownum, id, id_number, grid_id, "
		                           "household_id, household_number, address, relation)",
		                           0, NULL);
		if (r == NULL)
			goto out;
		PQclear(r);
		if (database_checks(&im) != 0)
			goto out;
	}
	if (im.error_count > 0 && all_or_nothing)
		goto refuse;
	if (im.passed > 0) {
		households = load_rows(&im, &imported);
		if (households < 0)
			goto out;
		if (imported > 0 && fire_created(&im) != 0)
			goto out;
	}

	summary = json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:s}", "received",
	                    (json_int_t)im.received, "imported", (json_int_t)imported,
	                    "households_created", (json_int_t)households, "error_count",
	                    (json_int_t)im.error_count, "format", csv ? "csv" : "ndjson", "mode",
	                    all_or_nothing ? "all_or_nothing" : "partial", "encoding",
	                    was_gbk ? "gbk" : "utf-8");
	if (host->audit(req, "import", "resident", NULL, req->caller.scope_region_id, NULL,
	                summary) != 0) {
		json_decref(summary);
		goto out;
	}
	json_object_del(summary, "format");
	json_object_del(summary, "mode");
	json_object_del(summary, "encoding");
	json_object_set_new(summary, "errors", errors_json(&im));
	host->reply_json(req, 200, summary);
	goto out;

refuse : {
	char msg[160];
	snprintf(msg, sizeof(msg), "%ld of %ld rows have errors; nothing was imported",
	         im.error_count, im.received);
	host->reply_json(req, 422,
	                 json_pack("{s:{s:s, s:s, s:s}, s:I, s:I, s:I, s:o}", "error", "code",
	                           "invalid", "message", msg, "field", "rows", "received",
	                           (json_int_t)im.received, "imported", (json_int_t)0,
	                           "error_count", (json_int_t)im.error_count, "errors",
	                           errors_json(&im)));
}
out:
	free(converted);
	import_free(&im);
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/export/residents */

/* Appends one CSV field: quoted when it holds a separator, a quote or a
 * line break; a leading = + - @ (a formula to a spreadsheet) gets a '
 * so that opening the export never runs anything. */
static void csv_put(struct evbuffer *b, const char *s, bool last)
{
	if (s != NULL && *s != '\0') {
		bool formula = strchr("=+-@", s[0]) != NULL &&
		               !(s[0] == '+' && s[1] >= '0' && s[1] <= '9') &&
		               !(s[0] == '-' && s[1] >= '0' && s[1] <= '9');
		bool quote = strpbrk(s, ",\"\r\n") != NULL || formula || s[0] == ' ' ||
		             s[strlen(s) - 1] == ' ';

		if (quote)
			evbuffer_add(b, "\"", 1);
		if (formula)
			evbuffer_add(b, "'", 1);
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				evbuffer_add(b, "\"\"", 2);
			else
				evbuffer_add(b, p, 1);
		}
		if (quote)
			evbuffer_add(b, "\"", 1);
	}
	evbuffer_add(b, last ? "\r\n" : ",", last ? 2 : 1);
}

typedef struct export_col {
	const char *zh, *en;
	const char *key;   /* member of the resident JSON, or NULL: a SQL column */
	int sql_col;       /* column of the cursor row when key is NULL */
	const word *words; /* Chinese words of the values, for Chinese headers */
} export_col;

static const export_col export_cols[] = {
        {"编号", "id", "id", 0, NULL},
        {"姓名", "name", "name", 0, NULL},
        {"证件类型", "id_type", "id_type", 0, id_type_words},
        {"证件号码", "id_number", "id_number", 0, NULL},
        {"性别", "gender", "gender", 0, gender_words},
        {"出生日期", "birth_date", "birth_date", 0, NULL},
        {"年龄", "age", "age", 0, NULL},
        {"民族", "ethnicity", "ethnicity", 0, NULL},
        {"联系电话", "phone", "phone", 0, NULL},
        {"人口类型", "residence_status", "residence_status", 0, residence_words},
        {"户籍省份", "registered_province", "registered_province", 0, NULL},
        {"网格编码", "grid_code", NULL, 1, NULL},
        {"网格名称", "grid_name", NULL, 2, NULL},
        {"户号", "household_number", NULL, 3, NULL},
        {"地址", "address", NULL, 4, NULL},
        {"户类型", "household_kind", NULL, 5, kind_words},
        {"与户主关系", "relation", "relation", 0, NULL},
        {"生存状态", "life_status", "life_status", 0, life_words},
        {"状态日期", "life_status_date", "life_status_date", 0, NULL},
        {"标签", "tags", NULL, 6, NULL},
};
#define EXPORT_NCOLS (sizeof(export_cols) / sizeof(export_cols[0]))

/* One cursor row as a CSV line. */
static void export_csv_row(struct evbuffer *b, PGresult *r, int row, json_t *o, bool zh)
{
	for (size_t c = 0; c < EXPORT_NCOLS; c++) {
		const export_col *ec = &export_cols[c];
		char num[24];
		const char *v;

		if (ec->key != NULL) {
			json_t *j = json_object_get(o, ec->key);
			if (json_is_integer(j)) {
				snprintf(num, sizeof(num), "%lld",
				         (long long)json_integer_value(j));
				v = num;
			} else {
				v = json_string_value(j);
			}
		} else {
			int col = ec->sql_col + (zh || ec->sql_col != 6 ? 0 : 1);
			v = PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
		}
		if (zh && ec->words != NULL)
			v = word_zh(ec->words, v);
		csv_put(b, v, c + 1 == EXPORT_NCOLS);
	}
}

static void export_residents(og_req *req, const og_host_api *host)
{
	const char *format = host->query_param(req, "format");
	const char *status = host->query_param(req, "status");
	const char *region = host->query_param(req, "region");
	const char *headers = host->query_param(req, "headers");
	const char *bom = host->query_param(req, "bom");
	bool ndjson = false, zh = true, with_bom = true, unmasked;
	char *path = NULL;
	const char *params[2];
	int64_t region_id = req->caller.scope_region_id;
	PGresult *r;
	struct evbuffer *out = NULL;
	int n;

	if (format != NULL && strcmp(format, "ndjson") == 0)
		ndjson = true;
	else if (format != NULL && strcmp(format, "csv") != 0) {
		ogc_util_invalid(req, "format", "format must be csv or ndjson");
		return;
	}
	if (status == NULL)
		status = "all";
	if (strcmp(status, "all") != 0 && strcmp(status, "active") != 0 &&
	    strcmp(status, "moved_out") != 0 && strcmp(status, "deceased") != 0) {
		ogc_util_invalid(req, "status",
		                 "status must be all, active, moved_out or deceased");
		return;
	}
	if (headers != NULL && strcmp(headers, "en") == 0)
		zh = false;
	else if (headers != NULL && strcmp(headers, "zh") != 0) {
		ogc_util_invalid(req, "headers", "headers must be zh or en");
		return;
	}
	if (bom != NULL && strcmp(bom, "0") == 0)
		with_bom = false;
	else if (bom != NULL && strcmp(bom, "1") != 0) {
		ogc_util_invalid(req, "bom", "bom must be 0 or 1");
		return;
	}

	/* The region exported: the caller's scope or a region inside it. */
	if (ogc_regions_filter_path(req, region, &region_id, &path) != 0)
		return;

	/* An export in full is recorded before a byte of it leaves. */
	unmasked = ogc_auth_has_permission(req, "residents.read_sensitive");
	if (unmasked) {
		json_t *after = json_pack("{s:s, s:s, s:s?}", "format", ndjson ? "ndjson" : "csv",
		                          "status", status, "region", region);
		int rc = host->audit(req, "export_sensitive", "resident", NULL, region_id, NULL,
		                     after);
		json_decref(after);
		if (rc != 0)
			goto done;
	}

	/* One snapshot, read through a cursor: never the whole scope in memory. */
	r = ogc_req_exec(req, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL);
	if (r == NULL)
		goto done;
	PQclear(r);
	req->in_tx = true; /* the router ends it: commit, or roll back on an error */
	params[0] = path;
	params[1] = status;
	r = ogc_req_exec(req,
	                 "DECLARE og_export NO SCROLL CURSOR FOR "
	                 "SELECT " OGC_RESIDENT_JSON_SQL ", g.code, g.name, h.household_number, "
	                 "  h.address, h.kind, (SELECT string_agg(tg.label, '、' ORDER BY rt.tag) "
	                 "    FROM core.resident_tag rt JOIN core.tag tg ON tg.code = rt.tag "
	                 "   WHERE rt.resident_id = x.id), "
	                 "  (SELECT string_agg(rt.tag, ';' ORDER BY rt.tag) "
	                 "    FROM core.resident_tag rt WHERE rt.resident_id = x.id) "
	                 "FROM core.resident x JOIN core.region g ON g.id = x.grid_id "
	                 "LEFT JOIN core.household h ON h.id = x.household_id "
	                 "WHERE ($1 = '' OR g.path <@ $1::ltree) "
	                 "  AND ($2 = 'all' OR x.life_status = $2) "
	                 "ORDER BY x.id",
	                 2, params);
	if (r == NULL)
		goto done;
	PQclear(r);
	r = ogc_req_exec(req, "FETCH " FETCH_ROWS " FROM og_export", 0, NULL);
	if (r == NULL)
		goto done;

	/* From here the status line is sent: a later failure can only cut the
	 * stream short (logged; NDJSON ends with an error line). */
	if (ndjson) {
		host->reply_stream_begin(req, 200, "application/x-ndjson; charset=utf-8");
	} else {
		evhttp_add_header(evhttp_request_get_output_headers(req->ev), "Content-Disposition",
		                  "attachment; filename=\"residents.csv\"");
		host->reply_stream_begin(req, 200, "text/csv; charset=utf-8");
	}
	out = evbuffer_new();
	if (!ndjson) {
		if (with_bom)
			evbuffer_add(out, "\xEF\xBB\xBF", 3);
		for (size_t c = 0; c < EXPORT_NCOLS; c++)
			csv_put(out, zh ? export_cols[c].zh : export_cols[c].en,
			        c + 1 == EXPORT_NCOLS);
	}
	for (;;) {
		n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			json_error_t jerr;
			json_t *o = json_loads(PQgetvalue(r, i, 0), 0, &jerr);

			if (o == NULL)
				continue;
			if (!unmasked)
				ogc_residents_mask(o);
			if (ndjson) {
				char *line = json_dumps(o, JSON_COMPACT);
				if (line != NULL) {
					evbuffer_add(out, line, strlen(line));
					evbuffer_add(out, "\n", 1);
					free(line);
				}
			} else {
				export_csv_row(out, r, i, o, zh);
			}
			json_decref(o);
		}
		PQclear(r);
		r = NULL;
		if (evbuffer_get_length(out) > 0) {
			size_t len = evbuffer_get_length(out);
			int rc = host->reply_stream_write(req, evbuffer_pullup(out, -1), len);
			evbuffer_drain(out, len);
			if (rc != 0)
				break; /* the client went away */
		}
		if (n == 0)
			break;
		r = ogc_req_exec(req, "FETCH " FETCH_ROWS " FROM og_export", 0, NULL);
		if (r == NULL) {
			ogc_log(OG_LOG_ERROR,
			        "export (request %s): the cursor failed mid-stream; "
			        "the export was cut short",
			        req->request_id);
			if (ndjson) {
				const char *line =
				        "{\"error\":{\"code\":\"incomplete\",\"message\":"
				        "\"the export was cut short by a database error\"}}\n";
				host->reply_stream_write(req, line, strlen(line));
			}
			break;
		}
	}
	host->reply_stream_end(req);
done:
	if (out != NULL)
		evbuffer_free(out);
	free(path);
}

/* ------------------------------------------------------------------ */

void ogc_transfer_register_routes(void)
{
	ogc_router_add(NULL, OG_POST, "/api/v1/import/residents", "residents.import",
	               import_residents,
	               "Bulk import of residents (and their households) from CSV or NDJSON");
	ogc_router_describe(
	        OG_POST, "/api/v1/import/residents",
	        "{\"description\": \"CSV (UTF-8, or GBK with ?encoding=gbk; Chinese or English "
	        "headers: "
	        "姓名/name, 证件类型/id_type, 证件号码/身份证号/公民身份号码/id_number, "
	        "性别/gender, "
	        "出生日期/birth_date, 民族/ethnicity, 联系电话/电话/手机/phone, 人口类型/居住状态/"
	        "residence_status, 户籍省份/registered_province, 网格编码/grid_code, grid_id, "
	        "户号/household_number, 地址/address, 户类型/household_kind, 与户主关系/relation) "
	        "or "
	        "NDJSON (one resident object per line, API field names plus grid_code, "
	        "household_number, address, household_kind).  Every row is validated like POST "
	        "/api/v1/residents; valid rows are loaded in one transaction (none with "
	        "mode=all_or_nothing when any row is bad).\","
	        "\"parameters\": ["
	        "{\"name\": \"format\", \"in\": \"query\", \"schema\": {\"type\": \"string\", "
	        "\"enum\": [\"csv\", \"ndjson\"]}, \"description\": \"overrides the "
	        "Content-Type\"},"
	        "{\"name\": \"mode\", \"in\": \"query\", \"schema\": {\"type\": \"string\", "
	        "\"enum\": [\"partial\", \"all_or_nothing\"], \"default\": \"partial\"}},"
	        "{\"name\": \"encoding\", \"in\": \"query\", \"schema\": {\"type\": \"string\", "
	        "\"enum\": [\"utf-8\", \"gbk\", \"gb18030\"]}, \"description\": \"a file that is "
	        "not "
	        "UTF-8 is refused unless this says gbk\"}],"
	        "\"requestBody\": {\"required\": true, \"content\": {"
	        "\"text/csv\": {\"schema\": {\"type\": \"string\"}},"
	        "\"application/x-ndjson\": {\"schema\": {\"type\": \"string\"}},"
	        "\"application/octet-stream\": {\"schema\": {\"type\": \"string\", "
	        "\"format\": \"binary\"}}}},"
	        "\"responses\": {\"200\": {\"description\": \"counts and row errors\", "
	        "\"content\": "
	        "{\"application/json\": {\"schema\": {\"type\": \"object\", \"properties\": {"
	        "\"received\": {\"type\": \"integer\"}, \"imported\": {\"type\": \"integer\"}, "
	        "\"households_created\": {\"type\": \"integer\"}, \"error_count\": {\"type\": "
	        "\"integer\"}, \"errors\": {\"type\": \"array\", \"maxItems\": 1000, \"items\": "
	        "{\"type\": \"object\", \"properties\": {\"row\": {\"type\": \"integer\"}, "
	        "\"field\": {\"type\": \"string\"}, \"reason\": {\"type\": \"string\"}}}}}}}}}}}");

	ogc_router_add(NULL, OG_GET, "/api/v1/export/residents", "residents.export",
	               export_residents,
	               "Streams the residents of the caller's scope (or a region in it) as CSV or "
	               "NDJSON");
	ogc_router_describe(
	        OG_GET, "/api/v1/export/residents",
	        "{\"parameters\": ["
	        "{\"name\": \"region\", \"in\": \"query\", \"schema\": {\"type\": \"integer\", "
	        "\"minimum\": 1}, \"description\": \"a region inside the caller's scope (default: "
	        "the whole scope)\"},"
	        "{\"name\": \"format\", \"in\": \"query\", \"schema\": {\"type\": \"string\", "
	        "\"enum\": [\"csv\", \"ndjson\"], \"default\": \"csv\"}},"
	        "{\"name\": \"status\", \"in\": \"query\", \"schema\": {\"type\": \"string\", "
	        "\"enum\": [\"all\", \"active\", \"moved_out\", \"deceased\"], \"default\": "
	        "\"all\"}},"
	        "{\"name\": \"headers\", \"in\": \"query\", \"schema\": {\"type\": \"string\", "
	        "\"enum\": [\"zh\", \"en\"], \"default\": \"zh\"}, \"description\": \"CSV column "
	        "headers and values: Chinese (default) or the API's names\"},"
	        "{\"name\": \"bom\", \"in\": \"query\", \"schema\": {\"type\": \"string\", "
	        "\"enum\": [\"0\", \"1\"], \"default\": \"1\"}, \"description\": \"CSV starts with "
	        "a UTF-8 BOM (for Excel)\"}],"
	        "\"responses\": {\"200\": {\"description\": \"the residents, masked unless the "
	        "caller holds residents.read_sensitive\", \"content\": {"
	        "\"text/csv\": {\"schema\": {\"type\": \"string\"}},"
	        "\"application/x-ndjson\": {\"schema\": {\"type\": \"string\"}}}}}}");
}

/*
 * core/reports.c — the reports engine (一表通): every indicator of the core
 * and of the plugins a district runs, computed per grid, rolled up the
 * region tree and answered as JSON, CSV or XLSX; and the records behind
 * each figure.
 *
 *   GET /api/v1/reports/summary?region=&date=&format=json|csv|xlsx
 *   GET /api/v1/reports/indicators?region=
 *   GET /api/v1/reports/indicators/{code}/rows?region=&date=&limit=&cursor=
 *
 * How a summary is computed: one SQL statement, so every figure comes from
 * one snapshot.  It lists the grids under the region with the child of the
 * region each lies under (from the ltree path: no join up the tree),
 * computes every core indicator per grid in one pass over core.resident
 * and one over core.resident_tag (indicators.c), runs each enabled
 * plugin's per-grid SQL, and sums the grid values with GROUPING SETS into
 * the region's total and one total per child.  Ratios are then computed
 * here from the summed parts at each level, never averaged.  Nothing is
 * cached or stored: a figure always reflects the data as of the request.
 *
 * Also here, shared with ledgers.c: the region a report is about (scope,
 * 404), ?format=, plugin enablement, typed cells and masking, and the
 * CSV/XLSX sink.
 *
 * Not here: the core's indicator definitions (indicators.c), ledgers
 * (ledgers.c), the XLSX file format (xlsx.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "core.h"

#define PERM_READ "reports.read"
#define PERM_SENSITIVE "residents.read_sensitive"
#define CSV_FLUSH 65536
#define MAX_RATIO_DEPTH 8

static const char *const read_roles[] = {"district", "street", "community", "grid_worker", NULL};

/* ------------------------------------------------------------------ */
/* Shared helpers */

static const char *owner_label(const og_plugin *owner)
{
	return owner != NULL ? owner->desc->name : "core";
}

void ogc_reports_region_clear(ogc_report_region *r)
{
	json_decref(r->json);
	r->json = NULL;
}

int ogc_reports_region(og_req *req, ogc_report_region *out)
{
	const char *param = evhttp_find_header(&req->query, "region");
	const char *scope = ogc_util_scope(req);
	char sid[24];
	const char *params[2] = {sid, scope};
	json_error_t jerr;
	PGresult *res;
	int64_t id;

	memset(out, 0, sizeof(*out));
	if (param == NULL || param[0] == '\0') {
		/* Nobody's default is "every district at once". */
		if (req->caller.scope_region_id <= 0) {
			ogc_util_invalid(req, "region",
			                 "region is required: name the region to report on");
			return -1;
		}
		id = req->caller.scope_region_id;
	} else if (!ogc_util_parse_id(param, &id)) {
		ogc_util_invalid(req, "region", "region must be a region id");
		return -1;
	}
	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	res = ogc_req_exec(req,
	                   "SELECT r.path::text, r.level, r.name, "
	                   "  json_build_object('id', r.id, 'name', r.name, 'level', r.level, "
	                   "  'code', r.code, 'closed_on', r.closed_on)::text "
	                   "FROM core.region r WHERE r.id = $1::bigint "
	                   "  AND ($2 = '' OR r.path <@ $2::ltree)",
	                   2, params);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ogc_req_reply_error(req, 404, "not_found", "no such region in your scope", NULL);
		return -1;
	}
	out->id = id;
	snprintf(out->path, sizeof(out->path), "%s", PQgetvalue(res, 0, 0));
	snprintf(out->level, sizeof(out->level), "%s", PQgetvalue(res, 0, 1));
	snprintf(out->name, sizeof(out->name), "%s", PQgetvalue(res, 0, 2));
	out->json = json_loads(PQgetvalue(res, 0, 3), 0, &jerr);
	PQclear(res);
	if (out->json == NULL) {
		ogc_req_reply_error(req, 500, "internal", "internal error", NULL);
		return -1;
	}
	return 0;
}

int ogc_reports_format(og_req *req)
{
	const char *f = evhttp_find_header(&req->query, "format");

	if (f == NULL || strcmp(f, "json") == 0)
		return 0;
	if (strcmp(f, "csv") == 0)
		return 1;
	if (strcmp(f, "xlsx") == 0)
		return 2;
	ogc_util_invalid(req, "format", "format must be json, csv or xlsx");
	return -1;
}

int ogc_reports_enabled(og_req *req, const og_plugin *owner, int64_t district_id)
{
	if (owner == NULL)
		return 1;
	return ogc_enable_check(req, owner->desc->name, district_id);
}

ogc_cell_kind ogc_reports_kind(Oid type)
{
	switch (type) {
	case 20:   /* int8 */
	case 21:   /* int2 */
	case 23:   /* int4 */
	case 26:   /* oid */
	case 700:  /* float4 */
	case 701:  /* float8 */
	case 1700: /* numeric */
		return OGC_CELL_NUMBER;
	default:
		return OGC_CELL_TEXT;
	}
}

/* A decimal text as JSON: an integer when it has no fraction. */
static json_t *number_json(const char *s)
{
	if (strpbrk(s, ".eEnN") == NULL) {
		char *end;
		long long v = strtoll(s, &end, 10);
		if (*end == '\0')
			return json_integer(v);
	}
	return json_real(strtod(s, NULL));
}

json_t *ogc_reports_cell_json(ogc_cell cell, Oid type)
{
	json_error_t jerr;
	json_t *v;

	if (cell.kind == OGC_CELL_NULL || cell.text == NULL)
		return json_null();
	if (type == 16) /* bool */
		return json_boolean(cell.text[0] == 't');
	if (type == 114 || type == 3802) { /* json, jsonb */
		v = json_loads(cell.text, JSON_DECODE_ANY, &jerr);
		return v != NULL ? v : json_string(cell.text);
	}
	if (cell.kind == OGC_CELL_NUMBER)
		return number_json(cell.text);
	return json_string(cell.text);
}

bool ogc_reports_sensitive(const char *key)
{
	return key != NULL && (strcmp(key, "id_number") == 0 || strcmp(key, "phone") == 0);
}

const char *ogc_reports_mask(const char *key, const char *in, bool unmasked, char *buf, size_t len)
{
	if (unmasked || in == NULL || !ogc_reports_sensitive(key))
		return in;
	if (strcmp(key, "phone") == 0)
		ogc_mask_phone(in, buf, len);
	else
		ogc_mask_id_number(in, buf, len);
	return buf;
}

/* ------------------------------------------------------------------ */
/* The CSV / XLSX sink */

struct ogc_sink {
	og_req *req;
	int format; /* 1 csv, 2 xlsx */
	size_t ncols;
	struct evbuffer *csv;
	ogc_xlsx *xlsx;
	char disposition[512];
	bool failed;
};

/* RFC 5987 percent-encoding of a UTF-8 file name. */
static void pct_encode(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		             (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL;

		if (o + (plain ? 1 : 3) + 1 > outlen)
			break;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

/* One CSV field (RFC 4180).  Text a spreadsheet would run as a formula
 * (=, +, -, @ first) gets a leading apostrophe: a ledger's names and
 * addresses are typed by people. */
static void csv_field(struct evbuffer *b, const ogc_cell *c, bool last)
{
	const char *s = c->text;

	if (c->kind != OGC_CELL_NULL && s != NULL) {
		if (c->kind == OGC_CELL_NUMBER) {
			evbuffer_add(b, s, strlen(s));
		} else {
			bool quote = strpbrk(s, ",\"\r\n") != NULL;
			bool guard = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';

			if (quote || guard)
				evbuffer_add(b, "\"", 1);
			if (guard)
				evbuffer_add(b, "'", 1);
			for (; *s != '\0'; s++) {
				if (*s == '"')
					evbuffer_add(b, "\"", 1);
				evbuffer_add(b, s, 1);
			}
			if (quote || guard)
				evbuffer_add(b, "\"", 1);
		}
	}
	evbuffer_add(b, last ? "\r\n" : ",", last ? 2 : 1);
}

static int csv_flush(ogc_sink *s, size_t at_least)
{
	size_t len = evbuffer_get_length(s->csv);

	if (len == 0 || len < at_least || s->failed)
		return s->failed ? -1 : 0;
	if (ogc_req_stream_write(s->req, evbuffer_pullup(s->csv, -1), len) != 0)
		s->failed = true;
	evbuffer_drain(s->csv, len);
	return s->failed ? -1 : 0;
}

ogc_sink *ogc_reports_sink_begin(og_req *req, int format, const char *file_base, const char *title,
                                 const char *const *headers, size_t ncols, bool big)
{
	const char *ext = format == 2 ? "xlsx" : "csv";
	char encoded[384], utf8[256];
	ogc_sink *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		return NULL;
	}
	s->req = req;
	s->format = format;
	s->ncols = ncols;
	snprintf(utf8, sizeof(utf8), "%s.%s", title, ext);
	pct_encode(utf8, encoded, sizeof(encoded));
	snprintf(s->disposition, sizeof(s->disposition),
	         "attachment; filename=\"%s.%s\"; filename*=UTF-8''%s", file_base, ext, encoded);
	if (format == 2) {
		/* Region names (the first column) stay in view in a summary. */
		s->xlsx = ogc_xlsx_new(title, headers, ncols, big ? 0 : 1, big);
		if (s->xlsx == NULL) {
			free(s);
			ogc_req_reply_error(req, 500, "internal", "cannot create the spreadsheet",
			                    NULL);
			return NULL;
		}
		return s;
	}
	s->csv = evbuffer_new();
	if (s->csv == NULL) {
		free(s);
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		return NULL;
	}
	ogc_host_api()->set_header(req, "Content-Disposition", s->disposition);
	ogc_req_stream_begin(req, 200, "text/csv; charset=utf-8");
	/* The BOM makes spreadsheet programs read the file as UTF-8. */
	evbuffer_add(s->csv, "\xEF\xBB\xBF", 3);
	for (size_t c = 0; c < ncols; c++) {
		ogc_cell h = {OGC_CELL_TEXT, headers[c]};
		csv_field(s->csv, &h, c + 1 == ncols);
	}
	return s;
}

int ogc_reports_sink_row(ogc_sink *s, const ogc_cell *cells)
{
	if (s->failed)
		return -1;
	if (s->format == 2) {
		if (ogc_xlsx_row(s->xlsx, cells) != 0)
			s->failed = true;
		return s->failed ? -1 : 0;
	}
	for (size_t c = 0; c < s->ncols; c++)
		csv_field(s->csv, &cells[c], c + 1 == s->ncols);
	return csv_flush(s, CSV_FLUSH);
}

void ogc_reports_sink_abort(ogc_sink *s)
{
	if (s->format == 2) {
		/* Nothing was sent yet: an error reply still can be.  A failed
		 * query has set its own (503 ...); keep that one. */
		ogc_xlsx_free(s->xlsx);
		if (s->req->status < 400)
			ogc_req_reply_error(s->req, 500, "internal", "cannot write the spreadsheet",
			                    NULL);
	} else {
		/* The status line is out: the file can only end short (logged by
		 * whoever failed). */
		csv_flush(s, 0);
		evbuffer_free(s->csv);
		ogc_req_stream_end(s->req);
	}
	free(s);
}

int ogc_reports_sink_end(ogc_sink *s)
{
	int rc = 0;

	if (s->failed) {
		ogc_reports_sink_abort(s);
		return -1;
	}
	if (s->format == 2) {
		ogc_host_api()->set_header(s->req, "Content-Disposition", s->disposition);
		ogc_req_stream_begin(s->req, 200,
		                     "application/vnd.openxmlformats-officedocument."
		                     "spreadsheetml.sheet");
		rc = ogc_xlsx_finish(s->xlsx, s->req);
		ogc_req_stream_end(s->req);
	} else {
		rc = csv_flush(s, 0);
		evbuffer_free(s->csv);
		ogc_req_stream_end(s->req);
	}
	free(s);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Request parameters */

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ?date=YYYY-MM-DD (a real calendar day, 1900..2999); default today in
 * China (UTC+8 all year). */
static int report_date(og_req *req, char out[11])
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *s = evhttp_find_header(&req->query, "date");
	int y, m, d;

	if (s == NULL || s[0] == '\0') {
		time_t now = time(NULL) + 8 * 3600;
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(out, 11, "%Y-%m-%d", &tm);
		return 0;
	}
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		goto bad;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			goto bad;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (y < 1900 || y > 2999 || m < 1 || m > 12 || d < 1 ||
	    d > mdays[m - 1] + (m == 2 && leap(y)))
		goto bad;
	memcpy(out, s, 11);
	return 0;
bad:
	ogc_util_invalid(req, "date", "date must be a calendar date, YYYY-MM-DD");
	return -1;
}

/* SQL of a plugin without the trailing semicolons and blanks a
 * subquery cannot have; new string (free), NULL when out of memory. */
static char *subquery_sql(const char *sql)
{
	size_t n = strlen(sql);

	while (n > 0 && strchr(" \t\r\n;", sql[n - 1]) != NULL)
		n--;
	return strndup(sql, n);
}

/* ------------------------------------------------------------------ */
/* The indicators shown for a caller */

typedef struct shown {
	const og_indicator_def *def; /* borrowed from the registry */
	og_plugin *owner;
	int num, den; /* indexes of a ratio's parts in the shown list */
} shown;

/* Indicators of the core and of plugins enabled for the caller's district,
 * in registration order; a ratio only when both parts are shown.  Returns
 * the count (array new, free it) or -1 (reply set). */
static int shown_indicators(og_req *req, shown **out)
{
	size_t total = ogc_registry_indicator_count(), n = 0;
	shown *list = calloc(total + 1, sizeof(*list));
	og_plugin *checked[64];
	int verdict[64];
	size_t nchecked = 0;
	bool changed;

	if (list == NULL) {
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	for (size_t i = 0; i < total; i++) {
		og_plugin *owner;
		const og_indicator_def *def = ogc_registry_indicator_get(i, &owner);
		int on = -2;

		if (def == NULL)
			continue;
		if (owner != NULL) {
			for (size_t k = 0; k < nchecked; k++)
				if (checked[k] == owner)
					on = verdict[k];
			if (on == -2) {
				on = ogc_reports_enabled(req, owner, req->caller.district_id);
				if (on < 0) {
					free(list);
					return -1;
				}
				if (nchecked < sizeof(checked) / sizeof(checked[0])) {
					checked[nchecked] = owner;
					verdict[nchecked++] = on;
				}
			}
			if (on == 0)
				continue;
		}
		list[n].def = def;
		list[n].owner = owner;
		list[n].num = list[n].den = -1;
		n++;
	}
	/* Ratios: link the parts; drop a ratio whose part is not shown (and
	 * then any ratio built on it), until nothing changes. */
	do {
		size_t w = 0;

		changed = false;
		for (size_t i = 0; i < n; i++) {
			const og_indicator_def *def = list[i].def;
			int num = -1, den = -1;

			if (def->ratio_numerator != NULL) {
				for (size_t k = 0; k < n; k++) {
					if (strcmp(list[k].def->code, def->ratio_numerator) == 0)
						num = (int)k;
					if (strcmp(list[k].def->code, def->ratio_denominator) == 0)
						den = (int)k;
				}
				if (num < 0 || den < 0) {
					changed = true;
					continue;
				}
			}
			list[w++] = list[i];
		}
		n = w;
	} while (changed);
	for (size_t i = 0; i < n; i++) {
		if (list[i].def->ratio_numerator == NULL)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (strcmp(list[k].def->code, list[i].def->ratio_numerator) == 0)
				list[i].num = (int)k;
			if (strcmp(list[k].def->code, list[i].def->ratio_denominator) == 0)
				list[i].den = (int)k;
		}
	}
	*out = list;
	return (int)n;
}

static json_t *indicator_json(const shown *s, const shown *all)
{
	json_t *o =
	        json_pack("{s:s, s:s, s:s, s:s, s:b}", "code", s->def->code, "label", s->def->label,
	                  "unit", s->def->unit != NULL ? s->def->unit : "", "owner",
	                  owner_label(s->owner), "traceable", s->def->rows_sql != NULL);

	if (s->num >= 0)
		json_object_set_new(o, "ratio",
		                    json_pack("{s:s, s:s}", "numerator", all[s->num].def->code,
		                              "denominator", all[s->den].def->code));
	return o;
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/reports/summary */

typedef struct value {
	int state; /* 0 not computed, 1 value, 2 null (a ratio over 0) */
	double num;
	char text[48]; /* decimal text, as the CSV and JSON show it */
} value;

typedef struct report_row {
	int64_t region_id;
	char *name;   /* owned */
	json_t *json; /* owned: {id, name, level, code, closed_on} */
	value *vals;  /* owned, one per shown indicator */
} report_row;

/* Whether list[i] is the first shown indicator over its facts_sql text:
 * the first one names the group's CTE, og_f<i>. */
static bool facts_first(const shown *list, int i)
{
	for (int k = 0; k < i; k++)
		if (list[k].def->facts_sql != NULL &&
		    strcmp(list[k].def->facts_sql, list[i].def->facts_sql) == 0)
			return false;
	return true;
}

/* The aggregates of one facts group over f: one column c<k> per
 * indicator k of the group led by list[i], the rows its filter keeps
 * counted (by grid_id: the NULL row below is not) or their value summed. */
static void facts_columns(FILE *f, const shown *list, int n, int i)
{
	for (int k = i; k < n; k++) {
		const og_indicator_def *d = list[k].def;

		if (d->facts_sql == NULL || strcmp(d->facts_sql, list[i].def->facts_sql) != 0)
			continue;
		if (d->fact_value != NULL)
			fprintf(f, "%s sum((%s)::numeric)", k == i ? "" : ",", d->fact_value);
		else
			fprintf(f, "%s count(f.grid_id)", k == i ? "" : ",");
		if (d->fact_filter != NULL)
			fprintf(f, " FILTER (WHERE %s)", d->fact_filter);
		fprintf(f, " AS c%d", k);
	}
}

/* The CTEs of the group led by list[i]: og_a<i>, one run of the shared
 * facts aggregated per grid; og_z<i>, the same aggregates over one row
 * of NULLs (the facts are not run: ON false), which is what a grid
 * without records gets, as the per-grid sql gives it its zero; og_f<i>,
 * every grid of the region with one or the other.  Aggregating before
 * the join to the region's grids keeps the planner from re-running the
 * facts once per grid.  0, or -1 when out of memory. */
static int facts_cte(FILE *f, const shown *list, int n, int i)
{
	char *sub = subquery_sql(list[i].def->facts_sql);

	if (sub == NULL)
		return -1;
	fprintf(f, ", og_a%d AS (SELECT f.grid_id,", i);
	facts_columns(f, list, n, i);
	fprintf(f, " FROM (%s) AS f GROUP BY f.grid_id), og_z%d AS (SELECT", sub, i);
	facts_columns(f, list, n, i);
	fprintf(f, " FROM (SELECT 1) AS og_one LEFT JOIN (%s) AS f ON false)", sub);
	fprintf(f, ", og_f%d AS (SELECT og_g.id AS grid_id", i);
	for (int k = i; k < n; k++)
		if (list[k].def->facts_sql != NULL &&
		    strcmp(list[k].def->facts_sql, list[i].def->facts_sql) == 0)
			fprintf(f, ", coalesce(a.c%d, z.c%d) AS c%d", k, k, k);
	fprintf(f, " FROM og_g CROSS JOIN og_z%d z LEFT JOIN og_a%d a ON a.grid_id = og_g.id)", i,
	        i);
	free(sub);
	return 0;
}

/* The statement: grids under $2 with the child each lies under, the
 * core's fused pass, each group of facts-form indicators (one run of
 * their shared facts), each other plugin indicator's per-grid SQL, summed
 * per child and in total.  New string, NULL when out of memory. */
static char *summary_sql(const shown *list, int n, bool wide)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	fprintf(f,
	        "WITH %s, "
	        "og_g AS (SELECT r.id, CASE WHEN nlevel(r.path) > nlevel($2::ltree) THEN "
	        "  ltree2text(subltree(r.path, nlevel($2::ltree), nlevel($2::ltree) + 1))::bigint "
	        "  END AS child FROM core.region r "
	        "  WHERE r.level = 'grid' AND r.path <@ $2::ltree)",
	        ogc_indicators_core_sql(wide));
	for (int i = 0; i < n; i++)
		if (list[i].owner != NULL && list[i].def->facts_sql != NULL && facts_first(list, i) &&
		    facts_cte(f, list, n, i) != 0)
			goto oom;
	fputs(", og_vals(code, grid_id, val) AS (SELECT code, grid_id, val FROM og_core", f);
	for (int i = 0; i < n; i++) {
		char *sub;

		if (list[i].owner == NULL)
			continue;
		if (list[i].def->facts_sql != NULL) {
			int lead = i;

			if (!facts_first(list, i))
				continue;
			/* Codes are [a-z0-9_.-] (the registry checks): safe as literals. */
			fprintf(f, " UNION ALL SELECT v.code, c.grid_id, v.val FROM og_f%d c "
			           "CROSS JOIN LATERAL (VALUES ", lead);
			for (int k = lead; k < n; k++) {
				if (list[k].def->facts_sql == NULL ||
				    strcmp(list[k].def->facts_sql, list[lead].def->facts_sql) != 0)
					continue;
				fprintf(f, "%s('%s', c.c%d::numeric)", k == lead ? "" : ", ",
				        list[k].def->code, k);
			}
			fputs(") v(code, val)", f);
			continue;
		}
		if (list[i].def->sql == NULL)
			continue;
		sub = subquery_sql(list[i].def->sql);
		if (sub == NULL)
			goto oom;
		/* The plugin's SQL computes every grid of the database; the
		 * filter on og_g's ids (an init plan: a parameter, so PostgreSQL
		 * pushes it into the subquery's GROUP BY key) makes it read only
		 * the region's grids instead of scanning core.resident whole. */
		fprintf(f,
		        " UNION ALL SELECT '%s', og_p.grid_id::bigint, og_p.val::numeric "
		        "FROM (%s) AS og_p(grid_id, val) "
		        "WHERE og_p.grid_id = ANY (ARRAY(SELECT og_g.id FROM og_g))",
		        list[i].def->code, sub);
		free(sub);
	}
	fputs(") SELECT GROUPING(g.child) = 1, g.child, v.code, sum(v.val)::text "
	      "FROM og_vals v JOIN og_g g ON g.id = v.grid_id "
	      "GROUP BY GROUPING SETS ((v.code), (v.code, g.child))",
	      f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
oom:
	fclose(f);
	free(buf);
	return NULL;
}

static int find_shown(const shown *list, int n, const char *code)
{
	for (int i = 0; i < n; i++)
		if (strcmp(list[i].def->code, code) == 0)
			return i;
	return -1;
}

/* A ratio from its parts at this level (never from children's ratios). */
static void compute_ratio(const shown *list, value *vals, int i, int depth)
{
	const shown *s = &list[i];
	value *num, *den;
	double x;

	if (vals[i].state != 0)
		return;
	if (depth > MAX_RATIO_DEPTH) {
		vals[i].state = 2;
		return;
	}
	compute_ratio(list, vals, s->num, depth + 1);
	compute_ratio(list, vals, s->den, depth + 1);
	num = &vals[s->num];
	den = &vals[s->den];
	if (num->state != 1 || den->state != 1 || den->num == 0) {
		vals[i].state = 2;
		return;
	}
	x = num->num / den->num;
	if (s->def->unit != NULL && strcmp(s->def->unit, "%") == 0)
		x *= 100;
	/* Rounded once, to 2 decimals, the same for JSON, CSV and XLSX. */
	snprintf(vals[i].text, sizeof(vals[i].text), "%.2f", x);
	vals[i].num = strtod(vals[i].text, NULL);
	vals[i].state = 1;
}

static void free_rows(report_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].name);
		json_decref(rows[i].json);
		free(rows[i].vals);
	}
	free(rows);
}

/* Region itself first, then its children (by code).  Returns the rows
 * (new) and their count in *nrows, or NULL (reply set). */
static report_row *summary_rows(og_req *req, const ogc_report_region *region, int n, size_t *nrows)
{
	char sid[24];
	const char *params[1] = {sid};
	PGresult *res;
	report_row *rows;
	json_error_t jerr;
	size_t count;

	snprintf(sid, sizeof(sid), "%lld", (long long)region->id);
	res = ogc_req_exec(
	        req,
	        "SELECT c.id, c.name, json_build_object('id', c.id, 'name', c.name, "
	        "  'level', c.level, 'code', c.code, 'closed_on', c.closed_on)::text "
	        "FROM core.region c WHERE c.parent_id = $1::bigint ORDER BY c.code, c.id",
	        1, params);
	if (res == NULL)
		return NULL;
	count = (size_t)PQntuples(res) + 1;
	rows = calloc(count, sizeof(*rows));
	if (rows == NULL) {
		PQclear(res);
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		rows[i].vals = calloc((size_t)n + 1, sizeof(value));
		if (i == 0) {
			rows[i].region_id = region->id;
			rows[i].name = strdup(region->name);
			rows[i].json = json_deep_copy(region->json);
		} else {
			rows[i].region_id = strtoll(PQgetvalue(res, (int)i - 1, 0), NULL, 10);
			rows[i].name = strdup(PQgetvalue(res, (int)i - 1, 1));
			rows[i].json = json_loads(PQgetvalue(res, (int)i - 1, 2), 0, &jerr);
		}
		if (rows[i].vals == NULL || rows[i].name == NULL || rows[i].json == NULL) {
			PQclear(res);
			free_rows(rows, count);
			ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
			return NULL;
		}
	}
	PQclear(res);
	*nrows = count;
	return rows;
}

/* Runs the statement and fills every row's values (counts default to 0;
 * ratios computed from the parts).  0 or -1 (reply set). */
static int compute(og_req *req, const ogc_report_region *region, const char *date,
                   const shown *list, int n, report_row *rows, size_t nrows)
{
	const char *params[2] = {date, region->path};
	bool wide = strcmp(region->level, "district") == 0 || strcmp(region->level, "street") == 0;
	char *sql = summary_sql(list, n, wide);
	PGresult *res;

	if (sql == NULL) {
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	res = ogc_req_exec(req, sql, 2, params);
	free(sql);
	if (res == NULL)
		return -1;
	for (int r = 0; r < PQntuples(res); r++) {
		bool total = PQgetvalue(res, r, 0)[0] == 't';
		int k = find_shown(list, n, PQgetvalue(res, r, 2));
		report_row *row = NULL;

		if (k < 0 || PQgetisnull(res, r, 3))
			continue;
		if (total) {
			row = &rows[0];
		} else if (!PQgetisnull(res, r, 1)) {
			int64_t child = strtoll(PQgetvalue(res, r, 1), NULL, 10);
			for (size_t i = 1; i < nrows; i++)
				if (rows[i].region_id == child)
					row = &rows[i];
		}
		if (row == NULL)
			continue;
		snprintf(row->vals[k].text, sizeof(row->vals[k].text), "%s", PQgetvalue(res, r, 3));
		row->vals[k].num = strtod(row->vals[k].text, NULL);
		row->vals[k].state = 1;
	}
	PQclear(res);
	for (size_t i = 0; i < nrows; i++) {
		for (int k = 0; k < n; k++)
			if (list[k].num < 0 && rows[i].vals[k].state == 0) {
				/* No rows at all: nothing to count here. */
				snprintf(rows[i].vals[k].text, sizeof(rows[i].vals[k].text), "0");
				rows[i].vals[k].num = 0;
				rows[i].vals[k].state = 1;
			}
		for (int k = 0; k < n; k++)
			if (list[k].num >= 0)
				compute_ratio(list, rows[i].vals, k, 0);
	}
	return 0;
}

static json_t *value_json(const value *v)
{
	return v->state == 1 ? number_json(v->text) : json_null();
}

static void reply_summary_json(og_req *req, const ogc_report_region *region, const char *date,
                               const shown *list, int n, const report_row *rows, size_t nrows)
{
	json_t *inds = json_array(), *out_rows = json_array();

	for (int k = 0; k < n; k++)
		json_array_append_new(inds, indicator_json(&list[k], list));
	for (size_t i = 0; i < nrows; i++) {
		json_t *vals = json_object();

		for (int k = 0; k < n; k++)
			json_object_set_new(vals, list[k].def->code, value_json(&rows[i].vals[k]));
		json_array_append_new(
		        out_rows, json_pack("{s:O, s:o}", "region", rows[i].json, "values", vals));
	}
	ogc_req_reply_json(req, 200,
	                   json_pack("{s:O, s:s, s:o, s:o}", "region", region->json, "date", date,
	                             "indicators", inds, "rows", out_rows));
}

static void reply_summary_table(og_req *req, int format, const ogc_report_region *region,
                                const char *date, const shown *list, int n, const report_row *rows,
                                size_t nrows)
{
	char **headers = calloc((size_t)n + 1, sizeof(*headers));
	ogc_cell *cells = calloc((size_t)n + 1, sizeof(*cells));
	char base[96], title[400];
	ogc_sink *s = NULL;
	bool oom = headers == NULL || cells == NULL;

	if (!oom) {
		headers[0] = strdup("地区");
		oom = headers[0] == NULL;
	}
	for (int k = 0; !oom && k < n; k++) {
		const char *unit = list[k].def->unit;

		if (unit != NULL && unit[0] != '\0') {
			if (asprintf(&headers[k + 1], "%s(%s)", list[k].def->label, unit) < 0)
				headers[k + 1] = NULL;
		} else {
			headers[k + 1] = strdup(list[k].def->label);
		}
		oom = headers[k + 1] == NULL;
	}
	if (oom) {
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		goto done;
	}
	snprintf(base, sizeof(base), "report-%lld-%s", (long long)region->id, date);
	snprintf(title, sizeof(title), "%s一表通%s", region->name, date);
	s = ogc_reports_sink_begin(req, format, base, title, (const char *const *)headers,
	                           (size_t)n + 1, false);
	if (s == NULL)
		goto done;
	for (size_t i = 0; i < nrows; i++) {
		cells[0].kind = OGC_CELL_TEXT;
		cells[0].text = rows[i].name;
		for (int k = 0; k < n; k++) {
			cells[k + 1].kind =
			        rows[i].vals[k].state == 1 ? OGC_CELL_NUMBER : OGC_CELL_NULL;
			cells[k + 1].text = rows[i].vals[k].text;
		}
		if (ogc_reports_sink_row(s, cells) != 0)
			break;
	}
	ogc_reports_sink_end(s);
done:
	for (int k = 0; headers != NULL && k <= n; k++)
		free(headers[k]);
	free(headers);
	free(cells);
}

int ogc_reports_snapshot(og_req *req)
{
	/* Not READ ONLY: an unmasked read is audited inside it. */
	PGresult *res = ogc_req_exec(req, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL);

	if (res == NULL)
		return -1;
	PQclear(res);
	req->in_tx = true;
	res = ogc_req_exec(req, "SET LOCAL jit = off", 0, NULL);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

static void summary(og_req *req, const og_host_api *host)
{
	ogc_report_region region;
	shown *list = NULL;
	report_row *rows = NULL;
	size_t nrows = 0;
	char date[11];
	int format, n;

	(void)host;
	if ((format = ogc_reports_format(req)) < 0 || report_date(req, date) != 0 ||
	    ogc_reports_region(req, &region) != 0)
		return;
	n = shown_indicators(req, &list);
	if (n >= 0 && ogc_reports_snapshot(req) == 0)
		rows = summary_rows(req, &region, n, &nrows);
	if (rows != NULL && compute(req, &region, date, list, n, rows, nrows) == 0) {
		if (format == 0)
			reply_summary_json(req, &region, date, list, n, rows, nrows);
		else
			reply_summary_table(req, format, &region, date, list, n, rows, nrows);
	}
	if (rows != NULL)
		free_rows(rows, nrows);
	free(list);
	ogc_reports_region_clear(&region);
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/reports/indicators */

static void indicators_list(og_req *req, const og_host_api *host)
{
	shown *list = NULL;
	json_t *items;
	int n;

	(void)host;
	n = shown_indicators(req, &list);
	if (n < 0)
		return;
	items = json_array();
	for (int k = 0; k < n; k++)
		json_array_append_new(items, indicator_json(&list[k], list));
	free(list);
	ogc_req_reply_json(req, 200, ogc_util_list(items, 0));
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/reports/indicators/{code}/rows */

json_t *ogc_reports_row_object(const PGresult *res, int row, const char *const *keys, int ncols,
                               bool unmasked)
{
	json_t *o = json_object();
	char buf[64];

	for (int c = 0; c < ncols; c++) {
		const char *key = keys != NULL ? keys[c] : PQfname(res, c);
		ogc_cell cell = {OGC_CELL_NULL, NULL};

		if (!PQgetisnull(res, row, c)) {
			cell.kind = ogc_reports_kind(PQftype(res, c));
			cell.text = ogc_reports_mask(key, PQgetvalue(res, row, c), unmasked, buf,
			                             sizeof(buf));
		}
		json_object_set_new(o, key, ogc_reports_cell_json(cell, PQftype(res, c)));
	}
	return o;
}

static void indicator_rows(og_req *req, const og_host_api *host)
{
	const char *code = host->path_param(req, "code");
	ogc_report_region region;
	const og_indicator_def *def = NULL;
	og_plugin *owner = NULL;
	char date[11], cursor_s[24], limit_s[16], msg[256], *sub = NULL, *sql = NULL;
	const char *params[4];
	PGresult *res = NULL;
	json_t *items, *cols, *inds;
	bool keyset, unmasked, sensitive = false;
	int64_t cursor, next = 0;
	int limit, nrows, on;

	for (size_t i = 0; code != NULL && i < ogc_registry_indicator_count(); i++) {
		def = ogc_registry_indicator_get(i, &owner);
		if (def != NULL && strcmp(def->code, code) == 0)
			break;
		def = NULL;
	}
	if (def == NULL) {
		ogc_req_reply_error(req, 404, "not_found", "no such indicator", NULL);
		return;
	}
	/* A disabled plugin's indicator looks absent, as its routes do. */
	on = ogc_reports_enabled(req, owner, req->caller.district_id);
	if (on <= 0) {
		if (on == 0)
			ogc_req_reply_error(req, 404, "not_found", "no such indicator", NULL);
		return;
	}
	if (def->ratio_numerator != NULL) {
		snprintf(msg, sizeof(msg), "%s is a ratio of %s and %s: open the rows of its parts",
		         def->code, def->ratio_numerator, def->ratio_denominator);
		ogc_util_invalid(req, "code", msg);
		return;
	}
	if (def->rows_sql == NULL) {
		snprintf(msg, sizeof(msg), "%s declares no rows query", def->code);
		ogc_util_invalid(req, "code", msg);
		return;
	}
	if (report_date(req, date) != 0 || ogc_util_page(req, &limit, &cursor) != 0 ||
	    ogc_reports_region(req, &region) != 0)
		return;

	if (ogc_reports_snapshot(req) != 0)
		goto done;
	sub = subquery_sql(def->rows_sql);
	params[0] = date;
	params[1] = region.path;
	if (sub == NULL || asprintf(&sql, "SELECT * FROM (%s) AS og_rows LIMIT 0", sub) < 0) {
		sql = NULL;
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		goto done;
	}
	/* The columns first: a unique integer "id" first allows keyset pages. */
	res = ogc_req_exec(req, sql, 2, params);
	free(sql);
	sql = NULL;
	if (res == NULL)
		goto done;
	keyset = PQnfields(res) > 0 && strcmp(PQfname(res, 0), "id") == 0 &&
	         ogc_reports_kind(PQftype(res, 0)) == OGC_CELL_NUMBER;
	PQclear(res);
	res = NULL;
	if (asprintf(&sql,
	             keyset ? "SELECT * FROM (%s) AS og_rows WHERE og_rows.id > $3::bigint "
	                      "ORDER BY og_rows.id LIMIT $4::int + 1"
	                    : "SELECT * FROM (%s) AS og_rows OFFSET $3::bigint LIMIT $4::int + 1",
	             sub) < 0) {
		sql = NULL;
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		goto done;
	}
	snprintf(cursor_s, sizeof(cursor_s), "%lld", (long long)cursor);
	snprintf(limit_s, sizeof(limit_s), "%d", limit);
	params[2] = cursor_s;
	params[3] = limit_s;
	res = ogc_req_exec(req, sql, 4, params);
	if (res == NULL)
		goto done;
	nrows = PQntuples(res);
	cols = json_array();
	for (int c = 0; c < PQnfields(res); c++) {
		json_array_append_new(cols, json_string(PQfname(res, c)));
		sensitive = sensitive || ogc_reports_sensitive(PQfname(res, c));
	}
	unmasked = sensitive && ogc_auth_has_permission(req, PERM_SENSITIVE);
	if (unmasked && nrows > 0) {
		json_t *what = json_pack("{s:s, s:I, s:s, s:s}", "indicator", def->code, "region",
		                         (json_int_t)region.id, "date", date, "cursor", cursor_s);
		int rc = ogc_audit_write(req, "read_sensitive", "indicator_rows", def->code,
		                         region.id, NULL, what);
		json_decref(what);
		if (rc != 0) {
			json_decref(cols);
			goto done;
		}
	}
	items = json_array();
	for (int r = 0; r < nrows && r < limit; r++)
		json_array_append_new(
		        items, ogc_reports_row_object(res, r, NULL, PQnfields(res), unmasked));
	if (nrows > limit)
		next = keyset ? strtoll(PQgetvalue(res, limit - 1, 0), NULL, 10) : cursor + limit;
	{
		shown self = {def, owner, -1, -1};
		inds = indicator_json(&self, &self);
	}
	{
		json_t *out = ogc_util_list(items, next);
		json_object_set_new(out, "indicator", inds);
		json_object_set(out, "region", region.json);
		json_object_set_new(out, "date", json_string(date));
		json_object_set_new(out, "columns", cols);
		ogc_req_reply_json(req, 200, out);
	}
done:
	PQclear(res);
	free(sql);
	free(sub);
	ogc_reports_region_clear(&region);
}

/* ------------------------------------------------------------------ */
/* Registration */

static const char doc_summary[] =
        "{\"description\": \"Every indicator of the core and of the plugins enabled for the "
        "caller's district, for the region and each of its children (first row: the region). "
        "Counts are summed up the region tree; ratios are recomputed from their parts at each "
        "level. csv: UTF-8 with BOM, Chinese headers; xlsx: one sheet, frozen header row, region "
        "names down the first column.\", "
        "\"parameters\": ["
        "{\"name\": \"region\", \"in\": \"query\", \"description\": \"region id (default: the "
        "caller's scope region; required for an administrator)\", \"schema\": {\"type\": "
        "\"integer\", \"minimum\": 1}}, "
        "{\"name\": \"date\", \"in\": \"query\", \"description\": \"report date (default today): "
        "ages and life-status changes are taken on this day\", \"schema\": {\"type\": \"string\", "
        "\"format\": \"date\"}}, "
        "{\"name\": \"format\", \"in\": \"query\", \"schema\": {\"type\": \"string\", \"enum\": "
        "[\"json\", \"csv\", \"xlsx\"], \"default\": \"json\"}}], "
        "\"responses\": {\"200\": {\"description\": \"the report\", \"content\": {"
        "\"application/json\": {\"schema\": {\"type\": \"object\", \"properties\": {"
        "\"region\": {\"type\": \"object\"}, \"date\": {\"type\": \"string\"}, "
        "\"indicators\": {\"type\": \"array\", \"items\": {\"type\": \"object\", \"properties\": {"
        "\"code\": {\"type\": \"string\"}, \"label\": {\"type\": \"string\"}, \"unit\": {\"type\": "
        "\"string\"}, \"owner\": {\"type\": \"string\"}}}}, "
        "\"rows\": {\"type\": \"array\", \"items\": {\"type\": \"object\", \"properties\": {"
        "\"region\": {\"type\": \"object\"}, \"values\": {\"type\": \"object\", "
        "\"additionalProperties\": {\"type\": \"number\", \"nullable\": true}}}}}}}}, "
        "\"text/csv\": {\"schema\": {\"type\": \"string\"}}, "
        "\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\": {\"schema\": "
        "{\"type\": \"string\", \"format\": \"binary\"}}}}, "
        "\"default\": {\"description\": \"{\\\"error\\\": {code, message, field}}\", "
        "\"content\": {\"application/json\": {\"schema\": {\"$ref\": "
        "\"#/components/schemas/Error\"}}}}}}";

static const char doc_indicators[] =
        "{\"description\": \"The indicators a summary shows the caller: the core's and those of "
        "plugins enabled for the caller's district.\", \"parameters\": []}";

static const char doc_rows[] =
        "{\"description\": \"The records behind an indicator's figure for a region: for a count, "
        "as many rows as the figure.  Keyset-paged when the first column is a unique integer id "
        "(cursor: the last id), offset-paged otherwise (cursor: rows already read).  ID numbers "
        "and phones are masked without residents.read_sensitive; an unmasked page is audited.\", "
        "\"parameters\": ["
        "{\"name\": \"code\", \"in\": \"path\", \"required\": true, \"schema\": {\"type\": "
        "\"string\", \"maxLength\": 64}}, "
        "{\"name\": \"region\", \"in\": \"query\", \"schema\": {\"type\": \"integer\", "
        "\"minimum\": 1}}, "
        "{\"name\": \"date\", \"in\": \"query\", \"schema\": {\"type\": \"string\", \"format\": "
        "\"date\"}}, "
        "{\"name\": \"limit\", \"in\": \"query\", \"schema\": {\"type\": \"integer\", \"minimum\": "
        "1, \"maximum\": 500, \"default\": 50}}, "
        "{\"name\": \"cursor\", \"in\": \"query\", \"schema\": {\"type\": \"string\"}}]}";

void ogc_reports_register_routes(void)
{
	if (!ogc_registry_has_permission(PERM_READ))
		ogc_registry_permission(NULL, PERM_READ, "报表-查看", read_roles);
	ogc_indicators_register();
	if (ogc_router_add(NULL, OG_GET, "/api/v1/reports/summary", PERM_READ, summary,
	                   "One report (一表通): every enabled indicator for a region and its "
	                   "children") == 0)
		ogc_router_describe(OG_GET, "/api/v1/reports/summary", doc_summary);
	if (ogc_router_add(NULL, OG_GET, "/api/v1/reports/indicators", PERM_READ, indicators_list,
	                   "The indicators the caller's reports show") == 0)
		ogc_router_describe(OG_GET, "/api/v1/reports/indicators", doc_indicators);
	if (ogc_router_add(NULL, OG_GET, "/api/v1/reports/indicators/{code}/rows", PERM_READ,
	                   indicator_rows, "The records behind an indicator's figure") == 0)
		ogc_router_describe(OG_GET, "/api/v1/reports/indicators/{code}/rows", doc_rows);
}

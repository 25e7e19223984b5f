/*
 * core/ledgers.c — ledgers (台账): declared list queries with Chinese
 * column labels, rendered for any region in the caller's scope.
 *
 *   GET /api/v1/ledgers                          the ledgers the caller may open
 *   GET /api/v1/ledgers/{plugin}/{name}?region=&format=json|csv|xlsx&limit=&cursor=
 *
 * For: the core's own ledgers over the shared model — "core"/"population"
 * (人口台账: every resident, grouped by household) and "core"/"households"
 * (户台账) — and rendering any registered ledger, the core's or a plugin's:
 * JSON one page at a time, CSV and XLSX streamed from a cursor in one
 * snapshot (never the whole ledger in memory).
 *
 * Rules: a plugin's ledgers exist only for districts that run the plugin
 * (404 otherwise, as its routes); the caller needs the ledger's
 * permission (403); the region defaults to the caller's scope and outside
 * it is a 404.  Columns keyed "id_number" or "phone" are masked unless the
 * caller holds residents.read_sensitive, and an unmasked rendering is
 * audited before a row leaves.
 *
 * Paging: when a ledger's first column is keyed "id" (a unique integer the
 * query is ordered by) JSON pages are keyset-paged on it and the cursor is
 * the last id; otherwise the cursor is the number of rows already read
 * (offset paging: a ledger's order, e.g. residents by household, need not
 * be an order on a unique key).  Both cursors are opaque decimal strings.
 *
 * Not here: the registry of ledgers (registry.c), regions, formats, cells,
 * masking and the CSV/XLSX sink (reports.c), XLSX files (xlsx.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define PERM_READ "reports.read"
#define PERM_SENSITIVE "residents.read_sensitive"
#define FETCH_ROWS "1000"
#define MASK_BUF 64

static const char *const read_roles[] = {"district", "street", "community", "grid_worker", NULL};

/* ------------------------------------------------------------------ */
/* The core's ledgers ($1: the region's ltree path) */

static const char *const population_columns[] = {
        "household_number", "address",    "grid",      "name",  "relation",
        "gender",           "birth_date", "id_number", "phone", "residence_status",
        "life_status",      "tags"};
static const char *const population_labels[] = {"户号",       "住址",     "所属网格", "姓名",
                                                "与户主关系", "性别",     "出生日期", "证件号码",
                                                "联系电话",   "户籍类别", "人员状态", "标签"};

/* Every resident ever registered (status shown), household by household,
 * the head first; residents without a household last. */
static const og_ledger_def population_ledger = {
        .name = "population",
        .title = "人口台账",
        .permission = PERM_READ,
        .sql = "SELECT h.household_number, core.household_address(h.address, b.name, h.unit, "
               "h.room), g.name, r.name, r.relation, core.label_gender(r.gender), r.birth_date, "
               "r.id_number, r.phone, core.label_residence(r.residence_status), "
               "core.label_life_status(r.life_status), "
               "(SELECT string_agg(tg.label, '、' ORDER BY tg.code) FROM core.resident_tag rt "
               "  JOIN core.tag tg ON tg.code = rt.tag WHERE rt.resident_id = r.id) "
               "FROM core.resident r JOIN core.region g ON g.id = r.grid_id "
               "LEFT JOIN core.household h ON h.id = r.household_id "
               "LEFT JOIN core.building b ON b.id = h.building_id "
               "WHERE g.path <@ $1::ltree "
               "ORDER BY r.household_id NULLS LAST, (r.id = h.head_resident_id) DESC NULLS LAST, "
               "r.id",
        .columns = population_columns,
        .labels = population_labels,
        .ncolumns = sizeof(population_columns) / sizeof(population_columns[0]),
};

static const char *const households_columns[] = {
        "id", "household_number", "grid", "address", "kind", "head", "members"};
static const char *const households_labels[] = {"编号",   "户号", "所属网格", "住址",
                                                "户类型", "户主", "在册人数"};

static const og_ledger_def households_ledger = {
        .name = "households",
        .title = "户台账",
        .permission = PERM_READ,
        .sql = "SELECT h.id, h.household_number, g.name, core.household_address(h.address, b.name, "
               "h.unit, h.room), core.label_household_kind(h.kind), hd.name, "
               "(SELECT count(*) FROM core.resident m WHERE m.household_id = h.id "
               "  AND m.life_status = 'active') "
               "FROM core.household h JOIN core.region g ON g.id = h.grid_id "
               "LEFT JOIN core.building b ON b.id = h.building_id "
               "LEFT JOIN core.resident hd ON hd.id = h.head_resident_id "
               "WHERE g.path <@ $1::ltree ORDER BY h.id",
        .columns = households_columns,
        .labels = households_labels,
        .ncolumns = sizeof(households_columns) / sizeof(households_columns[0]),
};

/* ------------------------------------------------------------------ */
/* Helpers */

static const char *owner_label(const og_plugin *owner)
{
	return owner != NULL ? owner->desc->name : "core";
}

/* Whether the caller may open the ledger: its plugin enabled for the
 * caller's district and its permission held.  1, 0 (not enabled), -2 (no
 * permission), -1 (reply set). */
static int may_open(og_req *req, const og_ledger_def *def, const og_plugin *owner)
{
	int on = ogc_reports_enabled(req, owner, req->caller.district_id);

	if (on <= 0)
		return on;
	if (strcmp(def->permission, OG_PERM_AUTHENTICATED) != 0 &&
	    !ogc_auth_has_permission(req, def->permission))
		return -2;
	return 1;
}

static bool has_sensitive(const og_ledger_def *def)
{
	for (size_t c = 0; c < def->ncolumns; c++)
		if (ogc_reports_sensitive(def->columns[c]))
			return true;
	return false;
}

/* "SELECT * FROM (<sql>) AS og_l("c1", ...)<tail>": the ledger's columns
 * renamed by position, so paging can name the first.  New, or NULL. */
static char *wrapped_sql(const og_ledger_def *def, const char *tail)
{
	char *buf = NULL;
	size_t len = 0, n = strlen(def->sql);
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	/* A subquery cannot end in a semicolon. */
	while (n > 0 && strchr(" \t\r\n;", def->sql[n - 1]) != NULL)
		n--;
	fputs("SELECT * FROM (", f);
	fwrite(def->sql, 1, n, f);
	fputs(") AS og_l(", f);
	for (size_t c = 0; c < def->ncolumns; c++)
		fprintf(f, "%s\"c%zu\"", c > 0 ? ", " : "", c + 1);
	fprintf(f, ")%s", tail);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static json_t *ledger_json(const og_ledger_def *def, const og_plugin *owner)
{
	json_t *cols = json_array();
	char href[256];

	for (size_t c = 0; c < def->ncolumns; c++)
		json_array_append_new(cols, json_pack("{s:s, s:s}", "key", def->columns[c], "label",
		                                      def->labels[c]));
	snprintf(href, sizeof(href), "/api/v1/ledgers/%s/%s", owner_label(owner), def->name);
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s}", "plugin", owner_label(owner), "name",
	                 def->name, "title", def->title, "permission", def->permission, "columns",
	                 cols, "href", href);
}

/* Records that the caller saw ID numbers and phones in full. */
static int audit_unmasked(og_req *req, const og_ledger_def *def, const og_plugin *owner,
                          const ogc_report_region *region, const char *format, const char *cursor)
{
	char id[160];
	json_t *what;
	int rc;

	snprintf(id, sizeof(id), "%s/%s", owner_label(owner), def->name);
	what = json_pack("{s:s, s:I, s:s, s:s?}", "ledger", id, "region", (json_int_t)region->id,
	                 "format", format, "cursor", cursor);
	rc = ogc_audit_write(req, "read_sensitive", "ledger", id, region->id, NULL, what);
	json_decref(what);
	return rc;
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/ledgers */

static void ledgers_list(og_req *req, const og_host_api *host)
{
	json_t *items = json_array();

	(void)host;
	for (size_t i = 0; i < ogc_registry_ledger_count(); i++) {
		og_plugin *owner;
		const og_ledger_def *def = ogc_registry_ledger_get(i, &owner);
		int ok;

		if (def == NULL)
			continue;
		ok = may_open(req, def, owner);
		if (ok == -1) {
			json_decref(items);
			return;
		}
		if (ok == 1)
			json_array_append_new(items, ledger_json(def, owner));
	}
	ogc_req_reply_json(req, 200, ogc_util_list(items, 0));
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/ledgers/{plugin}/{name} */

static void page(og_req *req, const og_ledger_def *def, const og_plugin *owner,
                 const ogc_report_region *region, bool unmasked)
{
	bool keyset = strcmp(def->columns[0], "id") == 0;
	char cursor_s[24], limit_s[16], *sql;
	const char *params[3] = {region->path, cursor_s, limit_s};
	PGresult *res;
	json_t *items, *out;
	int64_t cursor, next = 0;
	int limit, n;

	if (ogc_util_page(req, &limit, &cursor) != 0 || ogc_reports_snapshot(req) != 0)
		return;
	sql = wrapped_sql(def, keyset ? " WHERE og_l.c1 > $2::bigint ORDER BY og_l.c1 "
	                                "LIMIT $3::int + 1"
	                              : " OFFSET $2::bigint LIMIT $3::int + 1");
	if (sql == NULL) {
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		return;
	}
	snprintf(cursor_s, sizeof(cursor_s), "%lld", (long long)cursor);
	snprintf(limit_s, sizeof(limit_s), "%d", limit);
	res = ogc_req_exec(req, sql, 3, params);
	free(sql);
	if (res == NULL)
		return;
	n = PQntuples(res);
	if (unmasked && n > 0 && audit_unmasked(req, def, owner, region, "json", cursor_s) != 0) {
		PQclear(res);
		return;
	}
	items = json_array();
	for (int r = 0; r < n && r < limit; r++)
		json_array_append_new(items, ogc_reports_row_object(res, r, def->columns,
		                                                    (int)def->ncolumns, unmasked));
	if (n > limit)
		next = keyset ? strtoll(PQgetvalue(res, limit - 1, 0), NULL, 10) : cursor + limit;
	PQclear(res);
	out = ogc_util_list(items, next);
	json_object_set_new(out, "ledger",
	                    json_pack("{s:s, s:s, s:s}", "plugin", owner_label(owner), "name",
	                              def->name, "title", def->title));
	json_object_set(out, "region", region->json);
	{
		json_t *cols = json_array();
		for (size_t c = 0; c < def->ncolumns; c++)
			json_array_append_new(cols, json_pack("{s:s, s:s}", "key", def->columns[c],
			                                      "label", def->labels[c]));
		json_object_set_new(out, "columns", cols);
	}
	ogc_req_reply_json(req, 200, out);
}

/* The whole ledger as CSV or XLSX, one snapshot through a cursor. */
static void stream(og_req *req, int format, const og_ledger_def *def, const og_plugin *owner,
                   const ogc_report_region *region, bool unmasked)
{
	const char *params[1] = {region->path};
	char(*masked)[MASK_BUF] = calloc(def->ncolumns, MASK_BUF);
	ogc_cell *cells = calloc(def->ncolumns, sizeof(*cells));
	char base[200], title[512], *sql = NULL;
	ogc_sink *sink = NULL;
	PGresult *res = NULL;
	bool ok = true;

	if (masked == NULL || cells == NULL) {
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		goto done;
	}
	/* Recorded before a row leaves. */
	if (unmasked &&
	    audit_unmasked(req, def, owner, region, format == 2 ? "xlsx" : "csv", NULL) != 0)
		goto done;
	/* One snapshot, read through a cursor: never the whole ledger in memory.
	 * Every row will be fetched: plan for all of them, not for a fast
	 * first row (which walks an index over the whole table). */
	if (ogc_reports_snapshot(req) != 0)
		goto done;
	res = ogc_req_exec(req, "SET LOCAL cursor_tuple_fraction = 1", 0, NULL);
	if (res == NULL)
		goto done;
	PQclear(res);
	res = NULL;
	sql = wrapped_sql(def, "");
	if (sql == NULL) {
		res = NULL;
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		goto done;
	}
	{
		char *declare = NULL;
		if (asprintf(&declare, "DECLARE og_ledger NO SCROLL CURSOR FOR %s", sql) < 0) {
			res = NULL;
			ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
			goto done;
		}
		res = ogc_req_exec(req, declare, 1, params);
		free(declare);
	}
	if (res == NULL)
		goto done;
	PQclear(res);
	res = ogc_req_exec(req, "FETCH " FETCH_ROWS " FROM og_ledger", 0, NULL);
	if (res == NULL)
		goto done;

	snprintf(base, sizeof(base), "ledger-%s-%s-%lld", owner_label(owner), def->name,
	         (long long)region->id);
	snprintf(title, sizeof(title), "%s%s", region->name, def->title);
	sink = ogc_reports_sink_begin(req, format, base, title, def->labels, def->ncolumns, true);
	if (sink == NULL)
		goto done;
	while (ok && PQntuples(res) > 0) {
		int ncols =
		        PQnfields(res) < (int)def->ncolumns ? PQnfields(res) : (int)def->ncolumns;

		for (int r = 0; ok && r < PQntuples(res); r++) {
			for (int c = 0; c < (int)def->ncolumns; c++) {
				cells[c].kind = OGC_CELL_NULL;
				cells[c].text = NULL;
				if (c >= ncols || PQgetisnull(res, r, c))
					continue;
				cells[c].kind = ogc_reports_kind(PQftype(res, c));
				cells[c].text = PQgetvalue(res, r, c);
				if (PQftype(res, c) == 16) /* bool */
					cells[c].text = cells[c].text[0] == 't' ? "是" : "否";
				cells[c].text = ogc_reports_mask(def->columns[c], cells[c].text,
				                                 unmasked, masked[c], MASK_BUF);
			}
			ok = ogc_reports_sink_row(sink, cells) == 0;
		}
		PQclear(res);
		res = NULL;
		if (!ok)
			break;
		res = ogc_req_exec(req, "FETCH " FETCH_ROWS " FROM og_ledger", 0, NULL);
		if (res == NULL) {
			ogc_log(OG_LOG_ERROR,
			        "ledger %s/%s (request %s): the cursor failed mid-way",
			        owner_label(owner), def->name, req->request_id);
			ok = false;
		}
	}
	if (ok)
		ogc_reports_sink_end(sink);
	else
		ogc_reports_sink_abort(sink);
done:
	PQclear(res);
	free(sql);
	free(masked);
	free(cells);
}

static void ledger_get(og_req *req, const og_host_api *host)
{
	const char *plugin = host->path_param(req, "plugin");
	const char *name = host->path_param(req, "name");
	const og_ledger_def *def = NULL;
	og_plugin *owner = NULL;
	ogc_report_region region;
	char msg[160];
	bool unmasked;
	int format, ok;

	for (size_t i = 0; plugin != NULL && name != NULL && i < ogc_registry_ledger_count(); i++) {
		def = ogc_registry_ledger_get(i, &owner);
		if (def != NULL && strcmp(owner_label(owner), plugin) == 0 &&
		    strcmp(def->name, name) == 0)
			break;
		def = NULL;
	}
	if (def == NULL) {
		ogc_req_reply_error(req, 404, "not_found", "no such ledger", NULL);
		return;
	}
	ok = may_open(req, def, owner);
	if (ok == -1)
		return;
	if (ok == 0) {
		ogc_req_reply_error(req, 404, "not_found", "no such ledger", NULL);
		return;
	}
	if (ok == -2) {
		snprintf(msg, sizeof(msg), "permission %s is required", def->permission);
		ogc_req_reply_error(req, 403, "forbidden", msg, NULL);
		return;
	}
	if ((format = ogc_reports_format(req)) < 0 || ogc_reports_region(req, &region) != 0)
		return;
	unmasked = has_sensitive(def) && ogc_auth_has_permission(req, PERM_SENSITIVE);
	if (format == 0)
		page(req, def, owner, &region, unmasked);
	else
		stream(req, format, def, owner, &region, unmasked);
	ogc_reports_region_clear(&region);
}

/* ------------------------------------------------------------------ */
/* Registration */

static const char doc_list[] =
        "{\"description\": \"The ledgers (台账) of the core and of the plugins enabled for the "
        "caller's district that the caller holds the permission for, with their columns.\", "
        "\"parameters\": []}";

static const char doc_get[] =
        "{\"description\": \"One ledger over a region: JSON one page at a time ({items, "
        "next_cursor, ledger, region, columns}), CSV (UTF-8 with BOM) or XLSX streamed whole, "
        "with the Chinese column labels as headers.  The cursor is the last id when the "
        "ledger's first column is \\\"id\\\", else the rows already read.  ID numbers and phones "
        "are masked without residents.read_sensitive; an unmasked rendering is audited.\", "
        "\"parameters\": ["
        "{\"name\": \"plugin\", \"in\": \"path\", \"required\": true, \"description\": \"core or "
        "a plugin name\", \"schema\": {\"type\": \"string\", \"maxLength\": 64}}, "
        "{\"name\": \"name\", \"in\": \"path\", \"required\": true, \"schema\": {\"type\": "
        "\"string\", \"maxLength\": 64}}, "
        "{\"name\": \"region\", \"in\": \"query\", \"description\": \"region id (default: the "
        "caller's scope region; required for an administrator)\", \"schema\": {\"type\": "
        "\"integer\", \"minimum\": 1}}, "
        "{\"name\": \"format\", \"in\": \"query\", \"schema\": {\"type\": \"string\", \"enum\": "
        "[\"json\", \"csv\", \"xlsx\"], \"default\": \"json\"}}, "
        "{\"name\": \"limit\", \"in\": \"query\", \"schema\": {\"type\": \"integer\", \"minimum\": "
        "1, \"maximum\": 500, \"default\": 50}}, "
        "{\"name\": \"cursor\", \"in\": \"query\", \"schema\": {\"type\": \"string\"}}]}";

void ogc_ledgers_register_routes(void)
{
	if (!ogc_registry_has_permission(PERM_READ))
		ogc_registry_permission(NULL, PERM_READ, "报表-查看", read_roles);
	/* A refusal is logged by the registry, naming the ledger. */
	ogc_registry_ledger(NULL, &population_ledger);
	ogc_registry_ledger(NULL, &households_ledger);
	if (ogc_router_add(NULL, OG_GET, "/api/v1/ledgers", OG_PERM_AUTHENTICATED, ledgers_list,
	                   "The ledgers (台账) the caller may open") == 0)
		ogc_router_describe(OG_GET, "/api/v1/ledgers", doc_list);
	if (ogc_router_add(NULL, OG_GET, "/api/v1/ledgers/{plugin}/{name}", OG_PERM_AUTHENTICATED,
	                   ledger_get, "One ledger over a region, as JSON pages, CSV or XLSX") == 0)
		ogc_router_describe(OG_GET, "/api/v1/ledgers/{plugin}/{name}", doc_get);
}

/*
 * onegrid/plugin.h — the OneGrid plugin SDK: descriptor and host services.
 *
 * This is the only header a plugin includes (it pulls in <jansson.h>).  A
 * plugin exports exactly one symbol, the constant descriptor `og_plugin_desc`
 * (use OG_PLUGIN_DEFINE below), and resolves no symbol of the host: every
 * service reaches it through the `og_host_api` table handed to init() and to
 * every handler.  The table only grows at its end; `size` and `abi_minor`
 * say how much of it a host provides.
 *
 * Compatibility rule (checked by the loader, refused with a log line naming
 * the file and both versions): the plugin's ABI major must equal the host's,
 * its minor must be <= the host's, and its descriptor size must be at least
 * what the host expects.
 *
 * Ownership, in Jansson's words: "borrowed" means the callee keeps the
 * object and the caller must not free it; "new" means the caller gets a
 * reference it must release; "steals" means the callee takes the caller's
 * reference.  Every string handed to the host at registration time must stay
 * valid for the life of the process (string literals are the norm: the host
 * never dlclose()s a plugin).
 */
#ifndef ONEGRID_PLUGIN_H
#define ONEGRID_PLUGIN_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OG_PLUGIN_MAGIC 0x4F47504CU /* "OGPL" */
#define OG_ABI_MAJOR 1
#define OG_ABI_MINOR 3

#if defined(__GNUC__)
#define OG_EXPORT __attribute__((visibility("default")))
#define OG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define OG_EXPORT
#define OG_PRINTF(f, a)
#endif

/* Opaque handles owned by the host. */
typedef struct og_req og_req;       /* one HTTP request, valid during a handler */
typedef struct og_plugin og_plugin; /* a plugin's registration context */
typedef struct og_result og_result; /* a query result, freed with result_free */
typedef struct og_host_api og_host_api;

/* HTTP methods a route may answer; a bit set so one route may take several. */
typedef enum og_method {
	OG_GET = 1,
	OG_POST = 2,
	OG_PUT = 4,
	OG_PATCH = 8,
	OG_DELETE = 16
} og_method;

/*
 * Permission pseudo-codes.  Every route declares one permission; these two
 * are the only ones that do not name a row of core.permission.  PUBLIC is
 * reserved for the core (health, metrics, login, openapi); a plugin route
 * declaring it is refused.
 */
#define OG_PERM_PUBLIC "public"
#define OG_PERM_AUTHENTICATED "authenticated"

/* Log levels for host->log. */
typedef enum og_log_level { OG_LOG_DEBUG, OG_LOG_INFO, OG_LOG_WARN, OG_LOG_ERROR } og_log_level;

/*
 * The authenticated caller.  Borrowed from the request; valid until the
 * handler returns.  scope_region_id is 0 and scope_path "" for a caller whose
 * scope is everything (the admin role); district_id is the district above
 * (or equal to) the scope region, 0 for such a caller.
 */
typedef struct og_caller {
	int64_t user_id;
	const char *username;
	const char *role;
	int64_t scope_region_id;
	const char *scope_path; /* ltree path of the scope region */
	int64_t district_id;
} og_caller;

/*
 * A route handler.  Runs synchronously in a worker; a write request (any
 * method but GET) runs inside one database transaction that the host
 * commits if the reply's status is below 400 and rolls back otherwise, so a
 * handler never issues BEGIN/COMMIT itself and everything it writes —
 * rows, audit records, hook effects — lands together or not at all.
 * The handler answers with host->reply_json or host->reply_error; returning
 * without a reply answers 500 (and is logged as a plugin bug).
 */
typedef void (*og_handler)(og_req *req, const og_host_api *host);

/*
 * A hook on a shared-model or plugin event ("resident.created", ...).  Runs
 * inside the transaction of the write that fired it; `payload` is borrowed.
 * Return 0 to go on; return -1 after host->reply_error to abort the whole
 * write (the host names the plugin in the error it logs).
 */
typedef int (*og_hook_fn)(og_req *req, const og_host_api *host, const char *event,
                          int64_t entity_id, json_t *payload);

/*
 * ABI 1.3: the batch form of resident.created.  The bulk import creates
 * residents by the thousand; it fires resident.created for each of them,
 * except to a plugin built for ABI 1.3 or later that registered a hook on
 * OG_EVENT_RESIDENTS_IMPORTED: that plugin gets instead one call of that
 * hook per chunk of at most 1,000 imported residents, with entity_id 0 and
 * `payload` a JSON array (borrowed) of the residents as resident.created
 * would have carried them one by one (each with its "id"), in file order,
 * inside the import's transaction like every hook.  Answer a chunk with a
 * few set-based statements (`= ANY($1)`, json_to_recordset), not one per
 * row.  A resident created any other way (POST /api/v1/residents) still
 * fires resident.created, so such a plugin registers both.
 */
#define OG_EVENT_RESIDENTS_IMPORTED "residents.imported"

/*
 * An indicator: one figure per grid, rolled up the region tree by the core.
 * `sql` takes $1 = report date (YYYY-MM-DD) and returns rows (grid_id
 * bigint, value numeric); the core sums them up the tree.  A ratio names
 * its numerator and denominator indicator codes and leaves sql NULL: it is
 * recomputed from its parts at every level, never averaged (unit "%":
 * 100 * numerator / denominator; otherwise numerator / denominator; both
 * rounded to 2 decimals; null when the denominator is 0).
 *
 * ABI 1.2 appends `rows_sql`, the records behind the figure (traceability,
 * GET /api/v1/reports/indicators/{code}/rows): it takes $1 = report date
 * and $2 = the ltree path of a region, and returns one row per record
 * counted in that region with readable columns (names, addresses, dates —
 * not bare foreign keys), so that for a count indicator the number of rows
 * equals the figure.  Put a unique integer column named "id" first and
 * ORDER BY it: pages are then keyset-paged on it (otherwise by offset).
 * Columns named "id_number" or "phone" are masked for callers without
 * residents.read_sensitive.  NULL (and for a ratio always NULL): the
 * figure cannot be opened.  The host reads rows_sql only from plugins
 * built for ABI 1.2 or later.
 *
 * ABI 1.3 appends the facts form, which a summary computes instead of `sql`
 * when it is given (`sql` stays required: it is the figure per grid for
 * hosts before 1.3, and what tests can run alone; both must agree).
 * `facts_sql` takes $1 = report date and $2 = the ltree path of the region
 * reported on, and returns one row per record of the region that the
 * figure counts or sums (rows of other regions may come too: they are
 * ignored), with a bigint column "grid_id": the grid the record counts in.
 * Start it from the region ($2), so that a small region reads few rows.
 * The figure of a grid is the number of its rows for which `fact_filter`
 * holds, or, with `fact_value`, the sum of that value over them; both are
 * SQL expressions over the row, named f ("f.category = 'other'",
 * "f.hours"), that may use $1 and $2; NULL for "every row" and "count".
 * A grid without rows (or none that the filter keeps) gets the figure of
 * one row whose columns are all NULL: a count of 0, a value of NULLs;
 * give a summed value its zero ("coalesce(f.hours, 0.00)") when the figure
 * must read 0.00 there, as `sql` has it.  Why: indicators whose
 * facts_sql is the same text share one run of it, computed once per
 * summary however many figures are read from it — a plugin with fifteen
 * figures over its members joins them to core.resident once, not fifteen
 * times.  Write the shared text once (a macro) and vary the filters.  Read
 * only from
 * plugins built for ABI 1.3 or later; never with a ratio.
 */
typedef struct og_indicator_def {
	const char *code;  /* unique, "<plugin>.<name>" */
	const char *label; /* Chinese label, used as the report header */
	const char *unit;  /* 人, 户, 元, % ... */
	const char *sql;
	const char *ratio_numerator;   /* NULL unless a ratio */
	const char *ratio_denominator; /* NULL unless a ratio */
	/* ===== ABI 1.2 ===== */
	const char *rows_sql; /* the records behind the figure, or NULL */
	/* ===== ABI 1.3 ===== */
	const char *facts_sql;   /* the records of the region, shared; or NULL */
	const char *fact_filter; /* predicate over f, NULL: every row */
	const char *fact_value;  /* numeric expression over f, NULL: count rows */
} og_indicator_def;

/*
 * A ledger (台账): a list query with labelled columns.  `sql` takes
 * $1 = the ltree path of the region rendered and returns the columns in
 * order (ncolumns of them, ORDER BY included); labels are the Chinese
 * column headers.  When the first column's key is "id" it must be a unique
 * integer the query is ordered by: JSON pages are then keyset-paged on it
 * (otherwise by offset).  Columns keyed "id_number" or "phone" are masked
 * for callers without residents.read_sensitive.
 */
typedef struct og_ledger_def {
	const char *name;  /* unique within the plugin */
	const char *title; /* Chinese title */
	const char *permission;
	const char *sql;
	const char *const *columns; /* column keys, ncolumns entries */
	const char *const *labels;  /* Chinese labels, ncolumns entries */
	size_t ncolumns;
} og_ledger_def;

/* ABI 1.3: the `required` argument of the body readers of og_host_api. */
#define OG_OPTIONAL 0
#define OG_REQUIRED 1

/*
 * Host services.  Members are only ever appended.  Functions marked
 * "init only" fail (return -1 and log) once the plugin's init has returned.
 */
struct og_host_api {
	uint32_t size; /* sizeof(og_host_api) of the host */
	uint16_t abi_major;
	uint16_t abi_minor;

	/* --- registration (init only); 0 on success, -1 logged failure --- */
	int (*register_route)(og_plugin *p, unsigned methods, const char *path,
	                      const char *permission, og_handler handler, const char *summary);
	int (*register_migration)(og_plugin *p, int version, const char *name, const char *sql);
	/* roles: NULL-terminated role names granted the permission by default */
	int (*register_permission)(og_plugin *p, const char *code, const char *label,
	                           const char *const *roles);
	int (*register_tag)(og_plugin *p, const char *code, const char *label);
	int (*register_hook)(og_plugin *p, const char *event, og_hook_fn fn);
	int (*register_indicator)(og_plugin *p, const og_indicator_def *def);
	int (*register_ledger)(og_plugin *p, const og_ledger_def *def);

	/* --- the request (all returned pointers borrowed from req) --- */
	const char *(*path_param)(og_req *req, const char *name);  /* NULL if absent */
	const char *(*query_param)(og_req *req, const char *name); /* NULL if absent */
	const char *(*header)(og_req *req, const char *name);      /* NULL if absent */
	json_t *(*body)(og_req *req);            /* parsed JSON body, NULL if none */
	const og_caller *(*caller)(og_req *req); /* NULL on public routes */
	const char *(*request_id)(og_req *req);
	int (*has_permission)(og_req *req, const char *permission); /* 1 or 0 */

	/* --- the reply --- */
	void (*reply_json)(og_req *req, int status, json_t *body /* steals */);
	void (*reply_error)(og_req *req, int status, const char *code, const char *message,
	                    const char *field /* may be NULL */);
	void (*set_header)(og_req *req, const char *name, const char *value);

	/*
	 * --- the database (the worker's one connection) ---
	 * Parameters are text, NULL for SQL NULL.  On failure these return
	 * NULL / -1 having already set the error reply (unique violation 409,
	 * foreign key 409, invalid input 422, timeout or connection loss 503);
	 * a handler may override it with reply_error, or simply return.
	 */
	og_result *(*query)(og_req *req, const char *sql, int nparams, const char *const *params);
	/* first column of the first row parsed as JSON: 1 row (*out new), 0 none, -1 error */
	int (*query_json)(og_req *req, const char *sql, int nparams, const char *const *params,
	                  json_t **out);
	int (*result_rows)(const og_result *r);
	int (*result_cols)(const og_result *r);
	const char *(*result_text)(const og_result *r, int row,
	                           int col); /* borrowed; NULL if SQL NULL */
	int64_t (*result_int64)(const og_result *r, int row, int col); /* 0 if NULL */
	int (*result_bool)(const og_result *r, int row, int col);
	void (*result_free)(og_result *r);
	const char *(*last_sqlstate)(og_req *req); /* of the last failed query, "" if none */

	/* --- audit: recorded in the request's transaction --- */
	int (*audit)(og_req *req, const char *action, const char *entity, const char *entity_id,
	             int64_t region_id, json_t *before /* borrowed, may be NULL */,
	             json_t *after /* borrowed, may be NULL */);

	/* --- events: run every hook registered for `event` (in this transaction) --- */
	int (*fire)(og_req *req, const char *event, int64_t entity_id,
	            json_t *payload /* borrowed */);

	/* --- logging, prefixed with the plugin name and request id when known --- */
	void (*log)(og_log_level level, const char *fmt, ...) OG_PRINTF(2, 3);

	/* ===== ABI 1.1 ===== */

	/*
	 * Request helpers that every handler needs, so that every route answers
	 * bad input the same way.  Each returns 0, or -1 with the error reply
	 * already set.
	 *   path_id: the path parameter as an id > 0 (anything else: 404, the
	 *            row cannot exist);
	 *   page:    ?limit= (default 50, 1..500) and ?cursor= (an id; 0 when
	 *            absent), 422 naming the parameter;
	 *   client_version: the row version the client read, from body
	 *            "version" or If-Match; 422 field "version" when missing.
	 */
	int (*path_id)(og_req *req, const char *name, int64_t *out);
	int (*page)(og_req *req, int *limit, int64_t *cursor);
	int (*client_version)(og_req *req, json_t *body /* borrowed, may be NULL */,
	                      int64_t *version);

	/*
	 * Tags owned by the calling plugin (registered with register_tag):
	 * set on a resident with the record that gives it ("civil.case:17"),
	 * or cleared.  A tag owned by anyone else is refused (403), and so is
	 * (404) a resident outside the caller's scope, as for every write.
	 * Only in a write request.  `self` is the og_plugin init received.
	 */
	int (*set_tag)(og_req *req, og_plugin *self, int64_t resident_id, const char *code,
	               const char *source);
	int (*clear_tag)(og_req *req, og_plugin *self, int64_t resident_id, const char *code);

	/*
	 * OpenAPI detail of a registered route (init only): a JSON object text
	 * merged into the operation of /openapi.json, e.g.
	 * {"parameters": [...], "requestBody": {...}}.
	 */
	int (*describe_route)(og_plugin *p, unsigned method, const char *path, const char *openapi);

	/*
	 * A streamed reply (exports, ledgers): begin once, write any number of
	 * chunks, end once.  Instead of reply_json, not besides it.
	 */
	int (*reply_stream_begin)(og_req *req, int status, const char *content_type);
	int (*reply_stream_write)(og_req *req, const void *data, size_t len);
	int (*reply_stream_end)(og_req *req);

	/* ===== ABI 1.3 =====
	 * The request readers below, and the residents.imported batch event
	 * (OG_EVENT_RESIDENTS_IMPORTED above), which a plugin must not rely on
	 * from an older host; the version rule makes sure it never meets one. */

	/*
	 * Readers of a request's input, so that every plugin answers bad
	 * input as the core does: 422, code "invalid", `field` naming the
	 * member or parameter, and a message that starts with that name
	 * ("summary must be 1 to 2000 characters (no NUL)").
	 *
	 * Each returns 1 when the value is present and valid (*out set), 0
	 * when it is absent — or JSON null — and not required (*out NULL or
	 * 0), and -1 with the 422 already set (or, for body_object, NULL
	 * after a 400).  A handler checks `< 0` and returns.  `required` is
	 * OG_REQUIRED or OG_OPTIONAL: an absent required member is a 422
	 * "<name> is required".
	 *
	 * Body members: `obj` is the body or an object inside it (borrowed).
	 * `name` is the member's key; for a member of a nested object it may
	 * be the JSON path to it ("parties[0].role"): the key read is then
	 * the part after the last '.', and the error names the whole path.
	 * Text and dates come back borrowed from obj, enums as the matching
	 * entry of `values`: valid until the handler returns, never freed.
	 *   body_object: the request body if it is a JSON object (borrowed);
	 *                NULL after a 400 (no body, or not an object);
	 *   body_known_keys: refuses the first member of obj whose key is
	 *                not in `known` (NULL-terminated) — a typo such as
	 *                "monthly_amount" must not pass silently; `path` is
	 *                obj's JSON path in the body ("parties[0]") or NULL
	 *                for the body itself.  0 or -1;
	 *   body_text:   a string of 1..max characters (not bytes), no NUL;
	 *   body_id:     an integer >= 1 (the id of a row);
	 *   body_int:    an integer in [min, max];
	 *   body_date:   a calendar date written YYYY-MM-DD, years 1900..2999;
	 *   body_enum:   a string equal to one of `values` (NULL-terminated;
	 *                the message lists them).
	 *
	 * Query parameters (?name=...; absent gives 0, an empty value is
	 * invalid; strings returned are borrowed from req):
	 *   query_id, query_int, query_date, query_enum: as the body kinds;
	 *   query_bool:  "true" or "false"; *out 1, 0, or -1 when absent.
	 */
	json_t *(*body_object)(og_req *req);
	int (*body_known_keys)(og_req *req, json_t *obj, const char *const *known,
	                       const char *path /* may be NULL */);
	int (*body_text)(og_req *req, json_t *obj, const char *name, size_t max, int required,
	                 const char **out);
	int (*body_id)(og_req *req, json_t *obj, const char *name, int required, int64_t *out);
	int (*body_int)(og_req *req, json_t *obj, const char *name, int64_t min, int64_t max,
	                int required, int64_t *out);
	int (*body_date)(og_req *req, json_t *obj, const char *name, int required,
	                 const char **out);
	int (*body_enum)(og_req *req, json_t *obj, const char *name, const char *const *values,
	                 int required, const char **out);
	int (*query_id)(og_req *req, const char *name, int64_t *out);
	int (*query_int)(og_req *req, const char *name, int64_t min, int64_t max, int64_t *out);
	int (*query_date)(og_req *req, const char *name, const char **out);
	int (*query_enum)(og_req *req, const char *name, const char *const *values,
	                  const char **out);
	int (*query_bool)(og_req *req, const char *name, int *out);
};

/*
 * The descriptor.  The loader reads it before running any plugin code.
 * depends: NULL-terminated plugin names that must be loaded first (or NULL).
 * init: registers everything; returns 0, or -1 after logging why.
 * fini: may be NULL; called at orderly shutdown.
 */
typedef struct og_plugin_descriptor {
	uint32_t magic;
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t size;       /* sizeof(og_plugin_descriptor) the plugin was built with */
	const char *name;    /* [a-z][a-z0-9_]*, also its URL prefix and SQL schema */
	const char *version; /* the plugin's own version, "1.2.0" */
	const char *title;   /* Chinese title, shown in GET /api/v1/plugins */
	const char *const *depends;
	int (*init)(og_plugin *self, const og_host_api *host);
	void (*fini)(void);
} og_plugin_descriptor;

/* Define the one exported symbol of a plugin. */
#define OG_PLUGIN_DEFINE(NAME, VERSION, TITLE, DEPENDS, INIT, FINI) \
	OG_EXPORT const og_plugin_descriptor og_plugin_desc = {     \
	        OG_PLUGIN_MAGIC,                                    \
	        OG_ABI_MAJOR,                                       \
	        OG_ABI_MINOR,                                       \
	        (uint32_t)sizeof(og_plugin_descriptor),             \
	        NAME,                                               \
	        VERSION,                                            \
	        TITLE,                                              \
	        DEPENDS,                                            \
	        INIT,                                               \
	        FINI}

#ifdef __cplusplus
}
#endif
#endif /* ONEGRID_PLUGIN_H */

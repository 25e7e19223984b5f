/*
 * core/core.h — what the core's files share with each other.
 *
 * Not part of the SDK: plugins never see this header (they get
 * include/onegrid/plugin.h only).  Functions here are named
 * ogc_<subsystem>_*; everything else in a core file is static.
 * Errors are reported once, by the function that knows the context
 * (it logs or sets the request's error reply); callers only return.
 */
#ifndef ONEGRID_CORE_H
#define ONEGRID_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/buffer.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h> /* struct evkeyvalq, a member of og_req */
#include <libpq-fe.h>

#include "onegrid/plugin.h"

/* ------------------------------------------------------------------ */
/* config.c — the JSON config file with ONEGRID_* environment overrides */

typedef struct ogc_plugin_conf {
	char *name;
	bool optional; /* a refused optional plugin is skipped, not fatal */
} ogc_plugin_conf;

typedef struct ogc_config {
	char *listen;             /* "127.0.0.1:8080"; ONEGRID_LISTEN */
	char *database;           /* libpq conninfo; ONEGRID_DATABASE */
	int workers;              /* 0 = number of CPUs; ONEGRID_WORKERS */
	char *plugin_dir;         /* ONEGRID_PLUGIN_DIR */
	ogc_plugin_conf *plugins; /* ONEGRID_PLUGINS="a,b,?c" (? = optional) */
	size_t nplugins;
	long max_body_bytes;      /* 413 above this */
	int max_json_depth;       /* 400 deeper than this */
	int request_timeout_s;    /* idle/read/write timeout of a connection */
	int db_connect_timeout_s; /* libpq connect_timeout */
	int statement_timeout_ms; /* SET statement_timeout */
	int token_ttl_s;          /* bearer token lifetime */
	int login_max_failures;   /* per user and per address in the window */
	int login_window_s;
	int shutdown_grace_s;   /* SIGTERM: longest wait for in-flight requests */
	int auth_cache_ms;      /* a worker reuses a checked token this long; 0 off */
	int health_cache_ms;    /* /healthz reuses a worker's good check this long */
	bool auto_migrate;      /* serve: apply pending migrations at start-up */
	char **trusted_proxies; /* peers whose X-Real-IP / X-Forwarded-For we believe */
	size_t ntrusted_proxies;
} ogc_config;

/* Loads defaults, then `path` (may be NULL), then the environment.  On
 * error returns -1 with a message naming the bad key in err. */
int ogc_config_load(ogc_config *cfg, const char *path, char *err, size_t errlen);
void ogc_config_free(ogc_config *cfg);

/* ------------------------------------------------------------------ */
/* log.c — one line per event to stderr: "<time> <level> [pid] msg" */

void ogc_log(og_log_level level, const char *fmt, ...) OG_PRINTF(2, 3);
void ogc_logv(og_log_level level, const char *fmt, va_list ap);
void ogc_log_set_role(const char *role); /* "master", "worker 2", ...; after each fork */
/* The per-request line, at INFO.  Written at once, or, once a worker has
 * called ogc_log_defer, collected until ogc_log_flush: `schedule` is called
 * when a line is collected into an empty buffer and must make the caller
 * flush before its event loop waits again. */
void ogc_log_access(const char *fmt, ...) OG_PRINTF(1, 2);
void ogc_log_defer(void (*schedule)(void));
void ogc_log_flush(void); /* async-signal-safe: write(2) only */

/* ------------------------------------------------------------------ */
/* json_out.c — compact JSON text: json_dumps(v, JSON_COMPACT |
 * JSON_ENCODE_ANY)'s bytes, without its per-container costs */

/* Receives the text in pieces; returns 0, or -1 to stop the encoding. */
typedef int (*ogc_json_sink)(const char *data, size_t len, void *arg);
/* 0, or -1 when the value cannot be encoded or the sink stopped (what was
 * passed on by then is incomplete).  value: borrowed. */
int ogc_json_write(const json_t *value, ogc_json_sink sink, void *arg);

/* ------------------------------------------------------------------ */
/* db.c — one libpq connection per worker, reconnect with backoff */

typedef struct ogc_db ogc_db;

/* Error of the last failed call, mapped to the API's terms. */
typedef struct ogc_dberr {
	int status;       /* HTTP status: 409, 422, 503, 500 ... */
	char code[32];    /* API error code: "conflict", "db_unavailable" ... */
	char sqlstate[6]; /* "" when the failure was not a server error */
	char message[256];
} ogc_dberr;

ogc_db *ogc_db_new(const char *conninfo, int connect_timeout_s, int statement_timeout_ms);
void ogc_db_free(ogc_db *db);
/* Connects if not connected, honouring the backoff; 0 up, -1 unavailable. */
int ogc_db_ensure(ogc_db *db);
bool ogc_db_is_up(ogc_db *db);
/* Parameterised text-mode query.  Returns a new PGresult (caller PQclear)
 * with status COMMAND_OK or TUPLES_OK, or NULL with *err filled. */
PGresult *ogc_db_exec(ogc_db *db, const char *sql, int nparams, const char *const *params,
                      ogc_dberr *err);
/* Same for statements without parameters and result: 0 or -1. */
int ogc_db_command(ogc_db *db, const char *sql, ogc_dberr *err);
/* COMMIT; if the connection fails meanwhile, asks a new one (for up to
 * wait_ms) whether the transaction committed.  0 committed, -1 with *err
 * (code "commit_unknown" when that could not be learnt). */
int ogc_db_commit(ogc_db *db, int wait_ms, ogc_dberr *err);
PGconn *ogc_db_conn(ogc_db *db); /* borrowed; NULL when down */
/* Grows whenever a committed change may have altered what a token stands
 * for (a NOTIFY onegrid_auth from schema/core/0006) and whenever the
 * connection is replaced; polls the idle connection first. */
uint64_t ogc_db_auth_epoch(ogc_db *db);
/* Database failures counted for /metrics. */
void ogc_db_count_error(void);
/* Fills err's status, code, sqlstate and a generic message from a SQLSTATE
 * (NULL: no server error); returns the status.  Pure, for unit tests. */
int ogc_db_map_sqlstate(const char *sqlstate, ogc_dberr *err);

/* ------------------------------------------------------------------ */
/* db_stmt.c — a connection's prepared statements (db.c uses it) */

typedef struct ogc_stmt_cache ogc_stmt_cache;

/* A comment that keeps a statement unprepared: planned for its values. */
#define OGC_SQL_CUSTOM_PLAN "/* og:custom-plan */"

ogc_stmt_cache *ogc_stmt_cache_new(void);
void ogc_stmt_cache_free(ogc_stmt_cache *c);
/* Forgets every entry: the connection was replaced. */
void ogc_stmt_cache_clear(ogc_stmt_cache *c);
/* 1 with name set when sql is (now) prepared on conn and should run by
 * name; 0 to run it unnamed (first sighting, or preparing failed). */
int ogc_stmt_lookup(ogc_stmt_cache *c, PGconn *conn, const char *sql, int nparams, char *name,
                    size_t namelen);
/* Drops sql's entry (and its server-side statement, best effort). */
void ogc_stmt_forget(ogc_stmt_cache *c, PGconn *conn, const char *sql);

/* ------------------------------------------------------------------ */
/* migrate.c — numbered migrations per schema, under an advisory lock */

typedef struct ogc_migration {
	const char *schema; /* "core" or the plugin name */
	int version;
	const char *name;
	const char *sql;
} ogc_migration;

/* Registers a migration (core ones from schema_core.c, plugins' through the
 * host API).  -1 on a duplicate version within the schema. */
int ogc_migrate_add(const char *schema, int version, const char *name, const char *sql);
/* Applies every pending migration, each in its own transaction, holding a
 * session advisory lock; logs each one.  0 or -1 (logged). */
int ogc_migrate_apply(PGconn *conn);
/* Start-up check: -1 (logged, naming schema and versions) when the database
 * is newer than this binary or, unless allow_pending, has pending ones. */
int ogc_migrate_check(PGconn *conn, bool allow_pending);
/* Core migrations embedded at build time (generated schema_core.c). */
extern const ogc_migration ogc_core_migrations[];
extern const size_t ogc_core_migrations_count;

/* ------------------------------------------------------------------ */
/* daemon.c — master and worker processes */

/* One per worker process; handed to the router as the evhttp callback arg. */
typedef struct ogc_worker {
	struct event_base *base;
	struct evhttp *http;
	ogc_db *db;
	const ogc_config *cfg;
	int number;           /* 1..N, for the log */
	long pending_replies; /* replies handed to evhttp, not yet fully written */
	bool draining;        /* SIGTERM seen: no new connections */
	double last_request;  /* monotonic seconds of the last dispatch */
} ogc_worker;

/* Runs the master (and forks workers) until SIGTERM; returns the exit code. */
int ogc_daemon_run(const ogc_config *cfg);
double ogc_now(void); /* monotonic seconds */

/* ------------------------------------------------------------------ */
/* router.c — the route table, matched per request */

typedef struct ogc_route {
	unsigned methods;
	const char *path;       /* "/api/v1/users/{id}" */
	const char *permission; /* OG_PERM_PUBLIC, OG_PERM_AUTHENTICATED or a code */
	og_handler handler;
	const char *summary;
	og_plugin *owner; /* NULL for core routes */
	int index;        /* stable index, for metrics */
} ogc_route;

#define OGC_MAX_ROUTES 512
#define OGC_MAX_PATH_PARAMS 8

/* -1 (logged, naming both owners) if the method+pattern collides. */
int ogc_router_add(og_plugin *owner, unsigned methods, const char *path, const char *permission,
                   og_handler handler, const char *summary);
size_t ogc_router_count(void);
const ogc_route *ogc_router_get(size_t i);
/* Entry point for every HTTP request (evhttp generic callback). */
void ogc_router_dispatch(struct evhttp_request *ev, void *worker);

/* ------------------------------------------------------------------ */
/* request.c — the og_req behind the host API */

struct og_req {
	struct evhttp_request *ev;
	ogc_worker *worker;
	ogc_db *db;
	const ogc_config *cfg;
	const ogc_route *route;
	char request_id[17];
	char *path; /* decoded path, owned */
	struct evkeyvalq query;
	int nparams;
	char *param_name[OGC_MAX_PATH_PARAMS];
	char *param_value[OGC_MAX_PATH_PARAMS];
	json_t *body; /* new, owned by req */

	og_caller caller;
	bool authenticated;
	char *username_buf, *role_buf, *scope_path_buf; /* owned storage behind caller */
	json_t *permissions;                            /* array of codes, owned */
	json_t *disabled_plugins; /* plugins off in the caller's district, owned */

	bool in_tx;
	bool auth_changed; /* bump the token cache's generation when done */
	int status;        /* 0 until a reply is set */
	json_t *reply; /* owned */
	char sqlstate[6];
	char client_addr[64];
	unsigned method;      /* og_method of this request */
	struct evbuffer *raw; /* non-JSON reply body (metrics), owned */
	bool streaming;       /* reply sent in chunks by the handler itself */
	bool stream_failed;   /* the client went away mid-stream */
	bool stream_ended;
	char *idem_key;       /* Idempotency-Key of a POST, owned */
	char *idem_hash;      /* hash of the request it was first used for, owned */
	const char *raw_type; /* its Content-Type, static */
	double started;       /* ogc_now() at dispatch */
	struct bufferevent *reply_bev; /* borrowed from evhttp: the connection a reply was queued on */
};

void ogc_req_reply_json(og_req *req, int status, json_t *body);
int ogc_req_stream_begin(og_req *req, int status, const char *content_type);
int ogc_req_stream_write(og_req *req, const void *data, size_t len);
int ogc_req_stream_end(og_req *req);
/* Writes a queued reply in this loop turn if the socket takes it. */
void ogc_req_write_soon(struct bufferevent *bev);
void ogc_req_reply_error(og_req *req, int status, const char *code, const char *message,
                         const char *field);
/* Runs SQL for a request; on failure sets the error reply and returns NULL. */
PGresult *ogc_req_exec(og_req *req, const char *sql, int nparams, const char *const *params);

/* ------------------------------------------------------------------ */
/* util.c — request helpers shared by core route modules (and, through
 * the host API, by plugins).  Each returns 0, or -1 with the reply set. */

int ogc_util_path_id(og_req *req, const char *name, int64_t *out);
int ogc_util_page(og_req *req, int *limit, int64_t *cursor);
int ogc_util_client_version(og_req *req, json_t *body, int64_t *version);
/* An integer > 0 from decimal text (no sign, no spaces); false otherwise. */
bool ogc_util_parse_id(const char *s, int64_t *out);
/* {"items": items (stolen), "next_cursor": cursor or null} */
/* FNV-1a, 64 bits: a fast non-cryptographic hash for lookup tables. */
uint64_t ogc_util_fnv1a(const void *data, size_t len);
json_t *ogc_util_list(json_t *items, int64_t next_cursor);
/* The caller's scope as a query parameter: "" for everything. */
const char *ogc_util_scope(og_req *req);
/* 422 with code "invalid" naming field. */
void ogc_util_invalid(og_req *req, const char *field, const char *message);
/* UTF-8 characters in s (not bytes). */
size_t ogc_util_utf8_len(const char *s);
/* Hands memory freed after a large request (a bulk import's file) back to
 * the system (glibc's malloc_trim; nothing where it is missing), so that a
 * worker that took one big file does not keep its size for good. */
void ogc_util_release_memory(void);
/* Integer member key of obj (borrowed, may be NULL); 0 when absent or not
 * an integer. */
int64_t ogc_util_json_id(json_t *obj, const char *key);
/* Is body (borrowed; NULL for no body, allowed when optional) a JSON
 * object?  false after a 400. */
bool ogc_util_body_object(og_req *req, json_t *body, bool optional);
/* s (n bytes) as an ILIKE substring pattern "%s%" with ILIKE's wildcards
 * and its escape character escaped: new (caller frees), NULL when out of
 * memory (no reply set). */
char *ogc_util_like_pattern(const char *s, size_t n);
/* A list page: *items (stolen; a non-array, NULL included, becomes an
 * empty array) holds up to limit + 1 rows in page order, the extra one only
 * saying there is a next page.  Drops it and returns the "id" of the last
 * row kept (the next cursor), or 0 when this is the last page; *items is
 * then an array (new, the caller's). */
int64_t ogc_util_page_cut(json_t **items, int limit);
/* A calendar date written YYYY-MM-DD, years 1900..2999 (NULL: false). */
bool ogc_util_date_valid(const char *s);
/* The readers of og_host_api ABI 1.3, documented there (body_object is
 * ogc_util_body): 1 present, 0 absent, -1 after a 422 naming the field.
 * Returned strings are borrowed from obj or req, enums from values. */
json_t *ogc_util_body(og_req *req);
int ogc_util_body_known_keys(og_req *req, json_t *obj, const char *const *known, const char *path);
int ogc_util_body_text(og_req *req, json_t *obj, const char *name, size_t max, int required,
                       const char **out);
int ogc_util_body_id(og_req *req, json_t *obj, const char *name, int required, int64_t *out);
int ogc_util_body_int(og_req *req, json_t *obj, const char *name, int64_t min, int64_t max,
                      int required, int64_t *out);
int ogc_util_body_date(og_req *req, json_t *obj, const char *name, int required, const char **out);
int ogc_util_body_enum(og_req *req, json_t *obj, const char *name, const char *const *values,
                       int required, const char **out);
int ogc_util_query_id(og_req *req, const char *name, int64_t *out);
int ogc_util_query_int(og_req *req, const char *name, int64_t min, int64_t max, int64_t *out);
int ogc_util_query_date(og_req *req, const char *name, const char **out);
int ogc_util_query_enum(og_req *req, const char *name, const char *const *values, const char **out);
int ogc_util_query_bool(og_req *req, const char *name, int *out);

/* Helpers shared by route modules, defined in the module owning the concept. */

/* residents.c: the API's picture of a resident as SQL, from core.resident
 * aliased x (tags from one aggregated subquery per row); every place that
 * shows a resident selects this, so they all show the same record. */
#define OGC_RESIDENT_JSON_SQL                                                        \
	"json_build_object('id', x.id, 'name', x.name, 'id_type', x.id_type, "       \
	"'id_number', x.id_number, 'gender', x.gender, 'birth_date', x.birth_date, " \
	"'age', date_part('year', age(current_date, x.birth_date))::int, "           \
	"'ethnicity', x.ethnicity, 'phone', x.phone, "                               \
	"'residence_status', x.residence_status, "                                   \
	"'registered_province', x.registered_province, 'grid_id', x.grid_id, "       \
	"'household_id', x.household_id, 'relation', x.relation, "                   \
	"'life_status', x.life_status, 'life_status_date', x.life_status_date, "     \
	"'tags', array(SELECT t.tag FROM core.resident_tag t "                       \
	"              WHERE t.resident_id = x.id ORDER BY t.tag), "                 \
	"'version', x.version, 'created_at', x.created_at, 'updated_at', x.updated_at)"
/* residents.c: masks the id_number and phone of a resident object r
 * (borrowed, changed in place) when they are strings, as every reply to a
 * caller without residents.read_sensitive shows them. */
void ogc_residents_mask(json_t *r);
/* regions.c: the ltree path of a ?region= filter.  region (borrowed, the
 * query parameter; NULL when absent) must name a region inside the caller's
 * scope; absent means the whole scope.  0 with *path new (caller frees) and,
 * when region is given, *id set; -1 after the reply (422 field "region",
 * 404 outside the scope, or a database error). */
int ogc_regions_filter_path(og_req *req, const char *region, int64_t *id, char **path);

/* ------------------------------------------------------------------ */
/* idempotency.c — Idempotency-Key on POST (called by the router) */

/* Before the handler: 1 when a stored reply was replayed (or a reused key
 * refused), 0 to run the handler, -1 on error (reply set). */
int ogc_idempotency_begin(og_req *req);
/* After a successful handler, in its transaction: store the reply. */
int ogc_idempotency_finish(og_req *req);

/* ------------------------------------------------------------------ */
/* router.c OpenAPI detail: a JSON object merged into the operation. */
int ogc_router_describe(unsigned method, const char *path, const char *openapi_json);
json_t *ogc_router_description(const ogc_route *r, unsigned method); /* borrowed or NULL */

/* ------------------------------------------------------------------ */
/* The shared model (issue 3) */

void ogc_regions_register_routes(void);    /* regions.c */
void ogc_households_register_routes(void); /* households.c: buildings, households */
void ogc_residents_register_routes(void);  /* residents.c */
void ogc_tags_register_routes(void);       /* tags.c */
void ogc_transfer_register_routes(void);   /* transfer.c: bulk import and export */
void ogc_changes_register_routes(void);    /* changes.c: the change feed */
void ogc_roles_register_routes(void);      /* roles.c: role permission grants */

/* residents.c: validation shared by the API and the bulk import (pure, no
 * database).  in: a JSON object of API fields (borrowed).  partial: a PATCH
 * (absent fields are left alone).  On success returns 0 and *out (new) holds
 * the normalised fields: id_number upper-cased, gender and birth_date derived
 * from an 18-character number.  On failure returns -1 with *field naming the
 * offending field (static string) and a reason in why. */
int ogc_residents_validate(json_t *in, bool partial, json_t **out, const char **field, char *why,
                           size_t whylen);

/* tags.c: the host API's set_tag/clear_tag. */
int ogc_tags_set(og_req *req, og_plugin *owner, int64_t resident_id, const char *code,
                 const char *source);
int ogc_tags_clear(og_req *req, og_plugin *owner, int64_t resident_id, const char *code);

/* idnumber.c: identity numbers and phones (pure functions, no I/O). */
typedef struct ogc_idinfo {
	char birth_date[11]; /* YYYY-MM-DD, "" when the number carries none */
	const char *gender;  /* "male", "female" or NULL */
} ogc_idinfo;
/* Checks number for id_type ("resident_id", "passport", "hmt_permit",
 * "foreign_permanent", "none"); writes the normalised number (upper-case X)
 * into norm.  0 valid; -1 with a reason in why. */
int ogc_idnumber_check(const char *id_type, const char *number, char *norm, size_t normlen,
                       ogc_idinfo *info, char *why, size_t whylen);
/* Mainland mobile (1[3-9]xxxxxxxxx, optional +86) or landline with area
 * code; writes the normalised form.  0 or -1. */
int ogc_phone_check(const char *phone, char *norm, size_t normlen);
void ogc_mask_id_number(const char *in, char *out, size_t outlen); /* 110105********1234 */
void ogc_mask_phone(const char *in, char *out, size_t outlen);     /* 138****5678 */

/* ------------------------------------------------------------------ */
/* Reports and ledgers (issue 4, 一表通): reports.c (the engine and
 * /api/v1/reports), indicators.c (the core's indicators), ledgers.c
 * (/api/v1/ledgers and the core's ledgers), xlsx.c (XLSX files). */

void ogc_reports_register_routes(void); /* reports.read, core indicators, routes */
void ogc_ledgers_register_routes(void); /* core ledgers, routes */

/* indicators.c: registers the core.* indicators (called by reports.c).
 * core_sql: CTEs computing every core indicator per grid of the region
 * $2 (ltree) on the date $1, in one pass over core.resident for the
 * counts, one for households and one over core.resident_tag; the last,
 * og_core, yields rows (code text, grid_id bigint, val numeric).  Static
 * text, to follow "WITH " and precede more CTEs; the two variants differ
 * only in plan shape (wide: most of the table is read). */
void ogc_indicators_register(void);
const char *ogc_indicators_core_sql(bool wide); /* wide: a district or street */

/* The region a report or ledger is about: ?region= (default: the caller's
 * scope region), inside the caller's scope (404 otherwise). */
typedef struct ogc_report_region {
	int64_t id;
	char path[256]; /* ltree text */
	char level[16];
	char name[256];
	json_t *json; /* new: {id, name, level, code, closed_on} */
} ogc_report_region;
int ogc_reports_region(og_req *req, ogc_report_region *out); /* 0 or -1 (reply set) */
void ogc_reports_region_clear(ogc_report_region *r);
/* Starts the request's read: one REPEATABLE READ snapshot (every
 * statement of the reply agrees; an audit row of an unmasked read lands
 * with it) with JIT compilation off (for
 * these one-shot statements of many expressions compiling costs more than
 * it saves: 40% of a district summary's time, measured).  The router ends
 * the transaction as a write request's.  0 or -1 (reply set). */
int ogc_reports_snapshot(og_req *req);
/* ?format=json|csv|xlsx (default json): 0 json, 1 csv, 2 xlsx; -1 (422). */
int ogc_reports_format(og_req *req);
/* Whether a plugin's indicators and ledgers show for a district: 1, 0,
 * -1 (reply set).  owner NULL (the core) is always 1. */
int ogc_reports_enabled(og_req *req, const og_plugin *owner, int64_t district_id);

/* Cells of a table, typed by the PostgreSQL column they come from. */
typedef enum ogc_cell_kind { OGC_CELL_NULL, OGC_CELL_NUMBER, OGC_CELL_TEXT } ogc_cell_kind;
typedef struct ogc_cell {
	ogc_cell_kind kind;
	const char *text; /* borrowed; number as decimal text */
} ogc_cell;
ogc_cell_kind ogc_reports_kind(Oid type);
json_t *ogc_reports_cell_json(ogc_cell cell, Oid type); /* new */
/* One result row as a JSON object: keys (or the column names when NULL),
 * typed values, sensitive columns masked unless unmasked.  New. */
json_t *ogc_reports_row_object(const PGresult *res, int row, const char *const *keys, int ncols,
                               bool unmasked);
/* Sensitive columns ("id_number", "phone"): masked into buf unless
 * unmasked; returns the text to show (in or buf). */
bool ogc_reports_sensitive(const char *key);
const char *ogc_reports_mask(const char *key, const char *in, bool unmasked, char *buf, size_t len);

/* A table streamed as CSV (UTF-8 with BOM) or XLSX (one sheet, frozen
 * header).  begin answers 200 with Content-Disposition filename (ASCII)
 * and filename* (UTF-8 title); CSV streams at once, XLSX when it ends.
 * Every function: 0, or -1 after logging (begin: the reply is set). */
typedef struct ogc_sink ogc_sink;
ogc_sink *ogc_reports_sink_begin(og_req *req, int format, const char *file_base, const char *title,
                                 const char *const *headers, size_t ncols, bool big);
int ogc_reports_sink_row(ogc_sink *s, const ogc_cell *cells);
int ogc_reports_sink_end(ogc_sink *s); /* frees s; a failed sink ends as abort */
/* After a failure: XLSX answers the error reply set (500 if none); CSV,
 * already under way, ends short.  Frees s. */
void ogc_reports_sink_abort(ogc_sink *s);

/* xlsx.c: one workbook in a temp file (removed when streamed or freed). */
typedef struct ogc_xlsx ogc_xlsx;
/* big: libxlsxwriter's constant-memory mode (rows in order, inline
 * strings), for ledgers of any length. freeze_cols: columns kept in view. */
ogc_xlsx *ogc_xlsx_new(const char *sheet, const char *const *headers, size_t ncols, int freeze_cols,
                       bool big);
int ogc_xlsx_row(ogc_xlsx *x, const ogc_cell *cells); /* the next row */
/* Closes the workbook and streams it as the reply body (after
 * ogc_req_stream_begin); frees x either way. */
int ogc_xlsx_finish(ogc_xlsx *x, og_req *req);
void ogc_xlsx_free(ogc_xlsx *x);

/* ------------------------------------------------------------------ */
/* host_api.c — the og_host_api table (one per process) */

const og_host_api *ogc_host_api(void);

/* ------------------------------------------------------------------ */
/* plugin_loader.c — dlopen, descriptor checks, init in dependency order */

struct og_plugin {
	const og_plugin_descriptor *desc; /* borrowed from the .so, never unloaded */
	char *file;
	bool optional;
	bool in_init; /* registration allowed only while true */
	/* Set by any registration refused during init (host_api.c sets it when
	 * ogc_router_add / ogc_migrate_add fail; registry.c and
	 * ogc_plugins_check_route set it themselves): the loader then refuses
	 * the plugin even if its init returned 0. */
	bool registration_failed;
};

/* Loads cfg->plugins from cfg->plugin_dir.  -1 if a required plugin was
 * refused (already logged with file and reason). */
int ogc_plugins_load(const ogc_config *cfg);
size_t ogc_plugins_count(void);
og_plugin *ogc_plugins_get(size_t i);
og_plugin *ogc_plugins_find(const char *name);
void ogc_plugins_fini(void);
/* For host_api.c's register_route, before ogc_router_add: -1 (logged) when
 * a plugin's path is outside "/api/v1/<name>", its permission is
 * OG_PERM_PUBLIC, or its permission code is not registered yet.  Core
 * routes (p NULL) always pass. */
int ogc_plugins_check_route(og_plugin *p, const char *path, const char *permission);

/* ------------------------------------------------------------------ */
/* registry.c — permissions, tags, hooks, indicators, ledgers */

int ogc_registry_permission(og_plugin *owner, const char *code, const char *label,
                            const char *const *roles);
int ogc_registry_tag(og_plugin *owner, const char *code, const char *label);
int ogc_registry_hook(og_plugin *owner, const char *event, og_hook_fn fn);
int ogc_registry_indicator(og_plugin *owner, const og_indicator_def *def);
int ogc_registry_ledger(og_plugin *owner, const og_ledger_def *def);
bool ogc_registry_has_permission(const char *code);
/* Runs the hooks of an event in registration order; -1 on the first that
 * fails (its plugin is named in the log and the error reply). */
int ogc_registry_fire(og_req *req, const char *event, int64_t entity_id, json_t *payload);
/*
 * The same event for many rows at once (the bulk import): `payloads` is a
 * JSON array (borrowed) of the rows' payloads, each with its "id".  Every
 * hook on `event` runs once per row, in row order, except those of a
 * plugin (built for ABI >= 1.3) that registered `batch_event`: that plugin
 * gets one call of its `batch_event` hook with the whole array (entity_id
 * 0) instead.  0, or -1 on the first hook that fails.
 */
int ogc_registry_fire_rows(og_req *req, const char *event, const char *batch_event,
                           json_t *payloads);
/* Whether ogc_registry_fire_rows would call any hook at all (the bulk
 * import skips building payloads nobody reads). */
bool ogc_registry_has_row_hooks(const char *event, const char *batch_event);
/* Upserts registered permissions, default grants and tags.  0 or -1. */
int ogc_registry_sync(PGconn *conn);
/* Declared indicators and ledgers in registration order, for the reports
 * engine.  Definitions are borrowed (copied at registration); *owner gets
 * the declaring plugin, NULL for the core (owner may be NULL). */
size_t ogc_registry_indicator_count(void);
const og_indicator_def *ogc_registry_indicator_get(size_t i, og_plugin **owner);
size_t ogc_registry_ledger_count(void);
const og_ledger_def *ogc_registry_ledger_get(size_t i, og_plugin **owner);

/* ------------------------------------------------------------------ */
/* auth.c — passwords, tokens, login rate limits */

/* argon2id encoded hash of password into out; 0 or -1. */
int ogc_auth_hash_password(const char *password, char *out, size_t outlen);
bool ogc_auth_verify_password(const char *encoded, const char *password);
/* auth_cache.c — tokens a worker checked recently (auth.c uses it) */

#define OGC_TOKEN_HEX 64 /* a bearer token: 32 random bytes in hex */

/* What the token query answers; every pointer owned. */
typedef struct ogc_auth_info {
	int64_t user_id, scope_region_id, district_id;
	char *username, *role, *scope_path;
	json_t *permissions;      /* array of codes */
	json_t *disabled_plugins; /* array of names; NULL: ask per plugin */
} ogc_auth_info;

int ogc_auth_cache_init(void); /* before fork: the shared generation */
void ogc_auth_cache_fini(void); /* a worker's entries, at its exit */
void ogc_auth_info_clear(ogc_auth_info *info);
/* 1 with *out filled (new copies) when token is cached and still good. */
int ogc_auth_cache_get(og_req *req, const char *token, ogc_auth_info *out);
/* Where the cache stands: taken before a token query, given to put. */
typedef struct ogc_auth_stamp {
	uint64_t generation, epoch;
} ogc_auth_stamp;
ogc_auth_stamp ogc_auth_cache_stamp(og_req *req);
/* Remembers info (copied) as read after stamp was taken. */
void ogc_auth_cache_put(og_req *req, const char *token, ogc_auth_stamp stamp, double expires,
                        const ogc_auth_info *info);
void ogc_auth_cache_bump(void);
/* Marks req as changing what the token query reads (see auth_cache.c). */
void ogc_auth_cache_invalidate(og_req *req);

/* Resolves the bearer token of req into req->caller and req->permissions.
 * 0 authenticated; 401 or 503 otherwise (error reply already set). */
int ogc_auth_authenticate(og_req *req);
bool ogc_auth_has_permission(const og_req *req, const char *code);
void ogc_auth_register_routes(void);

/* ------------------------------------------------------------------ */
/* Route modules: each registers its core routes. */

void ogc_users_register_routes(void);  /* users.c */
void ogc_audit_register_routes(void);  /* audit.c */
void ogc_enable_register_routes(void); /* enablement.c: /plugins, region plugins */
void ogc_system_register_routes(void); /* system.c: healthz, metrics, openapi */
void ogc_core_register_permissions(void);

/* audit.c: one audit row in the request's transaction; 0 or -1. */
int ogc_audit_write(og_req *req, const char *action, const char *entity, const char *entity_id,
                    int64_t region_id, json_t *before, json_t *after);

/* enablement.c: is plugin `name` enabled for district_id?  1, 0, -1 error */
int ogc_enable_check(og_req *req, const char *name, int64_t district_id);

/* ------------------------------------------------------------------ */
/* metrics.c — counters in memory shared by master and workers */

int ogc_metrics_init(void); /* before fork */
void ogc_metrics_request(int route_index, unsigned method, int status, double seconds);
void ogc_metrics_worker_restart(void);
void ogc_metrics_db_error(void);
/* Appends the Prometheus text exposition to buf. */
void ogc_metrics_render(struct evbuffer *buf);

/* ------------------------------------------------------------------ */
/* demo.c — the demo district for quickstart.sh demo */

int ogc_demo_seed(PGconn *conn, const char *password, FILE *out);

#endif /* ONEGRID_CORE_H */

/*
 * core/registry.c — what the core and the plugins declare besides routes
 * and migrations: permissions (with their default role grants), tags,
 * hooks, indicators and ledgers.
 *
 * For: checking each declaration once, at registration (owner prefixes,
 * duplicates, required fields), keeping it in a growable array for the
 * life of the process, running hooks (ogc_registry_fire, and
 * ogc_registry_fire_rows for the bulk import's batches) and writing
 * permissions, default grants and tags to the database
 * (ogc_registry_sync).  Not for: computing indicators or rendering ledgers
 * (the reports engine reads them through the _count/_get accessors), or
 * checking that a caller holds a permission (auth.c).
 *
 * Every declaration is made in init (or by the core before the plugins are
 * loaded), in one process before the workers fork, so nothing here locks.
 * Strings handed in are borrowed for the life of the process (plugins are
 * never unloaded); the structures and pointer arrays around them are
 * copied, so a plugin may pass a compound literal.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Guards against a hook that fires an event whose hook fires it back. */
#define MAX_HOOK_DEPTH 8

typedef struct perm_entry {
	const char *code;
	const char *label;
	const char **roles; /* owned copy of the NULL-terminated array */
	og_plugin *owner;
} perm_entry;

typedef struct tag_entry {
	const char *code;
	const char *label;
	og_plugin *owner;
} tag_entry;

typedef struct hook_entry {
	const char *event;
	og_hook_fn fn;
	og_plugin *owner;
} hook_entry;

typedef struct indicator_entry {
	og_indicator_def def; /* copy, member by member (see rows_sql, facts_sql); strings borrowed */
	og_plugin *owner;
} indicator_entry;

typedef struct ledger_entry {
	og_ledger_def def; /* copy; columns and labels point at owned copies */
	og_plugin *owner;
} ledger_entry;

static perm_entry *perms;
static size_t nperms;
static tag_entry *tags;
static size_t ntags;
static hook_entry *hooks;
static size_t nhooks;
static indicator_entry *indicators;
static size_t nindicators;
static ledger_entry *ledgers;
static size_t nledgers;

static int hook_depth;
/* A failure inside a nested fire was logged: the enclosing levels, whose
 * hooks now fail in turn, stay quiet (errors are reported once). */
static bool nested_failure_logged;

static const char *owner_name(const og_plugin *owner)
{
	return owner != NULL ? owner->desc->name : "core";
}

/* Logs a refused declaration (one line, naming the owner) and marks the
 * plugin so the loader refuses it even if its init ignores the -1. */
static int refuse(og_plugin *owner, const char *fmt, ...) OG_PRINTF(2, 3);
static int refuse(og_plugin *owner, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (owner != NULL) {
		owner->registration_failed = true;
		ogc_log(OG_LOG_ERROR, "plugin %s: %s", owner->desc->name, msg);
	} else {
		ogc_log(OG_LOG_ERROR, "core: %s", msg);
	}
	return -1;
}

/* realloc for one more element; NULL (array untouched) when out of memory. */
static void *grow(void *arr, size_t n, size_t size)
{
	return realloc(arr, (n + 1) * size);
}

static bool empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* Codes of permissions, tags, indicators and event names: lower-case
 * letters, digits, '_', '.', '-'; 1..max bytes. */
static bool valid_code(const char *s, size_t max)
{
	size_t i;

	if (empty(s))
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max)
			return false;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '.' || s[i] == '-'))
			return false;
	}
	return true;
}

/* A plugin's codes start with "<plugin>." and have something after it. */
static bool owned_code(const og_plugin *owner, const char *code)
{
	size_t len;

	if (owner == NULL)
		return true;
	len = strlen(owner->desc->name);
	return strncmp(code, owner->desc->name, len) == 0 && code[len] == '.' &&
	       code[len + 1] != '\0';
}

/* Registration is only open during the owner's init (host_api.c checks it
 * first; this keeps core code from bypassing the rule by accident). */
static bool closed(og_plugin *owner, const char *what)
{
	if (owner != NULL && !owner->in_init) {
		refuse(owner, "%s refused: registration is allowed only in init", what);
		return true;
	}
	return false;
}

static perm_entry *find_perm(const char *code)
{
	size_t i;

	for (i = 0; i < nperms; i++)
		if (strcmp(perms[i].code, code) == 0)
			return &perms[i];
	return NULL;
}

int ogc_registry_permission(og_plugin *owner, const char *code, const char *label,
                            const char *const *roles)
{
	perm_entry *e;
	void *grown;
	size_t n = 0, i;

	if (closed(owner, "permission"))
		return -1;
	if (!valid_code(code, 64) || !owned_code(owner, code))
		return refuse(owner, "permission \"%s\" refused: codes are [a-z0-9_.-]{1,64}%s%s%s",
		              code != NULL ? code : "(null)",
		              owner != NULL ? " and start with \"" : "",
		              owner != NULL ? owner->desc->name : "", owner != NULL ? ".\"" : "");
	if (empty(label))
		return refuse(owner, "permission %s refused: a label is required", code);
	if (strcmp(code, OG_PERM_PUBLIC) == 0 || strcmp(code, OG_PERM_AUTHENTICATED) == 0)
		return refuse(owner, "permission %s refused: the name is reserved", code);
	if ((e = find_perm(code)) != NULL)
		return refuse(owner, "permission %s refused: already registered by %s", code,
		              owner_name(e->owner));
	for (n = 0; roles != NULL && roles[n] != NULL; n++)
		if (!valid_code(roles[n], 64))
			return refuse(owner, "permission %s refused: bad role name \"%s\"", code,
			              roles[n]);
	grown = grow(perms, nperms, sizeof(*perms));
	if (grown == NULL)
		return refuse(owner, "permission %s refused: out of memory", code);
	perms = grown;
	e = &perms[nperms];
	e->roles = calloc(n + 1, sizeof(*e->roles));
	if (e->roles == NULL)
		return refuse(owner, "permission %s refused: out of memory", code);
	for (i = 0; i < n; i++)
		e->roles[i] = roles[i];
	e->code = code;
	e->label = label;
	e->owner = owner;
	nperms++;
	return 0;
}

bool ogc_registry_has_permission(const char *code)
{
	return code != NULL && find_perm(code) != NULL;
}

int ogc_registry_tag(og_plugin *owner, const char *code, const char *label)
{
	size_t i;
	void *grown;

	if (closed(owner, "tag"))
		return -1;
	if (!valid_code(code, 64))
		return refuse(owner, "tag \"%s\" refused: codes are [a-z0-9_.-]{1,64}",
		              code != NULL ? code : "(null)");
	if (empty(label))
		return refuse(owner, "tag %s refused: a label is required", code);
	for (i = 0; i < ntags; i++)
		if (strcmp(tags[i].code, code) == 0)
			return refuse(owner, "tag %s refused: already registered by %s", code,
			              owner_name(tags[i].owner));
	grown = grow(tags, ntags, sizeof(*tags));
	if (grown == NULL)
		return refuse(owner, "tag %s refused: out of memory", code);
	tags = grown;
	tags[ntags].code = code;
	tags[ntags].label = label;
	tags[ntags].owner = owner;
	ntags++;
	return 0;
}

int ogc_registry_hook(og_plugin *owner, const char *event, og_hook_fn fn)
{
	const char *dot;
	void *grown;

	if (closed(owner, "hook"))
		return -1;
	dot = event != NULL ? strchr(event, '.') : NULL;
	if (!valid_code(event, 64) || dot == NULL || dot == event || dot[1] == '\0')
		return refuse(owner,
		              "hook on \"%s\" refused: events are named \"<source>.<event>\"",
		              event != NULL ? event : "(null)");
	if (fn == NULL)
		return refuse(owner, "hook on %s refused: no function", event);
	grown = grow(hooks, nhooks, sizeof(*hooks));
	if (grown == NULL)
		return refuse(owner, "hook on %s refused: out of memory", event);
	hooks = grown;
	hooks[nhooks].event = event;
	hooks[nhooks].fn = fn;
	hooks[nhooks].owner = owner;
	nhooks++;
	return 0;
}

int ogc_registry_indicator(og_plugin *owner, const og_indicator_def *def)
{
	const char *code = def != NULL ? def->code : NULL;
	const char *rows_sql, *facts_sql = NULL, *fact_filter = NULL, *fact_value = NULL;
	void *grown;
	bool ratio;
	size_t i;

	if (closed(owner, "indicator"))
		return -1;
	if (!valid_code(code, 64) || !owned_code(owner, code))
		return refuse(owner, "indicator \"%s\" refused: codes are [a-z0-9_.-]{1,64}%s%s%s",
		              code != NULL ? code : "(null)",
		              owner != NULL ? " and start with \"" : "",
		              owner != NULL ? owner->desc->name : "", owner != NULL ? ".\"" : "");
	if (empty(def->label))
		return refuse(owner, "indicator %s refused: a label is required", code);
	/* Either SQL, or a ratio of two other indicators, never both: a ratio
	 * is recomputed from its parts at every level of the region tree. */
	ratio = def->ratio_numerator != NULL || def->ratio_denominator != NULL;
	if (ratio &&
	    (empty(def->ratio_numerator) || empty(def->ratio_denominator) || def->sql != NULL))
		return refuse(owner,
		              "indicator %s refused: a ratio names both its numerator and "
		              "denominator and has no sql",
		              code);
	if (!ratio && empty(def->sql))
		return refuse(owner, "indicator %s refused: sql (or a ratio) is required", code);
	if (ratio &&
	    (strcmp(def->ratio_numerator, code) == 0 || strcmp(def->ratio_denominator, code) == 0))
		return refuse(owner, "indicator %s refused: a ratio cannot refer to itself", code);
	/* rows_sql exists from ABI 1.2 on: a plugin built for 1.1 handed a
	 * shorter structure, so the member is neither read nor copied. */
	rows_sql = owner == NULL || owner->desc->abi_minor >= 2 ? def->rows_sql : NULL;
	if (ratio && rows_sql != NULL)
		return refuse(owner, "indicator %s refused: a ratio has no rows_sql (its parts do)",
		              code);
	/* The facts form exists from ABI 1.3 on (same reason); it comes with
	 * sql, which older hosts and tests read. */
	if (owner == NULL || owner->desc->abi_minor >= 3) {
		facts_sql = def->facts_sql;
		fact_filter = def->fact_filter;
		fact_value = def->fact_value;
	}
	if ((fact_filter != NULL || fact_value != NULL) && empty(facts_sql))
		return refuse(owner, "indicator %s refused: fact_filter and fact_value need facts_sql",
		              code);
	if (ratio && facts_sql != NULL)
		return refuse(owner, "indicator %s refused: a ratio has no facts_sql (its parts do)",
		              code);
	for (i = 0; i < nindicators; i++)
		if (strcmp(indicators[i].def.code, code) == 0)
			return refuse(owner, "indicator %s refused: already registered by %s", code,
			              owner_name(indicators[i].owner));
	grown = grow(indicators, nindicators, sizeof(*indicators));
	if (grown == NULL)
		return refuse(owner, "indicator %s refused: out of memory", code);
	indicators = grown;
	memset(&indicators[nindicators].def, 0, sizeof(indicators[nindicators].def));
	indicators[nindicators].def.code = def->code;
	indicators[nindicators].def.label = def->label;
	indicators[nindicators].def.unit = def->unit;
	indicators[nindicators].def.sql = def->sql;
	indicators[nindicators].def.ratio_numerator = def->ratio_numerator;
	indicators[nindicators].def.ratio_denominator = def->ratio_denominator;
	indicators[nindicators].def.rows_sql = rows_sql;
	indicators[nindicators].def.facts_sql = facts_sql;
	indicators[nindicators].def.fact_filter = fact_filter;
	indicators[nindicators].def.fact_value = fact_value;
	indicators[nindicators].owner = owner;
	nindicators++;
	return 0;
}

int ogc_registry_ledger(og_plugin *owner, const og_ledger_def *def)
{
	const char *name = def != NULL ? def->name : NULL;
	void *grown;
	const char **cols, **labels;
	size_t i;

	if (closed(owner, "ledger"))
		return -1;
	if (!valid_code(name, 64) || strchr(name, '.') != NULL)
		return refuse(owner, "ledger \"%s\" refused: names are [a-z0-9_-]{1,64}",
		              name != NULL ? name : "(null)");
	if (empty(def->title) || empty(def->sql))
		return refuse(owner, "ledger %s refused: a title and sql are required", name);
	if (def->ncolumns == 0 || def->columns == NULL || def->labels == NULL)
		return refuse(owner, "ledger %s refused: columns and labels are required", name);
	for (i = 0; i < def->ncolumns; i++)
		if (empty(def->columns[i]) || empty(def->labels[i]))
			return refuse(owner, "ledger %s refused: column %zu lacks a key or a label",
			              name, i + 1);
	/* The same rule as routes: a real permission, registered first. */
	if (empty(def->permission) || strcmp(def->permission, OG_PERM_PUBLIC) == 0)
		return refuse(owner,
		              "ledger %s refused: it needs a permission (\"public\" is "
		              "reserved for the core)",
		              name);
	if (strcmp(def->permission, OG_PERM_AUTHENTICATED) != 0 &&
	    !ogc_registry_has_permission(def->permission))
		return refuse(owner,
		              "ledger %s refused: permission %s is not registered (register "
		              "permissions before what uses them)",
		              name, def->permission);
	for (i = 0; i < nledgers; i++)
		if (ledgers[i].owner == owner && strcmp(ledgers[i].def.name, name) == 0)
			return refuse(owner, "ledger %s refused: already registered", name);
	grown = grow(ledgers, nledgers, sizeof(*ledgers));
	if (grown == NULL)
		return refuse(owner, "ledger %s refused: out of memory", name);
	ledgers = grown;
	cols = calloc(def->ncolumns, sizeof(*cols));
	labels = calloc(def->ncolumns, sizeof(*labels));
	if (cols == NULL || labels == NULL) {
		free(cols);
		free(labels);
		return refuse(owner, "ledger %s refused: out of memory", name);
	}
	for (i = 0; i < def->ncolumns; i++) {
		cols[i] = def->columns[i];
		labels[i] = def->labels[i];
	}
	ledgers[nledgers].def = *def;
	ledgers[nledgers].def.columns = cols;
	ledgers[nledgers].def.labels = labels;
	ledgers[nledgers].owner = owner;
	nledgers++;
	return 0;
}

size_t ogc_registry_indicator_count(void)
{
	return nindicators;
}

const og_indicator_def *ogc_registry_indicator_get(size_t i, og_plugin **owner)
{
	if (i >= nindicators)
		return NULL;
	if (owner != NULL)
		*owner = indicators[i].owner;
	return &indicators[i].def;
}

size_t ogc_registry_ledger_count(void)
{
	return nledgers;
}

const og_ledger_def *ogc_registry_ledger_get(size_t i, og_plugin **owner)
{
	if (i >= nledgers)
		return NULL;
	if (owner != NULL)
		*owner = ledgers[i].owner;
	return &ledgers[i].def;
}

/* Makes sure a failed hook leaves an error reply: the hook's own if it set
 * one, else a 500 naming the plugin (a hook failing silently is a bug). */
static int hook_failed(og_req *req, const hook_entry *h, const char *why)
{
	char msg[256];

	if (!nested_failure_logged)
		ogc_log(OG_LOG_WARN, "request %s: plugin %s hook for %s failed: %s",
		        req != NULL ? req->request_id : "-", owner_name(h->owner), h->event, why);
	nested_failure_logged = hook_depth > 0;
	if (req != NULL && req->status < 400) {
		snprintf(msg, sizeof(msg), "plugin %s hook for %s failed", owner_name(h->owner),
		         h->event);
		ogc_req_reply_error(req, 500, "hook_failed", msg, NULL);
	}
	return -1;
}

/* Runs one hook with the nesting guard.  0, or -1 (reply set, logged). */
static int run_hook(og_req *req, const og_host_api *host, const hook_entry *h, const char *event,
                    int64_t entity_id, json_t *payload)
{
	int status_before, rc;

	if (hook_depth >= MAX_HOOK_DEPTH)
		return hook_failed(req, h,
		                   "hooks nested too deeply (does a hook fire the event "
		                   "that triggers it?)");
	status_before = req != NULL ? req->status : 0;
	hook_depth++;
	rc = h->fn(req, host, event, entity_id, payload);
	hook_depth--;
	if (rc != 0)
		return hook_failed(req, h, "returned non-zero");
	/* An error reply set by a hook that then returned 0 still aborts the
	 * write (the host would roll it back anyway); say so now. */
	if (req != NULL && req->status >= 400 && status_before < 400)
		return hook_failed(req, h, "set an error reply but returned 0");
	return 0;
}

int ogc_registry_fire(og_req *req, const char *event, int64_t entity_id, json_t *payload)
{
	const og_host_api *host = ogc_host_api();

	if (event == NULL)
		return 0;
	if (hook_depth == 0)
		nested_failure_logged = false;
	for (size_t i = 0; i < nhooks; i++)
		if (strcmp(hooks[i].event, event) == 0 &&
		    run_hook(req, host, &hooks[i], event, entity_id, payload) != 0)
			return -1;
	return 0;
}

/* Whether owner takes the batch event instead of the per-row one: it has
 * a hook on batch_event and was built for ABI 1.3 or later.  A plugin
 * built earlier knows no batch event (a hook of its own under that name
 * meant something else): it gets the per-row event, never the batch one.
 * The core counts as built for the newest ABI. */
static bool takes_batch(const og_plugin *owner, const char *batch_event)
{
	if (owner != NULL && owner->desc->abi_minor < 3)
		return false;
	for (size_t i = 0; i < nhooks; i++)
		if (hooks[i].owner == owner && strcmp(hooks[i].event, batch_event) == 0)
			return true;
	return false;
}

/* Whether ogc_registry_fire_rows calls hook h: its batch hook for a
 * plugin that takes the batch event, its per-row hook for any other. */
static bool rows_call(const hook_entry *h, const char *event, const char *batch_event)
{
	return strcmp(h->event, takes_batch(h->owner, batch_event) ? batch_event : event) == 0;
}

bool ogc_registry_has_row_hooks(const char *event, const char *batch_event)
{
	for (size_t i = 0; i < nhooks; i++)
		if (rows_call(&hooks[i], event, batch_event))
			return true;
	return false;
}

int ogc_registry_fire_rows(og_req *req, const char *event, const char *batch_event,
                           json_t *payloads)
{
	const og_host_api *host = ogc_host_api();
	bool *row = calloc(nhooks ? nhooks : 1, sizeof(*row)); /* per-row hook i runs */
	int rc = 0;
	size_t k;
	json_t *p;

	if (row == NULL) {
		ogc_req_reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	for (size_t i = 0; i < nhooks; i++)
		row[i] = strcmp(hooks[i].event, event) == 0 &&
		         rows_call(&hooks[i], event, batch_event);
	if (hook_depth == 0)
		nested_failure_logged = false;
	/* Per-row hooks first, row by row, exactly as a fire per row would
	 * run them; then each batch hook once with the whole array. */
	json_array_foreach(payloads, k, p) {
		int64_t id = ogc_util_json_id(p, "id");

		for (size_t i = 0; rc == 0 && i < nhooks; i++)
			if (row[i])
				rc = run_hook(req, host, &hooks[i], event, id, p);
		if (rc != 0)
			break;
	}
	for (size_t i = 0; rc == 0 && i < nhooks; i++)
		if (strcmp(hooks[i].event, batch_event) == 0 &&
		    rows_call(&hooks[i], event, batch_event))
			rc = run_hook(req, host, &hooks[i], batch_event, 0, payloads);
	free(row);
	return rc;
}

/* ---- ogc_registry_sync ---------------------------------------------- */

/* Inserts or updates a permission row; yields true only when the row is new
 * (the CTE sees the table as it was before the statement), so the default
 * grants below are written once and an administrator's later revocation
 * of a default grant survives restarts. */
static const char SQL_PERMISSION[] =
        "WITH old AS (SELECT 1 FROM core.permission WHERE code = $1) "
        "INSERT INTO core.permission (code, label, owner) VALUES ($1, $2, $3) "
        "ON CONFLICT (code) DO UPDATE SET label = EXCLUDED.label, owner = EXCLUDED.owner "
        "WHERE (core.permission.label, core.permission.owner) IS DISTINCT FROM "
        "(EXCLUDED.label, EXCLUDED.owner) "
        "RETURNING NOT EXISTS (SELECT 1 FROM old)";

static const char SQL_GRANT[] =
        "INSERT INTO core.role_permission (role, permission) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING";

static const char SQL_TAG[] =
        "INSERT INTO core.tag (code, label, owner) VALUES ($1, $2, $3) "
        "ON CONFLICT (code) DO UPDATE SET label = EXCLUDED.label, owner = EXCLUDED.owner "
        "WHERE (core.tag.label, core.tag.owner) IS DISTINCT FROM (EXCLUDED.label, EXCLUDED.owner)";

/* Runs one statement; returns the result (caller PQclear) or NULL after
 * logging `what` with the server's message. */
static PGresult *sync_exec(PGconn *conn, const char *what, const char *sql, int nparams,
                           const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	ogc_log(OG_LOG_ERROR, "registry sync: %s: %s", what,
	        res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}

static int sync_all(PGconn *conn, size_t *nnew)
{
	char what[256];
	PGresult *res;
	size_t i, r;

	/* Several hosts may start at once with different plugin sets: take a
	 * transaction-scoped lock so their upserts never deadlock. */
	res = sync_exec(conn, "lock", "SELECT pg_advisory_xact_lock(7634351, 2)", 0, NULL);
	if (res == NULL)
		return -1;
	PQclear(res);
	for (i = 0; i < nperms; i++) {
		const perm_entry *e = &perms[i];
		const char *params[3] = {e->code, e->label, owner_name(e->owner)};
		bool is_new;

		snprintf(what, sizeof(what), "permission %s", e->code);
		res = sync_exec(conn, what, SQL_PERMISSION, 3, params);
		if (res == NULL)
			return -1;
		is_new = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
		PQclear(res);
		if (!is_new)
			continue;
		(*nnew)++;
		for (r = 0; e->roles[r] != NULL; r++) {
			const char *gparams[2] = {e->roles[r], e->code};

			snprintf(what, sizeof(what), "permission %s: default grant to role %s",
			         e->code, e->roles[r]);
			res = sync_exec(conn, what, SQL_GRANT, 2, gparams);
			if (res == NULL)
				return -1;
			PQclear(res);
		}
	}
	for (i = 0; i < ntags; i++) {
		const char *params[3] = {tags[i].code, tags[i].label, owner_name(tags[i].owner)};

		snprintf(what, sizeof(what), "tag %s", tags[i].code);
		res = sync_exec(conn, what, SQL_TAG, 3, params);
		if (res == NULL)
			return -1;
		PQclear(res);
	}
	return 0;
}

int ogc_registry_sync(PGconn *conn)
{
	PGresult *res;
	size_t nnew = 0;

	res = sync_exec(conn, "BEGIN", "BEGIN", 0, NULL);
	if (res == NULL)
		return -1;
	PQclear(res);
	if (sync_all(conn, &nnew) < 0) {
		PQclear(PQexec(conn, "ROLLBACK"));
		return -1;
	}
	res = sync_exec(conn, "COMMIT", "COMMIT", 0, NULL);
	if (res == NULL)
		return -1;
	PQclear(res);
	ogc_log(OG_LOG_INFO,
	        "registry: %zu permissions (%zu new, default grants added), %zu tags "
	        "synced",
	        nperms, nnew, ntags);
	return 0;
}

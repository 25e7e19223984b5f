/*
 * core/migrate.c — numbered SQL migrations per PostgreSQL schema: the
 * registry, `onegridd migrate` (apply) and the start-up check.
 *
 * The core's migrations come from the files schema/core/NNNN_name.sql (embedded by
 * build-aux/sql2c.sh), a plugin's through host->register_migration; each is
 * applied in its own transaction into the schema named after its owner and
 * recorded in core.schema_migration.  A session advisory lock serialises
 * several hosts migrating one database at once.
 *
 * It is not for down-migrations (there are none: a database newer than the
 * binary is refused, not rewound) and not for the connection itself (the
 * caller passes a connected PGconn and keeps it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* pg_advisory_lock key of the migration lock: "OneGridM" in ASCII. */
#define MIGRATE_LOCK_KEY "5723436342497059917"

typedef struct entry {
	ogc_migration m; /* all strings owned copies */
	int rank;        /* order of the schema: 0 for core, then registration order */
} entry;

static entry *reg;
static size_t nreg, capreg;
static int nschemas; /* schemas other than core registered so far */

int ogc_migrate_add(const char *schema, int version, const char *name, const char *sql)
{
	entry *e;
	int rank = -1;
	size_t i;

	if (!schema || !*schema || strlen(schema) > 63 || version < 1 || !name || !sql) {
		ogc_log(OG_LOG_ERROR,
		        "migration %s/%d %s refused: needs a schema of 1-63 bytes, "
		        "a version >= 1, a name and SQL",
		        schema ? schema : "(null)", version, name ? name : "(null)");
		return -1;
	}
	for (i = 0; i < nreg; i++) {
		if (strcmp(reg[i].m.schema, schema))
			continue;
		rank = reg[i].rank;
		if (reg[i].m.version == version) {
			ogc_log(OG_LOG_ERROR,
			        "migration %s/%d %s refused: version %d already "
			        "registered as %s",
			        schema, version, name, version, reg[i].m.name);
			return -1;
		}
	}
	if (rank < 0)
		rank = strcmp(schema, "core") ? ++nschemas : 0;
	if (nreg == capreg) {
		size_t cap = capreg ? 2 * capreg : 16;
		entry *n = realloc(reg, cap * sizeof(*n));

		if (!n) {
			ogc_log(OG_LOG_ERROR, "migration %s/%d %s: out of memory", schema, version,
			        name);
			return -1;
		}
		reg = n;
		capreg = cap;
	}
	e = &reg[nreg];
	e->m.schema = strdup(schema);
	e->m.name = strdup(name);
	e->m.sql = strdup(sql);
	e->m.version = version;
	e->rank = rank;
	if (!e->m.schema || !e->m.name || !e->m.sql) {
		free((char *)e->m.schema);
		free((char *)e->m.name);
		free((char *)e->m.sql);
		ogc_log(OG_LOG_ERROR, "migration %s/%d %s: out of memory", schema, version, name);
		return -1;
	}
	nreg++;
	return 0;
}

static int by_order(const void *a, const void *b)
{
	const entry *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return (x->m.version > y->m.version) - (x->m.version < y->m.version);
}

/* Keys are unique (schema, version), so qsort's instability is harmless. */
static void sort_registry(void)
{
	if (nreg > 1)
		qsort(reg, nreg, sizeof(*reg), by_order);
}

/* Line of a 1-based character position in sql (PG counts characters, not
 * bytes: skip UTF-8 continuation bytes). */
static int line_of(const char *sql, long pos)
{
	int line = 1;
	long chars = 0;
	const unsigned char *p;

	for (p = (const unsigned char *)sql; *p && chars < pos - 1; p++) {
		if ((*p & 0xC0) == 0x80)
			continue;
		chars++;
		if (*p == '\n')
			line++;
	}
	return line;
}

/* Logs a failed result: what we were doing, SQLSTATE, message, line. */
static void log_pg_error(const char *what, PGconn *conn, const PGresult *r, const char *sql)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *pos = r ? PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION) : NULL;
	const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
	char where[32] = "";
	size_t n;

	if (!msg) {
		msg = PQerrorMessage(conn);
		n = strcspn(msg, "\n");
	} else {
		n = strlen(msg);
	}
	if (pos && sql)
		snprintf(where, sizeof(where), " (line %d)", line_of(sql, atol(pos)));
	ogc_log(OG_LOG_ERROR, "%s failed: SQLSTATE %s: %.*s%s%s%s", what, state ? state : "none",
	        (int)n, msg, where, detail ? "; " : "", detail ? detail : "");
}

/* Runs parameterless SQL; 0 or -1 (logged as `what`). */
static int run(PGconn *conn, const char *what, const char *sql, const char *body)
{
	PGresult *r = PQexec(conn, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		log_pg_error(what, conn, r, body);
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/* Session lock, taken with the session's timeouts off for this one
 * transaction: waiting for another host's migration is not a timeout. */
static int lock(PGconn *conn)
{
	PGresult *r = PQexec(conn, "SELECT pg_try_advisory_lock(" MIGRATE_LOCK_KEY ")");
	bool got = PQresultStatus(r) == PGRES_TUPLES_OK && !strcmp(PQgetvalue(r, 0, 0), "t");

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_pg_error("taking the migration lock", conn, r, NULL);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	if (got)
		return 0;
	ogc_log(OG_LOG_INFO, "another onegridd is applying migrations; waiting for it");
	if (run(conn, "taking the migration lock",
	        "BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0; "
	        "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY "); COMMIT",
	        NULL) < 0) {
		PQclear(PQexec(conn, "ROLLBACK"));
		return -1;
	}
	return 0;
}

static void unlock(PGconn *conn)
{
	PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
}

/* The applied (schema, version) rows: a new PGresult (caller PQclear), or
 * NULL with *missing true when core.schema_migration does not exist yet, or
 * NULL with *missing false on error (logged). */
static PGresult *load_applied(PGconn *conn, bool *missing)
{
	PGresult *r = PQexec(conn, "SELECT to_regclass('core.schema_migration') IS NULL");

	*missing = false;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_pg_error("reading core.schema_migration", conn, r, NULL);
		PQclear(r);
		return NULL;
	}
	*missing = !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	if (*missing)
		return NULL;
	r = PQexec(conn, "SELECT schema, version FROM core.schema_migration");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_pg_error("reading core.schema_migration", conn, r, NULL);
		PQclear(r);
		return NULL;
	}
	return r;
}

static bool is_applied(const PGresult *applied, const ogc_migration *m)
{
	int i;

	for (i = 0; applied && i < PQntuples(applied); i++)
		if (!strcmp(PQgetvalue(applied, i, 0), m->schema) &&
		    atoi(PQgetvalue(applied, i, 1)) == m->version)
			return true;
	return false;
}

/* One migration in one transaction; 0 or -1 (logged, rolled back). */
static int apply_one(PGconn *conn, const ogc_migration *m)
{
	char what[200], version[16];
	char *q = PQescapeIdentifier(conn, m->schema, strlen(m->schema));
	char *prologue;
	const char *params[3];
	size_t len;
	PGresult *r;
	ExecStatusType st;
	int rc = -1;

	snprintf(what, sizeof(what), "migration %s/%d %s", m->schema, m->version, m->name);
	if (!q) {
		ogc_log(OG_LOG_ERROR, "%s: cannot quote the schema name: %s", what,
		        PQerrorMessage(conn));
		return -1;
	}
	/* The core's search path is already "core, public". */
	len = 2 * strlen(q) + 256;
	prologue = malloc(len);
	if (!prologue) {
		PQfreemem(q);
		ogc_log(OG_LOG_ERROR, "%s: out of memory", what);
		return -1;
	}
	snprintf(prologue, len,
	         "BEGIN; CREATE SCHEMA IF NOT EXISTS %s; SET LOCAL search_path = %s%s public; "
	         "SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0",
	         q, q, strcmp(m->schema, "core") ? ", core," : ",");
	PQfreemem(q);
	if (run(conn, what, prologue, NULL) < 0)
		goto out;
	if (run(conn, what, m->sql, m->sql) < 0)
		goto out;

	snprintf(version, sizeof(version), "%d", m->version);
	params[0] = m->schema;
	params[1] = version;
	params[2] = m->name;
	r = PQexecParams(conn,
	                 "INSERT INTO core.schema_migration (schema, version, name) "
	                 "VALUES ($1, $2, $3)",
	                 3, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK)
		log_pg_error(what, conn, r, NULL);
	PQclear(r);
	if (st != PGRES_COMMAND_OK)
		goto out;
	if (run(conn, what, "COMMIT", NULL) < 0)
		goto out;
	ogc_log(OG_LOG_INFO, "applied migration %s/%d %s", m->schema, m->version, m->name);
	rc = 0;
out:
	if (rc < 0)
		PQclear(PQexec(conn, "ROLLBACK"));
	free(prologue);
	return rc;
}

int ogc_migrate_apply(PGconn *conn)
{
	PGresult *applied;
	bool missing;
	size_t i, done = 0;
	int rc = -1;

	if (lock(conn) < 0)
		return -1;
	if (run(conn, "creating core.schema_migration",
	        "CREATE SCHEMA IF NOT EXISTS core; "
	        "CREATE TABLE IF NOT EXISTS core.schema_migration ("
	        " schema text NOT NULL, version integer NOT NULL, name text NOT NULL,"
	        " applied_at timestamptz NOT NULL DEFAULT now(),"
	        " PRIMARY KEY (schema, version))",
	        NULL) < 0)
		goto out;
	applied = load_applied(conn, &missing);
	if (!applied)
		goto out; /* the table exists now, so NULL is an error (logged) */
	sort_registry();
	for (i = 0; i < nreg; i++) {
		if (is_applied(applied, &reg[i].m))
			continue;
		if (apply_one(conn, &reg[i].m) < 0) {
			PQclear(applied);
			goto out;
		}
		done++;
	}
	PQclear(applied);
	if (done)
		ogc_log(OG_LOG_INFO, "applied %zu migration%s; database is up to date", done,
		        done == 1 ? "" : "s");
	else
		ogc_log(OG_LOG_INFO, "database is up to date");
	rc = 0;
out:
	unlock(conn);
	return rc;
}

static int highest_registered(const char *schema)
{
	int max = 0;
	size_t i;

	for (i = 0; i < nreg; i++)
		if (!strcmp(reg[i].m.schema, schema) && reg[i].m.version > max)
			max = reg[i].m.version;
	return max;
}

/* Checks one schema against the database; -1 (logged) when the database is
 * newer than what this binary knows. */
static int check_schema(const PGresult *applied, const char *schema)
{
	int known = highest_registered(schema), db = 0, i;

	for (i = 0; applied && i < PQntuples(applied); i++)
		if (!strcmp(PQgetvalue(applied, i, 0), schema) &&
		    atoi(PQgetvalue(applied, i, 1)) > db)
			db = atoi(PQgetvalue(applied, i, 1));
	if (db <= known)
		return 0;
	ogc_log(OG_LOG_ERROR,
	        "database schema %s is at version %d but this onegridd knows only "
	        "up to %d; refusing to start (downgrade?)",
	        schema, db, known);
	return -1;
}

int ogc_migrate_check(PGconn *conn, bool allow_pending)
{
	PGresult *applied;
	bool missing;
	size_t i, j, pending = 0;
	const ogc_migration *first = NULL;
	int rc = 0;

	applied = load_applied(conn, &missing);
	if (!applied && !missing)
		return -1;
	sort_registry();
	if (check_schema(applied, "core") < 0)
		rc = -1;
	for (i = 0; i < nreg; i++) {
		/* each schema once: at its first entry in sorted order */
		for (j = 0; j < i && strcmp(reg[j].m.schema, reg[i].m.schema); j++)
			;
		if (j == i && strcmp(reg[i].m.schema, "core") &&
		    check_schema(applied, reg[i].m.schema) < 0)
			rc = -1;
		if (!is_applied(applied, &reg[i].m) && !pending++)
			first = &reg[i].m;
	}
	PQclear(applied);
	if (rc == 0 && pending && !allow_pending) {
		ogc_log(OG_LOG_ERROR,
		        "%zu pending migration%s (first: %s/%d %s); run `onegridd "
		        "migrate`",
		        pending, pending == 1 ? "" : "s", first->schema, first->version,
		        first->name);
		rc = -1;
	}
	return rc;
}

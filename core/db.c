/*
 * core/db.c — a worker's one libpq connection: connect, reconnect with
 * backoff, run parameterised queries, and turn a failed query into the
 * API's terms (HTTP status + error code).
 *
 * It is for the connection's life and the SQLSTATE mapping only.  It is not
 * for transactions (request.c opens and commits them), not for building SQL
 * and not for JSON: callers get the PGresult and read it themselves.  It
 * never reconnects in the middle of a query sequence: only ogc_db_ensure
 * reconnects, because a silent reconnect inside a request would drop its
 * transaction and let the rest of the request autocommit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

/* Backoff between failed connection attempts: 100 ms, doubling, up to 5 s. */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000

struct ogc_db {
	char *conninfo; /* owned copy */
	int connect_timeout_s;
	int statement_timeout_ms;
	PGconn *conn;             /* owned; NULL when not connected */
	bool broken;              /* a query saw the connection fail: reconnect in ensure */
	bool down_logged;         /* the outage has been logged; log the recovery once */
	unsigned attempts;        /* failed attempts since the last good connection */
	int backoff_ms;           /* wait after the next failed attempt */
	struct timespec retry_at; /* CLOCK_MONOTONIC; no attempt before this */
	ogc_stmt_cache *stmts;    /* owned; the prepared statements of conn */
	uint64_t epoch;           /* auth notifications seen + connections made */
};

static void now_mono(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

/* *t = now + ms (CLOCK_MONOTONIC). */
static void mono_after(struct timespec *t, int ms)
{
	now_mono(t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* libpq's messages end in "\n" and may span lines; the log wants one line.
 * Copies the first line of msg into buf. */
static const char *first_line(const char *msg, char *buf, size_t len)
{
	size_t n;

	if (!msg || !*msg)
		msg = "unknown error";
	n = strcspn(msg, "\r\n");
	if (n >= len)
		n = len - 1;
	memcpy(buf, msg, n);
	buf[n] = '\0';
	return buf;
}

ogc_db *ogc_db_new(const char *conninfo, int connect_timeout_s, int statement_timeout_ms)
{
	ogc_db *db = calloc(1, sizeof(*db));

	if (!db)
		return NULL;
	db->conninfo = strdup(conninfo ? conninfo : "");
	if (!db->conninfo) {
		free(db);
		return NULL;
	}
	db->connect_timeout_s = connect_timeout_s;
	db->statement_timeout_ms = statement_timeout_ms > 0 ? statement_timeout_ms : 0;
	db->backoff_ms = BACKOFF_FIRST_MS;
	db->stmts = ogc_stmt_cache_new();
	if (!db->stmts) {
		free(db->conninfo);
		free(db);
		return NULL;
	}
	return db;
}

void ogc_db_free(ogc_db *db)
{
	if (!db)
		return;
	if (db->conn)
		PQfinish(db->conn);
	ogc_stmt_cache_free(db->stmts);
	free(db->conninfo);
	free(db);
}

/* The connection went away under us: log it once for the whole outage. */
static void note_lost(ogc_db *db, const char *why)
{
	char line[256];

	db->broken = true;
	if (db->down_logged)
		return;
	db->down_logged = true;
	ogc_log(OG_LOG_WARN, "database connection lost: %s", first_line(why, line, sizeof(line)));
}

/* A connection attempt failed: log the first failure of an outage, and
 * open the backoff window. */
static void attempt_failed(ogc_db *db, const char *why)
{
	char line[256];
	struct timespec *t = &db->retry_at;

	db->attempts++;
	if (!db->down_logged) {
		db->down_logged = true;
		ogc_log(OG_LOG_ERROR, "database unavailable: %s; retrying with backoff",
		        first_line(why, line, sizeof(line)));
	}
	mono_after(t, db->backoff_ms);
	db->backoff_ms *= 2;
	if (db->backoff_ms > BACKOFF_MAX_MS)
		db->backoff_ms = BACKOFF_MAX_MS;
}

/* Session settings every worker connection runs with.  lock_timeout equals
 * the statement timeout; an idle transaction is cut after a few statement
 * timeouts so a stuck worker cannot hold row locks for ever. */
static int set_session(ogc_db *db)
{
	char sql[512];
	PGresult *r;
	int ok;
	int st = db->statement_timeout_ms;

	snprintf(sql, sizeof(sql),
	         "SET statement_timeout = %d; SET lock_timeout = %d; "
	         "SET idle_in_transaction_session_timeout = %d; "
	         "SET TIME ZONE 'Asia/Shanghai'; SET search_path = core, public; "
	         "LISTEN onegrid_auth", /* auth_cache.c: forget cached tokens */
	         st, st, st > 0 ? 4 * st : 0);
	r = PQexec(db->conn, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	return ok ? 0 : -1;
}

/* Server notices ("already exists, skipping" ...) go to our log, not raw to
 * stderr: WARNING as a warning, the rest at debug level. */
static void on_notice(void *arg, const PGresult *r)
{
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

	(void)arg;
	ogc_log(sev && !strcmp(sev, "WARNING") ? OG_LOG_WARN : OG_LOG_DEBUG, "database %s: %s",
	        sev ? sev : "notice", msg ? msg : "");
}

int ogc_db_ensure(ogc_db *db)
{
	/* conninfo goes in as dbname with expand_dbname = 1; the keywords after
	 * it override it (connect_timeout comes from our config).  The
	 * fallback application name leaves an explicit one in conninfo alone. */
	const char *keys[] = {"dbname", "connect_timeout", "fallback_application_name", NULL};
	const char *vals[4];
	char timeout[16];
	struct timespec now;

	if (db->conn && !db->broken && PQstatus(db->conn) == CONNECTION_OK)
		return 0;
	if (db->conn) {
		if (!db->broken)
			note_lost(db, PQerrorMessage(db->conn));
		PQfinish(db->conn);
		db->conn = NULL;
	}
	db->broken = false;
	/* The server forgot the old session's prepared statements. */
	ogc_stmt_cache_clear(db->stmts);

	now_mono(&now);
	if (db->attempts > 0 && before(&now, &db->retry_at))
		return -1; /* inside the backoff window: answer 503 at once */

	/* an empty value is ignored by libpq: conninfo's own timeout then holds */
	if (db->connect_timeout_s > 0)
		snprintf(timeout, sizeof(timeout), "%d", db->connect_timeout_s);
	else
		timeout[0] = '\0';
	vals[0] = db->conninfo;
	vals[1] = timeout;
	vals[2] = "onegridd";
	vals[3] = NULL;
	db->conn = PQconnectdbParams(keys, vals, 1);
	if (!db->conn) {
		attempt_failed(db, "out of memory");
		return -1;
	}
	PQsetNoticeReceiver(db->conn, on_notice, NULL);
	if (PQstatus(db->conn) != CONNECTION_OK || set_session(db) < 0) {
		attempt_failed(db, PQerrorMessage(db->conn));
		PQfinish(db->conn);
		db->conn = NULL;
		return -1;
	}
	/* Notifications sent while we had no session are lost: forget all. */
	db->epoch++;
	if (db->down_logged)
		ogc_log(OG_LOG_INFO, "database connection restored after %u attempt%s",
		        db->attempts + 1, db->attempts ? "s" : "");
	db->down_logged = false;
	db->attempts = 0;
	db->backoff_ms = BACKOFF_FIRST_MS;
	return 0;
}

bool ogc_db_is_up(ogc_db *db)
{
	return db && db->conn && !db->broken && PQstatus(db->conn) == CONNECTION_OK;
}

uint64_t ogc_db_auth_epoch(ogc_db *db)
{
	PGnotify *n;

	if (db == NULL)
		return 0;
	/* Reads what arrived while the connection was idle, without waiting
	 * (libpq's socket is non-blocking); a failure here is left for the
	 * next query to find and report. */
	if (ogc_db_is_up(db) && PQconsumeInput(db->conn)) {
		while ((n = PQnotifies(db->conn)) != NULL) {
			db->epoch++;
			PQfreemem(n);
		}
	}
	return db->epoch;
}

PGconn *ogc_db_conn(ogc_db *db)
{
	return ogc_db_is_up(db) ? db->conn : NULL;
}

void ogc_db_count_error(void)
{
	ogc_metrics_db_error();
}

static void set_err(ogc_dberr *err, int status, const char *code, const char *message)
{
	err->status = status;
	snprintf(err->code, sizeof(err->code), "%s", code);
	snprintf(err->message, sizeof(err->message), "%s", message);
}

/* Pure: SQLSTATE -> status, code and a generic message (no PG text). */
int ogc_db_map_sqlstate(const char *sqlstate, ogc_dberr *err)
{
	const char *s = sqlstate ? sqlstate : "";

	snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", s);
	if (!strcmp(s, "23505"))
		set_err(err, 409, "duplicate", "duplicate value");
	else if (!strcmp(s, "23503") || !strcmp(s, "23001"))
		set_err(err, 409, "conflict", "referenced row missing or still referenced");
	else if (!strcmp(s, "23P01"))
		set_err(err, 409, "conflict", "conflicts with an existing row");
	else if (!strcmp(s, "23502") || !strcmp(s, "23514") || !strncmp(s, "22", 2))
		set_err(err, 422, "invalid", "invalid value");
	else if (!strcmp(s, "40001") || !strcmp(s, "40P01"))
		set_err(err, 409, "conflict", "concurrent update; retry");
	else if (!strcmp(s, "57014"))
		set_err(err, 503, "timeout", "database statement timed out");
	else if (!strcmp(s, "55P03"))
		set_err(err, 503, "timeout", "database lock wait timed out");
	else if (!strncmp(s, "08", 2) || !strcmp(s, "57P01") || !strcmp(s, "57P02") ||
	         !strcmp(s, "57P03"))
		set_err(err, 503, "db_unavailable", "database unavailable");
	else
		set_err(err, 500, "db_error", "database error");
	return err->status;
}

/* Fills *err from a failed result r (may be NULL) and decides whether the
 * connection must be dropped. */
static void map_failure(ogc_db *db, PGresult *r, ogc_dberr *err)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *constraint = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
	char line[256];

	if (PQstatus(db->conn) != CONNECTION_OK) {
		ogc_db_map_sqlstate("08006", err);
		err->sqlstate[0] = '\0'; /* not a server error: the link itself failed */
		note_lost(db, PQerrorMessage(db->conn));
		ogc_db_count_error();
		return;
	}
	ogc_db_map_sqlstate(state, err);
	if (err->status == 503 && !strcmp(err->code, "db_unavailable"))
		note_lost(db, primary);
	if (err->status >= 500) {
		if (err->status == 500)
			ogc_log(OG_LOG_ERROR, "database error: SQLSTATE %s: %s",
			        state ? state : "(none)",
			        first_line(primary ? primary : PQresultErrorMessage(r), line,
			                   sizeof(line)));
		ogc_db_count_error();
		return;
	}
	/* 4xx: the client's data was refused; PG's primary message names the
	 * value or column, never the SQL text. */
	if (!strcmp(state, "23505") && constraint)
		snprintf(err->message, sizeof(err->message), "duplicate value violates %s",
		         constraint);
	else if ((!strcmp(state, "23503") || !strcmp(state, "23001")) && constraint)
		snprintf(err->message, sizeof(err->message),
		         "referenced row missing or still referenced (%s)", constraint);
	else if (primary && err->status == 422)
		snprintf(err->message, sizeof(err->message), "%s", primary);
}

PGresult *ogc_db_exec(ogc_db *db, const char *sql, int nparams, const char *const *params,
                      ogc_dberr *err)
{
	PGresult *r;
	ExecStatusType st;
	char name[24] = "";

	if (!ogc_db_is_up(db)) {
		ogc_db_map_sqlstate("08006", err);
		err->sqlstate[0] = '\0';
		if (db && db->conn && !db->broken)
			note_lost(db, PQerrorMessage(db->conn));
		ogc_db_count_error();
		return NULL;
	}
	if (ogc_stmt_lookup(db->stmts, db->conn, sql, nparams, name, sizeof(name)))
		r = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
	else
		r = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
		return r;
	map_failure(db, r, err);
	/* "cached plan must not change result type": a table changed under a
	 * prepared statement; prepare it afresh next time. */
	if (!strcmp(err->sqlstate, "0A000") && name[0] != '\0')
		ogc_stmt_forget(db->stmts, db->conn, sql);
	PQclear(r);
	return NULL;
}

/*
 * COMMIT, and when the connection fails while committing, find out whether
 * the transaction committed after all.  Why: a server shutting down (or
 * crashing, or a network cut) can make the commit durable and then drop
 * the connection before its acknowledgement reaches us; answering "error"
 * for a write that is stored would tell the client to write it again.  So
 * the transaction's id is read in the same round trip as the COMMIT, and
 * on a connection failure a fresh connection asks the server for that
 * transaction's status (pg_xact_status), waiting up to wait_ms for the
 * server to come back.  0 committed; -1 with *err set: not committed, or
 * (code "commit_unknown") the outcome could not be learnt.
 */
int ogc_db_commit(ogc_db *db, int wait_ms, ogc_dberr *err)
{
	PGresult *r;
	char xid[32] = "";
	bool failed = false, lost;
	struct timespec until, now;

	if (!ogc_db_is_up(db)) {
		ogc_db_map_sqlstate("08006", err);
		err->sqlstate[0] = '\0';
		return -1;
	}
	/* Two statements, one round trip: a result for each. */
	if (!PQsendQuery(db->conn, "SELECT pg_current_xact_id_if_assigned()::text; COMMIT")) {
		map_failure(db, NULL, err);
		failed = true;
	}
	while (!failed && (r = PQgetResult(db->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
			snprintf(xid, sizeof(xid), "%s", PQgetvalue(r, 0, 0));
		else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && !failed) {
			map_failure(db, r, err);
			failed = true;
		}
		PQclear(r);
	}
	if (failed) /* drain what is left of a failed pair */
		while ((r = PQgetResult(db->conn)) != NULL)
			PQclear(r);
	if (!failed)
		return 0;
	/* ogc_db_map_sqlstate already tells a lost server from a refusal. */
	lost = PQstatus(db->conn) != CONNECTION_OK || !strcmp(err->code, "db_unavailable");
	if (!lost || xid[0] == '\0')
		return -1; /* refused by the server, or nothing was written */

	db->broken = true;
	mono_after(&until, wait_ms);
	for (;;) {
		if (ogc_db_ensure(db) == 0) {
			const char *params[1] = {xid};
			ogc_dberr e2;
			PGresult *q =
			        ogc_db_exec(db, "SELECT pg_xact_status($1::xid8)", 1, params, &e2);

			if (q != NULL) {
				bool committed = PQntuples(q) == 1 && !PQgetisnull(q, 0, 0) &&
				                 !strcmp(PQgetvalue(q, 0, 0), "committed");
				bool aborted = PQntuples(q) == 1 && !PQgetisnull(q, 0, 0) &&
				               !strcmp(PQgetvalue(q, 0, 0), "aborted");

				PQclear(q);
				if (committed) {
					ogc_log(OG_LOG_WARN,
					        "the connection failed during COMMIT of "
					        "transaction %s, which did commit",
					        xid);
					return 0;
				}
				if (aborted)
					return -1;
			}
		}
		now_mono(&now);
		if (!before(&now, &until))
			break;
		{
			struct timespec nap = {0, 100 * 1000000L};

			nanosleep(&nap, NULL);
		}
	}
	ogc_log(OG_LOG_ERROR,
	        "the connection failed during COMMIT of transaction %s and its "
	        "outcome could not be learnt",
	        xid);
	set_err(err, 503, "commit_unknown",
	        "the database went away while committing; the write may or may not be stored: "
	        "read it back before retrying (or retry with the same Idempotency-Key)");
	return -1;
}

int ogc_db_command(ogc_db *db, const char *sql, ogc_dberr *err)
{
	PGresult *r = ogc_db_exec(db, sql, 0, NULL, err);

	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

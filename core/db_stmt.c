/*
 * core/db_stmt.c — the prepared statements of one worker connection.
 *
 * Why: every statement used to go out as an unnamed PQexecParams, which
 * PostgreSQL parses, analyses and plans afresh each time; on a by-id read
 * that was most of the database's time (docs/performance.md).  The second
 * time a connection runs the same SQL text, it is prepared under a name and
 * from then on only executed.  Texts seen once are only remembered, so SQL
 * that embeds values (or is built per request) does not fill the cache.
 *
 * A prepared statement may get a generic plan (one plan for all parameter
 * values) once PostgreSQL estimates it no dearer than the custom ones.  For
 * a statement with optional filters, written "($4::bigint IS NULL OR ...)"
 * throughout the core and the plugins, only a custom plan folds the absent
 * filters away; a generic plan keeps every OR and can be many times slower
 * (measured: the grid list, docs/performance.md).  So such statements
 * always run unnamed, planned for their values, and so does any statement
 * carrying the comment OGC_SQL_CUSTOM_PLAN, for a plan that depends on
 * a parameter's value in ways a generic plan cannot see.  A schema
 * change invalidates the server's plans by itself; "cached plan must not
 * change result type" (a table of a RETURNING * gained a column while the
 * daemon ran) fails that one call and drops the entry (db.c).
 *
 * Not here: running statements and mapping errors (db.c).  The cache
 * belongs to one PGconn: db.c clears it whenever the connection is replaced,
 * since the server forgets a session's prepared statements with it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Statements remembered per connection (prepared or seen once).  A worker's
 * hot set is a few dozen statements; the rest is evicted least recently
 * used first. */
#define STMT_SLOTS 192

typedef struct stmt_entry {
	uint64_t hash;      /* FNV-1a of sql; 0 marks a free slot */
	char *sql;          /* owned copy */
	uint64_t last_used; /* cache clock at the last lookup */
	unsigned name;      /* server-side name "ogs<name>"; 0 until prepared */
} stmt_entry;

struct ogc_stmt_cache {
	stmt_entry e[STMT_SLOTS];
	uint64_t clock;
	unsigned next_name; /* never reused on one connection */
};

ogc_stmt_cache *ogc_stmt_cache_new(void)
{
	ogc_stmt_cache *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->next_name = 1;
	return c;
}

void ogc_stmt_cache_clear(ogc_stmt_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < STMT_SLOTS; i++)
		free(c->e[i].sql);
	memset(c->e, 0, sizeof(c->e));
	c->clock = 0;
	c->next_name = 1;
}

void ogc_stmt_cache_free(ogc_stmt_cache *c)
{
	ogc_stmt_cache_clear(c);
	free(c);
}

/* Never 0: 0 marks a free slot. */
static uint64_t hash_of(const char *sql)
{
	uint64_t h = ogc_util_fnv1a(sql, strlen(sql));

	return h ? h : 1;
}

static void drop(PGconn *conn, stmt_entry *e)
{
	if (e->name != 0 && conn != NULL) {
		char sql[40];

		/* Best effort: in an aborted transaction this fails and the
		 * server keeps the statement until the session ends; the name is
		 * never reused, so nothing can collide with it. */
		snprintf(sql, sizeof(sql), "DEALLOCATE ogs%u", e->name);
		PQclear(PQexec(conn, sql));
	}
	free(e->sql);
	memset(e, 0, sizeof(*e));
}

int ogc_stmt_lookup(ogc_stmt_cache *c, PGconn *conn, const char *sql, int nparams, char *name,
                    size_t namelen)
{
	uint64_t h;
	stmt_entry *hit = NULL, *victim = NULL;

	if (c == NULL || conn == NULL || strstr(sql, "IS NULL OR") != NULL ||
	    strstr(sql, OGC_SQL_CUSTOM_PLAN) != NULL)
		return 0;
	h = hash_of(sql);
	c->clock++;
	for (size_t i = 0; i < STMT_SLOTS; i++) {
		stmt_entry *e = &c->e[i];

		if (e->hash == h && strcmp(e->sql, sql) == 0) {
			hit = e;
			break;
		}
		if (victim == NULL || e->hash == 0 ||
		    (victim->hash != 0 && e->last_used < victim->last_used))
			victim = e;
	}
	if (hit == NULL) {
		/* First sighting: remember it, run it unnamed. */
		if (victim->hash != 0)
			drop(conn, victim);
		victim->sql = strdup(sql);
		if (victim->sql == NULL)
			return 0;
		victim->hash = h;
		victim->last_used = c->clock;
		return 0;
	}
	hit->last_used = c->clock;
	if (hit->name == 0) {
		char n[24];
		PGresult *r;

		snprintf(n, sizeof(n), "ogs%u", c->next_name);
		r = PQprepare(conn, n, sql, nparams, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			/* Let the unnamed run report the error with its context. */
			PQclear(r);
			return 0;
		}
		PQclear(r);
		hit->name = c->next_name++;
	}
	snprintf(name, namelen, "ogs%u", hit->name);
	return 1;
}

void ogc_stmt_forget(ogc_stmt_cache *c, PGconn *conn, const char *sql)
{
	uint64_t h;

	if (c == NULL)
		return;
	h = hash_of(sql);
	for (size_t i = 0; i < STMT_SLOTS; i++)
		if (c->e[i].hash == h && strcmp(c->e[i].sql, sql) == 0) {
			drop(conn, &c->e[i]);
			return;
		}
}

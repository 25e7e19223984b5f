/*
 * core/request.c — the reply side of og_req and the request's database
 * access.
 *
 * A handler's reply is only recorded here; the router sends it after the
 * request's transaction has committed (or answers with the commit's error
 * instead), so a client never sees 201 for a row that did not land.  This
 * file does not parse requests or match routes: router.c does.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

void ogc_req_reply_json(og_req *req, int status, json_t *body)
{
	/* body: stolen.  A later reply replaces an earlier one (a handler may
	 * override the error a failed query set). */
	json_decref(req->reply);
	req->reply = body;
	req->status = status;
}

void ogc_req_reply_error(og_req *req, int status, const char *code, const char *message,
                         const char *field)
{
	json_t *err = json_pack("{s:s, s:s}", "code", code ? code : "error", "message",
	                        message ? message : "");
	if (field != NULL)
		json_object_set_new(err, "field", json_string(field));
	ogc_req_reply_json(req, status, json_pack("{s:o}", "error", err));
}

PGresult *ogc_req_exec(og_req *req, const char *sql, int nparams, const char *const *params)
{
	ogc_dberr err;
	PGresult *res;

	/* Inside the request's transaction a lost connection must not be
	 * silently replaced: the rest would run outside the transaction. */
	if (req->in_tx ? !ogc_db_is_up(req->db) : ogc_db_ensure(req->db) != 0) {
		ogc_req_reply_error(req, 503, "db_unavailable",
		                    "the database is unavailable; try again shortly", NULL);
		return NULL;
	}
	res = ogc_db_exec(req->db, sql, nparams, params, &err);
	if (res == NULL) {
		memcpy(req->sqlstate, err.sqlstate, sizeof(req->sqlstate));
		ogc_req_reply_error(req, err.status, err.code, err.message, NULL);
	}
	return res;
}

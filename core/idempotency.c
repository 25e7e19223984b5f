/*
 * core/idempotency.c — Idempotency-Key on POST, for clients on bad mobile
 * connections that retry a create whose answer they never saw.
 *
 * Before the handler, the key is claimed by inserting its row in the
 * request's own transaction.  A concurrent request with the same key waits
 * on that row (unique index) until the first commits or rolls back, so two
 * retries racing each other still create one row.  A key already used
 * replays the stored status and body; used for a different request it is a
 * 422.  A request that fails (status >= 400) rolls back and with it the
 * claim, so a retry after a failure runs again.  The router calls this;
 * handlers never see it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "core.h"

static bool key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > 200)
		return false;
	for (; *k; k++)
		if (*k < 0x21 || *k > 0x7e)
			return false;
	return true;
}

/* A body that is not JSON (a CSV or NDJSON import) may be large and in any
 * encoding: it is told apart by its length and a 64-bit FNV-1a digest,
 * which is plenty to tell a retry from a different file sent with the same
 * key by the same user.  New string, or NULL for no body. */
static char *raw_body_digest(og_req *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req->ev);
	size_t len = evbuffer_get_length(in);
	const unsigned char *p;
	uint64_t h;
	char *out;

	if (len == 0)
		return NULL;
	p = evbuffer_pullup(in, -1);
	h = ogc_util_fnv1a(p, len);
	if (asprintf(&out, "raw:%zu:%016llx", len, (unsigned long long)h) < 0)
		return NULL;
	return out;
}

int ogc_idempotency_begin(og_req *req)
{
	const char *key =
	        evhttp_find_header(evhttp_request_get_input_headers(req->ev), "Idempotency-Key");
	char uid[24], *canon, *body;
	const char *params[5];
	PGresult *res;

	if (key == NULL || !req->authenticated)
		return 0;
	if (!key_ok(key)) {
		ogc_req_reply_error(req, 400, "bad_request",
		                    "Idempotency-Key must be 1 to 200 printable ASCII characters",
		                    "Idempotency-Key");
		return -1;
	}
	/* What makes two requests "the same": method, path and the body as
	 * JSON with sorted keys (so key order and spacing do not matter). */
	body = req->body ? json_dumps(req->body, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
	                 : raw_body_digest(req);
	if (asprintf(&canon, "POST %s\n%s", req->path, body ? body : "") < 0)
		canon = NULL;
	free(body);
	if (canon == NULL)
		return -1;
	snprintf(uid, sizeof(uid), "%lld", (long long)req->caller.user_id);
	params[0] = uid;
	params[1] = key;
	params[2] = req->path;
	params[3] = canon;
	res = ogc_req_exec(
	        req,
	        "INSERT INTO core.idempotency (user_id, key, method, path, request_hash, "
	        "status) VALUES ($1, $2, 'POST', $3, "
	        "encode(sha256(convert_to($4, 'UTF8')), 'hex'), 0) "
	        "ON CONFLICT DO NOTHING RETURNING request_hash",
	        4, params);
	if (res == NULL) {
		free(canon);
		return -1;
	}
	if (PQntuples(res) == 1) {
		/* Claimed: run the handler, store its reply afterwards. */
		req->idem_key = strdup(key);
		req->idem_hash = strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
		free(canon);
		return 0;
	}
	PQclear(res);
	res = ogc_req_exec(req,
	                   "SELECT request_hash = encode(sha256(convert_to($3, 'UTF8')), 'hex'), "
	                   "status, response FROM core.idempotency WHERE user_id = $1 AND key = $2",
	                   3, (const char *[]){uid, key, canon});
	free(canon);
	if (res == NULL)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		ogc_req_reply_error(req, 409, "conflict", "Idempotency-Key is in use; retry", NULL);
		return 1;
	}
	if (PQgetvalue(res, 0, 0)[0] != 't') {
		ogc_req_reply_error(req, 422, "idempotency_key_reused",
		                    "this Idempotency-Key was used for a different request",
		                    "Idempotency-Key");
	} else {
		json_error_t jerr;
		json_t *body_json = PQgetisnull(res, 0, 2) ? json_null()
		                                           : json_loads(PQgetvalue(res, 0, 2),
		                                                        JSON_DECODE_ANY, &jerr);
		ogc_req_reply_json(req, atoi(PQgetvalue(res, 0, 1)), body_json);
		evhttp_add_header(evhttp_request_get_output_headers(req->ev), "Idempotent-Replayed",
		                  "true");
	}
	PQclear(res);
	return 1;
}

int ogc_idempotency_finish(og_req *req)
{
	char uid[24], status[8];
	char *body =
	        json_dumps(req->reply ? req->reply : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
	PGresult *res;

	snprintf(uid, sizeof(uid), "%lld", (long long)req->caller.user_id);
	snprintf(status, sizeof(status), "%d", req->status);
	res = ogc_req_exec(req,
	                   "UPDATE core.idempotency SET status = $3, response = $4::jsonb "
	                   "WHERE user_id = $1 AND key = $2",
	                   4, (const char *[]){uid, req->idem_key, status, body});
	free(body);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

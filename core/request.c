/*
 * core/request.c — the reply side of og_req and the request's database
 * access.
 *
 * A handler's reply is only recorded here; the router sends it after the
 * request's transaction has committed (or answers with the commit's error
 * instead), so a client never sees 201 for a row that did not land.  This
 * file does not parse requests or match routes: router.c does.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_struct.h> /* ev_write: see ogc_req_write_soon */
#include <event2/event.h>
#include <event2/http.h>

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
	/* Built directly: json_pack would parse its format on every error. */
	json_t *err = json_object(), *body = json_object();

	json_object_set_new_nocheck(err, "code", json_string(code ? code : "error"));
	json_object_set_new_nocheck(err, "message", json_string(message ? message : ""));
	if (field != NULL)
		json_object_set_new_nocheck(err, "field", json_string(field));
	json_object_set_new_nocheck(body, "error", err);
	ogc_req_reply_json(req, status, body);
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

/*
 * evhttp queues a reply and asks epoll to report the socket writable; the
 * write then happens one loop turn later, after an epoll_ctl to add
 * EPOLLOUT and another to remove it: most of the system calls of a small
 * request.  A reply's socket is nearly always writable, so this makes
 * libevent run its own write callback in the current turn, as if epoll had
 * reported it: it writes, and once all is out it drops the write interest
 * before the change list (daemon.c) reaches the kernel, then lets evhttp
 * finish the request as usual.  If the socket is full the callback meets
 * EAGAIN and leaves the event pending: the ordinary path.  The router calls
 * this after the request's log line, so the line is still written before
 * the reply (the log's flush event was made active first).  bev: borrowed;
 * its ev_write is public in libevent 2.1's bufferevent_struct.h.
 */
void ogc_req_write_soon(struct bufferevent *bev)
{
	if (bev != NULL && event_pending(&bev->ev_write, EV_WRITE, NULL))
		event_active(&bev->ev_write, EV_WRITE, 0);
}

/*
 * Streaming.  The handler runs synchronously, so chunks would pile up in
 * memory until it returns; past STREAM_FLUSH bytes the connection's output
 * is written out here, waiting for the socket at most request_timeout_s.
 * A slow client therefore holds this worker, as any synchronous handler
 * would, but memory stays bounded.
 */
#define STREAM_FLUSH (256 * 1024)

int ogc_req_stream_begin(og_req *req, int status, const char *content_type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);

	if (req->streaming)
		return -1;
	evhttp_remove_header(h, "Content-Type");
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "X-Request-Id", req->request_id);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply_start(req->ev, status, NULL);
	req->streaming = true;
	req->status = status;
	return 0;
}

static int stream_flush(og_req *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	struct evbuffer *out = bev ? bufferevent_get_output(bev) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;

	if (out == NULL || fd < 0)
		return -1;
	while (evbuffer_get_length(out) > STREAM_FLUSH / 4) {
		struct pollfd p = {fd, POLLOUT, 0};
		int n = poll(&p, 1, req->cfg->request_timeout_s * 1000);

		if (n <= 0 || (p.revents & (POLLERR | POLLHUP)))
			return -1;
		if (evbuffer_write(out, fd) < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
	}
	return 0;
}

int ogc_req_stream_write(og_req *req, const void *data, size_t len)
{
	struct evbuffer *chunk;

	if (!req->streaming || req->stream_failed)
		return -1;
	chunk = evbuffer_new();
	evbuffer_add(chunk, data, len);
	evhttp_send_reply_chunk(req->ev, chunk);
	evbuffer_free(chunk);
	{
		struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);
		struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
		if (bev != NULL &&
		    evbuffer_get_length(bufferevent_get_output(bev)) > STREAM_FLUSH &&
		    stream_flush(req) != 0) {
			req->stream_failed = true;
			return -1;
		}
	}
	return 0;
}

int ogc_req_stream_end(og_req *req)
{
	if (!req->streaming || req->stream_ended)
		return -1;
	req->stream_ended = true;
	evhttp_send_reply_end(req->ev);
	return 0;
}

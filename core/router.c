/*
 * core/router.c — the route table and the path every request takes.
 *
 * One generic evhttp callback (evhttp_set_cb matches exact strings only)
 * parses the URI, matches the route (literal segments beat {parameters}),
 * then checks, in this order and before any handler runs: bearer token
 * (401), the owning plugin enabled for the caller's district (404, so a
 * disabled plugin looks absent), the route's permission (403), the body
 * (415, 400).  Write requests run in one transaction, committed only if the
 * reply is below 400.  Then the reply is sent, logged in one line and
 * counted.  Handlers themselves live in the route modules and plugins.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core.h"

#define MAX_SEGMENTS 16

typedef struct route_entry {
	ogc_route route;
	json_t *doc[5]; /* OpenAPI detail per method bit, owned */
	int nseg;
	char *seg[MAX_SEGMENTS]; /* owned copies; "{name}" marks a parameter */
	int next_same_nseg;      /* 1 + index of the next route as long; 0: none */
} route_entry;

static route_entry routes[OGC_MAX_ROUTES];
static size_t nroutes;
/* Per segment count, 1 + index of the first and last route that long (0:
 * none): a request is compared only with routes of its own length, in the
 * order they were added. */
static int first_by_nseg[MAX_SEGMENTS + 1], last_by_nseg[MAX_SEGMENTS + 1];

static int split_path(char *path, char **seg, int max)
{
	int n = 0;
	char *save = NULL;

	if (path[0] != '/')
		return -1;
	for (char *t = strtok_r(path, "/", &save); t != NULL; t = strtok_r(NULL, "/", &save)) {
		if (n == max)
			return -1;
		seg[n++] = t;
	}
	return n;
}

static bool is_param(const char *seg)
{
	size_t n = strlen(seg);
	return n > 2 && seg[0] == '{' && seg[n - 1] == '}';
}

static const char *owner_name(const og_plugin *p)
{
	return p ? p->desc->name : "core";
}

static const char *method_name(unsigned m)
{
	switch (m) {
	case OG_GET:
		return "GET";
	case OG_POST:
		return "POST";
	case OG_PUT:
		return "PUT";
	case OG_PATCH:
		return "PATCH";
	case OG_DELETE:
		return "DELETE";
	}
	return "?";
}

int ogc_router_add(og_plugin *owner, unsigned methods, const char *path, const char *permission,
                   og_handler handler, const char *summary)
{
	route_entry *e;
	char *copy, *seg[MAX_SEGMENTS];
	int n;

	if (nroutes == OGC_MAX_ROUTES) {
		ogc_log(OG_LOG_ERROR, "%s: route %s refused: more than %d routes",
		        owner_name(owner), path, OGC_MAX_ROUTES);
		return -1;
	}
	if (methods == 0 || (methods & ~31u) != 0 || handler == NULL || permission == NULL ||
	    permission[0] == '\0') {
		ogc_log(OG_LOG_ERROR,
		        "%s: route %s refused: needs methods, a permission and a handler",
		        owner_name(owner), path ? path : "(null)");
		return -1;
	}
	copy = strdup(path);
	n = split_path(copy, seg, MAX_SEGMENTS);
	if (n < 0) {
		ogc_log(OG_LOG_ERROR, "%s: route %s refused: malformed path", owner_name(owner),
		        path);
		free(copy);
		return -1;
	}
	/* Two routes collide when every segment is equal or both are
	 * parameters and they share a method: the second could never win. */
	for (size_t i = 0; i < nroutes; i++) {
		route_entry *o = &routes[i];
		bool same = o->nseg == n && (o->route.methods & methods) != 0;
		for (int k = 0; same && k < n; k++)
			same = is_param(o->seg[k]) ? is_param(seg[k])
			                           : strcmp(o->seg[k], seg[k]) == 0;
		if (same) {
			ogc_log(OG_LOG_ERROR, "%s: route %s %s refused: it collides with %s's %s",
			        owner_name(owner), method_name(methods & o->route.methods), path,
			        owner_name(o->route.owner), o->route.path);
			free(copy);
			return -1;
		}
	}
	e = &routes[nroutes];
	memset(e, 0, sizeof(*e));
	e->nseg = n;
	for (int k = 0; k < n; k++)
		e->seg[k] = strdup(seg[k]);
	free(copy);
	e->route = (ogc_route){methods, path,        permission, handler, summary ? summary : "",
	                       owner,   (int)nroutes};
	if (last_by_nseg[n] != 0)
		routes[last_by_nseg[n] - 1].next_same_nseg = (int)nroutes + 1;
	else
		first_by_nseg[n] = (int)nroutes + 1;
	last_by_nseg[n] = (int)nroutes + 1;
	nroutes++;
	return 0;
}

static int method_bit(unsigned method)
{
	for (int k = 0; k < 5; k++)
		if (method == (1u << k))
			return k;
	return -1;
}

int ogc_router_describe(unsigned method, const char *path, const char *openapi_json)
{
	json_error_t jerr;
	int k = method_bit(method);

	for (size_t i = 0; k >= 0 && i < nroutes; i++) {
		route_entry *e = &routes[i];
		json_t *doc;

		if (strcmp(e->route.path, path) != 0 || !(e->route.methods & method))
			continue;
		doc = json_loads(openapi_json, 0, &jerr);
		if (!json_is_object(doc)) {
			ogc_log(OG_LOG_ERROR, "OpenAPI detail of %s %s is not a JSON object: %s",
			        method_name(method), path, jerr.text);
			json_decref(doc);
			return -1;
		}
		json_decref(e->doc[k]);
		e->doc[k] = doc;
		return 0;
	}
	ogc_log(OG_LOG_ERROR, "OpenAPI detail for %s %s: no such route", method_name(method), path);
	return -1;
}

json_t *ogc_router_description(const ogc_route *r, unsigned method)
{
	int k = method_bit(method);
	const route_entry *e = (const route_entry *)r; /* route is the first member */

	return k >= 0 ? e->doc[k] : NULL;
}

size_t ogc_router_count(void)
{
	return nroutes;
}

const ogc_route *ogc_router_get(size_t i)
{
	return i < nroutes ? &routes[i].route : NULL;
}

/* Finds the route for req->path; fills path parameters.  Returns NULL and
 * sets *path_matched when only the method was wrong (405). */
static const route_entry *match(og_req *req, unsigned method, unsigned *allowed)
{
	char *copy = strdup(req->path), *seg[MAX_SEGMENTS];
	int n = split_path(copy, seg, MAX_SEGMENTS);
	const route_entry *best = NULL;
	int best_score = -1;

	*allowed = 0;
	/* A trailing slash or an empty segment is a different resource. */
	if (n < 0 || (n > 0 && req->path[strlen(req->path) - 1] == '/') ||
	    strstr(req->path, "//")) {
		free(copy);
		return NULL;
	}
	for (int i = first_by_nseg[n]; i != 0; i = routes[i - 1].next_same_nseg) {
		const route_entry *e = &routes[i - 1];
		int score = 0;
		bool ok = true;

		for (int k = 0; ok && k < n; k++) {
			if (is_param(e->seg[k]))
				continue;
			ok = strcmp(e->seg[k], seg[k]) == 0;
			score++;
		}
		if (!ok)
			continue;
		if ((e->route.methods & method) == 0) {
			*allowed |= e->route.methods;
			continue;
		}
		if (score > best_score) {
			best = e;
			best_score = score;
		}
	}
	if (best != NULL) {
		for (int k = 0; k < n && req->nparams < OGC_MAX_PATH_PARAMS; k++) {
			if (!is_param(best->seg[k]))
				continue;
			req->param_name[req->nparams] =
			        strndup(best->seg[k] + 1, strlen(best->seg[k]) - 2);
			req->param_value[req->nparams] = strdup(seg[k]);
			req->nparams++;
		}
	}
	free(copy);
	return best;
}

static unsigned map_method(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return OG_GET;
	case EVHTTP_REQ_POST:
		return OG_POST;
	case EVHTTP_REQ_PUT:
		return OG_PUT;
	case EVHTTP_REQ_PATCH:
		return OG_PATCH;
	case EVHTTP_REQ_DELETE:
		return OG_DELETE;
	default:
		return 0;
	}
}

/* Nesting depth of a JSON text, counted outside strings; Jansson's own
 * limit (2048) is far above what an API body ever needs. */
static int json_depth(const char *s, size_t len)
{
	int depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return max;
}

static bool is_json_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Bulk imports (transfer.c) read CSV and NDJSON bodies themselves: under
 * /api/v1/import/ these types pass unparsed; every other body is JSON. */
static bool is_raw_import(const og_req *req, const char *ct)
{
	static const char *const types[] = {"text/csv", "application/x-ndjson",
	                                    "application/octet-stream"};

	if (ct == NULL || strncmp(req->path, "/api/v1/import/", 15) != 0)
		return false;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t n = strlen(types[i]);
		if (strncasecmp(ct, types[i], n) == 0 &&
		    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
			return true;
	}
	return false;
}

/* Reads and parses the body of a POST/PUT/PATCH; 0 or an error reply. */
static int read_body(og_req *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req->ev);
	size_t len = evbuffer_get_length(in);
	const char *ct;
	json_error_t jerr;
	char *data;

	if (len == 0)
		return 0;
	if ((long)len > req->cfg->max_body_bytes) {
		ogc_req_reply_error(req, 413, "too_large", "request body exceeds max_body_bytes",
		                    NULL);
		return -1;
	}
	ct = evhttp_find_header(evhttp_request_get_input_headers(req->ev), "Content-Type");
	if (is_raw_import(req, ct))
		return 0;
	if (!is_json_type(ct)) {
		ogc_req_reply_error(req, 415, "unsupported_media_type",
		                    "request body must be application/json", NULL);
		return -1;
	}
	data = (char *)evbuffer_pullup(in, -1);
	if (json_depth(data, len) > req->cfg->max_json_depth) {
		ogc_req_reply_error(req, 400, "too_deep", "JSON body is nested too deeply", NULL);
		return -1;
	}
	/* Jansson rejects invalid UTF-8 and, with this flag, duplicate keys. */
	req->body = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req->body == NULL) {
		char msg[256];
		snprintf(msg, sizeof(msg), "malformed JSON at byte %d: %s", jerr.position,
		         jerr.text);
		ogc_req_reply_error(req, 400, "malformed_json", msg, NULL);
		return -1;
	}
	return 0;
}

static void peer_address(og_req *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);
	char *addr = NULL;
	ev_uint16_t port = 0;

	if (conn != NULL)
		evhttp_connection_get_peer(conn, &addr, &port);
	{
		/* a bounded copy; snprintf("%s") costs more on every request */
		const char *a = addr ? addr : "-";
		size_t n = strnlen(a, sizeof(req->client_addr) - 1);
		memcpy(req->client_addr, a, n);
		req->client_addr[n] = '\0';
	}
	/* Behind a reverse proxy every client shares the proxy's address, and
	 * one client's failed logins would lock out everyone.  Only a peer the
	 * operator listed in trusted_proxies may name the client. */
	for (size_t i = 0; addr != NULL && i < req->cfg->ntrusted_proxies; i++) {
		struct evkeyvalq *h = evhttp_request_get_input_headers(req->ev);
		const char *real, *fwd;
		char buf[64];

		if (strcmp(addr, req->cfg->trusted_proxies[i]) != 0)
			continue;
		real = evhttp_find_header(h, "X-Real-IP");
		fwd = evhttp_find_header(h, "X-Forwarded-For");
		if (real == NULL && fwd != NULL) {
			/* The last hop is the one our proxy added. */
			const char *last = strrchr(fwd, ',');
			real = last ? last + 1 : fwd;
		}
		if (real == NULL)
			break;
		while (*real == ' ')
			real++;
		snprintf(buf, sizeof(buf), "%s", real);
		buf[strcspn(buf, " ,")] = '\0';
		if (buf[0] != '\0' && strspn(buf, "0123456789abcdefABCDEF.:") == strlen(buf))
			snprintf(req->client_addr, sizeof(req->client_addr), "%s", buf);
		break;
	}
}

static void new_request_id(og_req *req)
{
	static unsigned long long counter;
	static unsigned long long seed;

	if (seed == 0) {
		if (getentropy(&seed, sizeof(seed)) != 0)
			seed = (unsigned long long)getpid() << 32;
		seed |= 1;
	}
	counter++;
	{
		unsigned long long v = seed ^ (counter * 0x9E3779B97F4A7C15ULL);

		/* "%016llx", without printf on every request's path */
		for (int i = 15; i >= 0; i--, v >>= 4)
			req->request_id[i] = "0123456789abcdef"[v & 15];
		req->request_id[16] = '\0';
	}
}

static void free_req(og_req *req)
{
	free(req->path);
	evhttp_clear_headers(&req->query);
	for (int i = 0; i < req->nparams; i++) {
		free(req->param_name[i]);
		free(req->param_value[i]);
	}
	json_decref(req->body);
	json_decref(req->reply);
	json_decref(req->permissions);
	json_decref(req->disabled_plugins);
	if (req->raw != NULL)
		evbuffer_free(req->raw);
	free(req->idem_key);
	free(req->idem_hash);
	free(req->username_buf);
	free(req->role_buf);
	free(req->scope_path_buf);
}

static void reply_done(struct evhttp_request *ev, void *arg)
{
	ogc_worker *w = arg;

	(void)ev;
	w->pending_replies--;
}

/* The JSON encoder (json_out.c) writes into this: small replies are encoded
 * straight into one stack buffer and copied into the reply once; longer
 * ones go out in chunks of its size.  (json_dumps would allocate, grow by
 * realloc and copy again, for every reply.) */
struct reply_sink {
	struct evbuffer *out;
	size_t n;
	char buf[8192];
};

static int sink_add(const char *s, size_t len, void *arg)
{
	struct reply_sink *k = arg;

	if (k->n + len > sizeof(k->buf)) {
		evbuffer_add(k->out, k->buf, k->n);
		k->n = 0;
		if (len > sizeof(k->buf))
			return evbuffer_add(k->out, s, len);
	}
	memcpy(k->buf + k->n, s, len);
	k->n += len;
	return 0;
}

/* evhttp formats a Date header for each reply it sends without one
 * (gmtime and snprintf: a tenth of a small request's instructions); it
 * changes once a second.  RFC 9110's IMF-fixdate, names spelt out so the
 * locale cannot change them. */
static const char *http_date(void)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static time_t cached = (time_t)-1;
	static char text[40];
	time_t now = time(NULL);
	struct tm tm;

	if (now != cached && gmtime_r(&now, &tm) != NULL) {
		snprintf(text, sizeof(text), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		         days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		cached = now;
	}
	return text;
}

static void send_reply(og_req *req)
{
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);

	if (req->raw != NULL) {
		evbuffer_add_buffer(out, req->raw);
	} else {
		struct reply_sink k;

		k.out = out;
		k.n = 0;
		if (ogc_json_write(req->reply ? req->reply : json_null(), sink_add, &k) == 0) {
			sink_add("\n", 1, &k);
			evbuffer_add(out, k.buf, k.n);
		} else {
			evbuffer_drain(out, evbuffer_get_length(out)); /* as json_dumps: no body */
		}
	}
	evhttp_remove_header(h, "Content-Type");
	evhttp_add_header(h, "Content-Type",
	                  req->raw ? req->raw_type : "application/json; charset=utf-8");
	evhttp_add_header(h, "X-Request-Id", req->request_id);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Date", http_date());
	if (req->worker->draining)
		evhttp_add_header(h, "Connection", "close");
	req->worker->pending_replies++;
	evhttp_request_set_on_complete_cb(req->ev, reply_done, req->worker);
	{
		/* before the send: without a connection it frees req->ev */
		struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);
		req->reply_bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	}
	evhttp_send_reply(req->ev, req->status, NULL, out);
	evbuffer_free(out);
}

/*
 * libevent measures the connection's timeout from the time it cached when
 * this callback began; a handler (an import, a report) that ran longer than
 * request_timeout_s would have its connection closed before the reply went
 * out, although the transaction committed.  Re-arm it from now.
 */
static void rearm_timeout(og_req *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);

	if (conn == NULL || ogc_now() - req->started < 1.0)
		return;
	event_base_update_cache_time(req->worker->base);
	evhttp_connection_set_timeout(conn, req->cfg->request_timeout_s);
}

static void finish_tx(og_req *req)
{
	ogc_dberr err;

	if (!req->in_tx)
		return;
	req->in_tx = false;
	if (req->status > 0 && req->status < 400) {
		/* A commit whose acknowledgement is lost is looked up, for as
		 * long as a statement may take, so that a stored write is never
		 * answered with an error. */
		if (ogc_db_commit(req->db, req->cfg->statement_timeout_ms, &err) != 0)
			ogc_req_reply_error(req, err.status, err.code, err.message, NULL);
	} else {
		(void)ogc_db_command(req->db, "ROLLBACK", &err);
	}
	/* After the transaction ended, before the reply goes out: the client
	 * must not see a logout succeed and its token still work elsewhere. */
	if (req->auth_changed)
		ogc_auth_cache_bump();
}

/* The checks every request passes before its handler.  0 to run it. */
static int admit(og_req *req, const ogc_route *route)
{
	int rc;

	if (strcmp(route->permission, OG_PERM_PUBLIC) != 0) {
		if (ogc_auth_authenticate(req) != 0)
			return -1;
		if (route->owner != NULL) {
			rc = ogc_enable_check(req, route->owner->desc->name,
			                      req->caller.district_id);
			if (rc < 0)
				return -1;
			if (rc == 0) {
				ogc_req_reply_error(req, 404, "not_found", "no such route", NULL);
				return -1;
			}
		}
		if (!ogc_auth_has_permission(req, route->permission)) {
			char msg[160];
			snprintf(msg, sizeof(msg), "permission %s is required", route->permission);
			ogc_req_reply_error(req, 403, "forbidden", msg, NULL);
			return -1;
		}
	}
	if ((req->method & (OG_POST | OG_PUT | OG_PATCH)) && read_body(req) != 0)
		return -1;
	return 0;
}

/*
 * A handler that crashes (a plugin dereferencing NULL, an abort()) takes
 * down its worker only; the master restarts it.  So that the log says
 * whose code it was, the request and route are noted before every handler
 * runs (two stores: this is on every request's path), and a
 * SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGABRT handler (installed in the worker at
 * its first request) assembles the line with async-signal-safe calls only
 * (strlen, memcpy, getpid, write), writes it with one write(2), then
 * restores the default action and re-raises, so the master still sees the
 * worker killed by that signal.  The request (on the dispatching frame) and
 * route outlive the handler call, so the pointers are valid when it runs.
 */
static const og_req *volatile crash_req;
static const ogc_route *volatile crash_route;

static size_t crash_put(char *buf, size_t n, size_t cap, const char *s)
{
	size_t len = strlen(s);

	if (len > cap - n)
		len = cap - n;
	memcpy(buf + n, s, len);
	return n + len;
}

static void on_crash(int sig)
{
	const og_req *req = crash_req;
	const ogc_route *route = crash_route;

	ogc_log_flush(); /* the lines of requests answered before this one */
	if (req != NULL && route != NULL) {
		char line[512], pid[24];
		size_t n = 0, cap = sizeof(line) - 1;
		long v = (long)getpid();
		int k = (int)sizeof(pid) - 1;

		pid[k] = '\0';
		do
			pid[--k] = (char)('0' + v % 10);
		while ((v /= 10) > 0 && k > 0);
		n = crash_put(line, n, cap, "worker (pid ");
		n = crash_put(line, n, cap, pid + k);
		n = crash_put(line, n, cap, ") crashed in ");
		n = crash_put(line, n, cap, route->owner ? "plugin " : "the ");
		n = crash_put(line, n, cap, owner_name(route->owner));
		n = crash_put(line, n, cap, " route ");
		n = crash_put(line, n, cap, method_name(req->method));
		n = crash_put(line, n, cap, " ");
		n = crash_put(line, n, cap, route->path);
		n = crash_put(line, n, cap, " (request ");
		n = crash_put(line, n, cap, req->request_id);
		n = crash_put(line, n, cap, ")");
		line[n++] = '\n';
		if (write(STDERR_FILENO, line, n) < 0)
			crash_req = NULL;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_crash_handler(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	static bool installed;
	struct sigaction sa;

	if (installed)
		return;
	installed = true;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

void ogc_router_dispatch(struct evhttp_request *ev, void *arg)
{
	ogc_worker *w = arg;
	og_req req;
	const route_entry *e = NULL;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *raw_path, *raw_query;
	unsigned allowed = 0;
	double seconds;
	ogc_dberr err;

	memset(&req, 0, sizeof(req));
	req.ev = ev;
	req.worker = w;
	req.db = w->db;
	req.cfg = w->cfg;
	req.started = ogc_now();
	TAILQ_INIT(&req.query);
	w->last_request = req.started;
	new_request_id(&req);
	peer_address(&req);
	req.method = map_method(evhttp_request_get_command(ev));

	raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
	raw_query = uri ? evhttp_uri_get_query(uri) : NULL;
	if (raw_path == NULL || raw_path[0] == '\0')
		raw_path = "/";
	/* Decoding may yield bytes that are not UTF-8 or a NUL: refuse both. */
	{
		size_t dlen = 0;
		req.path = evhttp_uridecode(raw_path, 0, &dlen);
		if (req.path == NULL || strlen(req.path) != dlen) {
			free(req.path);
			req.path = strdup(raw_path);
			ogc_req_reply_error(&req, 400, "bad_request", "malformed request path",
			                    NULL);
			goto send;
		}
	}
	/* evhttp_parse_query_str would decode %00 and cut the value there
	 * ("limit=1%00x" read as "1"): refuse a NUL as the path does. */
	if (raw_query != NULL && (strcasestr(raw_query, "%00") != NULL ||
	                          evhttp_parse_query_str(raw_query, &req.query) != 0)) {
		ogc_req_reply_error(&req, 400, "bad_request", "malformed query string", NULL);
		goto send;
	}
	if (req.method == 0) {
		ogc_req_reply_error(&req, 405, "method_not_allowed", "method not allowed", NULL);
		goto send;
	}
	e = match(&req, req.method, &allowed);
	if (e == NULL) {
		if (allowed != 0) {
			char allow[64] = "";
			for (unsigned m = 1; m <= OG_DELETE; m <<= 1) {
				if (allowed & m) {
					if (allow[0])
						strcat(allow, ", ");
					strcat(allow, method_name(m));
				}
			}
			evhttp_add_header(evhttp_request_get_output_headers(ev), "Allow", allow);
			ogc_req_reply_error(&req, 405, "method_not_allowed",
			                    "method not allowed on this resource", NULL);
		} else {
			ogc_req_reply_error(&req, 404, "not_found", "no such route", NULL);
		}
		goto send;
	}
	req.route = &e->route;
	if (admit(&req, req.route) != 0)
		goto send;
	/* Public routes (login, health) manage their own writes: a failed login
	 * must still record its attempt although it answers 401. */
	if (req.method != OG_GET && strcmp(req.route->permission, OG_PERM_PUBLIC) != 0) {
		if (ogc_db_ensure(req.db) != 0 || ogc_db_command(req.db, "BEGIN", &err) != 0) {
			ogc_req_reply_error(&req, 503, "db_unavailable",
			                    "the database is unavailable; try again shortly", NULL);
			goto send;
		}
		req.in_tx = true;
	}
	if (req.method == OG_POST && req.in_tx) {
		int rc = ogc_idempotency_begin(&req);
		if (rc != 0) {
			/* replayed (1) or refused (-1): nothing new may be written */
			if (req.in_tx) {
				(void)ogc_db_command(req.db, "ROLLBACK", &err);
				req.in_tx = false;
			}
			goto send;
		}
	}
	install_crash_handler();
	crash_req = &req;
	crash_route = req.route;
	req.route->handler(&req, ogc_host_api());
	crash_req = NULL;
	if (req.streaming) {
		if (!req.stream_ended)
			ogc_req_stream_end(&req);
	} else if (req.status == 0) {
		ogc_log(OG_LOG_ERROR, "%s: handler for %s %s returned without a reply (request %s)",
		        owner_name(req.route->owner), method_name(req.method), req.route->path,
		        req.request_id);
		ogc_req_reply_error(&req, 500, "internal", "the handler gave no reply", NULL);
	}
	if (req.idem_key != NULL && req.status > 0 && req.status < 400 && !req.streaming)
		(void)ogc_idempotency_finish(&req);
	finish_tx(&req);
send:
	if (req.in_tx)
		finish_tx(&req);
	rearm_timeout(&req);
	if (!req.streaming)
		send_reply(&req);
	seconds = ogc_now() - req.started;
	ogc_metrics_request(e ? e->route.index : -1, req.method, req.status, seconds);
	ogc_log_access("request %s %s %s %d %.1fms %s %s", req.request_id,
	               req.method ? method_name(req.method) : "-", req.path ? req.path : "-",
	               req.status, seconds * 1000.0, req.authenticated ? req.caller.username : "-",
	               req.client_addr);
	ogc_req_write_soon(req.reply_bev);
	free_req(&req);
}

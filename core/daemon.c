/*
 * core/daemon.c — the master process and its workers.
 *
 * The master binds the listening socket, then forks N workers that inherit
 * it (nginx / PostgreSQL style).  Each worker creates its own event_base,
 * evhttp and database connection after the fork — nothing libevent or libpq
 * owns crosses a fork.  The master only supervises: it restarts a worker
 * that dies (and logs why), and on SIGTERM/SIGINT closes the listener,
 * tells the workers to drain and waits for them.  Configuration, plugin
 * loading and migration checks happen before this file is entered
 * (main.c); request handling happens in router.c.
 */
#include <errno.h>
#if defined(HAVE_MALLOPT) || defined(HAVE_MALLOC_TRIM)
#include <malloc.h>
#endif
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>

#include "core.h"

#define MAX_WORKERS 256
#define WORKERS_PER_CPU 8

double ogc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static evutil_socket_t open_listener(const char *listen_spec)
{
	char host[256];
	const char *colon = strrchr(listen_spec, ':');
	struct addrinfo hints, *res = NULL, *ai;
	evutil_socket_t fd = -1;
	int rc, one = 1;
	size_t hlen = (size_t)(colon - listen_spec);

	if (hlen >= sizeof(host))
		hlen = sizeof(host) - 1;
	memcpy(host, listen_spec, hlen);
	host[hlen] = '\0';
	/* "[::1]:8080" */
	if (host[0] == '[' && hlen > 1 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0) {
		ogc_log(OG_LOG_ERROR, "listen %s: %s", listen_spec, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
			break;
		ogc_log(OG_LOG_ERROR, "listen %s: %s", listen_spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		evutil_make_socket_nonblocking(fd);
	return fd;
}

/* ------------------------------------------------------------------ */
/* worker */

static struct evhttp_bound_socket *worker_bound;
static struct event *drain_timer;
static double drain_deadline;

static void drain_check(evutil_socket_t fd, short what, void *arg)
{
	ogc_worker *w = arg;
	double now = ogc_now();

	(void)fd;
	(void)what;
	/* Done when every reply has been written and no request has arrived
	 * for a moment (one may have been in the socket buffer at SIGTERM). */
	if ((w->pending_replies <= 0 && now - w->last_request > 0.2) || now > drain_deadline) {
		if (w->pending_replies > 0)
			ogc_log(OG_LOG_WARN, "shutdown grace expired with %ld replies unsent",
			        w->pending_replies);
		event_base_loopbreak(w->base);
	}
}

/*
 * After the requests of one loop turn: the event is made active when the
 * turn's first access line is collected (every request logs one), and
 * libevent runs it after the turn's other callbacks, before it waits again.
 *
 * It writes the turn's access lines in one write(2), and gives memory back:
 * the heap's free top is returned by glibc itself (worker_memory_setup),
 * but what a large request (a report, an import, a long list) freed below
 * a block still in use stays resident; when the heap grew by more than
 * TRIM_AFTER_GROWTH since the last look, malloc_trim(0) returns every free
 * page.  sbrk(0) reads glibc's cached break: no system call per turn.
 */
#define TRIM_AFTER_GROWTH (4L * 1024 * 1024)

static struct event *log_flush_ev;

static void give_back_memory(void)
{
#ifdef HAVE_MALLOC_TRIM
	static char *mark;
	char *top = sbrk(0);

	if (top == (char *)-1)
		return;
	if (mark == NULL || top < mark) {
		mark = top;
	} else if (top - mark > TRIM_AFTER_GROWTH) {
		malloc_trim(0);
		mark = sbrk(0);
	}
#endif
}

static void log_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	ogc_log_flush();
	give_back_memory();
}

static void schedule_log_flush(void)
{
	event_active(log_flush_ev, EV_TIMEOUT, 1);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	ogc_worker *w = arg;
	struct timeval tv = {0, 50000};

	(void)sig;
	(void)what;
	if (w->draining)
		return;
	w->draining = true;
	if (worker_bound != NULL) {
		evhttp_del_accept_socket(w->http, worker_bound);
		worker_bound = NULL;
	}
	drain_deadline = ogc_now() + w->cfg->shutdown_grace_s;
	drain_timer = event_new(w->base, -1, EV_PERSIST, drain_check, w);
	event_add(drain_timer, &tv);
}

/*
 * glibc raises its mmap threshold to the size of any large block freed
 * (up to 32 MiB), and its trim threshold to twice that.  One argon2id hash
 * (19 MiB: every login and user creation) was enough: from then on every
 * large block came from the heap, and the 19 MiB stayed resident in the
 * worker for good (24 MiB instead of 5 at idle).  Fixed thresholds keep
 * blocks from 256 KiB up in mappings of their own, returned on free, and
 * the heap's top returned once more than 1 MiB of it is free.
 */
static void worker_memory_setup(void)
{
#ifdef HAVE_MALLOPT
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
#endif
}

static int worker_main(const ogc_config *cfg, evutil_socket_t fd, int number)
{
	ogc_worker w;
	struct event *ev_term, *ev_int;
	char role[32];
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	snprintf(role, sizeof(role), "worker %d", number);
	ogc_log_set_role(role);
	worker_memory_setup();

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.number = number;
	{
		/* With the change list, the enable/disable calls evhttp makes
		 * around every request (read off, read on, write on, write off)
		 * are merged into one epoll_ctl per loop turn for each socket
		 * that changed: two per keep-alive request instead of four.  Its
		 * one hazard, a dup()ed descriptor watched twice, never occurs
		 * here. */
		struct event_config *ec = event_config_new();
		if (ec != NULL) {
			event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
			w.base = event_base_new_with_config(ec);
			event_config_free(ec);
		}
	}
	w.http = w.base ? evhttp_new(w.base) : NULL;
	if (w.http == NULL) {
		ogc_log(OG_LOG_ERROR, "cannot create the event loop");
		return 1;
	}
	/* libevent 2.1 allows only GET/POST/HEAD/PUT/DELETE by default and
	 * has no size limits: set both, and JSON as the default type. */
	evhttp_set_allowed_methods(w.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	                                           EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE);
	evhttp_set_max_body_size(w.http, cfg->max_body_bytes);
	evhttp_set_max_headers_size(w.http, 64 * 1024);
	evhttp_set_timeout(w.http, cfg->request_timeout_s);
	evhttp_set_default_content_type(w.http, "application/json; charset=utf-8");
	evhttp_set_gencb(w.http, ogc_router_dispatch, &w);
	worker_bound = evhttp_accept_socket_with_handle(w.http, fd);
	if (worker_bound == NULL) {
		ogc_log(OG_LOG_ERROR, "cannot accept on the listening socket");
		return 1;
	}
	w.db = ogc_db_new(cfg->database, cfg->db_connect_timeout_s, cfg->statement_timeout_ms);
	(void)ogc_db_ensure(w.db); /* down now is fine: requests get 503 until it is up */

	log_flush_ev = event_new(w.base, -1, 0, log_flush_cb, NULL);
	if (log_flush_ev != NULL)
		ogc_log_defer(schedule_log_flush);

	ev_term = evsignal_new(w.base, SIGTERM, on_term, &w);
	ev_int = evsignal_new(w.base, SIGINT, on_term, &w);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);

	event_base_dispatch(w.base);
	ogc_log_defer(NULL); /* writes what the last turn collected */

	if (drain_timer != NULL)
		event_free(drain_timer);
	if (log_flush_ev != NULL)
		event_free(log_flush_ev);
	event_free(ev_term);
	event_free(ev_int);
	evhttp_free(w.http);
	event_base_free(w.base);
	ogc_db_free(w.db);
	ogc_auth_cache_fini();
	ogc_plugins_fini();
	return 0;
}

/* ------------------------------------------------------------------ */
/* master */

static pid_t worker_pid[MAX_WORKERS];

static pid_t spawn(const ogc_config *cfg, evutil_socket_t fd, int number)
{
	pid_t pid = fork();

	if (pid < 0) {
		ogc_log(OG_LOG_ERROR, "fork worker %d: %s", number, strerror(errno));
		return -1;
	}
	if (pid == 0)
		_exit(worker_main(cfg, fd, number));
	return pid;
}

static void describe_exit(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)%s", WTERMSIG(status),
		         strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "stopped (status 0x%x)", status);
}

int ogc_daemon_run(const ogc_config *cfg)
{
	/* 0: WORKERS_PER_CPU per CPU.  A worker waits on its one database
	 * connection for every statement and commit (a WAL flush takes
	 * milliseconds), so one per CPU leaves the CPUs idle; with several per
	 * CPU PostgreSQL also commits their transactions in groups.  Measured
	 * in docs/performance.md. */
	int nworkers = cfg->workers > 0 ? cfg->workers
	                                : WORKERS_PER_CPU * (int)sysconf(_SC_NPROCESSORS_ONLN);
	evutil_socket_t fd;
	sigset_t mask;
	int alive = 0, rc = 0;
	bool stopping = false;
	double last_restart = 0;

	if (nworkers < 1)
		nworkers = 1;
	if (nworkers > MAX_WORKERS)
		nworkers = MAX_WORKERS;
	fd = open_listener(cfg->listen);
	if (fd < 0)
		return 1;
	if (ogc_metrics_init() != 0 || ogc_auth_cache_init() != 0)
		return 1;

	/* The master takes its signals synchronously (sigtimedwait): no
	 * handler runs in the middle of anything. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	ogc_log_set_role("master");

	for (int i = 0; i < nworkers; i++) {
		worker_pid[i] = spawn(cfg, fd, i + 1);
		if (worker_pid[i] > 0)
			alive++;
	}
	ogc_log(OG_LOG_INFO, "onegridd %s listening on %s with %d workers", PACKAGE_VERSION,
	        cfg->listen, nworkers);

	while (alive > 0) {
		siginfo_t si;
		struct timespec tick = {1, 0};
		int sig = sigtimedwait(&mask, &si, &tick);

		if (sig == SIGTERM || sig == SIGINT) {
			if (!stopping) {
				ogc_log(OG_LOG_INFO,
				        "%s: draining in-flight requests, then exiting",
				        sig == SIGTERM ? "SIGTERM" : "SIGINT");
				stopping = true;
				close(fd);
				for (int i = 0; i < nworkers; i++)
					if (worker_pid[i] > 0)
						kill(worker_pid[i], SIGTERM);
			}
		} else if (sig == SIGHUP) {
			ogc_log(OG_LOG_INFO, "SIGHUP: configuration is read at start; restart "
			                     "onegridd to apply changes");
		}
		/* Reap on every wake-up: SIGCHLDs coalesce. */
		for (;;) {
			int status;
			pid_t pid = waitpid(-1, &status, WNOHANG);
			int slot = -1;
			char why[128];

			if (pid <= 0)
				break;
			for (int i = 0; i < nworkers; i++)
				if (worker_pid[i] == pid)
					slot = i;
			if (slot < 0)
				continue;
			alive--;
			worker_pid[slot] = 0;
			describe_exit(status, why, sizeof(why));
			if (stopping) {
				if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
					ogc_log(OG_LOG_WARN,
					        "worker %d (pid %d) %s during shutdown", slot + 1,
					        (int)pid, why);
					rc = 1;
				}
				continue;
			}
			ogc_log(OG_LOG_ERROR, "worker %d (pid %d) %s; restarting it", slot + 1,
			        (int)pid, why);
			/* A worker that dies at once would otherwise be forked in a
			 * tight loop. */
			if (ogc_now() - last_restart < 1.0)
				sleep(1);
			last_restart = ogc_now();
			ogc_metrics_worker_restart();
			worker_pid[slot] = spawn(cfg, fd, slot + 1);
			if (worker_pid[slot] > 0)
				alive++;
		}
	}
	ogc_log(OG_LOG_INFO, "all workers stopped; exiting");
	return rc;
}

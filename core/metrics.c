/*
 * core/metrics.c — request counters and latency histograms shared by the
 * master and every worker.
 *
 * One anonymous shared mapping is created before the workers are forked;
 * each worker adds to it with atomic operations, so whichever worker
 * answers GET /metrics reports the whole daemon, and a restarted worker
 * loses nothing.  Route indexes are stable because all routes are
 * registered in the master before the fork.  Rendering is the Prometheus
 * text format, version 0.0.4.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <event2/buffer.h>

#include "core.h"

#define NMETHODS 5
static const int status_codes[] = {200, 201, 204, 400, 401, 403, 404, 405, 409,
                                   413, 415, 422, 428, 429, 500, 503, 0 /* other */};
#define NSTATUS (sizeof(status_codes) / sizeof(status_codes[0]))
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,   0.25,   0.5,   1.0,  2.5,   5.0};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))
#define NSLOTS (OGC_MAX_ROUTES + 1) /* the last slot: no route matched */

struct shared_metrics {
	uint64_t requests[NSLOTS][NMETHODS][NSTATUS];
	uint64_t latency_bucket[NSLOTS][NBUCKETS]; /* cumulative at render time */
	uint64_t latency_count[NSLOTS];
	uint64_t latency_sum_us[NSLOTS];
	uint64_t db_errors;
	uint64_t worker_restarts;
};

static struct shared_metrics *m;

int ogc_metrics_init(void)
{
	void *p = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		ogc_log(OG_LOG_ERROR, "metrics: cannot map shared memory: %m");
		return -1;
	}
	m = p;
	return 0;
}

static int method_slot(unsigned method)
{
	for (int i = 0; i < NMETHODS; i++)
		if (method == (1u << i))
			return i;
	return 0;
}

static size_t status_slot(int status)
{
	for (size_t i = 0; i + 1 < NSTATUS; i++)
		if (status_codes[i] == status)
			return i;
	return NSTATUS - 1;
}

void ogc_metrics_request(int route_index, unsigned method, int status, double seconds)
{
	size_t slot = (route_index < 0 || route_index >= OGC_MAX_ROUTES) ? NSLOTS - 1
	                                                                 : (size_t)route_index;
	if (m == NULL)
		return;
	__atomic_add_fetch(&m->requests[slot][method_slot(method)][status_slot(status)], 1,
	                   __ATOMIC_RELAXED);
	for (size_t b = 0; b < NBUCKETS; b++) {
		if (seconds <= buckets[b]) {
			__atomic_add_fetch(&m->latency_bucket[slot][b], 1, __ATOMIC_RELAXED);
			break;
		}
	}
	__atomic_add_fetch(&m->latency_count[slot], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&m->latency_sum_us[slot], (uint64_t)(seconds * 1e6), __ATOMIC_RELAXED);
}

void ogc_metrics_worker_restart(void)
{
	if (m != NULL)
		__atomic_add_fetch(&m->worker_restarts, 1, __ATOMIC_RELAXED);
}

void ogc_metrics_db_error(void)
{
	if (m != NULL)
		__atomic_add_fetch(&m->db_errors, 1, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static const char *route_label(size_t slot)
{
	const ogc_route *r = slot < NSLOTS - 1 ? ogc_router_get(slot) : NULL;
	return r ? r->path : "unmatched";
}

void ogc_metrics_render(struct evbuffer *buf)
{
	static const char *methods[NMETHODS] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
	size_t nslots = ogc_router_count();

	if (m == NULL)
		return;
	evbuffer_add_printf(buf, "# HELP onegrid_http_requests_total HTTP requests answered, by "
	                         "route, method and status.\n"
	                         "# TYPE onegrid_http_requests_total counter\n");
	for (size_t s = 0; s < NSLOTS; s++) {
		if (s >= nslots && s != NSLOTS - 1)
			continue;
		for (int k = 0; k < NMETHODS; k++) {
			for (size_t st = 0; st < NSTATUS; st++) {
				uint64_t v = load(&m->requests[s][k][st]);
				if (v == 0)
					continue;
				if (status_codes[st] != 0)
					evbuffer_add_printf(
					        buf,
					        "onegrid_http_requests_total{route=\"%s\","
					        "method=\"%s\",status=\"%d\"} %llu\n",
					        route_label(s), methods[k], status_codes[st],
					        (unsigned long long)v);
				else
					evbuffer_add_printf(
					        buf,
					        "onegrid_http_requests_total{route=\"%s\","
					        "method=\"%s\",status=\"other\"} %llu\n",
					        route_label(s), methods[k], (unsigned long long)v);
			}
		}
	}
	evbuffer_add_printf(buf, "# HELP onegrid_http_request_duration_seconds Time from dispatch "
	                         "to reply, by route.\n"
	                         "# TYPE onegrid_http_request_duration_seconds histogram\n");
	for (size_t s = 0; s < NSLOTS; s++) {
		uint64_t count = load(&m->latency_count[s]), cum = 0;
		if (count == 0)
			continue;
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += load(&m->latency_bucket[s][b]);
			evbuffer_add_printf(
			        buf,
			        "onegrid_http_request_duration_seconds_bucket{route=\"%s\","
			        "le=\"%g\"} %llu\n",
			        route_label(s), buckets[b], (unsigned long long)cum);
		}
		evbuffer_add_printf(
		        buf,
		        "onegrid_http_request_duration_seconds_bucket{route=\"%s\","
		        "le=\"+Inf\"} %llu\n"
		        "onegrid_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
		        "onegrid_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
		        route_label(s), (unsigned long long)count, route_label(s),
		        load(&m->latency_sum_us[s]) / 1e6, route_label(s),
		        (unsigned long long)count);
	}
	evbuffer_add_printf(buf,
	                    "# HELP onegrid_db_errors_total Database failures (connection, "
	                    "timeout, server error).\n"
	                    "# TYPE onegrid_db_errors_total counter\n"
	                    "onegrid_db_errors_total %llu\n"
	                    "# HELP onegrid_worker_restarts_total Workers that died and were "
	                    "restarted by the master.\n"
	                    "# TYPE onegrid_worker_restarts_total counter\n"
	                    "onegrid_worker_restarts_total %llu\n",
	                    (unsigned long long)load(&m->db_errors),
	                    (unsigned long long)load(&m->worker_restarts));
}

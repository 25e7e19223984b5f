/*
 * core/auth_cache.c — a worker's memory of recently checked bearer tokens.
 *
 * Why: every authenticated request used to look its token up in PostgreSQL
 * (user, role, scope, permissions, the district's switched-off plugins), a
 * round trip on the worker's only connection before any work.  A worker now
 * keeps what that query answered for auth_cache_ms (config; 0 turns the
 * cache off) and reuses it for the same token.
 *
 * How a change still bites at once, two ways:
 * - Inside this daemon, without a race: a generation counter lives in
 *   memory shared by the master and all workers (mapped before the fork).
 *   Every route that changes what the token query reads — logout, users,
 *   role permissions, plugin enablement, region moves — marks its request
 *   (ogc_auth_cache_invalidate), and the router bumps the generation right
 *   after that request's transaction ends and before its reply is sent.
 * - From anywhere else (a second onegridd on the same database, `onegridd
 *   create-admin`, SQL typed by a DBA): triggers on those tables NOTIFY
 *   onegrid_auth at commit (schema/core/0006), every worker connection
 *   LISTENs, and db.c counts what arrived (ogc_db_auth_epoch) before each
 *   cache lookup.  Delivery is asynchronous: a request racing the commit
 *   by a millisecond may still be served from the cache.
 * An entry taken under an older generation or epoch is not used, nor one
 * older than auth_cache_ms (the bound should a notification be lost), nor
 * one whose token has expired.
 *
 * Not here: parsing the Authorization header and the token query (auth.c).
 * Tokens are kept as their 64 hex characters in the worker's memory, where
 * every request's header already passes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core.h"

#define CACHE_SLOTS 1024 /* per worker; an evicted entry costs one query */

typedef struct cache_entry {
	char token[OGC_TOKEN_HEX + 1]; /* "" marks a free slot */
	ogc_auth_stamp stamp;
	double cached_at; /* CLOCK_MONOTONIC seconds */
	double expires;   /* the token's expires_at, Unix seconds */
	ogc_auth_info info;
} cache_entry;

static uint64_t *shared_generation; /* in the shared mapping */
static cache_entry *slots;          /* this worker's, allocated on first use */

int ogc_auth_cache_init(void)
{
	void *p = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	               -1, 0);

	if (p == MAP_FAILED) {
		ogc_log(OG_LOG_ERROR, "auth cache: cannot map shared memory: %m");
		return -1;
	}
	shared_generation = p;
	return 0;
}

void ogc_auth_cache_fini(void)
{
	if (slots == NULL)
		return;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		ogc_auth_info_clear(&slots[i].info);
	free(slots);
	slots = NULL;
}

void ogc_auth_cache_bump(void)
{
	if (shared_generation != NULL)
		__atomic_add_fetch(shared_generation, 1, __ATOMIC_SEQ_CST);
}

static uint64_t generation(void)
{
	return shared_generation ? __atomic_load_n(shared_generation, __ATOMIC_SEQ_CST) : 0;
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* FNV-1a over the hex token: spreads well enough, tokens are random. */
static size_t slot_of(const char *token)
{
	return (size_t)(ogc_util_fnv1a(token, strlen(token)) % CACHE_SLOTS);
}

void ogc_auth_info_clear(ogc_auth_info *info)
{
	free(info->username);
	free(info->role);
	free(info->scope_path);
	json_decref(info->permissions);
	json_decref(info->disabled_plugins);
	memset(info, 0, sizeof(*info));
}

static int info_copy(ogc_auth_info *dst, const ogc_auth_info *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->user_id = src->user_id;
	dst->scope_region_id = src->scope_region_id;
	dst->district_id = src->district_id;
	dst->username = strdup(src->username);
	dst->role = strdup(src->role);
	dst->scope_path = strdup(src->scope_path);
	/* Shared references: nobody modifies these arrays after the query. */
	dst->permissions = json_incref(src->permissions);
	dst->disabled_plugins = json_incref(src->disabled_plugins);
	if (dst->username == NULL || dst->role == NULL || dst->scope_path == NULL) {
		ogc_auth_info_clear(dst);
		return -1;
	}
	return 0;
}

ogc_auth_stamp ogc_auth_cache_stamp(og_req *req)
{
	ogc_auth_stamp s = {generation(), ogc_db_auth_epoch(req->db)};

	return s;
}

int ogc_auth_cache_get(og_req *req, const char *token, ogc_auth_info *out)
{
	const ogc_config *cfg = req->cfg;
	ogc_auth_stamp now;
	cache_entry *e;

	if (slots == NULL || cfg == NULL || cfg->auth_cache_ms <= 0)
		return 0;
	e = &slots[slot_of(token)];
	if (e->token[0] == '\0' || strcmp(e->token, token) != 0)
		return 0;
	now = ogc_auth_cache_stamp(req);
	if (e->stamp.generation != now.generation || e->stamp.epoch != now.epoch ||
	    mono_now() - e->cached_at > cfg->auth_cache_ms / 1e3 ||
	    (double)time(NULL) >= e->expires) {
		ogc_auth_info_clear(&e->info);
		e->token[0] = '\0';
		return 0;
	}
	return info_copy(out, &e->info) == 0 ? 1 : 0;
}

void ogc_auth_cache_put(og_req *req, const char *token, ogc_auth_stamp stamp, double expires,
                        const ogc_auth_info *info)
{
	const ogc_config *cfg = req->cfg;
	cache_entry *e;

	if (cfg == NULL || cfg->auth_cache_ms <= 0 || strlen(token) != OGC_TOKEN_HEX)
		return;
	if (slots == NULL) {
		slots = calloc(CACHE_SLOTS, sizeof(*slots));
		if (slots == NULL)
			return;
	}
	e = &slots[slot_of(token)];
	ogc_auth_info_clear(&e->info);
	e->token[0] = '\0';
	if (info_copy(&e->info, info) != 0)
		return;
	memcpy(e->token, token, OGC_TOKEN_HEX + 1);
	e->stamp = stamp;
	e->cached_at = mono_now();
	e->expires = expires;
}

void ogc_auth_cache_invalidate(og_req *req)
{
	req->auth_changed = true;
}

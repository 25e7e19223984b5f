/*
 * core/auth.c — who is calling: passwords, bearer tokens, login and its rate limit.
 *
 * Passwords are hashed with argon2id at OWASP's parameters (t=2, m=19 MiB,
 * p=1).  A token is 32 random bytes shown to the client once, as 64 hex
 * characters, and stored only as its SHA-256, which PostgreSQL computes
 * (sha256(convert_to(token, 'UTF8'))), so the core links no crypto library.
 * One query turns a token into the caller: user, role, scope, district and
 * permission codes; a worker reuses the answer for a while (auth_cache.c).
 * Routes: login, logout, me.
 *
 * Not here: deciding which permission a route needs and whether a plugin is
 * enabled (router.c, which calls ogc_auth_has_permission and
 * ogc_enable_check), and managing users (users.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <argon2.h>

#include "core.h"

#define ADMIN_ROLE "admin"

/* argon2id parameters (OWASP password storage cheat sheet). */
#define PW_T_COST 2
#define PW_M_COST 19456 /* KiB */
#define PW_PARALLELISM 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32

static const char invalid_token_msg[] = "token is invalid, expired or revoked";

#define TOKEN_BYTES (OGC_TOKEN_HEX / 2)
#define TOKEN_HEX OGC_TOKEN_HEX

/* Login input bounds: nothing longer can be a stored username or password
 * (users.c allows 64 and 256 characters), so longer input is refused before
 * any hashing or storing. */
#define LOGIN_USERNAME_MAX 256
#define LOGIN_PASSWORD_MAX 1024

/*
 * Verified against when the username does not exist, so an unknown user
 * costs the same argon2 work as a wrong password and the reply time does not
 * tell which usernames exist.  Same parameters as real hashes; nobody knows
 * (or needs) its password.
 */
static const char dummy_hash[] = "$argon2id$v=19$m=19456,t=2,p=1$b25lZ3JpZC9kdW1teS8xNg$"
                                 "ixyXmJYvkcoGG5sLvXQjsheazNIhAiqr6pLrFIxLjso";

static int random_bytes(unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ogc_log(OG_LOG_ERROR, "getrandom: %s", strerror(errno));
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int ogc_auth_hash_password(const char *password, char *out, size_t outlen)
{
	unsigned char salt[PW_SALT_LEN];
	int rc;

	if (random_bytes(salt, sizeof(salt)) != 0)
		return -1;
	rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_PARALLELISM, password, strlen(password),
	                           salt, sizeof(salt), PW_HASH_LEN, out, outlen);
	if (rc != ARGON2_OK) {
		ogc_log(OG_LOG_ERROR, "argon2id_hash_encoded: %s", argon2_error_message(rc));
		return -1;
	}
	return 0;
}

bool ogc_auth_verify_password(const char *encoded, const char *password)
{
	/* A malformed stored hash is a failed verification, not an error. */
	return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

/* A new token as 64 lowercase hex characters plus NUL into out. */
static int new_token(char out[TOKEN_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[TOKEN_BYTES];

	if (random_bytes(raw, sizeof(raw)) != 0)
		return -1;
	for (size_t i = 0; i < TOKEN_BYTES; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[TOKEN_HEX] = '\0';
	return 0;
}

/*
 * Finds the token in an "Authorization: Bearer <token>" value (scheme
 * case-insensitive, RFC 6750).  Sets *tok (borrowed from hdr) and *len;
 * -1 when the header is missing or is not a bearer credential.
 */
static int bearer_token(const char *hdr, const char **tok, size_t *len)
{
	const char *p, *start;

	if (hdr == NULL)
		return -1;
	while (*hdr == ' ' || *hdr == '\t')
		hdr++;
	if (strncasecmp(hdr, "Bearer", 6) != 0 || (hdr[6] != ' ' && hdr[6] != '\t'))
		return -1;
	p = hdr + 6;
	while (*p == ' ' || *p == '\t')
		p++;
	start = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	*tok = start;
	*len = (size_t)(p - start);
	while (*p == ' ' || *p == '\t')
		p++;
	return (*len == 0 || *p != '\0') ? -1 : 0;
}

/* Tokens we issue are exactly 64 lowercase hex digits; anything else cannot
 * match a stored hash, so it is refused without a query. */
static bool token_well_formed(const char *tok, size_t len)
{
	if (len != TOKEN_HEX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((tok[i] >= '0' && tok[i] <= '9') || (tok[i] >= 'a' && tok[i] <= 'f')))
			return false;
	return true;
}

/*
 * One round trip: the token, its (active) user, the scope region, the
 * district above it (label 0 of an id path is the district's id) and the
 * permission codes (all of them for the admin role), and the plugins the
 * district has switched off, so that the router's enablement check for a
 * plugin route costs no second round trip.
 */
static const char authenticate_sql[] =
        "SELECT u.id, u.username, u.role, coalesce(u.scope_region_id, 0), "
        "       coalesce(r.path::text, ''), "
        "       coalesce(subpath(r.path, 0, 1)::text::bigint, 0), "
        "       CASE WHEN u.role = 'admin' "
        "            THEN (SELECT coalesce(json_agg(p.code ORDER BY p.code), '[]') "
        "                  FROM core.permission p) "
        "            ELSE (SELECT coalesce(json_agg(rp.permission ORDER BY rp.permission), '[]') "
        "                  FROM core.role_permission rp WHERE rp.role = u.role) END, "
        "       (SELECT coalesce(json_agg(e.plugin), '[]') FROM core.plugin_enablement e "
        "         WHERE e.district_id = subpath(r.path, 0, 1)::text::bigint "
        "           AND NOT e.enabled), "
        "       extract(epoch FROM t.expires_at) "
        "FROM core.token t "
        "JOIN core.app_user u ON u.id = t.user_id AND u.active "
        "LEFT JOIN core.region r ON r.id = u.scope_region_id "
        "WHERE t.token_hash = sha256(convert_to($1, 'UTF8')) "
        "  AND t.expires_at > now() AND t.revoked_at IS NULL";

/* Moves info's fields into req (info is left empty). */
static void become(og_req *req, ogc_auth_info *info)
{
	free(req->username_buf);
	free(req->role_buf);
	free(req->scope_path_buf);
	req->username_buf = info->username;
	req->role_buf = info->role;
	req->scope_path_buf = info->scope_path;
	req->caller.user_id = info->user_id;
	req->caller.username = req->username_buf;
	req->caller.role = req->role_buf;
	req->caller.scope_region_id = info->scope_region_id;
	req->caller.scope_path = req->scope_path_buf;
	req->caller.district_id = info->district_id;
	json_decref(req->permissions);
	req->permissions = info->permissions;
	json_decref(req->disabled_plugins);
	req->disabled_plugins = info->disabled_plugins; /* NULL: ask per plugin */
	memset(info, 0, sizeof(*info));
	req->authenticated = true;
}

int ogc_auth_authenticate(og_req *req)
{
	const og_host_api *host = ogc_host_api();
	char token[TOKEN_HEX + 1];
	const char *params[1];
	const char *tok;
	size_t len;
	PGresult *res;
	ogc_auth_info info;
	ogc_auth_stamp stamp;

	if (bearer_token(host->header(req, "Authorization"), &tok, &len) != 0) {
		ogc_req_reply_error(req, 401, "unauthorized", "missing or malformed bearer token",
		                    NULL);
		return 401;
	}
	if (!token_well_formed(tok, len)) {
		ogc_req_reply_error(req, 401, "invalid_token", invalid_token_msg, NULL);
		return 401;
	}
	memcpy(token, tok, len);
	token[len] = '\0';
	if (ogc_auth_cache_get(req, token, &info) == 1) {
		become(req, &info);
		return 0;
	}
	/* Read before the query: a change committed meanwhile bumps past it
	 * and the entry stored below is never used. */
	stamp = ogc_auth_cache_stamp(req);
	params[0] = token;
	res = ogc_req_exec(req, authenticate_sql, 1, params);
	if (res == NULL)
		return req->status ? req->status : 503;
	if (PQntuples(res) != 1) {
		PQclear(res);
		ogc_req_reply_error(req, 401, "invalid_token", invalid_token_msg, NULL);
		return 401;
	}
	memset(&info, 0, sizeof(info));
	info.user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	info.username = strdup(PQgetvalue(res, 0, 1));
	info.role = strdup(PQgetvalue(res, 0, 2));
	info.scope_region_id = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
	info.scope_path = strdup(PQgetvalue(res, 0, 4));
	info.district_id = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
	info.permissions = json_loads(PQgetvalue(res, 0, 6), 0, NULL);
	info.disabled_plugins = json_loads(PQgetvalue(res, 0, 7), 0, NULL);
	if (!json_is_array(info.permissions) || info.username == NULL || info.role == NULL ||
	    info.scope_path == NULL) {
		ogc_auth_info_clear(&info);
		PQclear(res);
		ogc_log(OG_LOG_ERROR, "authenticate: out of memory or bad permission list");
		ogc_req_reply_error(req, 500, "internal", "internal error", NULL);
		return 500;
	}
	ogc_auth_cache_put(req, token, stamp, strtod(PQgetvalue(res, 0, 8), NULL), &info);
	PQclear(res);
	become(req, &info);
	return 0;
}

bool ogc_auth_has_permission(const og_req *req, const char *code)
{
	size_t i;
	json_t *v;

	if (strcmp(code, OG_PERM_PUBLIC) == 0)
		return true;
	if (!req->authenticated)
		return false;
	if (strcmp(code, OG_PERM_AUTHENTICATED) == 0)
		return true;
	if (req->caller.role != NULL && strcmp(req->caller.role, ADMIN_ROLE) == 0)
		return true;
	json_array_foreach(req->permissions, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), code) == 0)
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* POST /api/v1/auth/login */

/*
 * Seconds until the caller may try again, 0 if not rate limited.  Counts
 * failed attempts inside the window per username and per address; when
 * either has reached max, the wait lasts until the max-th newest of those
 * failures leaves the window (the oldest counted one when the count is
 * exactly max, which is the usual case since refused attempts are not
 * recorded).  -1 on a database error (reply set).
 */
static const char rate_sql[] =
        "WITH f AS ("
        "  SELECT a.at, a.username = $1 AS by_user, a.address = $2 AS by_addr "
        "  FROM core.login_attempt a "
        "  WHERE NOT a.success AND a.at > now() - $3::int * interval '1 second' "
        "    AND (a.username = $1 OR a.address = $2)), "
        "k AS ("
        "  (SELECT f.at FROM f WHERE f.by_user ORDER BY f.at DESC OFFSET $4::int - 1 LIMIT 1) "
        "  UNION ALL "
        "  (SELECT f.at FROM f WHERE f.by_addr ORDER BY f.at DESC OFFSET $4::int - 1 LIMIT 1)) "
        "SELECT coalesce(max(greatest(1, ceil(extract(epoch FROM "
        "       k.at + $3::int * interval '1 second' - now())))), 0)::bigint FROM k";

static long login_retry_after(og_req *req, const og_host_api *host, const char *username,
                              const char *address)
{
	char window[16], max[16];
	const char *params[4];
	og_result *r;
	long wait;

	if (req->cfg == NULL || req->cfg->login_max_failures <= 0 || req->cfg->login_window_s <= 0)
		return 0;
	snprintf(window, sizeof(window), "%d", req->cfg->login_window_s);
	snprintf(max, sizeof(max), "%d", req->cfg->login_max_failures);
	params[0] = username;
	params[1] = address;
	params[2] = window;
	params[3] = max;
	r = host->query(req, rate_sql, 4, params);
	if (r == NULL)
		return -1;
	wait = (long)host->result_int64(r, 0, 0);
	host->result_free(r);
	return wait;
}

/*
 * Records one verified attempt.  Why it survives a 401: the router opens no
 * transaction for OG_PERM_PUBLIC routes (the lead's rule), so this INSERT
 * commits on its own.  Should the login ever run inside the request's
 * transaction, a failed attempt is committed here explicitly (COMMIT, then a
 * fresh BEGIN the host rolls back), because a rate limit whose failures are
 * rolled back would never trigger.
 */
static int record_attempt(og_req *req, const og_host_api *host, const char *username,
                          const char *address, bool success)
{
	const char *params[3] = {username, address, success ? "t" : "f"};
	og_result *r;

	r = host->query(req,
	                "INSERT INTO core.login_attempt (username, address, success) "
	                "VALUES ($1, $2, $3::boolean)",
	                3, params);
	if (r == NULL)
		return -1;
	host->result_free(r);
	if (!success && req->in_tx) {
		r = host->query(req, "COMMIT", 0, NULL);
		if (r == NULL)
			return -1;
		host->result_free(r);
		r = host->query(req, "BEGIN", 0, NULL);
		if (r == NULL)
			return -1;
		host->result_free(r);
	}
	return 0;
}

/* A required non-empty string member of body, bounded; NULL after a 422. */
static const char *login_field(og_req *req, const og_host_api *host, json_t *body, const char *name,
                               size_t max)
{
	json_t *v = json_object_get(body, name);
	char msg[96];

	if (!json_is_string(v) || json_string_length(v) == 0) {
		snprintf(msg, sizeof(msg), "%s is required", name);
		host->reply_error(req, 422, "invalid", msg, name);
		return NULL;
	}
	if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(msg, sizeof(msg), "%s is too long or contains NUL", name);
		host->reply_error(req, 422, "invalid", msg, name);
		return NULL;
	}
	return json_string_value(v);
}

static void login_handler(og_req *req, const og_host_api *host)
{
	json_t *body = host->body(req);
	const char *username, *password, *address;
	const char *params[4];
	char token[TOKEN_HEX + 1], ttl[16], num[24];
	og_result *user = NULL, *tok = NULL;
	json_t *reply, *juser;
	long wait;
	bool found, ok;

	if (body != NULL && !json_is_object(body)) {
		host->reply_error(req, 400, "bad_request", "request body must be a JSON object",
		                  NULL);
		return;
	}
	username = login_field(req, host, body, "username", LOGIN_USERNAME_MAX);
	if (username == NULL)
		return;
	password = login_field(req, host, body, "password", LOGIN_PASSWORD_MAX);
	if (password == NULL)
		return;
	address = req->client_addr[0] != '\0' ? req->client_addr : "unknown";

	wait = login_retry_after(req, host, username, address);
	if (wait < 0)
		return;
	if (wait > 0) {
		snprintf(num, sizeof(num), "%ld", wait);
		host->set_header(req, "Retry-After", num);
		host->reply_error(req, 429, "rate_limited",
		                  "too many failed logins; try again later", NULL);
		return;
	}

	params[0] = username;
	user = host->query(req,
	                   "SELECT id, username, display_name, role, scope_region_id, "
	                   "       password_hash, active "
	                   "FROM core.app_user WHERE username = $1",
	                   1, params);
	if (user == NULL)
		return;
	found = host->result_rows(user) == 1;
	/* Always spend one argon2 verification: same time for every failure. */
	ok = ogc_auth_verify_password(found ? host->result_text(user, 0, 5) : dummy_hash, password);
	ok = ok && found && host->result_bool(user, 0, 6);
	if (record_attempt(req, host, username, address, ok) != 0)
		goto out;
	if (!ok) {
		host->reply_error(req, 401, "invalid_credentials", "invalid username or password",
		                  NULL);
		goto out;
	}

	if (new_token(token) != 0) {
		host->reply_error(req, 500, "internal", "could not generate a token", NULL);
		goto out;
	}
	snprintf(ttl, sizeof(ttl), "%d", req->cfg != NULL ? req->cfg->token_ttl_s : 3600);
	params[0] = host->result_text(user, 0, 0);
	params[1] = token;
	params[2] = ttl;
	tok = host->query(req,
	                  "INSERT INTO core.token (user_id, token_hash, expires_at) "
	                  "VALUES ($1::bigint, sha256(convert_to($2, 'UTF8')), "
	                  "        now() + $3::int * interval '1 second') "
	                  "RETURNING to_char(expires_at AT TIME ZONE 'UTC', "
	                  "                  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
	                  3, params);
	if (tok == NULL)
		goto out;

	/* The login is audited as done by the user who logged in: the caller of
	 * a public route is empty, so lend it the user for this one row. */
	req->caller.user_id = host->result_int64(user, 0, 0);
	req->caller.username = host->result_text(user, 0, 1);
	snprintf(num, sizeof(num), "%lld", (long long)req->caller.user_id);
	if (ogc_audit_write(req, "login", "user", num, host->result_int64(user, 0, 4), NULL,
	                    NULL) != 0) {
		req->caller.user_id = 0;
		req->caller.username = NULL;
		goto out;
	}
	req->caller.user_id = 0;
	req->caller.username = NULL;

	juser = json_pack("{s:I, s:s, s:s, s:s, s:o}", "id",
	                  (json_int_t)host->result_int64(user, 0, 0), "username",
	                  host->result_text(user, 0, 1), "display_name",
	                  host->result_text(user, 0, 2), "role", host->result_text(user, 0, 3),
	                  "scope_region_id",
	                  host->result_text(user, 0, 4) == NULL
	                          ? json_null()
	                          : json_integer((json_int_t)host->result_int64(user, 0, 4)));
	reply = json_pack("{s:s, s:s, s:s, s:o}", "token", token, "token_type", "Bearer",
	                  "expires_at", host->result_text(tok, 0, 0), "user", juser);
	host->reply_json(req, 200, reply);
out:
	if (tok != NULL)
		host->result_free(tok);
	host->result_free(user);
}

/* ------------------------------------------------------------------ */
/* POST /api/v1/auth/logout, GET /api/v1/me */

static void logout_handler(og_req *req, const og_host_api *host)
{
	const og_caller *c = host->caller(req);
	char token[TOKEN_HEX + 1], num[24];
	const char *params[1];
	const char *tok;
	size_t len;
	og_result *r;

	/* What the token query reads changes: other workers must ask again. */
	ogc_auth_cache_invalidate(req);
	/* The router authenticated this very header, so it is well formed. */
	if (c == NULL || bearer_token(host->header(req, "Authorization"), &tok, &len) != 0 ||
	    !token_well_formed(tok, len)) {
		host->reply_error(req, 401, "unauthorized", "missing or malformed bearer token",
		                  NULL);
		return;
	}
	memcpy(token, tok, len);
	token[len] = '\0';
	params[0] = token;
	r = host->query(req,
	                "UPDATE core.token SET revoked_at = now() "
	                "WHERE token_hash = sha256(convert_to($1, 'UTF8')) AND revoked_at IS NULL",
	                1, params);
	if (r == NULL)
		return;
	host->result_free(r);
	snprintf(num, sizeof(num), "%lld", (long long)c->user_id);
	if (host->audit(req, "logout", "user", num, c->scope_region_id, NULL, NULL) != 0)
		return;
	host->reply_json(req, 200, json_pack("{s:b}", "revoked", 1));
}

static void me_handler(og_req *req, const og_host_api *host)
{
	const og_caller *c = host->caller(req);
	char id[24];
	const char *params[1] = {id};
	json_t *me = NULL;
	int n;

	if (c == NULL) {
		host->reply_error(req, 401, "unauthorized", "missing or malformed bearer token",
		                  NULL);
		return;
	}
	snprintf(id, sizeof(id), "%lld", (long long)c->user_id);
	n = host->query_json(req,
	                     "SELECT json_build_object('id', u.id, 'username', u.username, "
	                     "  'display_name', u.display_name, 'role', u.role, "
	                     "  'scope', CASE WHEN r.id IS NULL THEN NULL ELSE json_build_object("
	                     "    'id', r.id, 'name', r.name, 'level', r.level, "
	                     "    'path', r.path::text) END) "
	                     "FROM core.app_user u LEFT JOIN core.region r "
	                     "  ON r.id = u.scope_region_id WHERE u.id = $1::bigint",
	                     1, params, &me);
	if (n < 0)
		return;
	if (n == 0 || !json_is_object(me)) {
		json_decref(me);
		host->reply_error(req, 401, "invalid_token", invalid_token_msg, NULL);
		return;
	}
	json_object_set_new(me, "district_id",
	                    c->district_id != 0 ? json_integer((json_int_t)c->district_id)
	                                        : json_null());
	json_object_set_new(me, "permissions",
	                    json_is_array(req->permissions) ? json_deep_copy(req->permissions)
	                                                    : json_array());
	host->reply_json(req, 200, me);
}

void ogc_auth_register_routes(void)
{
	/*
	 * Login is OG_PERM_PUBLIC, and the router runs public routes outside a
	 * request transaction: that is what lets a failed login's attempt row
	 * survive its 401 (see record_attempt).
	 */
	ogc_router_add(NULL, OG_POST, "/api/v1/auth/login", OG_PERM_PUBLIC, login_handler,
	               "Log in with username and password; returns a bearer token");
	ogc_router_describe(
	        OG_POST, "/api/v1/auth/login",
	        "{\"requestBody\": {\"required\": true, \"content\": {\"application/json\": "
	        "{\"schema\": {\"type\": \"object\", \"required\": [\"username\", \"password\"], "
	        "\"properties\": {\"username\": {\"type\": \"string\", \"maxLength\": 256}, "
	        "\"password\": {\"type\": \"string\", \"maxLength\": 1024}}}}}}}");
	ogc_router_add(NULL, OG_POST, "/api/v1/auth/logout", OG_PERM_AUTHENTICATED, logout_handler,
	               "Revoke the bearer token of this request");
	ogc_router_describe(OG_POST, "/api/v1/auth/logout", "{\"requestBody\": null}");
	ogc_router_add(NULL, OG_GET, "/api/v1/me", OG_PERM_AUTHENTICATED, me_handler,
	               "The caller: user, role, scope region, district and permissions");
}

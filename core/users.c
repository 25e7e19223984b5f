/*
 * core/users.c — managing user accounts: list, create, read and update.
 *
 * Rules enforced here: a caller sees and manages only users whose scope
 * region lies inside the caller's scope (admin users have none, so only an
 * admin sees them); a non-admin caller may only create or change users of a
 * role ranked strictly below its own and may only hand out scope regions
 * inside its own scope; an update carries the version it read.  Changing a
 * password, role or scope, or deactivating a user, revokes the user's
 * tokens.  Every write is audited with before and after images, which never
 * hold the password hash.
 *
 * Not here: logging in and tokens (auth.c), the permission a route needs
 * (declared below, checked by the router), deleting users (users are
 * deactivated, never deleted: audit rows and plugin rows refer to them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define ADMIN_ROLE "admin"
#define USERNAME_MAX 64
#define PASSWORD_MIN 8
#define PASSWORD_MAX 256 /* characters */
#define DISPLAY_MAX 100  /* characters */
#define ROLE_MAX 64      /* bytes */
#define Q_MAX 100        /* characters */
#define PASSWORD_HASH_MAX 128

/* The API's picture of a user: core.app_user u LEFT JOIN core.region r. */
#define USER_JSON                                                                \
	"json_build_object('id', u.id, 'username', u.username, "                 \
	"'display_name', u.display_name, 'role', u.role, "                       \
	"'scope_region_id', u.scope_region_id, 'scope_name', r.name, "           \
	"'active', u.active, 'version', u.version, 'created_at', u.created_at, " \
	"'updated_at', u.updated_at)"

/* ------------------------------------------------------------------ */
/* small checks */

static bool is_admin(const og_caller *c)
{
	return c->role != NULL && strcmp(c->role, ADMIN_ROLE) == 0;
}

static const char *scope_of(const og_caller *c)
{
	return c->scope_path != NULL ? c->scope_path : "";
}

/* ^[A-Za-z0-9_.@-]{1,64}$, the same rule as the table's CHECK. */
static bool valid_username(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > USERNAME_MAX)
		return false;
	for (; *s != '\0'; s++) {
		char ch = *s;

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '@' || ch == '-'))
			return false;
	}
	return true;
}

static bool caller_ok(og_req *req, const og_host_api *host, const og_caller *c)
{
	if (c == NULL || c->role == NULL) {
		host->reply_error(req, 401, "unauthorized", "missing or malformed bearer token",
		                  NULL);
		return false;
	}
	return true;
}

static void invalid(og_req *req, const og_host_api *host, const char *field, const char *msg)
{
	host->reply_error(req, 422, "invalid", msg, field);
}

/*
 * A string member of body.  0 absent; 1 present with *out borrowed (NULL
 * when the member is JSON null and nullable); -1 after a 422.
 */
static int string_member(og_req *req, const og_host_api *host, json_t *body, const char *name,
                         bool nullable, const char **out)
{
	json_t *v = json_object_get(body, name);
	char msg[96];

	*out = NULL;
	if (v == NULL)
		return 0;
	if (json_is_null(v) && nullable)
		return 1;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(msg, sizeof(msg), "%s must be a string", name);
		invalid(req, host, name, msg);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

/* scope_region_id: 0 absent; 1 present (*id 0 for null); -1 after a 422. */
static int scope_member(og_req *req, const og_host_api *host, json_t *body, int64_t *id)
{
	json_t *v = json_object_get(body, "scope_region_id");

	*id = 0;
	if (v == NULL)
		return 0;
	if (json_is_null(v))
		return 1;
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		invalid(req, host, "scope_region_id",
		        "scope_region_id must be a region id or null");
		return -1;
	}
	*id = (int64_t)json_integer_value(v);
	return 1;
}

static bool password_ok(og_req *req, const og_host_api *host, const char *pw)
{
	size_t n = ogc_util_utf8_len(pw);

	if (n < PASSWORD_MIN || n > PASSWORD_MAX) {
		invalid(req, host, "password", "password must be 8 to 256 characters");
		return false;
	}
	return true;
}

static bool display_ok(og_req *req, const og_host_api *host, const char *s)
{
	if (ogc_util_utf8_len(s) > DISPLAY_MAX) {
		invalid(req, host, "display_name", "display_name must be at most 100 characters");
		return false;
	}
	return true;
}

/*
 * May caller c hand out `role`?  It must exist and, unless c is an admin,
 * rank strictly below c's role.  0 yes; -1 after the reply (422, 403 or a
 * database error).
 */
static int check_role(og_req *req, const og_host_api *host, const og_caller *c, const char *role)
{
	const char *params[2] = {role, c->role};
	og_result *r;
	bool unknown, below;

	if (strlen(role) > ROLE_MAX) {
		invalid(req, host, "role", "no such role");
		return -1;
	}
	r = host->query(req,
	                "SELECT (SELECT rank FROM core.role WHERE name = $1), "
	                "       (SELECT rank FROM core.role WHERE name = $2)",
	                2, params);
	if (r == NULL)
		return -1;
	unknown = host->result_text(r, 0, 0) == NULL;
	below = host->result_text(r, 0, 1) != NULL &&
	        host->result_int64(r, 0, 0) > host->result_int64(r, 0, 1);
	host->result_free(r);
	if (unknown) {
		invalid(req, host, "role", "no such role");
		return -1;
	}
	if (!is_admin(c) && !below) {
		host->reply_error(req, 403, "forbidden",
		                  "you may only assign roles ranked below your own", "role");
		return -1;
	}
	return 0;
}

/* Is region `id` inside c's scope?  0 yes; -1 after the reply (422 or db). */
static int check_scope_region(og_req *req, const og_host_api *host, const og_caller *c, int64_t id)
{
	char sid[24];
	const char *params[2] = {sid, scope_of(c)};
	og_result *r;
	int n;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	r = host->query(req,
	                "SELECT 1 FROM core.region r WHERE r.id = $1::bigint "
	                "  AND ($2::text = '' OR r.path <@ $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return -1;
	n = host->result_rows(r);
	host->result_free(r);
	if (n == 0) {
		invalid(req, host, "scope_region_id", "no such region in your scope");
		return -1;
	}
	return 0;
}

/* An admin user has no scope; every other user has one inside c's scope. */
static int check_role_scope(og_req *req, const og_host_api *host, const og_caller *c,
                            const char *role, int64_t scope, bool scope_given)
{
	if (strcmp(role, ADMIN_ROLE) == 0) {
		if (scope != 0) {
			invalid(req, host, "scope_region_id",
			        "an admin user has no scope region: scope_region_id must be null");
			return -1;
		}
		return 0;
	}
	if (scope == 0) {
		invalid(req, host, "scope_region_id", "scope_region_id is required for this role");
		return -1;
	}
	return scope_given ? check_scope_region(req, host, c, scope) : 0;
}

static void not_found(og_req *req, const og_host_api *host)
{
	host->reply_error(req, 404, "not_found", "no such user", NULL);
}

/*
 * Loads user `id` if it is inside c's scope: 1 with *user new and *rank its
 * role's rank; 0 after a 404; -1 after a database error.
 */
static int load_user(og_req *req, const og_host_api *host, const og_caller *c, int64_t id,
                     json_t **user, int64_t *rank)
{
	char sid[24];
	const char *params[2] = {sid, scope_of(c)};
	og_result *r;

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	r = host->query(req,
	                "SELECT " USER_JSON ", ro.rank "
	                "FROM core.app_user u "
	                "LEFT JOIN core.region r ON r.id = u.scope_region_id "
	                "JOIN core.role ro ON ro.name = u.role "
	                "WHERE u.id = $1::bigint "
	                "  AND ($2::text = '' OR r.path <@ $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return -1;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		not_found(req, host);
		return 0;
	}
	*user = json_loads(host->result_text(r, 0, 0), 0, NULL);
	*rank = host->result_int64(r, 0, 1);
	host->result_free(r);
	if (*user == NULL) {
		host->reply_error(req, 500, "internal", "internal error", NULL);
		return -1;
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/users */

static void users_list(og_req *req, const og_host_api *host)
{
	const og_caller *c = host->caller(req);
	const char *role, *q;
	char cursor[24], limit[24], *pattern = NULL;
	const char *params[5];
	int64_t lim, cur, next;
	int page_limit;
	json_t *items = NULL;
	int rc;

	if (!caller_ok(req, host, c))
		return;
	if (host->page(req, &page_limit, &cur) != 0)
		return;
	lim = page_limit;
	role = host->query_param(req, "role");
	if (role != NULL && *role == '\0')
		role = NULL;
	if (role != NULL && strlen(role) > ROLE_MAX) {
		invalid(req, host, "role", "role filter too long");
		return;
	}
	q = host->query_param(req, "q");
	if (q != NULL && *q != '\0') {
		if (ogc_util_utf8_len(q) > Q_MAX) {
			invalid(req, host, "q", "q must be at most 100 characters");
			return;
		}
		/* Substring match on username or display name. */
		pattern = ogc_util_like_pattern(q, strlen(q));
		if (pattern == NULL) {
			host->reply_error(req, 500, "internal", "out of memory", NULL);
			return;
		}
	}
	snprintf(cursor, sizeof(cursor), "%lld", (long long)cur);
	snprintf(limit, sizeof(limit), "%lld", (long long)lim + 1); /* +1: is there a next page? */
	params[0] = scope_of(c);
	params[1] = cursor;
	params[2] = role;
	params[3] = pattern;
	params[4] = limit;
	rc = host->query_json(req,
	                      "SELECT coalesce(json_agg(x.j ORDER BY x.id), '[]') FROM ("
	                      "  SELECT u.id, " USER_JSON " AS j "
	                      "  FROM core.app_user u "
	                      "  LEFT JOIN core.region r ON r.id = u.scope_region_id "
	                      "  WHERE ($1::text = '' OR r.path <@ $1::text::ltree) "
	                      "    AND u.id > $2::bigint "
	                      "    AND ($3::text IS NULL OR u.role = $3::text) "
	                      "    AND ($4::text IS NULL OR u.username ILIKE $4::text "
	                      "         OR u.display_name ILIKE $4::text) "
	                      "  ORDER BY u.id LIMIT $5::int) x",
	                      5, params, &items);
	free(pattern);
	if (rc < 0)
		return;
	next = ogc_util_page_cut(&items, page_limit);
	host->reply_json(req, 200, ogc_util_list(items, next));
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/users/{id} */

static void users_get(og_req *req, const og_host_api *host)
{
	const og_caller *c = host->caller(req);
	json_t *user = NULL;
	int64_t id, rank;

	if (!caller_ok(req, host, c))
		return;
	if (host->path_id(req, "id", &id) != 0)
		return;
	if (load_user(req, host, c, id, &user, &rank) != 1)
		return;
	host->reply_json(req, 200, user);
}

/* ------------------------------------------------------------------ */
/* POST /api/v1/users */

static void users_create(og_req *req, const og_host_api *host)
{
	const og_caller *c = host->caller(req);
	json_t *body = host->body(req);
	const char *username, *password, *display = NULL, *role;
	char hash[PASSWORD_HASH_MAX], sid[24], uid[24];
	const char *params[5];
	json_t *user = NULL;
	int64_t scope;
	int has_scope, n;

	if (!caller_ok(req, host, c) || !ogc_util_body_object(req, body, true))
		return;
	if (string_member(req, host, body, "username", false, &username) < 0)
		return;
	if (username == NULL || !valid_username(username)) {
		invalid(req, host, "username",
		        "username must be 1 to 64 letters, digits or the characters _ . @ -");
		return;
	}
	if (string_member(req, host, body, "password", false, &password) < 0)
		return;
	if (password == NULL) {
		invalid(req, host, "password", "password is required");
		return;
	}
	if (!password_ok(req, host, password))
		return;
	if (string_member(req, host, body, "display_name", true, &display) < 0)
		return;
	if (display == NULL)
		display = "";
	if (!display_ok(req, host, display))
		return;
	if (string_member(req, host, body, "role", false, &role) < 0)
		return;
	if (role == NULL) {
		invalid(req, host, "role", "role is required");
		return;
	}
	if (check_role(req, host, c, role) != 0)
		return;
	has_scope = scope_member(req, host, body, &scope);
	if (has_scope < 0 || check_role_scope(req, host, c, role, scope, true) != 0)
		return;

	if (ogc_auth_hash_password(password, hash, sizeof(hash)) != 0) {
		host->reply_error(req, 500, "internal", "could not hash the password", NULL);
		return;
	}
	snprintf(sid, sizeof(sid), "%lld", (long long)scope);
	params[0] = username;
	params[1] = display;
	params[2] = hash;
	params[3] = role;
	params[4] = scope != 0 ? sid : NULL;
	n = host->query_json(req,
	                     "WITH u AS (INSERT INTO core.app_user "
	                     "  (username, display_name, password_hash, role, scope_region_id) "
	                     "  VALUES ($1, $2, $3, $4, $5::bigint) "
	                     "  ON CONFLICT (username) DO NOTHING RETURNING *) "
	                     "SELECT " USER_JSON " FROM u "
	                     "LEFT JOIN core.region r ON r.id = u.scope_region_id",
	                     5, params, &user);
	if (n < 0)
		return;
	if (n == 0) {
		host->reply_error(req, 409, "duplicate", "username is already taken", "username");
		return;
	}
	snprintf(uid, sizeof(uid), "%lld", (long long)ogc_util_json_id(user, "id"));
	if (ogc_audit_write(req, "create", "user", uid, scope, NULL, user) != 0) {
		json_decref(user);
		return;
	}
	host->reply_json(req, 201, user);
}

/* ------------------------------------------------------------------ */
/* PATCH /api/v1/users/{id} */

struct user_patch {
	bool has_display, has_password, has_role, has_scope, has_active;
	const char *display, *password, *role;
	int64_t scope; /* 0 = null */
	bool active;
};

/* Reads and checks the shape of every patchable member; -1 after a 422. */
static int read_patch(og_req *req, const og_host_api *host, json_t *body, struct user_patch *p)
{
	json_t *v;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = string_member(req, host, body, "display_name", true, &p->display);
	if (rc < 0)
		return -1;
	p->has_display = rc == 1;
	if (p->display == NULL)
		p->display = "";
	if (p->has_display && !display_ok(req, host, p->display))
		return -1;

	rc = string_member(req, host, body, "password", false, &p->password);
	if (rc < 0)
		return -1;
	p->has_password = rc == 1;
	if (p->has_password && !password_ok(req, host, p->password))
		return -1;

	rc = string_member(req, host, body, "role", false, &p->role);
	if (rc < 0)
		return -1;
	p->has_role = rc == 1;

	rc = scope_member(req, host, body, &p->scope);
	if (rc < 0)
		return -1;
	p->has_scope = rc == 1;

	v = json_object_get(body, "active");
	if (v != NULL) {
		if (!json_is_boolean(v)) {
			invalid(req, host, "active", "active must be true or false");
			return -1;
		}
		p->has_active = true;
		p->active = json_is_true(v);
	}
	return 0;
}

static void users_patch(og_req *req, const og_host_api *host)
{
	const og_caller *c = host->caller(req);
	json_t *body = host->body(req);
	json_t *before = NULL, *after = NULL;
	struct user_patch p;
	const char *old_role, *role;
	char hash[PASSWORD_HASH_MAX], sid[24], sver[24], sscope[24];
	const char *params[12];
	int64_t id, version, rank, old_scope, scope;
	bool revoke;
	int n;

	/* What the token query reads changes: other workers must ask again. */
	ogc_auth_cache_invalidate(req);
	if (!caller_ok(req, host, c))
		return;
	if (host->path_id(req, "id", &id) != 0)
		return;
	if (!ogc_util_body_object(req, body, true))
		return;
	if (host->client_version(req, body, &version) != 0)
		return;
	if (read_patch(req, host, body, &p) != 0)
		return;
	n = load_user(req, host, c, id, &before, &rank);
	if (n != 1)
		return;

	/* Only users of a lower rank may be changed by a non-admin. */
	if (!is_admin(c)) {
		const char *rp[1] = {c->role};
		og_result *r;
		bool lower;

		r = host->query(req, "SELECT rank FROM core.role WHERE name = $1", 1, rp);
		if (r == NULL)
			goto out;
		lower = host->result_rows(r) == 1 && rank > host->result_int64(r, 0, 0);
		host->result_free(r);
		if (!lower) {
			host->reply_error(req, 403, "forbidden",
			                  "you may only manage users ranked below your own role",
			                  NULL);
			goto out;
		}
	}
	old_role = json_string_value(json_object_get(before, "role"));
	old_scope = ogc_util_json_id(before, "scope_region_id");
	if (old_role == NULL)
		old_role = "";
	role = p.has_role ? p.role : old_role;
	scope = p.has_scope ? p.scope : old_scope;
	if (p.has_role && check_role(req, host, c, p.role) != 0)
		goto out;
	if (check_role_scope(req, host, c, role, scope, p.has_scope && scope != old_scope) != 0)
		goto out;
	if (p.has_password && ogc_auth_hash_password(p.password, hash, sizeof(hash)) != 0) {
		host->reply_error(req, 500, "internal", "could not hash the password", NULL);
		goto out;
	}

	snprintf(sid, sizeof(sid), "%lld", (long long)id);
	snprintf(sver, sizeof(sver), "%lld", (long long)version);
	snprintf(sscope, sizeof(sscope), "%lld", (long long)scope);
	params[0] = sid;
	params[1] = sver;
	params[2] = p.has_display ? "t" : "f";
	params[3] = p.display;
	params[4] = p.has_password ? "t" : "f";
	params[5] = p.has_password ? hash : NULL;
	params[6] = p.has_role ? "t" : "f";
	params[7] = role;
	params[8] = p.has_scope ? "t" : "f";
	params[9] = scope != 0 ? sscope : NULL;
	params[10] = p.has_active ? "t" : "f";
	params[11] = p.active ? "t" : "f";
	n = host->query_json(req,
	                     "WITH u AS (UPDATE core.app_user SET "
	                     "  display_name = CASE WHEN $3::boolean THEN $4::text "
	                     "                      ELSE display_name END, "
	                     "  password_hash = CASE WHEN $5::boolean THEN $6::text "
	                     "                       ELSE password_hash END, "
	                     "  role = CASE WHEN $7::boolean THEN $8::text ELSE role END, "
	                     "  scope_region_id = CASE WHEN $9::boolean THEN $10::bigint "
	                     "                         ELSE scope_region_id END, "
	                     "  active = CASE WHEN $11::boolean THEN $12::boolean ELSE active END, "
	                     "  version = version + 1, updated_at = now() "
	                     "  WHERE id = $1::bigint AND version = $2::int RETURNING *) "
	                     "SELECT " USER_JSON " FROM u "
	                     "LEFT JOIN core.region r ON r.id = u.scope_region_id",
	                     12, params, &after);
	if (n < 0)
		goto out;
	if (n == 0) {
		/* The row exists and is in scope (loaded above): the version is stale. */
		host->reply_error(req, 409, "version_conflict",
		                  "the user was changed since you read it; reload and retry",
		                  "version");
		goto out;
	}

	/* Whoever held this account's tokens must log in again under the new terms. */
	revoke = p.has_password || (p.has_active && !p.active) || strcmp(role, old_role) != 0 ||
	         scope != old_scope;
	if (revoke) {
		const char *rp[1] = {sid};
		og_result *r = host->query(req,
		                           "UPDATE core.token SET revoked_at = now() "
		                           "WHERE user_id = $1::bigint AND revoked_at IS NULL",
		                           1, rp);

		if (r == NULL)
			goto out;
		host->result_free(r);
	}
	if (ogc_audit_write(req, "update", "user", sid, scope, before, after) != 0)
		goto out;
	host->reply_json(req, 200, after);
	after = NULL; /* stolen */
out:
	json_decref(before);
	json_decref(after);
}

void ogc_users_register_routes(void)
{
	ogc_router_add(NULL, OG_GET, "/api/v1/users", "users.read", users_list,
	               "Users in the caller's scope (filters: role, q; keyset on id)");
	ogc_router_describe(
	        OG_GET, "/api/v1/users",
	        "{\"parameters\": [{\"name\": \"limit\", \"in\": \"query\", \"schema\": {\"type\": "
	        "\"integer\", \"minimum\": 1, \"maximum\": 500, \"default\": 50}}, {\"name\": "
	        "\"cursor\", \"in\": \"query\", \"schema\": {\"type\": \"string\"}, "
	        "\"description\": \"next_cursor of the previous page\"}, {\"name\": \"role\", "
	        "\"in\": \"query\", \"schema\": {\"type\": \"string\", \"enum\": [\"admin\", "
	        "\"district\", \"street\", \"community\", \"grid_worker\"]}}, {\"name\": \"q\", "
	        "\"in\": \"query\", \"schema\": {\"type\": \"string\", \"maxLength\": 100}, "
	        "\"description\": \"username or display name contains\"}]}");
	ogc_router_add(NULL, OG_POST, "/api/v1/users", "users.write", users_create,
	               "Create a user of a lower role inside the caller's scope");
	ogc_router_describe(
	        OG_POST, "/api/v1/users",
	        "{\"requestBody\": {\"required\": true, \"content\": {\"application/json\": "
	        "{\"schema\": {\"type\": \"object\", \"required\": [\"username\", \"password\", "
	        "\"role\"], \"properties\": {\"username\": {\"type\": \"string\", \"pattern\": "
	        "\"^[A-Za-z0-9_.@-]{1,64}$\"}, \"password\": {\"type\": \"string\", \"minLength\": "
	        "8, \"maxLength\": 256}, \"display_name\": {\"type\": \"string\", \"maxLength\": "
	        "100}, \"role\": {\"type\": \"string\", \"enum\": [\"admin\", \"district\", "
	        "\"street\", \"community\", \"grid_worker\"]}, \"scope_region_id\": {\"type\": "
	        "[\"integer\", \"null\"], \"description\": \"required for every role but admin; "
	        "inside the caller's scope\"}}}}}}}");
	ogc_router_add(NULL, OG_GET, "/api/v1/users/{id}", "users.read", users_get,
	               "One user in the caller's scope");
	ogc_router_add(NULL, OG_PATCH, "/api/v1/users/{id}", "users.write", users_patch,
	               "Change a user's display name, password, role, scope or active flag "
	               "(needs the version read)");
	ogc_router_describe(
	        OG_PATCH, "/api/v1/users/{id}",
	        "{\"parameters\": [{\"name\": \"If-Match\", \"in\": \"header\", \"schema\": "
	        "{\"type\": \"string\"}, \"description\": \"the version read, instead of "
	        "body.version\"}], \"requestBody\": {\"required\": true, \"content\": "
	        "{\"application/json\": {\"schema\": {\"type\": \"object\", \"properties\": "
	        "{\"version\": {\"type\": \"integer\", \"minimum\": 1}, \"display_name\": "
	        "{\"type\": [\"string\", \"null\"], \"maxLength\": 100}, \"password\": {\"type\": "
	        "\"string\", \"minLength\": 8, \"maxLength\": 256}, \"role\": {\"type\": "
	        "\"string\", \"enum\": [\"admin\", \"district\", \"street\", \"community\", "
	        "\"grid_worker\"]}, \"scope_region_id\": {\"type\": [\"integer\", \"null\"]}, "
	        "\"active\": {\"type\": \"boolean\"}}}}}}}");
}

/*
 * core/roles.c — which role holds which permission.
 *
 * Default grants come from the registrations (core and plugins) when a
 * permission first appears; a district's administrator changes them here,
 * e.g. granting residents.read_sensitive to community workers.  The admin
 * role holds everything and cannot be changed.  Audited like any write.
 */
#include <string.h>

#include "core.h"

static void roles_list(og_req *req, const og_host_api *host)
{
	json_t *out;

	if (host->query_json(
	            req,
	            "SELECT json_build_object('items', coalesce(json_agg(json_build_object("
	            "'name', r.name, 'label', r.label, 'rank', r.rank, 'permissions', "
	            "CASE WHEN r.name = 'admin' THEN (SELECT json_agg(code ORDER BY code) "
	            "FROM core.permission) ELSE (SELECT coalesce(json_agg(permission "
	            "ORDER BY permission), '[]') FROM core.role_permission p "
	            "WHERE p.role = r.name) END) ORDER BY r.rank), '[]'))"
	            " FROM core.role r",
	            0, NULL, &out) < 0)
		return;
	host->reply_json(req, 200, out);
}

static void grant(og_req *req, const og_host_api *host, bool on)
{
	const char *role = host->path_param(req, "role");
	const char *code = host->path_param(req, "code");
	const char *p[2] = {role, code};
	json_t *state;
	og_result *r;

	/* What the token query reads changes: other workers must ask again. */
	ogc_auth_cache_invalidate(req);
	if (strcmp(role, "admin") == 0) {
		host->reply_error(req, 422, "invalid", "the admin role holds every permission",
		                  "role");
		return;
	}
	r = host->query(req,
	                "SELECT (SELECT 1 FROM core.role WHERE name = $1), "
	                "(SELECT 1 FROM core.permission WHERE code = $2)",
	                2, p);
	if (r == NULL)
		return;
	if (host->result_text(r, 0, 0) == NULL || host->result_text(r, 0, 1) == NULL) {
		bool no_role = host->result_text(r, 0, 0) == NULL;
		host->result_free(r);
		host->reply_error(req, 404, "not_found",
		                  no_role ? "no such role" : "no such permission",
		                  no_role ? "role" : "code");
		return;
	}
	host->result_free(r);
	r = host->query(req,
	                on ? "INSERT INTO core.role_permission (role, permission) VALUES ($1, $2) "
	                     "ON CONFLICT DO NOTHING"
	                   : "DELETE FROM core.role_permission WHERE role = $1 AND permission = $2",
	                2, p);
	if (r == NULL)
		return;
	host->result_free(r);
	state = json_pack("{s:s, s:s, s:b}", "role", role, "permission", code, "granted", on);
	if (host->audit(req, on ? "grant" : "revoke", "role", role, 0, NULL, state) != 0) {
		json_decref(state);
		return;
	}
	host->reply_json(req, 200, state);
}

static void grant_put(og_req *req, const og_host_api *host)
{
	grant(req, host, true);
}

static void grant_delete(og_req *req, const og_host_api *host)
{
	grant(req, host, false);
}

void ogc_roles_register_routes(void)
{
	ogc_router_add(NULL, OG_GET, "/api/v1/roles", OG_PERM_AUTHENTICATED, roles_list,
	               "Roles and the permissions each holds");
	ogc_router_add(NULL, OG_PUT, "/api/v1/roles/{role}/permissions/{code}", "roles.manage",
	               grant_put, "Grant a permission to a role");
	ogc_router_describe(OG_PUT, "/api/v1/roles/{role}/permissions/{code}",
	                    "{\"requestBody\": null}");
	ogc_router_add(NULL, OG_DELETE, "/api/v1/roles/{role}/permissions/{code}", "roles.manage",
	               grant_delete, "Revoke a permission from a role");
}

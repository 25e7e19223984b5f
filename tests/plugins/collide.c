/*
 * tests/plugins/collide.c — a fixture plugin registering the same route
 * twice and ignoring the host's refusal.
 *
 * For: the tests that the router refuses a colliding route (naming both
 * owners) and that the loader refuses a plugin any of whose registrations
 * failed, even though its init returned 0.  Not for: anything else.
 */
#include <stddef.h>

#include <onegrid/plugin.h>

static const char *const collide_roles[] = {"district", "street", "community", "grid_worker",
                                            NULL};

static void collide_x(og_req *req, const og_host_api *host)
{
	host->reply_json(req, 200, json_pack("{s:b}", "collide", 1));
}

static int collide_init(og_plugin *self, const og_host_api *host)
{
	if (host->register_permission(self, "collide.x", "冲突测试", collide_roles) < 0)
		return -1;
	/* Deliberately careless: the second call is refused and its result
	 * ignored; the loader must notice anyway. */
	(void)host->register_route(self, OG_GET, "/api/v1/collide/x", "collide.x", collide_x,
	                           "first registration");
	(void)host->register_route(self, OG_GET, "/api/v1/collide/x", "collide.x", collide_x,
	                           "second registration: collides");
	return 0;
}

OG_PLUGIN_DEFINE("collide", "1.0.0", "路由冲突测试插件", NULL, collide_init, NULL);

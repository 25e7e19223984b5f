/*
 * tests/api/oot/hello.c — the smallest plugin, built OUT of the OneGrid
 * tree against the installed SDK, exactly as docs/plugin-guide.md says:
 *
 *   cc -std=c11 -Wall -Wextra -shared -fPIC -fvisibility=hidden \
 *      -Wl,--no-undefined -o hello.so hello.c \
 *      $(pkg-config --cflags --libs onegrid-plugin)
 *
 * For: the API test that the installed headers and onegrid-plugin.pc are
 * enough to build a plugin that onegridd loads and serves
 * (GET /api/v1/hello/ping answers {"pong": true}).  Not for: being a
 * template; plugins/example is that.
 */
#include <stddef.h>

#include <onegrid/plugin.h>

static const char *const hello_roles[] = {"district", "street", "community", "grid_worker",
                                          NULL};

/* GET /api/v1/hello/ping */
static void hello_ping(og_req *req, const og_host_api *host)
{
	host->reply_json(req, 200, json_pack("{s:b}", "pong", 1)); /* steals the new object */
}

static int hello_init(og_plugin *self, const og_host_api *host)
{
	if (host->register_permission(self, "hello.ping", "连通测试", hello_roles) < 0 ||
	    host->register_route(self, OG_GET, "/api/v1/hello/ping", "hello.ping", hello_ping,
	                         "Answer {\"pong\": true}") < 0)
		return -1;
	return 0;
}

OG_PLUGIN_DEFINE("hello", "1.0.0", "连通测试插件", NULL, hello_init, NULL);

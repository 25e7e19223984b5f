/*
 * tests/plugins/failing_init.c — a fixture plugin whose init fails.
 *
 * For: the loader test that a failing init stops onegridd from starting
 * (exit status non-zero, the plugin and its file named in the log).  Not
 * for: anything else.
 */
#include <onegrid/plugin.h>

static int failing_init_init(og_plugin *self, const og_host_api *host)
{
	(void)self;
	/* A plugin logs why before returning -1; the loader adds the file. */
	host->log(OG_LOG_ERROR, "failing_init: refusing to start (test fixture)");
	return -1;
}

OG_PLUGIN_DEFINE("failing_init", "1.0.0", "初始化失败测试插件", NULL, failing_init_init, NULL);

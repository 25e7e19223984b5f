/*
 * tests/plugins/needs_missing.c — a fixture plugin depending on a plugin
 * that is never loaded.
 *
 * For: the loader test that an unmet dependency is refused before any
 * plugin code runs ("depends on nonexistent, which is not loaded").  Not
 * for: anything else.
 */
#include <stddef.h>

#include <onegrid/plugin.h>

static const char *const needs_missing_depends[] = {"nonexistent", NULL};

/* Never called: the loader must refuse the plugin first. */
static int needs_missing_init(og_plugin *self, const og_host_api *host)
{
	(void)self;
	host->log(OG_LOG_ERROR, "needs_missing: init ran without its dependency");
	return -1;
}

OG_PLUGIN_DEFINE("needs_missing", "1.0.0", "缺少依赖测试插件", needs_missing_depends,
                 needs_missing_init, NULL);

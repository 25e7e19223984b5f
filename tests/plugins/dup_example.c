/*
 * tests/plugins/dup_example.c — a fixture plugin whose descriptor claims the
 * name "example" although its file is dup_example.so.
 *
 * For: the loader tests of name clashes.  Loaded after the real example
 * plugin it is refused as a duplicate ("duplicate plugin name example
 * (already loaded from .../example.so)"); loaded alone it is refused because
 * a plugin's file must be named after it.  Not for: anything else.
 */
#include <onegrid/plugin.h>

/* Never called: the loader must refuse the plugin first. */
static int dup_example_init(og_plugin *self, const og_host_api *host)
{
	(void)self;
	host->log(OG_LOG_ERROR, "dup_example: init ran although the name is taken");
	return -1;
}

OG_PLUGIN_DEFINE("example", "1.0.0", "重名测试插件", NULL, dup_example_init, NULL);

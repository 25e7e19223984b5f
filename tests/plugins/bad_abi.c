/*
 * tests/plugins/bad_abi.c — a fixture plugin built for a plugin ABI this
 * onegridd does not provide (major 99).
 *
 * For: the loader test that a plugin from another ABI is refused before any
 * of its code runs, with a log line naming the file and both versions.
 * Not for: anything else; never installed.  The descriptor is written out
 * by hand instead of with OG_PLUGIN_DEFINE so it can lie about its ABI.
 */
#include <onegrid/plugin.h>

/* Never called: the loader must refuse the plugin first. */
static int bad_abi_init(og_plugin *self, const og_host_api *host)
{
	(void)self;
	host->log(OG_LOG_ERROR, "bad_abi: init ran although the ABI is wrong");
	return -1;
}

OG_EXPORT const og_plugin_descriptor og_plugin_desc = {
    .magic = OG_PLUGIN_MAGIC,
    .abi_major = 99,
    .abi_minor = 0,
    .size = (uint32_t)sizeof(og_plugin_descriptor),
    .name = "bad_abi",
    .version = "1.0.0",
    .title = "错误ABI测试插件",
    .depends = NULL,
    .init = bad_abi_init,
    .fini = NULL,
};

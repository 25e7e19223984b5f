/*
 * plugins/women/women.c — 妇联: placeholder until the plugin lands; it
 * loads and registers its migration only.
 */
#include <onegrid/plugin.h>

#include "women_migrations.c"

static int women_init(og_plugin *self, const og_host_api *host)
{
	for (size_t i = 0; i < women_migrations_count; i++)
		if (host->register_migration(self, women_migrations[i].version,
		                             women_migrations[i].name, women_migrations[i].sql) != 0)
			return -1;
	return 0;
}

OG_PLUGIN_DEFINE("women", "0.1.0", "妇联", NULL, women_init, NULL);

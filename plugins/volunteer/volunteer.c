/*
 * plugins/volunteer/volunteer.c — 志愿服务: placeholder until the plugin lands; it
 * loads and registers its migration only.
 */
#include <onegrid/plugin.h>

#include "volunteer_migrations.c"

static int volunteer_init(og_plugin *self, const og_host_api *host)
{
	for (size_t i = 0; i < volunteer_migrations_count; i++)
		if (host->register_migration(self, volunteer_migrations[i].version,
		                             volunteer_migrations[i].name, volunteer_migrations[i].sql) != 0)
			return -1;
	return 0;
}

OG_PLUGIN_DEFINE("volunteer", "0.1.0", "志愿服务", NULL, volunteer_init, NULL);

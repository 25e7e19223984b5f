/*
 * plugins/civil/civil.c — civil affairs (民政): placeholder until the
 * plugin lands; it loads and registers its migration only.
 */
#include <onegrid/plugin.h>

#include "civil_migrations.c"

static int civil_init(og_plugin *self, const og_host_api *host)
{
	for (size_t i = 0; i < civil_migrations_count; i++)
		if (host->register_migration(self, civil_migrations[i].version,
		                             civil_migrations[i].name, civil_migrations[i].sql) != 0)
			return -1;
	return 0;
}

OG_PLUGIN_DEFINE("civil", "0.1.0", "民政", NULL, civil_init, NULL);

/*
 * plugins/party/party.c — 党建: placeholder until the plugin lands; it
 * loads and registers its migration only.
 */
#include <onegrid/plugin.h>

#include "party_migrations.c"

static int party_init(og_plugin *self, const og_host_api *host)
{
	for (size_t i = 0; i < party_migrations_count; i++)
		if (host->register_migration(self, party_migrations[i].version,
		                             party_migrations[i].name, party_migrations[i].sql) != 0)
			return -1;
	return 0;
}

OG_PLUGIN_DEFINE("party", "0.1.0", "党建", NULL, party_init, NULL);

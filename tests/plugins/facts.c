/*
 * tests/plugins/facts.c — a fixture plugin whose indicators use the facts
 * form (ABI 1.3), for tests/api/test_reports_facts.py.
 *
 * For: a table facts.item (grid_id, kind, amount) the test fills, and
 *   facts.items        count of the region's items,
 *   facts.red          the red ones (fact_filter),
 *   facts.amount       their amounts summed, 0.00 for a grid without any
 *                      (fact_value with its zero),
 *   facts.amount_red   the red ones' amounts (filter and value, no zero),
 * all four over one facts_sql text, which numbers every row it returns
 * from the sequence facts.runs: the test reads how many rows the facts
 * returned for a summary, which is the region's items when the four share
 * one run (four times that if each ran its own);
 *   facts.blue         count of blue items from a second facts_sql that
 *                      does not filter by region (the core must).
 * Each indicator's `sql` (what a
 * host before ABI 1.3 runs) answers 1000 per grid on purpose, so that a
 * summary showing the facts' figures shows the facts form ran.
 * Not for: anything a district runs; never installed.
 */
#include <onegrid/plugin.h>

static const char facts_migration[] =
        "CREATE TABLE facts.item (id bigserial PRIMARY KEY, grid_id bigint NOT NULL,"
        " kind text NOT NULL, amount numeric(8, 2)); CREATE SEQUENCE facts.runs;";

/* Not the facts' figure, on purpose (see above). */
#define FACTS_OLD_SQL "SELECT g.id, 1000 FROM core.region g WHERE g.level = 'grid'"
#define FACTS_ITEMS                                                                         \
	"SELECT i.grid_id, i.kind, i.amount, nextval('facts.runs') AS run FROM facts.item i" \
	" JOIN core.region g ON g.id = i.grid_id WHERE g.path <@ $2::ltree"

static const og_indicator_def facts_indicators[] = {
        {.code = "facts.items",
         .label = "条目数",
         .unit = "条",
         .sql = FACTS_OLD_SQL,
         .facts_sql = FACTS_ITEMS},
        {.code = "facts.red",
         .label = "红色条目数",
         .unit = "条",
         .sql = FACTS_OLD_SQL,
         .facts_sql = FACTS_ITEMS,
         .fact_filter = "f.kind = 'red'"},
        {.code = "facts.amount",
         .label = "金额",
         .unit = "元",
         .sql = FACTS_OLD_SQL,
         .facts_sql = FACTS_ITEMS,
         .fact_value = "coalesce(f.amount, 0.00)"},
        {.code = "facts.amount_red",
         .label = "红色金额",
         .unit = "元",
         .sql = FACTS_OLD_SQL,
         .facts_sql = FACTS_ITEMS,
         .fact_filter = "f.kind = 'red'",
         .fact_value = "f.amount"},
        {.code = "facts.blue",
         .label = "蓝色条目数",
         .unit = "条",
         .sql = FACTS_OLD_SQL,
         .facts_sql = "SELECT i.grid_id FROM facts.item i WHERE i.kind = 'blue'"},
};

static int facts_init(og_plugin *self, const og_host_api *host)
{
	if (host->register_migration(self, 1, "0001_item", facts_migration) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(facts_indicators) / sizeof(facts_indicators[0]); i++)
		if (host->register_indicator(self, &facts_indicators[i]) < 0)
			return -1;
	return 0;
}

OG_PLUGIN_DEFINE("facts", "1.0.0", "事实测试", NULL, facts_init, NULL);

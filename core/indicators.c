/*
 * core/indicators.c — the core's own indicators over the shared model:
 * households, residents by life status, by residence status, by age band,
 * by core tag, women and men, and two declared ratios.
 *
 * For: declaring them once, as predicates over four small codes that
 * classify a resident on the report date (see ST, BAND, SEX, RES below),
 * and deriving from each predicate the SQL texts that must agree: the
 * per-grid `sql` the registry keeps (as a plugin's would be), the
 * `rows_sql` behind the figure (traceability), and the fused statement
 * part the reports engine runs instead of twenty separate scans: one
 * pass over core.resident counting residents per grid and per code
 * combination, one counting households, one over core.resident_tag.
 * Because all of them use the same code expressions and predicate text,
 * the rows behind a figure are exactly the rows it counts.
 *
 * Not for: rolling figures up the region tree, ratios or output (the
 * engine in reports.c does that for core and plugin indicators alike).
 *
 * The report date: ages are ages on that date, a resident born after it
 * is not counted, and a resident who moved out or died after it still
 * counts as active on it (life_status_date); the register itself is the
 * current one (a row recorded later for someone who lived there earlier is
 * counted, as it should be for data entered after the fact).
 *
 * Every string built here is allocated once at start-up and kept for the
 * life of the process (the registry borrows them).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/*
 * Every resident is classified on the report date by four small codes,
 * computed by the same SQL expressions wherever a figure or its rows are
 * computed (r = core.resident):
 *   st   life status on the day: 0 not born yet, 1 active, 2 moved out,
 *        3 deceased (a move-out or death dated after the day is still
 *        active on it; an undated one counts as done);
 *   band age on the day: 0 = 0-3, 1 = 4-9, 2 = 10-14, 3 = 15-59,
 *        4 = 60-79, 5 = 80+, 6 unknown birth date;
 *   sex  1 female, 2 male, 0 unknown;  res  1 registered, 2 resident,
 *        3 floating.
 * The thresholds are expressions of $1 that the planner folds to
 * constants: r.birth_date <= ($1 - N years) means "at least N years old
 * on the day" (Feb 29 birthdays follow PostgreSQL's date arithmetic).
 * An indicator is a predicate over those codes (x.st, x.band, ...).
 */
#define DAY "$1::date"
#define Y(n) "($1::date - interval '" #n " years')::date"
#define ST                                                                             \
	"CASE WHEN r.birth_date > " DAY " THEN 0 WHEN r.life_status = 'active' OR "    \
	"r.life_status_date > " DAY " THEN 1 WHEN r.life_status = 'moved_out' THEN 2 " \
	"WHEN r.life_status = 'deceased' THEN 3 END"
#define BAND                                                                                  \
	"CASE WHEN r.birth_date IS NULL THEN 6 WHEN r.birth_date > " Y(                       \
	        4) " THEN 0 "                                                                 \
	           "WHEN r.birth_date > " Y(10) " THEN 1 WHEN r.birth_date > " Y(             \
	                   15) " THEN 2 "                                                     \
	                       "WHEN r.birth_date > " Y(60) " THEN 3 WHEN r.birth_date > " Y( \
	                               80) " THEN 4 ELSE 5 END"
#define SEX "CASE r.gender WHEN 'female' THEN 1 WHEN 'male' THEN 2 ELSE 0 END"
#define RES                                                                        \
	"CASE r.residence_status WHEN 'registered' THEN 1 WHEN 'resident' THEN 2 " \
	"WHEN 'floating' THEN 3 ELSE 0 END"
/* The codes of resident r as a derived table x. */
#define CODES                                                                             \
	"CROSS JOIN LATERAL (SELECT " ST " AS st, " BAND " AS band, " SEX " AS sex, " RES \
	" AS res) x "
/* Active on the day (x.st = 1), for passes that do not derive x: written
 * as plain predicates, not as (ST) = 1, which PostgreSQL cannot estimate
 * (it guessed 0.5 % of the residents and nested-looped a million times). */
#define ACTIVE                                                                       \
	"(r.birth_date IS NULL OR r.birth_date <= " DAY ") AND (r.life_status = 'active' " \
	"OR r.life_status_date > " DAY ")"

/* The grids under the region $2 (the fused pass reads their residents). */
#define GRIDS_UNDER                                                           \
	"(SELECT og_rg.id FROM core.region og_rg WHERE og_rg.level = 'grid' " \
	"AND og_rg.path <@ $2::ltree)"

enum kind {
	K_RESIDENTS,  /* count residents whose codes match pred */
	K_HOUSEHOLDS, /* count households with an active member */
	K_TAG,        /* count active residents carrying tag */
	K_RATIO       /* numerator / denominator, computed by the engine */
};

static const struct core_indicator {
	const char *code, *label, *unit;
	enum kind kind;
	const char *pred; /* K_RESIDENTS: a predicate over x; K_TAG: the tag code */
	const char *num, *den;
} core_indicators[] = {
        {"core.households", "户数", "户", K_HOUSEHOLDS, NULL, NULL, NULL},
        {"core.residents_active", "实有人口", "人", K_RESIDENTS, "x.st = 1", NULL, NULL},
        {"core.residents_moved_out", "迁出人口", "人", K_RESIDENTS, "x.st = 2", NULL, NULL},
        {"core.residents_deceased", "死亡人口", "人", K_RESIDENTS, "x.st = 3", NULL, NULL},
        {"core.pop_registered", "户籍人口", "人", K_RESIDENTS, "x.st = 1 AND x.res = 1", NULL,
         NULL},
        {"core.pop_resident", "常住人口", "人", K_RESIDENTS, "x.st = 1 AND x.res = 2", NULL, NULL},
        {"core.pop_floating", "流动人口", "人", K_RESIDENTS, "x.st = 1 AND x.res = 3", NULL, NULL},
        {"core.age_0_3", "0-3岁人口", "人", K_RESIDENTS, "x.st = 1 AND x.band = 0", NULL, NULL},
        {"core.age_4_9", "4-9岁人口", "人", K_RESIDENTS, "x.st = 1 AND x.band = 1", NULL, NULL},
        {"core.age_10_14", "10-14岁人口", "人", K_RESIDENTS, "x.st = 1 AND x.band = 2", NULL, NULL},
        {"core.age_15_59", "15-59岁人口", "人", K_RESIDENTS, "x.st = 1 AND x.band = 3", NULL, NULL},
        {"core.age_60plus", "60岁及以上人口", "人", K_RESIDENTS, "x.st = 1 AND x.band IN (4, 5)",
         NULL, NULL},
        {"core.age_80plus", "80岁及以上人口", "人", K_RESIDENTS, "x.st = 1 AND x.band = 5", NULL,
         NULL},
        {"core.women", "女性人口", "人", K_RESIDENTS, "x.st = 1 AND x.sex = 1", NULL, NULL},
        {"core.men", "男性人口", "人", K_RESIDENTS, "x.st = 1 AND x.sex = 2", NULL, NULL},
        {"core.tag_disabled", "残疾人", "人", K_TAG, "disabled", NULL, NULL},
        {"core.tag_lives_alone", "独居老人", "人", K_TAG, "lives_alone", NULL, NULL},
        {"core.tag_empty_nest", "空巢老人", "人", K_TAG, "empty_nest", NULL, NULL},
        {"core.tag_veteran", "退役军人", "人", K_TAG, "veteran", NULL, NULL},
        {"core.tag_floating", "流动人口(标签)", "人", K_TAG, "floating", NULL, NULL},
        {"core.tag_key_person", "重点人员", "人", K_TAG, "key_person", NULL, NULL},
        {"core.share_60plus", "60岁及以上人口占比", "%", K_RATIO, NULL, "core.age_60plus",
         "core.residents_active"},
        {"core.household_size", "户均人口", "人/户", K_RATIO, NULL, "core.residents_active",
         "core.households"},
};

#define NCORE (sizeof(core_indicators) / sizeof(core_indicators[0]))

/* The columns of a resident row behind a figure: readable, no bare keys. */
#define RESIDENT_ROWS                                                                       \
	"SELECT r.id, r.name, core.label_gender(r.gender) AS gender, r.birth_date, "        \
	"extract(year FROM age(" DAY ", r.birth_date))::int AS age, r.id_number, r.phone, " \
	"core.label_residence(r.residence_status) AS residence_status, "                    \
	"core.label_life_status(r.life_status) AS life_status, r.life_status_date, "        \
	"g.name AS grid, core.household_address(h.address, b.name, h.unit, h.room) "        \
	"AS address "                                                                       \
	"FROM core.resident r JOIN core.region g ON g.id = r.grid_id "                      \
	"LEFT JOIN core.household h ON h.id = r.household_id "                              \
	"LEFT JOIN core.building b ON b.id = h.building_id " CODES                          \
	"WHERE g.level = 'grid' AND g.path <@ $2::ltree AND "

/* The og_k / og_res / og_hh / og_tag / og_core CTEs: [1] for a district
 * or street, [0] for smaller regions (see og_tag). */
static char *fused_sql[2];

/* printf into a new heap string; exits on out of memory (start-up only). */
static char *xprintf(const char *fmt, ...) OG_PRINTF(1, 2);
static char *xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		ogc_log(OG_LOG_ERROR, "core indicators: out of memory at start-up");
		exit(1);
	}
	return s;
}

/* The registry's per-grid SQL ($1 only, every grid), as a plugin's. */
static char *grid_sql(const struct core_indicator *ci)
{
	switch (ci->kind) {
	case K_RESIDENTS:
		return xprintf("SELECT r.grid_id, count(*) FROM core.resident r " CODES
		               "WHERE %s GROUP BY r.grid_id",
		               ci->pred);
	case K_HOUSEHOLDS:
		return xprintf(
		        "SELECT r.grid_id, count(DISTINCT r.household_id) FROM core.resident r "
		        "WHERE " ACTIVE " GROUP BY r.grid_id");
	case K_TAG:
		return xprintf("SELECT r.grid_id, count(*) FROM core.resident_tag t "
		               "JOIN core.resident r ON r.id = t.resident_id "
		               "WHERE t.tag = '%s' AND " ACTIVE " GROUP BY r.grid_id",
		               ci->pred);
	case K_RATIO:
		break;
	}
	return NULL;
}

/* $1 date, $2 region path.  Grids only: the fused pass reads residents of
 * grids under the region, so the rows do too. */
static char *rows_sql(const struct core_indicator *ci)
{
	switch (ci->kind) {
	case K_RESIDENTS:
		return xprintf(RESIDENT_ROWS "%s ORDER BY r.id", ci->pred);
	case K_TAG:
		return xprintf(RESIDENT_ROWS
		               "x.st = 1 AND EXISTS (SELECT 1 FROM core.resident_tag t "
		               "WHERE t.resident_id = r.id AND t.tag = '%s') "
		               "ORDER BY r.id",
		               ci->pred);
	case K_HOUSEHOLDS:
		/* A household counts in the grid of its active members (the
		 * model keeps members in their household's grid). */
		return xprintf(
		        "SELECT h.id, h.household_number, "
		        "core.household_address(h.address, b.name, h.unit, h.room) AS address, "
		        "core.label_household_kind(h.kind) AS kind, hg.name AS grid, hd.name AS "
		        "head, "
		        "(SELECT count(*) FROM core.resident r WHERE r.household_id = h.id "
		        "AND " ACTIVE ") AS members "
		        "FROM core.household h JOIN core.region hg ON hg.id = h.grid_id "
		        "LEFT JOIN core.building b ON b.id = h.building_id "
		        "LEFT JOIN core.resident hd ON hd.id = h.head_resident_id "
		        "WHERE EXISTS (SELECT 1 FROM core.resident r JOIN core.region g "
		        "  ON g.id = r.grid_id WHERE r.household_id = h.id "
		        "  AND g.level = 'grid' AND g.path <@ $2::ltree AND " ACTIVE ") "
		        "ORDER BY h.id");
	case K_RATIO:
		break;
	}
	return NULL;
}

/* The four codes packed into one integer: st, band, sex, res digits. */
#define CODE_K "((" ST ") * 1000 + (" BAND ") * 100 + (" SEX ") * 10 + (" RES "))"

/* The core tags, quoted, comma-separated. */
static void tag_list(FILE *f)
{
	bool first = true;

	for (size_t i = 0; i < NCORE; i++)
		if (core_indicators[i].kind == K_TAG) {
			fprintf(f, "%s'%s'", first ? "" : ", ", core_indicators[i].pred);
			first = false;
		}
}

/*
 * The fused part.
 *   og_k:   the residents of the grids under $2 counted per grid and per
 *           combination of the four codes packed into one integer (one
 *           grouping key: cheaper than a FILTER per indicator per row,
 *           which evaluates the codes again for each);
 *   og_res: the codes unpacked (a few hundred rows per grid at most) and
 *           one FILTERed sum per indicator, with the very predicates the
 *           rows use;
 *   og_hh:  households with an active member;
 *   og_tag: tag counts of active residents;
 *   og_core: all of it as (code, grid_id, val).
 * Over a district or street (wide) og_k, og_hh and og_tag are three
 * passes PostgreSQL can run with parallel workers (measured on a million
 * residents, serial backend CPU: about 0.9, 0.6 and 0.6 s; folding the
 * tags into og_k's pass by a hash join cost more than their own pass).
 * Over a community or grid they read one list of its residents, og_r,
 * which saves reading the residents' rows three times.
 */
static char *build_fused(bool wide)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	unsigned bit;
	bool first;

	if (f == NULL) {
		ogc_log(OG_LOG_ERROR, "core indicators: out of memory at start-up");
		exit(1);
	}
	if (wide) {
		/* Most residents are read: three passes the planner can run in
		 * parallel (the tags hashed against one scan of the residents). */
		fputs("og_k AS (SELECT r.grid_id, " CODE_K " AS k, count(*) AS n FROM core.resident r "
		      "WHERE r.grid_id IN " GRIDS_UNDER " GROUP BY 1, 2), "
		      "og_hh AS (SELECT r.grid_id, count(DISTINCT r.household_id) AS n "
		      "FROM core.resident r WHERE " ACTIVE " AND r.grid_id IN " GRIDS_UNDER
		      " GROUP BY r.grid_id), og_tag AS (SELECT r.grid_id",
		      f);
		for (i = 0; i < NCORE; i++)
			if (core_indicators[i].kind == K_TAG)
				fprintf(f, ", count(*) FILTER (WHERE t.tag = '%s') AS c%zu",
				        core_indicators[i].pred, i);
		fputs(" FROM core.resident_tag t JOIN core.resident r ON r.id = t.resident_id "
		      "WHERE " ACTIVE " AND t.tag IN (",
		      f);
		tag_list(f);
		fputs(") AND r.grid_id IN " GRIDS_UNDER " GROUP BY r.grid_id), ", f);
	} else {
		/* A community or grid: its residents read once (og_r), each with
		 * its codes, its household and its core tags as bits (one probe
		 * of core.resident_tag per resident); the three counts read
		 * og_r.  k / 1000 is the life status: 1 is ACTIVE. */
		fputs("og_r AS MATERIALIZED (SELECT r.grid_id, r.household_id, " CODE_K " AS k, "
		      "(SELECT sum(CASE t.tag",
		      f);
		for (i = 0, bit = 1; i < NCORE; i++)
			if (core_indicators[i].kind == K_TAG) {
				fprintf(f, " WHEN '%s' THEN %u", core_indicators[i].pred, bit);
				bit <<= 1;
			}
		fputs(" END) FROM core.resident_tag t WHERE t.resident_id = r.id AND t.tag IN (", f);
		tag_list(f);
		fputs(")) AS m FROM core.resident r WHERE r.grid_id IN " GRIDS_UNDER "), "
		      "og_k AS (SELECT og_r.grid_id, og_r.k, count(*) AS n FROM og_r GROUP BY 1, 2), "
		      "og_hh AS (SELECT og_r.grid_id, count(DISTINCT og_r.household_id) AS n "
		      "FROM og_r WHERE og_r.k / 1000 = 1 GROUP BY og_r.grid_id), "
		      "og_tag AS (SELECT og_r.grid_id",
		      f);
		for (i = 0, bit = 1; i < NCORE; i++)
			if (core_indicators[i].kind == K_TAG) {
				fprintf(f, ", count(*) FILTER (WHERE og_r.m & %u <> 0) AS c%zu", bit, i);
				bit <<= 1;
			}
		fputs(" FROM og_r WHERE og_r.k / 1000 = 1 AND og_r.m IS NOT NULL "
		      "GROUP BY og_r.grid_id), ",
		      f);
	}
	fputs("og_res AS (SELECT og_k.grid_id", f);
	for (i = 0; i < NCORE; i++)
		if (core_indicators[i].kind == K_RESIDENTS)
			fprintf(f, ", sum(og_k.n) FILTER (WHERE %s) AS c%zu",
			        core_indicators[i].pred, i);
	fputs(" FROM og_k CROSS JOIN LATERAL (SELECT og_k.k / 1000 AS st, og_k.k / 100 % 10 AS "
	      "band, og_k.k / 10 % 10 AS sex, og_k.k % 10 AS res) x GROUP BY og_k.grid_id), "
	      "og_core(code, grid_id, val) AS (SELECT v.code, c.grid_id, v.val FROM og_res c "
	      "CROSS JOIN LATERAL (VALUES ",
	      f);
	first = true;
	for (i = 0; i < NCORE; i++) {
		const struct core_indicator *ci = &core_indicators[i];

		if (ci->kind != K_RESIDENTS)
			continue;
		fprintf(f, "%s('%s', c.c%zu::numeric)", first ? "" : ", ", ci->code, i);
		first = false;
	}
	fputs(") v(code, val) UNION ALL SELECT v.code, c.grid_id, v.val FROM og_tag c "
	      "CROSS JOIN LATERAL (VALUES ",
	      f);
	first = true;
	for (i = 0; i < NCORE; i++) {
		const struct core_indicator *ci = &core_indicators[i];

		if (ci->kind != K_TAG)
			continue;
		fprintf(f, "%s('%s', c.c%zu::numeric)", first ? "" : ", ", ci->code, i);
		first = false;
	}
	fputs(") v(code, val)", f);
	for (i = 0; i < NCORE; i++)
		if (core_indicators[i].kind == K_HOUSEHOLDS)
			fprintf(f,
			        " UNION ALL SELECT '%s', og_hh.grid_id, og_hh.n::numeric FROM "
			        "og_hh",
			        core_indicators[i].code);
	fputs(")", f);
	if (fclose(f) != 0 || buf == NULL) {
		ogc_log(OG_LOG_ERROR, "core indicators: out of memory at start-up");
		exit(1);
	}
	return buf;
}

void ogc_indicators_register(void)
{
	for (size_t i = 0; i < NCORE; i++) {
		const struct core_indicator *ci = &core_indicators[i];
		og_indicator_def def;

		memset(&def, 0, sizeof(def));
		def.code = ci->code;
		def.label = ci->label;
		def.unit = ci->unit;
		if (ci->kind == K_RATIO) {
			def.ratio_numerator = ci->num;
			def.ratio_denominator = ci->den;
		} else {
			def.sql = grid_sql(ci);
			def.rows_sql = rows_sql(ci);
		}
		/* A refusal is logged by the registry, naming the code. */
		ogc_registry_indicator(NULL, &def);
	}
	for (int wide = 0; wide < 2; wide++)
		if (fused_sql[wide] == NULL)
			fused_sql[wide] = build_fused(wide);
}

const char *ogc_indicators_core_sql(bool wide)
{
	if (fused_sql[wide] == NULL)
		fused_sql[wide] = build_fused(wide);
	return fused_sql[wide];
}

/*
 * plugins/volunteer/volunteer.c — volunteer service (志愿服务): teams,
 * volunteers, service hours, help pairs (结对帮扶) and help requests on the
 * shared population model.
 *
 * For: the plugin's routes under /api/v1/volunteer/ — teams attached to a
 * region with a leader; volunteers (residents of the shared model, by id)
 * with skills and availability and their verified hours this year and in
 * total; service records (who served whom or what, when, how many hours,
 * verified by whom — a record counts only once someone other than its
 * recorder has verified it); help pairs between a volunteer and a resident
 * who needs one, with visits recorded as service records; the candidates
 * list (active residents aged 80 or more, living alone, disabled or, when
 * the civil plugin is there, in extreme hardship, who have no open pair);
 * help requests filed by a grid worker for a resident, assigned to a
 * volunteer and closed with the service record of the help given; the
 * hooks that close a pair by themselves when the helped resident (or the
 * volunteer) dies or moves out; indicators and ledgers for the one report.
 *
 * Not for: names, ID numbers, phones or addresses — those are the shared
 * model's, read by JOIN and never copied; party membership or hardship
 * status — read from core.resident_tag ('party_member', owned by the party
 * plugin; 'tekun', owned by the civil plugin) when those plugins have put
 * them there, so this plugin depends on neither and works without both;
 * anything outside include/onegrid/plugin.h.
 *
 * Scope: a volunteer is seen through their own grid; a pair and a service
 * record through the volunteer's grid or the served resident's; a request
 * through the resident's grid; a team from its region, from above it and
 * from below it (a grid worker sees the street's team that serves the
 * grid).  A row outside the caller's scope is a 404 like one that does not
 * exist.  Every write is audited in its transaction.  Everything is static;
 * the only exported symbol is og_plugin_desc.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <onegrid/plugin.h>

/* schema/0001_volunteer.sql and 0002_pair_resident.sql embedded by sql2c.sh
 * --static: volunteer_migrations[] and volunteer_migrations_count. */
#include "volunteer_migrations.c"

#define VOL_PERM_READ "volunteer.read"
#define VOL_PERM_WRITE "volunteer.write"
#define VOL_PERM_VERIFY "volunteer.verify"

#define VOL_NAME_MAX 100
#define VOL_TEXT_MAX 500
#define VOL_SUBJECT_MAX 200
#define VOL_AVAIL_MAX 200
#define VOL_SKILL_MAX 30
#define VOL_SKILLS_MAX 20
#define VOL_SQL_MAX 12000

/* ------------------------------------------------------------------ */
/* SQL shared by several statements */

/* clang-format off */

/* Age in whole years of resident r on date d (SQL expressions). */
#define VOL_AGE(r, d) "date_part('year', age(" d ", " r ".birth_date))::int"

/*
 * Why resident r needs a help pair on date d, as a text[] of codes (empty:
 * no need).  80 or older; tagged lives_alone (独居老人) or disabled (残疾人);
 * tagged tekun (特困人员) while the civil plugin that owns the tag is there
 * (its row in core.tag) and not disabled for the resident's district.
 * g is the resident's grid.
 */
#define VOL_NEEDS(r, g, d)                                                                 \
	"array_remove(ARRAY["                                                                 \
	" CASE WHEN " r ".birth_date <= (" d " - interval '80 years')::date"                  \
	"  THEN 'age_80_plus' END,"                                                           \
	" CASE WHEN EXISTS (SELECT 1 FROM core.resident_tag t WHERE t.resident_id = " r ".id" \
	"  AND t.tag = 'lives_alone') THEN 'lives_alone' END,"                               \
	" CASE WHEN EXISTS (SELECT 1 FROM core.resident_tag t WHERE t.resident_id = " r ".id" \
	"  AND t.tag = 'disabled') THEN 'disabled' END,"                                     \
	" CASE WHEN EXISTS (SELECT 1 FROM core.resident_tag t JOIN core.tag tg"              \
	"  ON tg.code = t.tag AND tg.owner = 'civil' WHERE t.resident_id = " r ".id"          \
	"  AND t.tag = 'tekun') AND NOT EXISTS (SELECT 1 FROM core.plugin_enablement e"      \
	"  WHERE e.plugin = 'civil' AND NOT e.enabled"                                       \
	"  AND e.district_id = subpath(" g ".path, 0, 1)::text::bigint) THEN 'tekun' END"     \
	"]::text[], NULL)"

/* Is resident r a party member (the party plugin's tag, when it is there)? */
#define VOL_PARTY(r)                                                                       \
	"EXISTS (SELECT 1 FROM core.resident_tag t WHERE t.resident_id = " r ".id"            \
	" AND t.tag = 'party_member')"

/* Verified hours of volunteer v: this year (of current_date) and in total. */
#define VOL_HOURS(v, cond)                                                                 \
	"(SELECT coalesce(sum(s.hours), 0) FROM volunteer.service_record s"                   \
	" WHERE s.volunteer_id = " v ".id AND " cond ")"
#define VOL_THIS_YEAR "s.served_on >= date_trunc('year', current_date)::date"

/* Teams: t with its region r. */
#define VOL_TEAM_FROM " FROM volunteer.team t JOIN core.region r ON r.id = t.region_id"
#define VOL_TEAM_SCOPE                                                                     \
	"($1::text = '' OR r.path <@ $1::text::ltree OR $1::text::ltree <@ r.path)"
#define VOL_TEAM_JSON                                                                      \
	"json_build_object('id', t.id, 'region_id', t.region_id, 'region_name', r.name,"     \
	" 'region_level', r.level, 'name', t.name, 'leader_resident_id', t.leader_resident_id," \
	" 'leader_name', (SELECT l.name FROM core.resident l WHERE l.id = t.leader_resident_id)," \
	" 'description', t.description, 'active', t.active, 'member_count', (SELECT count(*)" \
	"  FROM volunteer.volunteer m WHERE m.team_id = t.id AND m.status = 'active'),"      \
	" 'version', t.version, 'created_at', t.created_at, 'updated_at', t.updated_at)"

/* Volunteers: v, their resident x and x's grid g. */
#define VOL_VOL_FROM                                                                       \
	" FROM volunteer.volunteer v JOIN core.resident x ON x.id = v.resident_id"            \
	" JOIN core.region g ON g.id = x.grid_id"
#define VOL_VOL_SCOPE "($1::text = '' OR g.path <@ $1::text::ltree)"
#define VOL_VOL_JSON                                                                       \
	"json_build_object('id', v.id, 'resident_id', v.resident_id, 'name', x.name,"         \
	" 'gender', x.gender, 'age', " VOL_AGE("x", "current_date") ","                      \
	" 'life_status', x.life_status, 'grid_id', g.id, 'grid_name', g.name,"               \
	" 'party_member', " VOL_PARTY("x") ", 'team_id', v.team_id, 'team_name',"             \
	" (SELECT tm.name FROM volunteer.team tm WHERE tm.id = v.team_id),"                   \
	" 'skills', to_json(v.skills), 'availability', v.availability, 'status', v.status,"  \
	" 'joined_on', v.joined_on, 'note', v.note,"                                          \
	" 'hours_this_year', " VOL_HOURS("v", "s.verified_at IS NOT NULL AND " VOL_THIS_YEAR) "," \
	" 'hours_total', " VOL_HOURS("v", "s.verified_at IS NOT NULL") ","                    \
	" 'hours_unverified', " VOL_HOURS("v", "s.verified_at IS NULL") ","                   \
	" 'open_pairs', (SELECT count(*) FROM volunteer.pair p WHERE p.volunteer_id = v.id"   \
	"  AND p.status = 'open'),"                                                           \
	" 'version', v.version, 'created_at', v.created_at, 'updated_at', v.updated_at)"

/* Service records: s, its volunteer v (resident x, grid g), the served
 * resident sr (grid sg) when there is one. */
#define VOL_REC_FROM                                                                       \
	" FROM volunteer.service_record s JOIN volunteer.volunteer v ON v.id = s.volunteer_id" \
	" JOIN core.resident x ON x.id = v.resident_id JOIN core.region g ON g.id = x.grid_id" \
	" LEFT JOIN core.resident sr ON sr.id = s.served_resident_id"                         \
	" LEFT JOIN core.region sg ON sg.id = sr.grid_id"
#define VOL_REC_SCOPE                                                                      \
	"($1::text = '' OR g.path <@ $1::text::ltree OR sg.path <@ $1::text::ltree)"
#define VOL_REC_JSON                                                                       \
	"json_build_object('id', s.id, 'volunteer_id', s.volunteer_id, 'volunteer_name',"     \
	" x.name, 'team_id', s.team_id, 'served_resident_id', s.served_resident_id,"         \
	" 'served_name', sr.name, 'subject', s.subject, 'kind', s.kind, 'served_on',"        \
	" s.served_on, 'hours', s.hours, 'note', s.note, 'pair_id', s.pair_id, 'request_id'," \
	" s.request_id, 'verified', s.verified_at IS NOT NULL, 'verified_by', s.verified_by," \
	" 'verified_by_username', (SELECT u.username FROM core.app_user u"                    \
	"  WHERE u.id = s.verified_by), 'verified_at', s.verified_at,"                        \
	" 'created_by', s.created_by, 'version', s.version, 'created_at', s.created_at,"     \
	" 'updated_at', s.updated_at)"

/* Pairs: p, its volunteer v (resident x, grid g), the helped resident hr
 * (grid hg). */
#define VOL_PAIR_FROM                                                                      \
	" FROM volunteer.pair p JOIN volunteer.volunteer v ON v.id = p.volunteer_id"          \
	" JOIN core.resident x ON x.id = v.resident_id JOIN core.region g ON g.id = x.grid_id" \
	" JOIN core.resident hr ON hr.id = p.resident_id JOIN core.region hg ON hg.id = hr.grid_id"
#define VOL_PAIR_SCOPE                                                                     \
	"($1::text = '' OR g.path <@ $1::text::ltree OR hg.path <@ $1::text::ltree)"
#define VOL_PAIR_JSON                                                                      \
	"json_build_object('id', p.id, 'volunteer_id', p.volunteer_id, 'volunteer_name',"     \
	" x.name, 'resident_id', p.resident_id, 'resident_name', hr.name, 'resident_age',"   \
	" " VOL_AGE("hr", "current_date") ", 'resident_life_status', hr.life_status,"        \
	" 'grid_id', hg.id, 'grid_name', hg.name, 'basis', to_json(p.basis),"               \
	" 'started_on', p.started_on, 'note', p.note, 'status', p.status,"                   \
	" 'closed_on', p.closed_on, 'close_kind', p.close_kind, 'close_reason',"             \
	" p.close_reason, 'visits', (SELECT count(*) FROM volunteer.service_record s"        \
	"  WHERE s.pair_id = p.id), 'last_visit_on', (SELECT max(s.served_on) FROM"          \
	"  volunteer.service_record s WHERE s.pair_id = p.id), 'verified_hours', (SELECT"    \
	"  coalesce(sum(s.hours), 0) FROM volunteer.service_record s WHERE s.pair_id = p.id"  \
	"  AND s.verified_at IS NOT NULL), 'version', p.version, 'created_at', p.created_at," \
	" 'updated_at', p.updated_at)"

/* Requests: q, the resident hr (grid hg) who asked, the volunteer v
 * (resident x) assigned. */
#define VOL_REQ_FROM                                                                       \
	" FROM volunteer.request q JOIN core.resident hr ON hr.id = q.resident_id"           \
	" JOIN core.region hg ON hg.id = hr.grid_id"                                          \
	" LEFT JOIN volunteer.volunteer v ON v.id = q.assigned_volunteer_id"                 \
	" LEFT JOIN core.resident x ON x.id = v.resident_id"
#define VOL_REQ_SCOPE "($1::text = '' OR hg.path <@ $1::text::ltree)"
#define VOL_REQ_JSON                                                                       \
	"json_build_object('id', q.id, 'resident_id', q.resident_id, 'resident_name',"        \
	" hr.name, 'grid_id', hg.id, 'grid_name', hg.name, 'kind', q.kind, 'need', q.need,"  \
	" 'requested_on', q.requested_on, 'status', q.status, 'team_id', q.team_id,"         \
	" 'assigned_volunteer_id', q.assigned_volunteer_id, 'assigned_volunteer_name',"      \
	" x.name, 'assigned_by', q.assigned_by, 'assigned_at', q.assigned_at,"               \
	" 'closed_on', q.closed_on, 'closed_by', q.closed_by, 'cancel_reason',"              \
	" q.cancel_reason, 'record_id', (SELECT s.id"                                         \
	"  FROM volunteer.service_record s WHERE s.request_id = q.id), 'created_by',"        \
	" q.created_by, 'version', q.version, 'created_at', q.created_at, 'updated_at',"     \
	" q.updated_at)"

/* clang-format on */

/* The kinds of service (records and requests). */
static const char *const vol_kinds[] = {"visit",     "companionship", "errand",   "housework",
                                        "health",    "repair",        "cultural", "environment",
                                        "mediation", "other",         NULL};

/* ------------------------------------------------------------------ */
/* small helpers */

static const char *vol_id_text(int64_t v, char buf[24])
{
	snprintf(buf, 24, "%" PRId64, v);
	return buf;
}

/* A new SQL text built from fmt (free()), or NULL after a 500. */
static char *vol_sqlf(og_req *req, const og_host_api *host, const char *fmt, ...)
{
	char *sql = malloc(VOL_SQL_MAX);
	va_list ap;
	int n;

	if (sql == NULL) {
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		return NULL;
	}
	va_start(ap, fmt);
	n = vsnprintf(sql, VOL_SQL_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= VOL_SQL_MAX) {
		host->log(OG_LOG_ERROR, "statement longer than %d bytes", VOL_SQL_MAX);
		host->reply_error(req, 500, "internal", "statement too long", NULL);
		free(sql);
		return NULL;
	}
	return sql;
}

/* Characters (not bytes) of valid UTF-8. */
static size_t vol_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static void vol_invalid(og_req *req, const og_host_api *host, const char *field, const char *msg)
{
	host->reply_error(req, 422, "invalid", msg, field);
}

/* An error whose "error" object carries `extra` members (steals extra). */
static void vol_reply_error_with(og_req *req, const og_host_api *host, int status, const char *code,
                                 const char *message, const char *field, json_t *extra)
{
	json_t *err = json_pack("{s:s, s:s}", "code", code, "message", message);

	if (err == NULL) {
		json_decref(extra);
		host->reply_error(req, status, code, message, field);
		return;
	}
	if (field != NULL)
		json_object_set_new(err, "field", json_string(field));
	if (extra != NULL) {
		json_object_update(err, extra);
		json_decref(extra);
	}
	host->reply_json(req, status, json_pack("{s:o}", "error", err)); /* steals err */
}

/* Hours: a number > 0 and <= 24 in steps of 0.01 (text into buf). */
static int vol_hours(og_req *req, const og_host_api *host, json_t *in, char buf[24])
{
	json_t *v = json_object_get(in, "hours");
	double h, cents;

	if (json_is_number(v)) {
		h = json_number_value(v);
		cents = h * 100 - (double)(long long)(h * 100 + 0.5);
		/* No libm: |h*100 - nearest integer| by hand. */
		if (h > 0 && h <= 24 && cents < 1e-6 && cents > -1e-6) {
			snprintf(buf, 24, "%.2f", h);
			return 0;
		}
	}
	vol_invalid(req, host, "hours",
	            "hours must be a number above 0 and at most 24 (to the hundredth)");
	return -1;
}

/*
 * ?region= as the ltree path (new, free()) of a region in the caller's
 * scope; *out NULL when absent.  -1 after a reply (404 field region).
 */
static int vol_region_param(og_req *req, const og_host_api *host, char **out)
{
	const og_caller *me = host->caller(req);
	int64_t id;
	char sid[24];
	const char *params[2];
	og_result *r;
	size_t n;

	*out = NULL;
	if (host->query_id(req, "region", &id) < 0)
		return -1;
	if (id == 0)
		return 0;
	params[0] = vol_id_text(id, sid);
	params[1] = me->scope_path;
	r = host->query(req,
	                "SELECT r.path::text FROM core.region r WHERE r.id = $1::bigint"
	                " AND ($2::text = '' OR r.path <@ $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return -1;
	if (host->result_rows(r) != 1) {
		host->result_free(r);
		host->reply_error(req, 404, "not_found", "no such region in your scope", "region");
		return -1;
	}
	n = strlen(host->result_text(r, 0, 0)) + 1;
	*out = malloc(n);
	if (*out != NULL)
		memcpy(*out, host->result_text(r, 0, 0), n);
	host->result_free(r);
	if (*out == NULL) {
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	return 0;
}

static int64_t vol_int(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

static const char *vol_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static const char *vol_user(const og_caller *me, char buf[24])
{
	return me != NULL && me->user_id > 0 ? vol_id_text(me->user_id, buf) : NULL;
}

/* ETag "<version>" of a row, for If-Match. */
static void vol_set_etag(og_req *req, const og_host_api *host, json_t *row)
{
	char etag[32];

	snprintf(etag, sizeof(etag), "\"%" JSON_INTEGER_FORMAT "\"",
	         json_integer_value(json_object_get(row, "version")));
	host->set_header(req, "ETag", etag);
}

/* ------------------------------------------------------------------ */
/* generic reads: one row, one keyset page */

/*
 * One row as the API shows it: `json` over `from` where `idcol` = id and
 * the scope predicate `scope` ($1 = the caller's scope path) holds.
 * *out new.  1 found; 0 after a 404; -1 after an error reply.
 */
static int vol_load(og_req *req, const og_host_api *host, const char *json, const char *from,
                    const char *scope, const char *idcol, int64_t id, const char *what,
                    json_t **out)
{
	const og_caller *me = host->caller(req);
	char sid[24], msg[80];
	const char *params[2] = {me->scope_path, vol_id_text(id, sid)};
	char *sql = vol_sqlf(req, host, "SELECT %s%s WHERE %s = $2::bigint AND %s", json, from,
	                     idcol, scope);
	int n;

	*out = NULL;
	if (sql == NULL)
		return -1;
	n = host->query_json(req, sql, 2, params, out);
	free(sql);
	if (n == 0) {
		snprintf(msg, sizeof(msg), "no such %s", what);
		host->reply_error(req, 404, "not_found", msg, NULL);
	}
	return n;
}

/*
 * A keyset page of `json` rows over `from` in the caller's scope, filtered
 * by `where` (which may use $4.. = extra[0..]), ordered by `idcol`.
 * Replies itself.
 */
static void vol_list(og_req *req, const og_host_api *host, const char *json, const char *from,
                     const char *scope, const char *idcol, const char *where, int nextra,
                     const char *const *extra)
{
	const og_caller *me = host->caller(req);
	int64_t cursor;
	int limit, i;
	char sc[24], sl[24];
	const char *params[12];
	char *sql;
	json_t *page;

	if (host->page(req, &limit, &cursor) < 0)
		return;
	params[0] = me->scope_path;
	params[1] = vol_id_text(cursor, sc);
	params[2] = vol_id_text(limit, sl);
	for (i = 0; i < nextra && i < 9; i++)
		params[3 + i] = extra[i];
	sql = vol_sqlf(req, host,
	               "WITH page AS (SELECT %s AS id%s WHERE %s AND %s > $2::bigint AND (%s)"
	               " ORDER BY %s LIMIT $3::int + 1), "
	               "shown AS (SELECT id FROM page ORDER BY id LIMIT $3::int) "
	               "SELECT json_build_object('items', coalesce((SELECT json_agg(%s ORDER BY %s)"
	               "%s WHERE %s IN (SELECT id FROM shown)), '[]'::json),"
	               " 'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $3::int"
	               " THEN (SELECT max(id)::text FROM shown) END)",
	               idcol, from, scope, idcol, where, idcol, json, idcol, from, idcol);
	if (sql == NULL)
		return;
	i = host->query_json(req, sql, 3 + nextra, params, &page);
	free(sql);
	if (i != 1)
		return;
	host->reply_json(req, 200, page); /* steals page */
}

/* The answer of a create: Location, ETag, 201. row: steals. */
static void vol_created(og_req *req, const og_host_api *host, const char *base, json_t *row)
{
	char location[96];

	snprintf(location, sizeof(location), "%s/%" JSON_INTEGER_FORMAT, base,
	         json_integer_value(json_object_get(row, "id")));
	host->set_header(req, "Location", location);
	vol_set_etag(req, host, row);
	host->reply_json(req, 201, row);
}

/* The stale-version 409. */
static void vol_conflict(og_req *req, const og_host_api *host, const char *what, int64_t now)
{
	char msg[120];

	snprintf(msg, sizeof(msg), "the %s has changed: it is now at version %" PRId64, what, now);
	host->reply_error(req, 409, "version_conflict", msg, "version");
}

/*
 * A resident in the caller's scope: *grid set.  must_be_active refuses
 * a deceased or moved-out one.  1 ok; 0 after a 422 naming field; -1 error.
 */
static int vol_resident_check(og_req *req, const og_host_api *host, int64_t id, const char *field,
                              bool must_be_active, int64_t *grid)
{
	const og_caller *me = host->caller(req);
	char sid[24], msg[160];
	const char *params[2] = {vol_id_text(id, sid), me->scope_path};
	og_result *r;
	int ok;

	r = host->query(req,
	                "SELECT x.grid_id, x.life_status FROM core.resident x JOIN core.region g"
	                " ON g.id = x.grid_id WHERE x.id = $1::bigint"
	                " AND ($2::text = '' OR g.path <@ $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return -1;
	if (host->result_rows(r) != 1) {
		host->result_free(r);
		vol_invalid(req, host, field, "no such resident in your scope");
		return 0;
	}
	*grid = host->result_int64(r, 0, 0);
	ok = !must_be_active || strcmp(host->result_text(r, 0, 1), "active") == 0;
	if (!ok) {
		snprintf(msg, sizeof(msg), "the resident's life status is %s, not active",
		         host->result_text(r, 0, 1));
		vol_invalid(req, host, field, msg);
	}
	host->result_free(r);
	return ok;
}

/*
 * A volunteer, as the API shows it (*out new), who must be active for new
 * work; in the caller's scope when `scoped` (choosing a volunteer), or
 * anywhere (the volunteer of a pair or request the caller already sees:
 * the helped resident's grid worker records the visit of a volunteer from
 * the next grid).  1 ok; 0 after a 422 naming field; -1 error.
 */
static int vol_volunteer_check(og_req *req, const og_host_api *host, int64_t id, const char *field,
                               bool scoped, json_t **out)
{
	const og_caller *me = host->caller(req);
	char sid[24];
	const char *params[2] = {scoped ? me->scope_path : "", vol_id_text(id, sid)};
	int n;

	*out = NULL;
	n = host->query_json(req,
	                     "SELECT " VOL_VOL_JSON VOL_VOL_FROM
	                     " WHERE v.id = $2::bigint AND " VOL_VOL_SCOPE,
	                     2, params, out);
	if (n < 0)
		return -1;
	if (n == 0) {
		vol_invalid(req, host, field, "no such volunteer in your scope");
		return 0;
	}
	if (strcmp(vol_str(*out, "status"), "active") != 0 ||
	    strcmp(vol_str(*out, "life_status"), "active") != 0) {
		vol_invalid(req, host, field, "the volunteer is not active");
		json_decref(*out);
		*out = NULL;
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* teams */

/* GET /api/v1/volunteer/teams?region=&active= */
static void vol_teams_list(og_req *req, const og_host_api *host)
{
	char *path;
	int active;
	const char *extra[2];

	if (vol_region_param(req, host, &path) < 0)
		return;
	if (host->query_bool(req, "active", &active) < 0) {
		free(path);
		return;
	}
	extra[0] = path;
	extra[1] = active < 0 ? NULL : active ? "t" : "f";
	vol_list(req, host, VOL_TEAM_JSON, VOL_TEAM_FROM, VOL_TEAM_SCOPE, "t.id",
	         "($4::text IS NULL OR r.path <@ $4::text::ltree)"
	         " AND ($5::boolean IS NULL OR t.active = $5::boolean)",
	         2, extra);
	free(path);
}

/* GET /api/v1/volunteer/teams/{id} */
static void vol_team_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *t;

	if (host->path_id(req, "id", &id) < 0 ||
	    vol_load(req, host, VOL_TEAM_JSON, VOL_TEAM_FROM, VOL_TEAM_SCOPE, "t.id", id, "team",
	             &t) != 1)
		return;
	vol_set_etag(req, host, t);
	host->reply_json(req, 200, t);
}

/*
 * The leader must be an active resident living under the team's region
 * (and in the caller's scope).  1 ok; 0 after a 422; -1 error.
 */
static int vol_leader_check(og_req *req, const og_host_api *host, int64_t leader, int64_t region)
{
	char sl[24], sr[24];
	const char *params[2] = {vol_id_text(leader, sl), vol_id_text(region, sr)};
	og_result *r;
	int n, grid;

	n = vol_resident_check(req, host, leader, "leader_resident_id", true, &(int64_t){0});
	if (n != 1)
		return n;
	r = host->query(req,
	                "SELECT 1 FROM core.resident x JOIN core.region g ON g.id = x.grid_id,"
	                " core.region t WHERE x.id = $1::bigint AND t.id = $2::bigint"
	                " AND g.path <@ t.path",
	                2, params);
	if (r == NULL)
		return -1;
	grid = host->result_rows(r);
	host->result_free(r);
	if (grid == 0) {
		vol_invalid(req, host, "leader_resident_id",
		            "the leader must live within the team's region");
		return 0;
	}
	return 1;
}

/* POST /api/v1/volunteer/teams {"region_id", "name", "leader_resident_id", "description"} */
static void vol_team_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"region_id", "name", "leader_resident_id",
	                                    "description", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *after = NULL;
	const char *name, *desc;
	int64_t region, leader, id;
	char srg[24], sl[24], su[24], sid[24];
	const char *params[5];
	og_result *r;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "region_id", OG_REQUIRED, &region) < 0 ||
	    host->body_text(req, in, "name", VOL_NAME_MAX, OG_REQUIRED, &name) < 0 ||
	    host->body_id(req, in, "leader_resident_id", OG_REQUIRED, &leader) < 0 ||
	    host->body_text(req, in, "description", VOL_TEXT_MAX, OG_OPTIONAL, &desc) < 0)
		return;
	params[0] = vol_id_text(region, srg);
	params[1] = me->scope_path;
	r = host->query(
	        req,
	        "SELECT 1 FROM core.region r WHERE r.id = $1::bigint AND r.closed_on IS NULL"
	        " AND ($2::text = '' OR r.path <@ $2::text::ltree)",
	        2, params);
	if (r == NULL)
		return;
	id = host->result_rows(r);
	host->result_free(r);
	if (id == 0) {
		vol_invalid(req, host, "region_id", "no such open region in your scope");
		return;
	}
	if (vol_leader_check(req, host, leader, region) != 1)
		return;
	params[1] = name;
	params[2] = vol_id_text(leader, sl);
	params[3] = desc;
	params[4] = vol_user(me, su);
	r = host->query(
	        req,
	        "INSERT INTO volunteer.team (region_id, name, leader_resident_id, description,"
	        " created_by) VALUES ($1::bigint, $2, $3::bigint, $4, $5::bigint)"
	        " ON CONFLICT (region_id, name) DO NOTHING RETURNING id",
	        5, params);
	if (r == NULL)
		return;
	id = host->result_rows(r) == 1 ? host->result_int64(r, 0, 0) : 0;
	host->result_free(r);
	if (id == 0) {
		host->reply_error(req, 409, "duplicate",
		                  "a team of that name already exists in the region", "name");
		return;
	}
	if (vol_load(req, host, VOL_TEAM_JSON, VOL_TEAM_FROM, VOL_TEAM_SCOPE, "t.id", id, "team",
	             &after) != 1)
		return;
	if (host->audit(req, "create", "volunteer.team", vol_id_text(id, sid), region, NULL,
	                after) < 0) {
		json_decref(after);
		return;
	}
	vol_created(req, host, "/api/v1/volunteer/teams", after);
}

/* PATCH /api/v1/volunteer/teams/{id} {"version", "name", "leader_resident_id",
 * "description", "active"} */
static void vol_team_patch(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version",     "name",   "leader_resident_id",
	                                    "description", "active", NULL};
	json_t *in, *before = NULL, *after = NULL, *act;
	const char *name, *desc;
	int64_t id, version, leader;
	char sid[24], sv[24], sl[24];
	const char *params[7];
	og_result *r;
	int n;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_text(req, in, "name", VOL_NAME_MAX, OG_OPTIONAL, &name) < 0 ||
	    host->body_id(req, in, "leader_resident_id", OG_OPTIONAL, &leader) < 0 ||
	    host->body_text(req, in, "description", VOL_TEXT_MAX, OG_OPTIONAL, &desc) < 0)
		return;
	act = json_object_get(in, "active");
	if (act != NULL && !json_is_boolean(act)) {
		vol_invalid(req, host, "active", "active must be true or false");
		return;
	}
	/* Writes need the team's region in scope (not merely above it). */
	if (vol_load(req, host, VOL_TEAM_JSON, VOL_TEAM_FROM,
	             "($1::text = '' OR r.path <@ $1::text::ltree)", "t.id", id, "team",
	             &before) != 1)
		return;
	if (vol_int(before, "version") != version) {
		vol_conflict(req, host, "team", vol_int(before, "version"));
		goto out;
	}
	if (leader != 0 && vol_leader_check(req, host, leader, vol_int(before, "region_id")) != 1)
		goto out;
	params[0] = vol_id_text(id, sid);
	params[1] = name;
	if (name != NULL) {
		r = host->query(
		        req,
		        "SELECT 1 FROM volunteer.team o, volunteer.team t WHERE t.id = $1::bigint"
		        " AND o.id <> t.id AND o.region_id = t.region_id AND o.name = $2",
		        2, params);
		if (r == NULL)
			goto out;
		n = host->result_rows(r);
		host->result_free(r);
		if (n > 0) {
			host->reply_error(req, 409, "duplicate",
			                  "a team of that name already exists in the region",
			                  "name");
			goto out;
		}
	}
	params[1] = vol_id_text(version, sv);
	params[2] = name;
	params[3] = leader != 0 ? vol_id_text(leader, sl) : NULL;
	params[4] = json_object_get(in, "description") != NULL ? "t" : "f";
	params[5] = desc;
	params[6] = act == NULL ? NULL : json_is_true(act) ? "t" : "f";
	r = host->query(req,
	                "UPDATE volunteer.team t SET name = coalesce($3, t.name),"
	                " leader_resident_id = coalesce($4::bigint, t.leader_resident_id),"
	                " description = CASE WHEN $5::boolean THEN $6 ELSE t.description END,"
	                " active = coalesce($7::boolean, t.active), version = t.version + 1,"
	                " updated_at = now() WHERE t.id = $1::bigint AND t.version = $2::int"
	                " RETURNING t.id",
	                7, params);
	if (r == NULL)
		goto out;
	n = host->result_rows(r);
	host->result_free(r);
	if (n == 0) {
		vol_conflict(req, host, "team", vol_int(before, "version"));
		goto out;
	}
	if (vol_load(req, host, VOL_TEAM_JSON, VOL_TEAM_FROM, VOL_TEAM_SCOPE, "t.id", id, "team",
	             &after) != 1 ||
	    host->audit(req, "update", "volunteer.team", sid, vol_int(before, "region_id"), before,
	                after) < 0)
		goto out;
	vol_set_etag(req, host, after);
	host->reply_json(req, 200, after);
	after = NULL;
out:
	json_decref(before);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* volunteers */

/*
 * "skills": an array of distinct strings of 1..30 characters, at most 20,
 * as a PostgreSQL array literal (new, free()) in *out; absent leaves NULL.
 */
static int vol_skills(og_req *req, const og_host_api *host, json_t *in, char **out)
{
	json_t *v = json_object_get(in, "skills"), *s;
	size_t i, len = 3;
	char *lit;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > VOL_SKILLS_MAX)
		goto bad;
	json_array_foreach(v, i, s) {
		const char *t = json_string_value(s);
		size_t k;

		if (t == NULL || strlen(t) != json_string_length(s) || vol_utf8_len(t) < 1 ||
		    vol_utf8_len(t) > VOL_SKILL_MAX)
			goto bad;
		for (k = 0; k < i; k++)
			if (strcmp(t, json_string_value(json_array_get(v, k))) == 0)
				goto bad;
		len += 2 * strlen(t) + 4;
	}
	if ((lit = malloc(len)) == NULL) {
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	len = 0;
	lit[len++] = '{';
	json_array_foreach(v, i, s) {
		const char *t = json_string_value(s);

		if (i > 0)
			lit[len++] = ',';
		lit[len++] = '"';
		for (; *t != '\0'; t++) {
			if (*t == '"' || *t == '\\')
				lit[len++] = '\\';
			lit[len++] = *t;
		}
		lit[len++] = '"';
	}
	lit[len++] = '}';
	lit[len] = '\0';
	*out = lit;
	return 0;
bad:
	vol_invalid(req, host, "skills",
	            "skills must be a list of at most 20 distinct strings of 1 to 30 characters");
	return -1;
}

/* A team id given with a volunteer: a team the caller sees, active. */
static int vol_team_check(og_req *req, const og_host_api *host, int64_t team, const char *field)
{
	const og_caller *me = host->caller(req);
	char st[24];
	const char *params[2] = {me->scope_path, vol_id_text(team, st)};
	og_result *r;
	int n;

	r = host->query(req,
	                "SELECT 1" VOL_TEAM_FROM
	                " WHERE t.id = $2::bigint AND t.active AND " VOL_TEAM_SCOPE,
	                2, params);
	if (r == NULL)
		return -1;
	n = host->result_rows(r);
	host->result_free(r);
	if (n == 0)
		vol_invalid(req, host, field, "no such active team in your scope");
	return n > 0;
}

/* GET /api/v1/volunteer/volunteers?team=&region=&status=&party_member=&skill= */
static void vol_volunteers_list(og_req *req, const og_host_api *host)
{
	static const char *const statuses[] = {"active", "inactive", NULL};
	const char *status, *skill = host->query_param(req, "skill");
	int64_t team;
	int party;
	char *path, st[24];
	const char *extra[5];

	if (host->query_id(req, "team", &team) < 0 ||
	    host->query_enum(req, "status", statuses, &status) < 0 ||
	    host->query_bool(req, "party_member", &party) < 0 ||
	    vol_region_param(req, host, &path) < 0)
		return;
	extra[0] = path;
	extra[1] = team != 0 ? vol_id_text(team, st) : NULL;
	extra[2] = status;
	extra[3] = party < 0 ? NULL : party ? "t" : "f";
	extra[4] = skill;
	vol_list(req, host, VOL_VOL_JSON, VOL_VOL_FROM, VOL_VOL_SCOPE, "v.id",
	         "($4::text IS NULL OR g.path <@ $4::text::ltree)"
	         " AND ($5::bigint IS NULL OR v.team_id = $5::bigint)"
	         " AND ($6::text IS NULL OR v.status = $6::text)"
	         " AND ($7::boolean IS NULL OR $7::boolean = " VOL_PARTY(
	                 "x") ")"
	                      " AND ($8::text IS NULL OR $8::text = ANY (v.skills))",
	         5, extra);
	free(path);
}

/* GET /api/v1/volunteer/volunteers/{id} */
static void vol_volunteer_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *v;

	if (host->path_id(req, "id", &id) < 0 ||
	    vol_load(req, host, VOL_VOL_JSON, VOL_VOL_FROM, VOL_VOL_SCOPE, "v.id", id, "volunteer",
	             &v) != 1)
		return;
	vol_set_etag(req, host, v);
	host->reply_json(req, 200, v);
}

/* POST /api/v1/volunteer/volunteers {"resident_id", "team_id", "skills",
 * "availability", "joined_on", "note"} */
static void vol_volunteer_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"resident_id", "team_id", "skills", "availability",
	                                    "joined_on",   "note",    NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *after = NULL;
	const char *avail, *joined, *note;
	int64_t resident, team, grid, id;
	char *skills = NULL, sr[24], st[24], su[24], sid[24], msg[96];
	const char *params[7];
	og_result *r;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "resident_id", OG_REQUIRED, &resident) < 0 ||
	    host->body_id(req, in, "team_id", OG_OPTIONAL, &team) < 0 ||
	    host->body_text(req, in, "availability", VOL_AVAIL_MAX, OG_OPTIONAL, &avail) < 0 ||
	    host->body_date(req, in, "joined_on", OG_OPTIONAL, &joined) < 0 ||
	    host->body_text(req, in, "note", VOL_TEXT_MAX, OG_OPTIONAL, &note) < 0 ||
	    vol_skills(req, host, in, &skills) < 0)
		return;
	if (vol_resident_check(req, host, resident, "resident_id", true, &grid) != 1 ||
	    (team != 0 && vol_team_check(req, host, team, "team_id") != 1))
		goto out;
	params[0] = vol_id_text(resident, sr);
	r = host->query(req, "SELECT id FROM volunteer.volunteer WHERE resident_id = $1::bigint", 1,
	                params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) > 0) {
		snprintf(msg, sizeof(msg), "the resident is already volunteer %s",
		         host->result_text(r, 0, 0));
		vol_reply_error_with(
		        req, host, 409, "duplicate", msg, "resident_id",
		        json_pack("{s:I}", "existing_id", (json_int_t)host->result_int64(r, 0, 0)));
		host->result_free(r);
		goto out;
	}
	host->result_free(r);
	params[1] = team != 0 ? vol_id_text(team, st) : NULL;
	params[2] = skills;
	params[3] = avail;
	params[4] = joined;
	params[5] = note;
	params[6] = vol_user(me, su);
	r = host->query(
	        req,
	        "INSERT INTO volunteer.volunteer (resident_id, team_id, skills, availability,"
	        " joined_on, note, created_by) VALUES ($1::bigint, $2::bigint,"
	        " coalesce($3::text[], '{}'), $4, coalesce($5::date, current_date), $6,"
	        " $7::bigint) RETURNING id",
	        7, params);
	if (r == NULL)
		goto out;
	id = host->result_int64(r, 0, 0);
	host->result_free(r);
	if (vol_load(req, host, VOL_VOL_JSON, VOL_VOL_FROM, VOL_VOL_SCOPE, "v.id", id, "volunteer",
	             &after) != 1)
		goto out;
	if (host->audit(req, "create", "volunteer.volunteer", vol_id_text(id, sid), grid, NULL,
	                after) < 0) {
		json_decref(after);
		goto out;
	}
	vol_created(req, host, "/api/v1/volunteer/volunteers", after);
out:
	free(skills);
}

/* PATCH /api/v1/volunteer/volunteers/{id} {"version", "team_id", "skills",
 * "availability", "status", "note"} */
static void vol_volunteer_patch(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version", "team_id", "skills", "availability",
	                                    "status",  "note",    NULL};
	json_t *in, *before = NULL, *after = NULL, *sv_;
	const char *avail, *note, *status = NULL;
	int64_t id, version, team;
	char *skills = NULL, sid[24], sv[24], st[24];
	const char *params[10];
	og_result *r;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_id(req, in, "team_id", OG_OPTIONAL, &team) < 0 ||
	    host->body_text(req, in, "availability", VOL_AVAIL_MAX, OG_OPTIONAL, &avail) < 0 ||
	    host->body_text(req, in, "note", VOL_TEXT_MAX, OG_OPTIONAL, &note) < 0)
		return;
	sv_ = json_object_get(in, "status");
	if (sv_ != NULL) {
		status = json_string_value(sv_);
		if (status == NULL ||
		    (strcmp(status, "active") != 0 && strcmp(status, "inactive") != 0)) {
			vol_invalid(req, host, "status", "status must be active or inactive");
			return;
		}
	}
	if (vol_skills(req, host, in, &skills) < 0)
		return;
	if (vol_load(req, host, VOL_VOL_JSON, VOL_VOL_FROM, VOL_VOL_SCOPE, "v.id", id, "volunteer",
	             &before) != 1)
		goto out;
	if (vol_int(before, "version") != version) {
		vol_conflict(req, host, "volunteer", vol_int(before, "version"));
		goto out;
	}
	if (status != NULL && strcmp(status, "active") == 0 &&
	    strcmp(vol_str(before, "life_status"), "active") != 0) {
		vol_invalid(req, host, "status",
		            "the resident has died or moved out: the volunteer cannot be active");
		goto out;
	}
	if (team != 0 && vol_team_check(req, host, team, "team_id") != 1)
		goto out;
	params[0] = vol_id_text(id, sid);
	params[1] = vol_id_text(version, sv);
	params[2] = json_object_get(in, "team_id") != NULL ? "t" : "f";
	params[3] = team != 0 ? vol_id_text(team, st) : NULL;
	params[4] = skills;
	params[5] = json_object_get(in, "availability") != NULL ? "t" : "f";
	params[6] = avail;
	params[7] = status;
	params[8] = json_object_get(in, "note") != NULL ? "t" : "f";
	params[9] = note;
	r = host->query(req,
	                "UPDATE volunteer.volunteer v SET"
	                " team_id = CASE WHEN $3::boolean THEN $4::bigint ELSE v.team_id END,"
	                " skills = coalesce($5::text[], v.skills),"
	                " availability = CASE WHEN $6::boolean THEN $7 ELSE v.availability END,"
	                " status = coalesce($8, v.status),"
	                " note = CASE WHEN $9::boolean THEN $10 ELSE v.note END,"
	                " version = v.version + 1, updated_at = now()"
	                " WHERE v.id = $1::bigint AND v.version = $2::int RETURNING v.id",
	                10, params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		vol_conflict(req, host, "volunteer", vol_int(before, "version"));
		goto out;
	}
	host->result_free(r);
	if (vol_load(req, host, VOL_VOL_JSON, VOL_VOL_FROM, VOL_VOL_SCOPE, "v.id", id, "volunteer",
	             &after) != 1 ||
	    host->audit(req, "update", "volunteer.volunteer", sid, vol_int(before, "grid_id"),
	                before, after) < 0)
		goto out;
	vol_set_etag(req, host, after);
	host->reply_json(req, 200, after);
	after = NULL;
out:
	free(skills);
	json_decref(before);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* service records */

/*
 * Inserts a service record and answers nothing: *out gets it as the API
 * shows it (new).  Checks done by the caller.  0, or -1 after a reply.
 * grid: the volunteer's grid, for the audit row.
 */
static int vol_record_insert(og_req *req, const og_host_api *host, int64_t volunteer,
                             int64_t served, const char *subject, const char *kind,
                             const char *served_on, const char *hours, const char *note,
                             int64_t pair, int64_t request, int64_t grid, json_t **out)
{
	const og_caller *me = host->caller(req);
	char sv[24], ss[24], sp[24], sq[24], su[24], sid[24];
	const char *params[10];
	og_result *r;
	int64_t id;

	*out = NULL;
	params[0] = vol_id_text(volunteer, sv);
	params[1] = served != 0 ? vol_id_text(served, ss) : NULL;
	params[2] = subject;
	params[3] = kind;
	params[4] = served_on;
	params[5] = hours;
	params[6] = note;
	params[7] = pair != 0 ? vol_id_text(pair, sp) : NULL;
	params[8] = request != 0 ? vol_id_text(request, sq) : NULL;
	params[9] = vol_user(me, su);
	r = host->query(req,
	                "INSERT INTO volunteer.service_record (volunteer_id, team_id,"
	                " served_resident_id, subject, kind, served_on, hours, note, pair_id,"
	                " request_id, created_by) SELECT v.id, v.team_id, $2::bigint, $3, $4,"
	                " $5::date, $6::numeric, $7, $8::bigint, $9::bigint, $10::bigint"
	                " FROM volunteer.volunteer v WHERE v.id = $1::bigint RETURNING id",
	                10, params);
	if (r == NULL)
		return -1;
	id = host->result_int64(r, 0, 0);
	host->result_free(r);
	if (vol_load(req, host, VOL_REC_JSON, VOL_REC_FROM, VOL_REC_SCOPE, "s.id", id, "record",
	             out) != 1)
		return -1;
	if (host->audit(req, "create", "volunteer.record", vol_id_text(id, sid), grid, NULL, *out) <
	    0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* served_on: required, not in the future, not before `not_before` (may be
 * NULL).  0, or -1 after a 422. */
static int vol_served_on(og_req *req, const og_host_api *host, json_t *in, const char *not_before,
                         const char *what, const char **out)
{
	const char *params[2];
	og_result *r;
	int bad;

	if (host->body_date(req, in, "served_on", OG_OPTIONAL, out) < 0)
		return -1;
	if (*out == NULL) {
		vol_invalid(req, host, "served_on", "served_on is required (YYYY-MM-DD)");
		return -1;
	}
	params[0] = *out;
	params[1] = not_before;
	r = host->query(req,
	                "SELECT CASE WHEN $1::date > current_date THEN 1"
	                " WHEN $2::date IS NOT NULL AND $1::date < $2::date THEN 2 ELSE 0 END",
	                2, params);
	if (r == NULL)
		return -1;
	bad = (int)host->result_int64(r, 0, 0);
	host->result_free(r);
	if (bad == 1) {
		vol_invalid(req, host, "served_on", "served_on cannot be in the future");
		return -1;
	}
	if (bad == 2) {
		char msg[120];

		snprintf(msg, sizeof(msg), "served_on cannot be before %s (%s)", not_before, what);
		vol_invalid(req, host, "served_on", msg);
		return -1;
	}
	return 0;
}

/* GET /api/v1/volunteer/records?volunteer=&resident=&pair=&verified=&from=&to=&region= */
static void vol_records_list(og_req *req, const og_host_api *host)
{
	const char *from, *to;
	int64_t volunteer, resident, pair;
	int verified;
	char *path, sv[24], sr[24], sp[24];
	const char *extra[7];

	if (host->query_id(req, "volunteer", &volunteer) < 0 ||
	    host->query_id(req, "resident", &resident) < 0 ||
	    host->query_id(req, "pair", &pair) < 0 ||
	    host->query_bool(req, "verified", &verified) < 0 ||
	    host->query_date(req, "from", &from) < 0 || host->query_date(req, "to", &to) < 0)
		return;
	if (vol_region_param(req, host, &path) < 0)
		return;
	extra[0] = path;
	extra[1] = volunteer != 0 ? vol_id_text(volunteer, sv) : NULL;
	extra[2] = resident != 0 ? vol_id_text(resident, sr) : NULL;
	extra[3] = pair != 0 ? vol_id_text(pair, sp) : NULL;
	extra[4] = verified < 0 ? NULL : verified ? "t" : "f";
	extra[5] = from;
	extra[6] = to;
	vol_list(req, host, VOL_REC_JSON, VOL_REC_FROM, VOL_REC_SCOPE, "s.id",
	         "($4::text IS NULL OR g.path <@ $4::text::ltree OR sg.path <@ $4::text::ltree)"
	         " AND ($5::bigint IS NULL OR s.volunteer_id = $5::bigint)"
	         " AND ($6::bigint IS NULL OR s.served_resident_id = $6::bigint)"
	         " AND ($7::bigint IS NULL OR s.pair_id = $7::bigint)"
	         " AND ($8::boolean IS NULL OR $8::boolean = (s.verified_at IS NOT NULL))"
	         " AND ($9::date IS NULL OR s.served_on >= $9::date)"
	         " AND ($10::date IS NULL OR s.served_on <= $10::date)",
	         7, extra);
	free(path);
}

/* GET /api/v1/volunteer/records/{id} */
static void vol_record_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *s;

	if (host->path_id(req, "id", &id) < 0 ||
	    vol_load(req, host, VOL_REC_JSON, VOL_REC_FROM, VOL_REC_SCOPE, "s.id", id, "record",
	             &s) != 1)
		return;
	vol_set_etag(req, host, s);
	host->reply_json(req, 200, s);
}

/* POST /api/v1/volunteer/records {"volunteer_id", "served_resident_id" |
 * "subject", "kind", "served_on", "hours", "note"} */
static void vol_record_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"volunteer_id", "served_resident_id",
	                                    "subject",      "kind",
	                                    "served_on",    "hours",
	                                    "note",         NULL};
	json_t *in, *vol = NULL, *after = NULL;
	const char *subject, *kind, *served_on, *note;
	int64_t volunteer, served, grid;
	char hours[24];

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "volunteer_id", OG_REQUIRED, &volunteer) < 0 ||
	    host->body_id(req, in, "served_resident_id", OG_OPTIONAL, &served) < 0 ||
	    host->body_text(req, in, "subject", VOL_SUBJECT_MAX, OG_OPTIONAL, &subject) < 0 ||
	    host->body_enum(req, in, "kind", vol_kinds, OG_REQUIRED, &kind) < 0 ||
	    vol_served_on(req, host, in, NULL, NULL, &served_on) < 0 ||
	    vol_hours(req, host, in, hours) < 0 ||
	    host->body_text(req, in, "note", VOL_TEXT_MAX, OG_OPTIONAL, &note) < 0)
		return;
	if (served == 0 && subject == NULL) {
		vol_invalid(req, host, "served_resident_id",
		            "say whom (served_resident_id) or what (subject) the service was for");
		return;
	}
	if (vol_volunteer_check(req, host, volunteer, "volunteer_id", true, &vol) != 1)
		return;
	if (served != 0 &&
	    vol_resident_check(req, host, served, "served_resident_id", false, &grid) != 1)
		goto out;
	if (served != 0 && served == vol_int(vol, "resident_id")) {
		vol_invalid(req, host, "served_resident_id", "a volunteer does not serve themself");
		goto out;
	}
	if (vol_record_insert(req, host, volunteer, served, subject, kind, served_on, hours, note,
	                      0, 0, vol_int(vol, "grid_id"), &after) < 0)
		goto out;
	vol_created(req, host, "/api/v1/volunteer/records", after);
out:
	json_decref(vol);
}

/* POST /api/v1/volunteer/records/{id}/verify {"version"} — by someone
 * other than the recorder; from then on the hours count. */
static void vol_record_verify(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *before = NULL, *after = NULL;
	int64_t id, version;
	char sid[24], sv[24], su[24];
	const char *params[3];
	og_result *r;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0)
		return;
	if (vol_load(req, host, VOL_REC_JSON, VOL_REC_FROM, VOL_REC_SCOPE, "s.id", id, "record",
	             &before) != 1)
		return;
	if (vol_int(before, "version") != version) {
		vol_conflict(req, host, "record", vol_int(before, "version"));
		goto out;
	}
	if (json_is_true(json_object_get(before, "verified"))) {
		host->reply_error(req, 409, "already_verified", "the record is already verified",
		                  NULL);
		goto out;
	}
	if (me->user_id > 0 && vol_int(before, "created_by") == me->user_id) {
		host->reply_error(
		        req, 403, "forbidden",
		        "a service record is verified by someone other than who recorded it", NULL);
		goto out;
	}
	params[0] = vol_id_text(id, sid);
	params[1] = vol_id_text(version, sv);
	params[2] = vol_user(me, su);
	r = host->query(req,
	                "UPDATE volunteer.service_record s SET verified_by = $3::bigint,"
	                " verified_at = now(), version = s.version + 1, updated_at = now()"
	                " WHERE s.id = $1::bigint AND s.version = $2::int"
	                " AND s.verified_at IS NULL RETURNING s.id",
	                3, params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		vol_conflict(req, host, "record", vol_int(before, "version"));
		goto out;
	}
	host->result_free(r);
	if (vol_load(req, host, VOL_REC_JSON, VOL_REC_FROM, VOL_REC_SCOPE, "s.id", id, "record",
	             &after) != 1)
		goto out;
	/* The audit row is scoped by the volunteer's grid. */
	params[0] = sid;
	r = host->query(
	        req,
	        "SELECT x.grid_id FROM volunteer.service_record s JOIN volunteer.volunteer v"
	        " ON v.id = s.volunteer_id JOIN core.resident x ON x.id = v.resident_id"
	        " WHERE s.id = $1::bigint",
	        1, params);
	if (r == NULL)
		goto out;
	id = host->result_int64(r, 0, 0);
	host->result_free(r);
	if (host->audit(req, "verify", "volunteer.record", sid, id, before, after) < 0)
		goto out;
	vol_set_etag(req, host, after);
	host->reply_json(req, 200, after);
	after = NULL;
out:
	json_decref(before);
	json_decref(after);
}

/* DELETE /api/v1/volunteer/records/{id} (version in If-Match or body) —
 * a record entered by mistake, while it is unverified and closes no
 * request; a verified record is history and stays. */
static void vol_record_delete(og_req *req, const og_host_api *host)
{
	json_t *in = host->body(req), *before = NULL;
	int64_t id, version, grid;
	char sid[24], sv[24];
	const char *params[2];
	og_result *r;
	int n;

	if (host->path_id(req, "id", &id) < 0 ||
	    host->client_version(req, json_is_object(in) ? in : NULL, &version) < 0)
		return;
	if (vol_load(req, host, VOL_REC_JSON, VOL_REC_FROM, VOL_REC_SCOPE, "s.id", id, "record",
	             &before) != 1)
		return;
	if (vol_int(before, "version") != version) {
		vol_conflict(req, host, "record", vol_int(before, "version"));
		goto out;
	}
	if (json_is_true(json_object_get(before, "verified"))) {
		host->reply_error(req, 409, "already_verified",
		                  "a verified record is kept: it cannot be deleted", NULL);
		goto out;
	}
	if (vol_int(before, "request_id") != 0) {
		host->reply_error(req, 409, "closes_request",
		                  "the record closed a help request: it cannot be deleted", NULL);
		goto out;
	}
	params[0] = vol_id_text(id, sid);
	params[1] = vol_id_text(version, sv);
	r = host->query(
	        req,
	        "WITH d AS (DELETE FROM volunteer.service_record s WHERE s.id = $1::bigint"
	        " AND s.version = $2::int AND s.verified_at IS NULL RETURNING s.volunteer_id)"
	        " SELECT x.grid_id FROM d JOIN volunteer.volunteer v ON v.id = d.volunteer_id"
	        " JOIN core.resident x ON x.id = v.resident_id",
	        2, params);
	if (r == NULL)
		goto out;
	n = host->result_rows(r);
	grid = n > 0 ? host->result_int64(r, 0, 0) : 0;
	host->result_free(r);
	if (n == 0) {
		vol_conflict(req, host, "record", vol_int(before, "version"));
		goto out;
	}
	if (host->audit(req, "delete", "volunteer.record", sid, grid, before, NULL) < 0)
		goto out;
	host->reply_json(req, 200, json_pack("{s:b, s:I}", "deleted", 1, "id", (json_int_t)id));
out:
	json_decref(before);
}

/* ------------------------------------------------------------------ */
/* candidates and pairs */

/* GET /api/v1/volunteer/candidates?region=&limit=&cursor=
 * Active residents in scope who need a pair (VOL_NEEDS) and have none. */
static void vol_candidates(og_req *req, const og_host_api *host)
{
	char *path;
	const char *extra[1];

	if (vol_region_param(req, host, &path) < 0)
		return;
	extra[0] = path;
	vol_list(req, host,
	         "json_build_object('resident_id', x.id, 'name', x.name, 'gender', x.gender,"
	         " 'birth_date', x.birth_date, 'age', " VOL_AGE(
	                 "x", "current_date") ","
	                                      " 'grid_id', g.id, 'grid_name', g.name, "
	                                      "'household_id', x.household_id,"
	                                      " 'reasons', to_json(" VOL_NEEDS("x", "g",
	                                                                       "current_date") "))",
	         " FROM core.resident x JOIN core.region g ON g.id = x.grid_id",
	         "($1::text = '' OR g.path <@ $1::text::ltree)", "x.id",
	         "($4::text IS NULL OR g.path <@ $4::text::ltree) AND x.life_status = 'active'"
	         " AND cardinality(" VOL_NEEDS(
	                 "x", "g", "current_date") ") > 0"
	                                           " AND NOT EXISTS (SELECT 1 FROM volunteer.pair "
	                                           "p WHERE p.resident_id = x.id"
	                                           "  AND p.status = 'open')",
	         1, extra);
	free(path);
}

/* GET /api/v1/volunteer/pairs?status=&volunteer=&resident=&region= */
static void vol_pairs_list(og_req *req, const og_host_api *host)
{
	static const char *const statuses[] = {"open", "closed", NULL};
	const char *status;
	int64_t volunteer, resident;
	char *path, sv[24], sr[24];
	const char *extra[4];

	if (host->query_enum(req, "status", statuses, &status) < 0 ||
	    host->query_id(req, "volunteer", &volunteer) < 0 ||
	    host->query_id(req, "resident", &resident) < 0 ||
	    vol_region_param(req, host, &path) < 0)
		return;
	extra[0] = path;
	extra[1] = status;
	extra[2] = volunteer != 0 ? vol_id_text(volunteer, sv) : NULL;
	extra[3] = resident != 0 ? vol_id_text(resident, sr) : NULL;
	vol_list(req, host, VOL_PAIR_JSON, VOL_PAIR_FROM, VOL_PAIR_SCOPE, "p.id",
	         "($4::text IS NULL OR hg.path <@ $4::text::ltree)"
	         " AND ($5::text IS NULL OR p.status = $5::text)"
	         " AND ($6::bigint IS NULL OR p.volunteer_id = $6::bigint)"
	         " AND ($7::bigint IS NULL OR p.resident_id = $7::bigint)",
	         4, extra);
	free(path);
}

/* GET /api/v1/volunteer/pairs/{id} */
static void vol_pair_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *p;

	if (host->path_id(req, "id", &id) < 0 ||
	    vol_load(req, host, VOL_PAIR_JSON, VOL_PAIR_FROM, VOL_PAIR_SCOPE, "p.id", id, "pair",
	             &p) != 1)
		return;
	vol_set_etag(req, host, p);
	host->reply_json(req, 200, p);
}

/* POST /api/v1/volunteer/pairs {"volunteer_id", "resident_id", "started_on", "note"} */
static void vol_pair_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"volunteer_id", "resident_id", "started_on", "note",
	                                    NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *vol = NULL, *after = NULL;
	const char *started, *note;
	int64_t volunteer, resident, grid, id;
	char sv[24], sr[24], su[24], sid[24], msg[96];
	const char *params[5];
	og_result *r;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "volunteer_id", OG_REQUIRED, &volunteer) < 0 ||
	    host->body_id(req, in, "resident_id", OG_REQUIRED, &resident) < 0 ||
	    host->body_date(req, in, "started_on", OG_OPTIONAL, &started) < 0 ||
	    host->body_text(req, in, "note", VOL_TEXT_MAX, OG_OPTIONAL, &note) < 0)
		return;
	if (vol_volunteer_check(req, host, volunteer, "volunteer_id", true, &vol) != 1)
		return;
	if (vol_resident_check(req, host, resident, "resident_id", true, &grid) != 1)
		goto out;
	if (resident == vol_int(vol, "resident_id")) {
		vol_invalid(req, host, "resident_id", "a volunteer is not paired with themself");
		goto out;
	}
	params[0] = vol_id_text(resident, sr);
	params[1] = started;
	r = host->query(req,
	                "SELECT (SELECT id FROM volunteer.pair WHERE resident_id = $1::bigint"
	                " AND status = 'open'), $2::date > current_date",
	                2, params);
	if (r == NULL)
		goto out;
	if (host->result_text(r, 0, 0) != NULL) {
		snprintf(msg, sizeof(msg), "the resident already has open pair %s",
		         host->result_text(r, 0, 0));
		vol_reply_error_with(
		        req, host, 409, "duplicate", msg, "resident_id",
		        json_pack("{s:I}", "existing_id", (json_int_t)host->result_int64(r, 0, 0)));
		host->result_free(r);
		goto out;
	}
	id = host->result_bool(r, 0, 1);
	host->result_free(r);
	if (id) {
		vol_invalid(req, host, "started_on", "started_on cannot be in the future");
		goto out;
	}
	params[1] = vol_id_text(volunteer, sv);
	params[2] = started;
	params[3] = note;
	params[4] = vol_user(me, su);
	/* The basis is what made the resident a candidate on the day: kept so
	 * the register says why the pair was made even after that changes. */
	r = host->query(req,
	                "INSERT INTO volunteer.pair (volunteer_id, resident_id, started_on, basis,"
	                " note, created_by) SELECT $2::bigint, x.id, coalesce($3::date,"
	                " current_date), " VOL_NEEDS(
	                        "x", "g", "current_date") ", $4, $5::bigint"
	                                                  " FROM core.resident x JOIN core.region "
	                                                  "g ON g.id = x.grid_id"
	                                                  " WHERE x.id = $1::bigint RETURNING id",
	                5, params);
	if (r == NULL)
		goto out;
	id = host->result_int64(r, 0, 0);
	host->result_free(r);
	if (vol_load(req, host, VOL_PAIR_JSON, VOL_PAIR_FROM, VOL_PAIR_SCOPE, "p.id", id, "pair",
	             &after) != 1)
		goto out;
	if (host->audit(req, "create", "volunteer.pair", vol_id_text(id, sid), grid, NULL, after) <
	    0) {
		json_decref(after);
		goto out;
	}
	vol_created(req, host, "/api/v1/volunteer/pairs", after);
out:
	json_decref(vol);
}

/* POST /api/v1/volunteer/pairs/{id}/visits {"served_on", "hours", "kind", "note"}
 * A visit under the pair is a service record for the helped resident. */
static void vol_pair_visit(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"served_on", "hours", "kind", "note", NULL};
	json_t *in, *pair = NULL, *vol = NULL, *after = NULL;
	const char *kind, *served_on, *note;
	int64_t id;
	char hours[24];

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_enum(req, in, "kind", vol_kinds, OG_OPTIONAL, &kind) < 0 ||
	    vol_hours(req, host, in, hours) < 0 ||
	    host->body_text(req, in, "note", VOL_TEXT_MAX, OG_OPTIONAL, &note) < 0)
		return;
	if (vol_load(req, host, VOL_PAIR_JSON, VOL_PAIR_FROM, VOL_PAIR_SCOPE, "p.id", id, "pair",
	             &pair) != 1)
		return;
	if (strcmp(vol_str(pair, "status"), "open") != 0) {
		host->reply_error(req, 409, "pair_closed", "the pair is closed: no more visits",
		                  NULL);
		goto out;
	}
	if (vol_served_on(req, host, in, vol_str(pair, "started_on"), "the pair's start",
	                  &served_on) < 0 ||
	    vol_volunteer_check(req, host, vol_int(pair, "volunteer_id"), "volunteer_id", false,
	                        &vol) != 1)
		goto out;
	if (vol_record_insert(req, host, vol_int(pair, "volunteer_id"),
	                      vol_int(pair, "resident_id"), NULL, kind != NULL ? kind : "visit",
	                      served_on, hours, note, id, 0, vol_int(vol, "grid_id"), &after) < 0)
		goto out;
	vol_created(req, host, "/api/v1/volunteer/records", after);
out:
	json_decref(pair);
	json_decref(vol);
}

/* POST /api/v1/volunteer/pairs/{id}/close {"version", "reason", "closed_on"} */
static void vol_pair_close(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version", "reason", "closed_on", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *before = NULL, *after = NULL;
	const char *reason, *closed_on;
	int64_t id, version;
	char sid[24], sv[24], su[24];
	const char *params[5];
	og_result *r;
	int bad;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_text(req, in, "reason", VOL_TEXT_MAX, OG_REQUIRED, &reason) < 0 ||
	    host->body_date(req, in, "closed_on", OG_OPTIONAL, &closed_on) < 0)
		return;
	if (vol_load(req, host, VOL_PAIR_JSON, VOL_PAIR_FROM, VOL_PAIR_SCOPE, "p.id", id, "pair",
	             &before) != 1)
		return;
	if (vol_int(before, "version") != version) {
		vol_conflict(req, host, "pair", vol_int(before, "version"));
		goto out;
	}
	if (strcmp(vol_str(before, "status"), "open") != 0) {
		host->reply_error(req, 409, "pair_closed", "the pair is already closed", NULL);
		goto out;
	}
	params[0] = closed_on;
	params[1] = vol_str(before, "started_on");
	r = host->query(req,
	                "SELECT CASE WHEN $1::date > current_date THEN 1 WHEN $1::date < $2::date"
	                " THEN 2 ELSE 0 END",
	                2, params);
	if (r == NULL)
		goto out;
	bad = (int)host->result_int64(r, 0, 0);
	host->result_free(r);
	if (bad != 0) {
		vol_invalid(req, host, "closed_on",
		            bad == 1 ? "closed_on cannot be in the future"
		                     : "closed_on cannot be before the pair started");
		goto out;
	}
	params[0] = vol_id_text(id, sid);
	params[1] = vol_id_text(version, sv);
	params[2] = reason;
	params[3] = closed_on;
	params[4] = vol_user(me, su);
	r = host->query(
	        req,
	        "UPDATE volunteer.pair p SET status = 'closed', closed_on ="
	        " coalesce($4::date, current_date), close_kind = 'manual', close_reason = $3,"
	        " closed_by = $5::bigint, version = p.version + 1, updated_at = now()"
	        " WHERE p.id = $1::bigint AND p.version = $2::int AND p.status = 'open'"
	        " RETURNING p.id",
	        5, params);
	if (r == NULL)
		goto out;
	bad = host->result_rows(r) == 0;
	host->result_free(r);
	if (bad) {
		vol_conflict(req, host, "pair", vol_int(before, "version"));
		goto out;
	}
	if (vol_load(req, host, VOL_PAIR_JSON, VOL_PAIR_FROM, VOL_PAIR_SCOPE, "p.id", id, "pair",
	             &after) != 1 ||
	    host->audit(req, "close", "volunteer.pair", sid, vol_int(before, "grid_id"), before,
	                after) < 0)
		goto out;
	vol_set_etag(req, host, after);
	host->reply_json(req, 200, after);
	after = NULL;
out:
	json_decref(before);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* help requests */

/* GET /api/v1/volunteer/requests?status=&resident=&volunteer=&region= */
static void vol_requests_list(og_req *req, const og_host_api *host)
{
	static const char *const statuses[] = {"open", "assigned", "closed", "cancelled", NULL};
	const char *status;
	int64_t resident, volunteer;
	char *path, sr[24], sv[24];
	const char *extra[4];

	if (host->query_enum(req, "status", statuses, &status) < 0 ||
	    host->query_id(req, "resident", &resident) < 0 ||
	    host->query_id(req, "volunteer", &volunteer) < 0 ||
	    vol_region_param(req, host, &path) < 0)
		return;
	extra[0] = path;
	extra[1] = status;
	extra[2] = resident != 0 ? vol_id_text(resident, sr) : NULL;
	extra[3] = volunteer != 0 ? vol_id_text(volunteer, sv) : NULL;
	vol_list(req, host, VOL_REQ_JSON, VOL_REQ_FROM, VOL_REQ_SCOPE, "q.id",
	         "($4::text IS NULL OR hg.path <@ $4::text::ltree)"
	         " AND ($5::text IS NULL OR q.status = $5::text)"
	         " AND ($6::bigint IS NULL OR q.resident_id = $6::bigint)"
	         " AND ($7::bigint IS NULL OR q.assigned_volunteer_id = $7::bigint)",
	         4, extra);
	free(path);
}

/* GET /api/v1/volunteer/requests/{id} */
static void vol_request_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *q;

	if (host->path_id(req, "id", &id) < 0 ||
	    vol_load(req, host, VOL_REQ_JSON, VOL_REQ_FROM, VOL_REQ_SCOPE, "q.id", id, "request",
	             &q) != 1)
		return;
	vol_set_etag(req, host, q);
	host->reply_json(req, 200, q);
}

/* POST /api/v1/volunteer/requests {"resident_id", "kind", "need", "requested_on"} */
static void vol_request_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"resident_id", "kind", "need", "requested_on", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *after = NULL;
	const char *kind, *need, *on;
	int64_t resident, grid, id;
	char sr[24], su[24], sid[24];
	const char *params[5];
	og_result *r;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "resident_id", OG_REQUIRED, &resident) < 0 ||
	    host->body_enum(req, in, "kind", vol_kinds, OG_REQUIRED, &kind) < 0 ||
	    host->body_text(req, in, "need", VOL_TEXT_MAX, OG_REQUIRED, &need) < 0 ||
	    host->body_date(req, in, "requested_on", OG_OPTIONAL, &on) < 0)
		return;
	if (vol_resident_check(req, host, resident, "resident_id", true, &grid) != 1)
		return;
	params[0] = on;
	r = host->query(req, "SELECT $1::date > current_date", 1, params);
	if (r == NULL)
		return;
	id = host->result_bool(r, 0, 0);
	host->result_free(r);
	if (id) {
		vol_invalid(req, host, "requested_on", "requested_on cannot be in the future");
		return;
	}
	params[0] = vol_id_text(resident, sr);
	params[1] = kind;
	params[2] = need;
	params[3] = on;
	params[4] = vol_user(me, su);
	r = host->query(req,
	                "INSERT INTO volunteer.request (resident_id, kind, need, requested_on,"
	                " created_by) VALUES ($1::bigint, $2, $3, coalesce($4::date, current_date),"
	                " $5::bigint) RETURNING id",
	                5, params);
	if (r == NULL)
		return;
	id = host->result_int64(r, 0, 0);
	host->result_free(r);
	if (vol_load(req, host, VOL_REQ_JSON, VOL_REQ_FROM, VOL_REQ_SCOPE, "q.id", id, "request",
	             &after) != 1)
		return;
	if (host->audit(req, "create", "volunteer.request", vol_id_text(id, sid), grid, NULL,
	                after) < 0) {
		json_decref(after);
		return;
	}
	vol_created(req, host, "/api/v1/volunteer/requests", after);
}

/* A closed or cancelled request takes no further step: true after the 409. */
static bool vol_request_ended(og_req *req, const og_host_api *host, json_t *q)
{
	const char *status = vol_str(q, "status");

	if (strcmp(status, "closed") != 0 && strcmp(status, "cancelled") != 0)
		return false;
	host->reply_error(req, 409, "request_closed",
	                  strcmp(status, "closed") == 0 ? "the request is already closed"
	                                                : "the request was cancelled",
	                  NULL);
	return true;
}

/* POST /api/v1/volunteer/requests/{id}/assign {"version", "volunteer_id"}
 * The team leader's step (volunteer.write): open or assigned -> assigned. */
static void vol_request_assign(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version", "volunteer_id", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *before = NULL, *after = NULL, *vol = NULL;
	int64_t id, version, volunteer;
	char sid[24], sv[24], svo[24], su[24];
	const char *params[4];
	og_result *r;
	int n;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_id(req, in, "volunteer_id", OG_REQUIRED, &volunteer) < 0)
		return;
	if (vol_load(req, host, VOL_REQ_JSON, VOL_REQ_FROM, VOL_REQ_SCOPE, "q.id", id, "request",
	             &before) != 1)
		return;
	if (vol_int(before, "version") != version) {
		vol_conflict(req, host, "request", vol_int(before, "version"));
		goto out;
	}
	if (vol_request_ended(req, host, before))
		goto out;
	if (vol_volunteer_check(req, host, volunteer, "volunteer_id", true, &vol) != 1)
		goto out;
	if (vol_int(vol, "resident_id") == vol_int(before, "resident_id")) {
		vol_invalid(req, host, "volunteer_id", "a resident does not help themself");
		goto out;
	}
	params[0] = vol_id_text(id, sid);
	params[1] = vol_id_text(version, sv);
	params[2] = vol_id_text(volunteer, svo);
	params[3] = vol_user(me, su);
	r = host->query(req,
	                "UPDATE volunteer.request q SET status = 'assigned',"
	                " assigned_volunteer_id = $3::bigint, team_id = (SELECT v.team_id FROM"
	                " volunteer.volunteer v WHERE v.id = $3::bigint), assigned_by = $4::bigint,"
	                " assigned_at = now(), version = q.version + 1, updated_at = now()"
	                " WHERE q.id = $1::bigint AND q.version = $2::int AND q.status IN ('open', "
	                "'assigned')"
	                " RETURNING q.id",
	                4, params);
	if (r == NULL)
		goto out;
	n = host->result_rows(r);
	host->result_free(r);
	if (n == 0) {
		vol_conflict(req, host, "request", vol_int(before, "version"));
		goto out;
	}
	if (vol_load(req, host, VOL_REQ_JSON, VOL_REQ_FROM, VOL_REQ_SCOPE, "q.id", id, "request",
	             &after) != 1 ||
	    host->audit(req, "assign", "volunteer.request", sid, vol_int(before, "grid_id"), before,
	                after) < 0)
		goto out;
	vol_set_etag(req, host, after);
	host->reply_json(req, 200, after);
	after = NULL;
out:
	json_decref(before);
	json_decref(after);
	json_decref(vol);
}

/* POST /api/v1/volunteer/requests/{id}/close {"version", "served_on", "hours", "note"}
 * Closed with the service record of the help given (unverified until
 * someone verifies it, like every record). */
static void vol_request_close(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version", "served_on", "hours", "note", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *before = NULL, *after = NULL, *rec = NULL, *vol = NULL;
	const char *served_on, *note;
	int64_t id, version;
	char sid[24], sv[24], su[24], hours[24];
	const char *params[4];
	og_result *r;
	int n;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 || vol_hours(req, host, in, hours) < 0 ||
	    host->body_text(req, in, "note", VOL_TEXT_MAX, OG_OPTIONAL, &note) < 0)
		return;
	if (vol_load(req, host, VOL_REQ_JSON, VOL_REQ_FROM, VOL_REQ_SCOPE, "q.id", id, "request",
	             &before) != 1)
		return;
	if (vol_int(before, "version") != version) {
		vol_conflict(req, host, "request", vol_int(before, "version"));
		goto out;
	}
	if (vol_request_ended(req, host, before))
		goto out;
	if (strcmp(vol_str(before, "status"), "assigned") != 0) {
		host->reply_error(req, 409, "not_assigned",
		                  "assign a volunteer before closing the request", NULL);
		goto out;
	}
	if (vol_served_on(req, host, in, vol_str(before, "requested_on"), "the request's date",
	                  &served_on) < 0)
		goto out;
	if (vol_volunteer_check(req, host, vol_int(before, "assigned_volunteer_id"), "volunteer_id",
	                        false, &vol) != 1)
		goto out;
	if (vol_record_insert(req, host, vol_int(before, "assigned_volunteer_id"),
	                      vol_int(before, "resident_id"), NULL, vol_str(before, "kind"),
	                      served_on, hours, note, 0, id, vol_int(vol, "grid_id"), &rec) < 0)
		goto out;
	params[0] = vol_id_text(id, sid);
	params[1] = vol_id_text(version, sv);
	params[2] = served_on;
	params[3] = vol_user(me, su);
	r = host->query(req,
	                "UPDATE volunteer.request q SET status = 'closed', closed_on = $3::date,"
	                " closed_by = $4::bigint, version = q.version + 1, updated_at = now()"
	                " WHERE q.id = $1::bigint AND q.version = $2::int RETURNING q.id",
	                4, params);
	if (r == NULL)
		goto out;
	n = host->result_rows(r);
	host->result_free(r);
	if (n == 0) {
		vol_conflict(req, host, "request", vol_int(before, "version"));
		goto out;
	}
	if (vol_load(req, host, VOL_REQ_JSON, VOL_REQ_FROM, VOL_REQ_SCOPE, "q.id", id, "request",
	             &after) != 1 ||
	    host->audit(req, "close", "volunteer.request", sid, vol_int(before, "grid_id"), before,
	                after) < 0)
		goto out;
	json_object_set(after, "record", rec);
	vol_set_etag(req, host, after);
	host->reply_json(req, 200, after);
	after = NULL;
out:
	json_decref(before);
	json_decref(after);
	json_decref(rec);
	json_decref(vol);
}

/* POST /api/v1/volunteer/requests/{id}/cancel {"version", "reason"}
 * A request that will not be served (withdrawn, solved otherwise). */
static void vol_request_cancel(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version", "reason", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *before = NULL, *after = NULL;
	const char *reason;
	int64_t id, version;
	char sid[24], sv[24], su[24];
	const char *params[4];
	og_result *r;
	int n;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_text(req, in, "reason", VOL_TEXT_MAX, OG_REQUIRED, &reason) < 0)
		return;
	if (vol_load(req, host, VOL_REQ_JSON, VOL_REQ_FROM, VOL_REQ_SCOPE, "q.id", id, "request",
	             &before) != 1)
		return;
	if (vol_int(before, "version") != version) {
		vol_conflict(req, host, "request", vol_int(before, "version"));
		goto out;
	}
	if (vol_request_ended(req, host, before))
		goto out;
	params[0] = vol_id_text(id, sid);
	params[1] = vol_id_text(version, sv);
	params[2] = reason;
	params[3] = vol_user(me, su);
	r = host->query(
	        req,
	        "UPDATE volunteer.request q SET status = 'cancelled', cancel_reason = $3,"
	        " closed_on = greatest(current_date, q.requested_on), closed_by = $4::bigint,"
	        " version = q.version + 1, updated_at = now() WHERE q.id = $1::bigint"
	        " AND q.version = $2::int AND q.status IN ('open', 'assigned') RETURNING q.id",
	        4, params);
	if (r == NULL)
		goto out;
	n = host->result_rows(r);
	host->result_free(r);
	if (n == 0) {
		vol_conflict(req, host, "request", vol_int(before, "version"));
		goto out;
	}
	if (vol_load(req, host, VOL_REQ_JSON, VOL_REQ_FROM, VOL_REQ_SCOPE, "q.id", id, "request",
	             &after) != 1 ||
	    host->audit(req, "cancel", "volunteer.request", sid, vol_int(before, "grid_id"), before,
	                after) < 0)
		goto out;
	vol_set_etag(req, host, after);
	host->reply_json(req, 200, after);
	after = NULL;
out:
	json_decref(before);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* hooks: a helped resident (or a volunteer) who dies or moves out */

/*
 * resident.deceased / resident.moved_out: every open pair of the resident
 * — as the helped one or as the volunteer — closes on the event's date
 * with the reason; a volunteer who left becomes inactive.  $1 resident,
 * $2 the user.  Answers [{pair_id, grid_id, close_kind, close_reason}].
 */
static const char vol_sql_hook_gone[] =
        "WITH r AS (SELECT x.id, x.life_status, coalesce(x.life_status_date, current_date) AS d"
        "  FROM core.resident x WHERE x.id = $1::bigint AND x.life_status <> 'active'), "
        "c AS (UPDATE volunteer.pair p SET status = 'closed',"
        "  closed_on = greatest(r.d, p.started_on),"
        "  close_kind = CASE WHEN p.resident_id = r.id THEN CASE r.life_status"
        "   WHEN 'deceased' THEN 'resident_deceased' ELSE 'resident_moved_out' END"
        "   ELSE 'volunteer_left' END,"
        "  close_reason = CASE WHEN p.resident_id = r.id THEN CASE r.life_status"
        "   WHEN 'deceased' THEN '帮扶对象去世(' ELSE '帮扶对象迁出(' END"
        "   ELSE CASE r.life_status WHEN 'deceased' THEN '志愿者去世(' ELSE '志愿者迁出(' END"
        "   END || r.d || ')',"
        "  closed_by = $2::bigint, version = p.version + 1, updated_at = now()"
        "  FROM r WHERE p.status = 'open' AND (p.resident_id = r.id OR p.volunteer_id IN"
        "  (SELECT v.id FROM volunteer.volunteer v WHERE v.resident_id = r.id))"
        "  RETURNING p.id, p.resident_id, p.close_kind, p.close_reason, p.closed_on), "
        "vi AS (UPDATE volunteer.volunteer v SET status = 'inactive', version = v.version + 1,"
        "  updated_at = now() FROM r WHERE v.resident_id = r.id AND v.status = 'active'"
        "  RETURNING v.id), "
        "qc AS (UPDATE volunteer.request q SET status = 'cancelled',"
        "  closed_on = greatest(r.d, q.requested_on), closed_by = $2::bigint,"
        "  cancel_reason = CASE r.life_status WHEN 'deceased' THEN '求助人去世('"
        "   ELSE '求助人迁出(' END || r.d || ')', version = q.version + 1, updated_at = now()"
        "  FROM r WHERE q.resident_id = r.id AND q.status IN ('open', 'assigned')"
        "  RETURNING q.id, q.resident_id, q.status, q.cancel_reason), "
        "qo AS (UPDATE volunteer.request q SET status = 'open', assigned_volunteer_id = NULL,"
        "  assigned_by = NULL, assigned_at = NULL, version = q.version + 1, updated_at = now()"
        "  FROM r WHERE q.status = 'assigned' AND q.resident_id <> r.id"
        "  AND q.assigned_volunteer_id IN (SELECT v.id FROM volunteer.volunteer v"
        "  WHERE v.resident_id = r.id) RETURNING q.id, q.resident_id, q.status) "
        "SELECT json_build_object('pairs', (SELECT coalesce(json_agg(json_build_object("
        "  'pair_id', c.id, 'grid_id', (SELECT h.grid_id FROM core.resident h"
        "  WHERE h.id = c.resident_id), 'status', 'closed', 'closed_on', c.closed_on,"
        "  'close_kind', c.close_kind, 'close_reason', c.close_reason) ORDER BY c.id), '[]')"
        "  FROM c), 'volunteers', (SELECT coalesce(json_agg(vi.id), '[]') FROM vi),"
        " 'requests', (SELECT coalesce(json_agg(json_build_object('request_id', x.id,"
        "  'grid_id', (SELECT h.grid_id FROM core.resident h WHERE h.id = x.resident_id),"
        "  'status', x.status, 'cancel_reason', x.cancel_reason) ORDER BY x.id), '[]') FROM"
        "  (SELECT id, resident_id, status, cancel_reason FROM qc UNION ALL"
        "   SELECT id, resident_id, status, NULL FROM qo) x))";

static int vol_hook(og_req *req, const og_host_api *host, const char *event, int64_t entity_id,
                    json_t *payload)
{
	const og_caller *me;
	char sid[24], su[24];
	const char *params[2];
	json_t *out = NULL, *p;
	size_t i;

	(void)payload;
	if (req == NULL) {
		host->log(OG_LOG_WARN, "%s fired outside a request: pairs not closed", event);
		return 0;
	}
	me = host->caller(req);
	params[0] = vol_id_text(entity_id, sid);
	params[1] = vol_user(me, su);
	if (host->query_json(req, vol_sql_hook_gone, 2, params, &out) != 1)
		return -1;
	json_array_foreach(json_object_get(out, "pairs"), i, p) {
		if (host->audit(req, "close", "volunteer.pair",
		                vol_id_text(vol_int(p, "pair_id"), sid), vol_int(p, "grid_id"),
		                NULL, p) < 0) {
			json_decref(out);
			return -1;
		}
	}
	/* Requests of the resident: cancelled; assigned to the volunteer who
	 * left: open again for the team leader to reassign. */
	json_array_foreach(json_object_get(out, "requests"), i, p) {
		if (host->audit(req,
		                strcmp(vol_str(p, "status"), "open") == 0 ? "reopen" : "cancel",
		                "volunteer.request", vol_id_text(vol_int(p, "request_id"), sid),
		                vol_int(p, "grid_id"), NULL, p) < 0) {
			json_decref(out);
			return -1;
		}
	}
	json_decref(out);
	return 0;
}

/* ------------------------------------------------------------------ */
/* indicators and ledgers */

/* clang-format off */
/*
 * Indicators: $1 the report date; one row (grid_id, value) per grid, zeros
 * included.  A volunteer, a record, is counted in the volunteer's grid; a
 * pair, a candidate, a request in the helped resident's grid.  Only
 * verified records count, and only those verified by the report date.
 */
#define VOL_YEAR_OF_D "date_trunc('year', $1::date)::date"
#define VOL_COUNTED_ON                                                                       \
	"s.verified_at IS NOT NULL AND s.verified_at::date <= $1::date"                        \
	" AND s.served_on <= $1::date AND s.served_on >= " VOL_YEAR_OF_D
#define VOL_REC_ON_GRID                                                                      \
	" LEFT JOIN (volunteer.service_record s JOIN volunteer.volunteer v"                     \
	" ON v.id = s.volunteer_id JOIN core.resident x ON x.id = v.resident_id)"               \
	" ON x.grid_id = g.id AND " VOL_COUNTED_ON
#define VOL_PAIR_OPEN_ON                                                                     \
	"p.started_on <= $1::date AND (p.closed_on IS NULL OR p.closed_on > $1::date)"
/* Alive and not moved away on the date. */
#define VOL_PRESENT_ON(r)                                                                    \
	"(" r ".life_status = 'active' OR " r ".life_status_date > $1::date)"
#define VOL_UNPAIRED_IN(g)                                                                   \
	VOL_PRESENT_ON("x") " AND cardinality(" VOL_NEEDS("x", g, "$1::date") ") > 0"          \
	" AND NOT EXISTS (SELECT 1 FROM volunteer.pair p WHERE p.resident_id = x.id AND "      \
	VOL_PAIR_OPEN_ON ")"
#define VOL_UNPAIRED_ON VOL_UNPAIRED_IN("g")
#define VOL_REQ_OPEN_ON                                                                      \
	"q.requested_on <= $1::date AND (q.closed_on IS NULL OR q.closed_on > $1::date)"
#define VOL_REQ_CLOSED_ON                                                                    \
	"q.status = 'closed' AND q.closed_on <= $1::date AND q.closed_on >= " VOL_YEAR_OF_D

#define VOL_SQL_ACTIVE                                                                       \
	"SELECT g.id, count(DISTINCT s.volunteer_id) FROM core.region g" VOL_REC_ON_GRID       \
	" WHERE g.level = 'grid' GROUP BY g.id"
#define VOL_ROWS_ACTIVE                                                                      \
	"SELECT v.id AS id, x.name AS name, g.name AS grid, (SELECT tm.name FROM"              \
	" volunteer.team tm WHERE tm.id = v.team_id) AS team, sum(s.hours) AS hours,"         \
	" count(*) AS records, max(s.served_on) AS last_served_on"                             \
	" FROM volunteer.service_record s JOIN volunteer.volunteer v ON v.id = s.volunteer_id" \
	" JOIN core.resident x ON x.id = v.resident_id JOIN core.region g ON g.id = x.grid_id" \
	" WHERE g.path <@ $2::ltree AND " VOL_COUNTED_ON                                        \
	" GROUP BY v.id, x.name, g.name ORDER BY v.id"
#define VOL_SQL_HOURS                                                                        \
	"SELECT g.id, coalesce(sum(s.hours), 0.00) FROM core.region g" VOL_REC_ON_GRID         \
	" WHERE g.level = 'grid' GROUP BY g.id"
#define VOL_ROWS_HOURS                                                                       \
	"SELECT s.id AS id, s.served_on AS served_on, x.name AS volunteer, g.name AS grid,"    \
	" coalesce((SELECT r.name FROM core.resident r WHERE r.id = s.served_resident_id),"   \
	" s.subject) AS served, s.kind AS kind, s.hours AS hours,"                             \
	" (SELECT u.username FROM core.app_user u WHERE u.id = s.verified_by) AS verified_by"  \
	" FROM volunteer.service_record s JOIN volunteer.volunteer v ON v.id = s.volunteer_id" \
	" JOIN core.resident x ON x.id = v.resident_id JOIN core.region g ON g.id = x.grid_id" \
	" WHERE g.path <@ $2::ltree AND " VOL_COUNTED_ON " ORDER BY s.id"
#define VOL_SQL_PAIRS                                                                        \
	"SELECT g.id, count(p.id) FROM core.region g LEFT JOIN (volunteer.pair p"             \
	" JOIN core.resident hr ON hr.id = p.resident_id) ON hr.grid_id = g.id AND "           \
	VOL_PAIR_OPEN_ON " WHERE g.level = 'grid' GROUP BY g.id"
#define VOL_ROWS_PAIRS                                                                       \
	"SELECT p.id AS id, hr.name AS resident, " VOL_AGE("hr", "$1::date") " AS age,"        \
	" g.name AS grid, array_to_string(p.basis, ',') AS basis, x.name AS volunteer,"       \
	" p.started_on AS started_on FROM volunteer.pair p"                                    \
	" JOIN core.resident hr ON hr.id = p.resident_id JOIN core.region g ON g.id = hr.grid_id" \
	" JOIN volunteer.volunteer v ON v.id = p.volunteer_id"                                 \
	" JOIN core.resident x ON x.id = v.resident_id"                                         \
	" WHERE g.path <@ $2::ltree AND " VOL_PAIR_OPEN_ON " ORDER BY p.id"
#define VOL_SQL_UNPAIRED                                                                     \
	"SELECT g.id, count(x.id) FROM core.region g LEFT JOIN core.resident x"                \
	" ON x.grid_id = g.id AND " VOL_UNPAIRED_ON " WHERE g.level = 'grid' GROUP BY g.id"
#define VOL_ROWS_UNPAIRED                                                                    \
	"SELECT x.id AS id, x.name AS name, " VOL_AGE("x", "$1::date") " AS age, g.name AS grid," \
	" array_to_string(" VOL_NEEDS("x", "g", "$1::date") ", ',') AS reasons"                \
	" FROM core.resident x JOIN core.region g ON g.id = x.grid_id"                          \
	" WHERE g.path <@ $2::ltree AND " VOL_UNPAIRED_ON " ORDER BY x.id"
#define VOL_SQL_REQ(cond)                                                                    \
	"SELECT g.id, count(q.id) FROM core.region g LEFT JOIN (volunteer.request q"          \
	" JOIN core.resident hr ON hr.id = q.resident_id) ON hr.grid_id = g.id AND " cond      \
	" WHERE g.level = 'grid' GROUP BY g.id"
#define VOL_ROWS_REQ(cond)                                                                   \
	"SELECT q.id AS id, q.requested_on AS requested_on, hr.name AS resident,"              \
	" g.name AS grid, q.kind AS kind, q.need AS need, x.name AS volunteer,"               \
	" q.closed_on AS closed_on FROM volunteer.request q"                                   \
	" JOIN core.resident hr ON hr.id = q.resident_id JOIN core.region g ON g.id = hr.grid_id" \
	" LEFT JOIN volunteer.volunteer v ON v.id = q.assigned_volunteer_id"                   \
	" LEFT JOIN core.resident x ON x.id = v.resident_id"                                    \
	" WHERE g.path <@ $2::ltree AND " cond " ORDER BY q.id"

#if OG_ABI_MINOR >= 2
#define VOL_ROWS(sql) , .rows_sql = sql
#else
#define VOL_ROWS(sql)
#endif

/*
 * The same figures in the facts form (ABI 1.3), started from the region
 * ($2): one row per volunteer who served (with the hours counted) for the
 * first two, per open pair, per resident in need without one, per
 * request.  A resident needs a pair only when 80 or older or tagged
 * lives_alone, disabled or tekun (VOL_NEEDS): that test comes first so
 * the full one runs for those few, not for every resident.  VOL_NEEDS
 * reads the district off the grid's path; every grid of the region has
 * the region's district, so it reads it off $2 (gd), which keeps the test
 * a filter on the resident and lets the region's residents be found
 * through their grids (a test naming the grid too made PostgreSQL scan
 * every resident).
 */
#define VOL_FACTS_SERVED                                                                     \
	"SELECT x.grid_id, sum(s.hours) AS hours FROM volunteer.service_record s"              \
	" JOIN volunteer.volunteer v ON v.id = s.volunteer_id JOIN core.resident x"            \
	" ON x.id = v.resident_id JOIN core.region g ON g.id = x.grid_id"                      \
	" WHERE g.path <@ $2::ltree AND " VOL_COUNTED_ON " GROUP BY v.id, x.grid_id"
#define VOL_FACTS_PAIRS                                                                      \
	"SELECT hr.grid_id FROM volunteer.pair p JOIN core.resident hr ON hr.id = p.resident_id" \
	" JOIN core.region g ON g.id = hr.grid_id WHERE g.path <@ $2::ltree AND " VOL_PAIR_OPEN_ON
#define VOL_FACTS_UNPAIRED                                                                   \
	"SELECT x.grid_id FROM core.resident x JOIN core.region g ON g.id = x.grid_id"         \
	" CROSS JOIN (SELECT $2::ltree AS path) gd"                                             \
	" WHERE g.path <@ $2::ltree AND (x.birth_date <= ($1::date - interval '80 years')::date" \
	" OR EXISTS (SELECT 1 FROM core.resident_tag t WHERE t.resident_id = x.id"             \
	" AND t.tag IN ('lives_alone', 'disabled', 'tekun'))) AND " VOL_UNPAIRED_IN("gd")
#define VOL_FACTS_REQ                                                                        \
	"SELECT hr.grid_id, q.status, q.requested_on, q.closed_on FROM volunteer.request q"    \
	" JOIN core.resident hr ON hr.id = q.resident_id JOIN core.region g ON g.id = hr.grid_id" \
	" WHERE g.path <@ $2::ltree"
#if OG_ABI_MINOR >= 3
#define VOL_FACTS(sql, filter, value) , .facts_sql = sql, .fact_filter = filter, .fact_value = value
#else
#define VOL_FACTS(sql, filter, value)
#endif

/* clang-format on */

static const og_indicator_def vol_indicators[] = {
        {.code = "volunteer.active_volunteers",
         .label = "本年度活跃志愿者人数",
         .unit = "人",
         .sql = VOL_SQL_ACTIVE VOL_ROWS(VOL_ROWS_ACTIVE) VOL_FACTS(VOL_FACTS_SERVED, NULL, NULL)},
        {.code = "volunteer.verified_hours",
         .label = "本年度已核实志愿服务时长",
         .unit = "小时",
         .sql = VOL_SQL_HOURS VOL_ROWS(VOL_ROWS_HOURS)
                 VOL_FACTS(VOL_FACTS_SERVED, NULL, "coalesce(f.hours, 0.00)")},
        {.code = "volunteer.help_pairs",
         .label = "结对帮扶对数",
         .unit = "对",
         .sql = VOL_SQL_PAIRS VOL_ROWS(VOL_ROWS_PAIRS) VOL_FACTS(VOL_FACTS_PAIRS, NULL, NULL)},
        {.code = "volunteer.unpaired_in_need",
         .label = "需结对未结对人数",
         .unit = "人",
         .sql = VOL_SQL_UNPAIRED VOL_ROWS(VOL_ROWS_UNPAIRED)
                 VOL_FACTS(VOL_FACTS_UNPAIRED, NULL, NULL)},
        {.code = "volunteer.requests_open",
         .label = "待办结求助数",
         .unit = "件",
         .sql = VOL_SQL_REQ(VOL_REQ_OPEN_ON) VOL_ROWS(VOL_ROWS_REQ(VOL_REQ_OPEN_ON))
                 VOL_FACTS(VOL_FACTS_REQ,
                           "f.requested_on <= $1::date AND (f.closed_on IS NULL"
                           " OR f.closed_on > $1::date)",
                           NULL)},
        {.code = "volunteer.requests_closed",
         .label = "本年度已办结求助数",
         .unit = "件",
         .sql = VOL_SQL_REQ(VOL_REQ_CLOSED_ON) VOL_ROWS(VOL_ROWS_REQ(VOL_REQ_CLOSED_ON))
                 VOL_FACTS(VOL_FACTS_REQ,
                           "f.status = 'closed' AND f.closed_on <= $1::date"
                           " AND f.closed_on >= " VOL_YEAR_OF_D,
                           NULL)},
};

/* clang-format off */
/* Ledgers: $1 the ltree path of the region rendered; as of today. */
static const char *const vol_roster_columns[] = {
	"id", "name", "gender", "age", "party_member", "team", "grid", "skills", "availability",
	"status", "joined_on", "hours_this_year", "hours_total"};
static const char *const vol_roster_labels[] = {
	"编号", "姓名", "性别", "年龄", "党员", "所属队伍", "网格", "技能特长", "服务时间",
	"状态", "加入日期", "本年服务时长", "累计服务时长"};
static const og_ledger_def vol_ledger_roster = {
	.name = "roster",
	.title = "志愿者花名册",
	.permission = VOL_PERM_READ,
	.sql = "SELECT v.id, x.name, CASE x.gender WHEN 'male' THEN '男' WHEN 'female' THEN '女'"
	       " END, " VOL_AGE("x", "current_date") ", CASE WHEN " VOL_PARTY("x") " THEN '是'"
	       " ELSE '否' END, (SELECT tm.name FROM volunteer.team tm WHERE tm.id = v.team_id),"
	       " g.name, array_to_string(v.skills, '、'), v.availability,"
	       " CASE v.status WHEN 'active' THEN '在册' ELSE '停用' END, v.joined_on, "
	       VOL_HOURS("v", "s.verified_at IS NOT NULL AND " VOL_THIS_YEAR) ", "
	       VOL_HOURS("v", "s.verified_at IS NOT NULL") VOL_VOL_FROM
	       " WHERE g.path <@ $1::ltree ORDER BY v.id",
	.columns = vol_roster_columns,
	.labels = vol_roster_labels,
	.ncolumns = sizeof(vol_roster_columns) / sizeof(vol_roster_columns[0]),
};

static const char *const vol_hours_columns[] = {
	"id", "served_on", "volunteer", "team", "served", "kind", "hours", "verified",
	"verified_by", "verified_at"};
static const char *const vol_hours_labels[] = {
	"编号", "服务日期", "志愿者", "所属队伍", "服务对象/内容", "服务类别", "时长(小时)",
	"核实状态", "核实人", "核实时间"};
static const og_ledger_def vol_ledger_hours = {
	.name = "hours",
	.title = "志愿服务时长登记簿",
	.permission = VOL_PERM_READ,
	.sql = "SELECT s.id, s.served_on, x.name, (SELECT tm.name FROM volunteer.team tm"
	       " WHERE tm.id = s.team_id), coalesce(sr.name, s.subject), s.kind, s.hours,"
	       " CASE WHEN s.verified_at IS NULL THEN '待核实(不计时长)' ELSE '已核实' END,"
	       " (SELECT u.username FROM core.app_user u WHERE u.id = s.verified_by),"
	       " to_char(s.verified_at, 'YYYY-MM-DD HH24:MI')" VOL_REC_FROM
	       " WHERE g.path <@ $1::ltree ORDER BY s.id",
	.columns = vol_hours_columns,
	.labels = vol_hours_labels,
	.ncolumns = sizeof(vol_hours_columns) / sizeof(vol_hours_columns[0]),
};

static const char *const vol_pairs_columns[] = {
	"id", "resident", "age", "grid", "basis", "volunteer", "started_on", "visits",
	"last_visit_on", "status", "closed_on", "close_reason"};
static const char *const vol_pairs_labels[] = {
	"编号", "帮扶对象", "年龄", "网格", "帮扶原因", "结对志愿者", "结对日期", "走访次数",
	"最近走访", "状态", "解除日期", "解除原因"};
static const og_ledger_def vol_ledger_pairs = {
	.name = "pairs",
	.title = "结对帮扶台账",
	.permission = VOL_PERM_READ,
	.sql = "SELECT p.id, hr.name, " VOL_AGE("hr", "current_date") ", hg.name,"
	       " (SELECT string_agg(CASE b WHEN 'age_80_plus' THEN '80岁以上' WHEN 'lives_alone'"
	       "  THEN '独居老人' WHEN 'disabled' THEN '残疾人' WHEN 'tekun' THEN '特困人员'"
	       "  ELSE b END, '、') FROM unnest(p.basis) b), x.name, p.started_on,"
	       " (SELECT count(*) FROM volunteer.service_record s WHERE s.pair_id = p.id),"
	       " (SELECT max(s.served_on) FROM volunteer.service_record s WHERE s.pair_id = p.id),"
	       " CASE p.status WHEN 'open' THEN '结对中' ELSE '已解除' END, p.closed_on,"
	       " p.close_reason" VOL_PAIR_FROM
	       " WHERE hg.path <@ $1::ltree ORDER BY p.id",
	.columns = vol_pairs_columns,
	.labels = vol_pairs_labels,
	.ncolumns = sizeof(vol_pairs_columns) / sizeof(vol_pairs_columns[0]),
};
/* clang-format on */

/* ------------------------------------------------------------------ */
/* OpenAPI detail of the routes */

/* clang-format off */
#define VOL_P_PAGE                                                                           \
	"{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1,"  \
	"\"maximum\":500,\"default\":50}},"                                                     \
	"{\"name\":\"cursor\",\"in\":\"query\",\"description\":\"next_cursor of the previous "  \
	"page\",\"schema\":{\"type\":\"string\"}}"
#define VOL_P_ID(name, what)                                                                 \
	"{\"name\":\"" name "\",\"in\":\"query\",\"description\":\"" what "\","                 \
	"\"schema\":{\"type\":\"integer\",\"minimum\":1}}"
#define VOL_P_ENUM(name, values)                                                             \
	"{\"name\":\"" name "\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":"     \
	values "}}"
#define VOL_P_BOOL(name, what)                                                               \
	"{\"name\":\"" name "\",\"in\":\"query\",\"description\":\"" what "\","                 \
	"\"schema\":{\"type\":\"boolean\"}}"
#define VOL_P_REGION VOL_P_ID("region", "only rows under this region (in your scope)")
#define VOL_BODY(required, props)                                                            \
	"\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":"     \
	"{\"type\":\"object\",\"required\":" required ",\"properties\":{" props "}}}}}"
#define VOL_S_ID(name, what)                                                                 \
	"\"" name "\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"" what "\"}"
#define VOL_S_TEXT(name, max)                                                                \
	"\"" name "\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":" #max "}"
#define VOL_S_DATE(name, what)                                                               \
	"\"" name "\":{\"type\":\"string\",\"format\":\"date\",\"description\":\"" what "\"}"
#define VOL_S_VERSION                                                                        \
	"\"version\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"the version you "    \
	"read (or send If-Match)\"}"
#define VOL_S_HOURS                                                                          \
	"\"hours\":{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":24,"                 \
	"\"multipleOf\":0.01}"
#define VOL_KIND_ENUM                                                                        \
	"[\"visit\",\"companionship\",\"errand\",\"housework\",\"health\",\"repair\","          \
	"\"cultural\",\"environment\",\"mediation\",\"other\"]"
#define VOL_S_KIND "\"kind\":{\"type\":\"string\",\"enum\":" VOL_KIND_ENUM "}"
#define VOL_S_SKILLS                                                                         \
	"\"skills\":{\"type\":\"array\",\"maxItems\":20,\"uniqueItems\":true,\"items\":"       \
	"{\"type\":\"string\",\"minLength\":1,\"maxLength\":30}}"

static const char vol_doc_teams_list[] =
	"{\"parameters\":[" VOL_P_REGION "," VOL_P_BOOL("active", "only active (or inactive) "
	"teams") "," VOL_P_PAGE "]}";
static const char vol_doc_team_create[] =
	"{" VOL_BODY("[\"region_id\",\"name\",\"leader_resident_id\"]",
	VOL_S_ID("region_id", "the region the team is attached to (in your scope)") ","
	VOL_S_TEXT("name", 100) ","
	VOL_S_ID("leader_resident_id", "an active resident living within the region") ","
	VOL_S_TEXT("description", 500)) "}";
static const char vol_doc_team_patch[] =
	"{" VOL_BODY("[\"version\"]", VOL_S_VERSION "," VOL_S_TEXT("name", 100) ","
	VOL_S_ID("leader_resident_id", "an active resident living within the region") ","
	VOL_S_TEXT("description", 500) ",\"active\":{\"type\":\"boolean\"}") "}";
static const char vol_doc_team_get[] =
	"{\"description\":\"The team: region, name, leader (resident id and name), description, "
	"active, member_count, version (ETag).\"}";
static const char vol_doc_volunteers_list[] =
	"{\"parameters\":[" VOL_P_ID("team", "only this team's volunteers") ","
	VOL_P_ENUM("status", "[\"active\",\"inactive\"]") ","
	VOL_P_BOOL("party_member", "party members (the party plugin's tag; none when it is not "
	"loaded)") ","
	"{\"name\":\"skill\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}},"
	VOL_P_REGION "," VOL_P_PAGE "]}";
static const char vol_doc_volunteer_create[] =
	"{" VOL_BODY("[\"resident_id\"]",
	VOL_S_ID("resident_id", "an active resident in your scope, once") ","
	VOL_S_ID("team_id", "an active team you see") "," VOL_S_SKILLS ","
	VOL_S_TEXT("availability", 200) "," VOL_S_DATE("joined_on", "default today") ","
	VOL_S_TEXT("note", 500)) "}";
static const char vol_doc_volunteer_patch[] =
	"{" VOL_BODY("[\"version\"]", VOL_S_VERSION ","
	"\"team_id\":{\"type\":\"integer\",\"minimum\":1,\"nullable\":true},"
	VOL_S_SKILLS "," VOL_S_TEXT("availability", 200) ","
	"\"status\":{\"type\":\"string\",\"enum\":[\"active\",\"inactive\"]},"
	VOL_S_TEXT("note", 500)) "}";
static const char vol_doc_volunteer_get[] =
	"{\"description\":\"The volunteer: resident id, name, gender, age and grid read from the "
	"shared model, party_member, team, skills, availability, status, hours_this_year and "
	"hours_total (verified records only), hours_unverified, open_pairs, version.\"}";
static const char vol_doc_records_list[] =
	"{\"parameters\":[" VOL_P_ID("volunteer", "only this volunteer's records") ","
	VOL_P_ID("resident", "only records serving this resident") ","
	VOL_P_ID("pair", "only the visits of this pair") ","
	VOL_P_BOOL("verified", "only verified (or unverified) records") ","
	"{\"name\":\"from\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"format\":\"date\"}},"
	"{\"name\":\"to\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"format\":\"date\"}},"
	VOL_P_REGION "," VOL_P_PAGE "]}";
static const char vol_doc_record_create[] =
	"{" VOL_BODY("[\"volunteer_id\",\"kind\",\"served_on\",\"hours\"]",
	VOL_S_ID("volunteer_id", "an active volunteer in your scope") ","
	VOL_S_ID("served_resident_id", "whom (a resident in your scope); or give subject") ","
	VOL_S_TEXT("subject", 200) "," VOL_S_KIND ","
	VOL_S_DATE("served_on", "not in the future") "," VOL_S_HOURS ","
	VOL_S_TEXT("note", 500)) "}";
static const char vol_doc_record_get[] =
	"{\"description\":\"One service record: volunteer, served resident or subject, kind, "
	"served_on, hours, verified (bool), verified_by, verified_at, pair_id, request_id.\"}";
static const char vol_doc_record_verify[] =
	"{\"description\":\"Verify a record (someone other than its recorder; 403 otherwise; 409 "
	"already_verified). Its hours count from then on.\","
	VOL_BODY("[\"version\"]", VOL_S_VERSION) "}";
static const char vol_doc_record_delete[] =
	"{\"description\":\"Only an unverified record that closes no request (409 already_verified "
	"or closes_request otherwise). The version goes in If-Match or a body {version}. Answers "
	"{deleted: true, id}.\"}";
static const char vol_doc_candidates[] =
	"{\"description\":\"Active residents who need a help pair and have no open one: reasons "
	"age_80_plus, lives_alone, disabled, tekun (only while the civil plugin is there).\","
	"\"parameters\":[" VOL_P_REGION "," VOL_P_PAGE "]}";
static const char vol_doc_pairs_list[] =
	"{\"parameters\":[" VOL_P_ENUM("status", "[\"open\",\"closed\"]") ","
	VOL_P_ID("volunteer", "only this volunteer's pairs") ","
	VOL_P_ID("resident", "only this resident's pairs") "," VOL_P_REGION "," VOL_P_PAGE "]}";
static const char vol_doc_pair_create[] =
	"{" VOL_BODY("[\"volunteer_id\",\"resident_id\"]",
	VOL_S_ID("volunteer_id", "an active volunteer in your scope") ","
	VOL_S_ID("resident_id", "an active resident in your scope without an open pair") ","
	VOL_S_DATE("started_on", "default today") "," VOL_S_TEXT("note", 500)) "}";
static const char vol_doc_pair_get[] =
	"{\"description\":\"One pair: volunteer, helped resident, basis, status, closed_on, "
	"close_kind (resident_deceased, resident_moved_out, volunteer_left, manual), "
	"close_reason, visits, last_visit_on, verified_hours.\"}";
static const char vol_doc_pair_visit[] =
	"{" VOL_BODY("[\"served_on\",\"hours\"]", VOL_S_DATE("served_on", "not before the pair "
	"started, not in the future") "," VOL_S_HOURS "," VOL_S_KIND "," VOL_S_TEXT("note", 500))
	"}";
static const char vol_doc_pair_close[] =
	"{" VOL_BODY("[\"version\",\"reason\"]", VOL_S_VERSION "," VOL_S_TEXT("reason", 500) ","
	VOL_S_DATE("closed_on", "default today")) "}";
static const char vol_doc_requests_list[] =
	"{\"parameters\":["
	VOL_P_ENUM("status", "[\"open\",\"assigned\",\"closed\",\"cancelled\"]") ","
	VOL_P_ID("resident", "only this resident's requests") ","
	VOL_P_ID("volunteer", "only requests assigned to this volunteer") ","
	VOL_P_REGION "," VOL_P_PAGE "]}";
static const char vol_doc_request_create[] =
	"{" VOL_BODY("[\"resident_id\",\"kind\",\"need\"]",
	VOL_S_ID("resident_id", "the active resident asking for help, in your scope") ","
	VOL_S_KIND "," VOL_S_TEXT("need", 500) "," VOL_S_DATE("requested_on", "default today"))
	"}";
static const char vol_doc_request_get[] =
	"{\"description\":\"One help request: resident, kind, need, status (open, assigned, "
	"closed), assigned volunteer, record_id of the closing service record.\"}";
static const char vol_doc_request_assign[] =
	"{" VOL_BODY("[\"version\",\"volunteer_id\"]", VOL_S_VERSION ","
	VOL_S_ID("volunteer_id", "an active volunteer in your scope")) "}";
static const char vol_doc_request_close[] =
	"{" VOL_BODY("[\"version\",\"served_on\",\"hours\"]", VOL_S_VERSION ","
	VOL_S_DATE("served_on", "the day the help was given") "," VOL_S_HOURS ","
	VOL_S_TEXT("note", 500)) "}";
static const char vol_doc_request_cancel[] =
	"{" VOL_BODY("[\"version\",\"reason\"]", VOL_S_VERSION "," VOL_S_TEXT("reason", 500))
	"}";
/* clang-format on */

/* ------------------------------------------------------------------ */
/* registration */

static const char *const vol_read_roles[] = {"district", "street", "community", "grid_worker",
                                             NULL};
static const char *const vol_write_roles[] = {"street", "community", "grid_worker", NULL};
static const char *const vol_verify_roles[] = {"street", "community", NULL};

static const struct {
	const char *code;
	const char *label;
	const char *const *roles;
} vol_permissions[] = {
        {VOL_PERM_READ, "查看志愿服务(队伍、志愿者、服务记录、结对、求助)", vol_read_roles},
        {VOL_PERM_WRITE, "登记志愿服务(队伍、志愿者、服务记录、结对、求助派单)", vol_write_roles},
        {VOL_PERM_VERIFY, "核实志愿服务时长", vol_verify_roles},
};

#define VOL_R(m, p, perm, h, summary, doc)                      \
	{                                                       \
		m, "/api/v1/volunteer" p, perm, h, summary, doc \
	}

static const struct {
	unsigned method;
	const char *path;
	const char *permission;
	og_handler handler;
	const char *summary;
	const char *doc;
} vol_routes[] = {
        VOL_R(OG_GET, "/teams", VOL_PERM_READ, vol_teams_list,
              "Volunteer teams seen from the caller's scope", vol_doc_teams_list),
        VOL_R(OG_POST, "/teams", VOL_PERM_WRITE, vol_team_create,
              "Create a team attached to a region, with a leader", vol_doc_team_create),
        VOL_R(OG_GET, "/teams/{id}", VOL_PERM_READ, vol_team_get, "One team", vol_doc_team_get),
        VOL_R(OG_PATCH, "/teams/{id}", VOL_PERM_WRITE, vol_team_patch,
              "Change a team (send the version)", vol_doc_team_patch),
        VOL_R(OG_GET, "/volunteers", VOL_PERM_READ, vol_volunteers_list,
              "Volunteers in the caller's scope with their verified hours",
              vol_doc_volunteers_list),
        VOL_R(OG_POST, "/volunteers", VOL_PERM_WRITE, vol_volunteer_create,
              "Register a resident as a volunteer", vol_doc_volunteer_create),
        VOL_R(OG_GET, "/volunteers/{id}", VOL_PERM_READ, vol_volunteer_get,
              "One volunteer with hours this year and in total", vol_doc_volunteer_get),
        VOL_R(OG_PATCH, "/volunteers/{id}", VOL_PERM_WRITE, vol_volunteer_patch,
              "Change a volunteer's team, skills, availability or status (send the version)",
              vol_doc_volunteer_patch),
        VOL_R(OG_GET, "/records", VOL_PERM_READ, vol_records_list,
              "Service records in the caller's scope", vol_doc_records_list),
        VOL_R(OG_POST, "/records", VOL_PERM_WRITE, vol_record_create,
              "Record a service (unverified until verified)", vol_doc_record_create),
        VOL_R(OG_GET, "/records/{id}", VOL_PERM_READ, vol_record_get, "One service record",
              vol_doc_record_get),
        VOL_R(OG_POST, "/records/{id}/verify", VOL_PERM_VERIFY, vol_record_verify,
              "Verify a service record so that its hours count", vol_doc_record_verify),
        VOL_R(OG_DELETE, "/records/{id}", VOL_PERM_WRITE, vol_record_delete,
              "Delete an unverified service record entered by mistake (send the version)",
              vol_doc_record_delete),
        VOL_R(OG_GET, "/candidates", VOL_PERM_READ, vol_candidates,
              "Residents who need a help pair (80+, living alone, disabled, extreme hardship) "
              "and have none",
              vol_doc_candidates),
        VOL_R(OG_GET, "/pairs", VOL_PERM_READ, vol_pairs_list, "Help pairs (结对帮扶)",
              vol_doc_pairs_list),
        VOL_R(OG_POST, "/pairs", VOL_PERM_WRITE, vol_pair_create,
              "Pair a volunteer with a resident who needs help", vol_doc_pair_create),
        VOL_R(OG_GET, "/pairs/{id}", VOL_PERM_READ, vol_pair_get, "One help pair",
              vol_doc_pair_get),
        VOL_R(OG_POST, "/pairs/{id}/visits", VOL_PERM_WRITE, vol_pair_visit,
              "Record a visit under a pair (a service record)", vol_doc_pair_visit),
        VOL_R(OG_POST, "/pairs/{id}/close", VOL_PERM_WRITE, vol_pair_close,
              "Close a pair with the reason (send the version)", vol_doc_pair_close),
        VOL_R(OG_GET, "/requests", VOL_PERM_READ, vol_requests_list, "Help requests (求助)",
              vol_doc_requests_list),
        VOL_R(OG_POST, "/requests", VOL_PERM_WRITE, vol_request_create,
              "File a help request for a resident", vol_doc_request_create),
        VOL_R(OG_GET, "/requests/{id}", VOL_PERM_READ, vol_request_get, "One help request",
              vol_doc_request_get),
        VOL_R(OG_POST, "/requests/{id}/assign", VOL_PERM_WRITE, vol_request_assign,
              "Assign a volunteer to a request (send the version)", vol_doc_request_assign),
        VOL_R(OG_POST, "/requests/{id}/close", VOL_PERM_WRITE, vol_request_close,
              "Close a request with the service record of the help given", vol_doc_request_close),
        VOL_R(OG_POST, "/requests/{id}/cancel", VOL_PERM_WRITE, vol_request_cancel,
              "Cancel a request that will not be served, with the reason (send the version)",
              vol_doc_request_cancel),
};

static const char *const vol_hook_events[] = {"resident.deceased", "resident.moved_out"};

/*
 * Registers everything, permissions before the routes and ledgers that
 * name them.  Each host call logs its own failure.
 */
static int vol_init(og_plugin *self, const og_host_api *host)
{
	size_t i;

	for (i = 0; i < volunteer_migrations_count; i++)
		if (host->register_migration(self, volunteer_migrations[i].version,
		                             volunteer_migrations[i].name,
		                             volunteer_migrations[i].sql) < 0)
			return -1;
	for (i = 0; i < sizeof(vol_permissions) / sizeof(vol_permissions[0]); i++)
		if (host->register_permission(self, vol_permissions[i].code,
		                              vol_permissions[i].label,
		                              vol_permissions[i].roles) < 0)
			return -1;
	for (i = 0; i < sizeof(vol_routes) / sizeof(vol_routes[0]); i++) {
		if (host->register_route(self, vol_routes[i].method, vol_routes[i].path,
		                         vol_routes[i].permission, vol_routes[i].handler,
		                         vol_routes[i].summary) < 0 ||
		    host->describe_route(self, vol_routes[i].method, vol_routes[i].path,
		                         vol_routes[i].doc) < 0)
			return -1;
	}
	for (i = 0; i < sizeof(vol_hook_events) / sizeof(vol_hook_events[0]); i++)
		if (host->register_hook(self, vol_hook_events[i], vol_hook) < 0)
			return -1;
	for (i = 0; i < sizeof(vol_indicators) / sizeof(vol_indicators[0]); i++)
		if (host->register_indicator(self, &vol_indicators[i]) < 0)
			return -1;
	if (host->register_ledger(self, &vol_ledger_roster) < 0 ||
	    host->register_ledger(self, &vol_ledger_hours) < 0 ||
	    host->register_ledger(self, &vol_ledger_pairs) < 0)
		return -1;
	return 0;
}

/* The one exported symbol.  No dependencies (party and civil are read
 * through core tags when present), no fini: nothing to release. */
OG_PLUGIN_DEFINE("volunteer", "1.0.0", "志愿服务", NULL, vol_init, NULL);

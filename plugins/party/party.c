/*
 * plugins/party/party.c — party building (党建): party organisations,
 * members, the development pipeline, 三会一课 meetings and members'
 * volunteer activities, on the shared population model.
 *
 * For: the plugin's routes under /api/v1/party/ — organisations (a tree of
 * committees, general branches and branches, each attached to regions: a
 * grid party branch to its grid(s)); members (a resident of the shared
 * model by id, with branch, category, join and conversion dates, origin,
 * status, and transfers kept as history); the development pipeline
 * applicant -> activist -> development target -> probationary -> full,
 * with the minimum intervals enforced, quarterly thought reports and the
 * overdue list; meetings with attendance and the per-quarter counts
 * against the required minimum; activities of in-service members; the
 * resident.deceased hook; the tag party_member 党员; indicators and
 * ledgers for the one report.
 *
 * Not for: names, ID numbers, phones, birth dates, genders or addresses —
 * those are the shared model's, read by JOIN and never copied or edited
 * here (a member body carrying "name" is refused as an unknown field);
 * anything outside include/onegrid/plugin.h.
 *
 * Scope: an organisation is in the caller's scope when one of its regions
 * is; a member, candidate or activity when its organisation is or the
 * resident's grid is; a meeting through its organisation.  Out of scope
 * is a 404.  Every write is audited in its transaction.  Everything is
 * static; the only exported symbol is og_plugin_desc.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <onegrid/plugin.h>

/* schema/0001_party.sql and 0002_parallel_safe.sql embedded by sql2c.sh
 * --static: party_migrations[] and party_migrations_count. */
#include "party_migrations.c"

#define PARTY_PERM_READ "party.read"
#define PARTY_PERM_WRITE "party.write"
#define PARTY_PERM_MANAGE "party.admin"
#define PARTY_TAG "party_member"
#define PARTY_IDS_MAX 50
#define PARTY_ATTENDEES_MAX 500

/* Our own handle, for set_tag / clear_tag.  Set once in init. */
static og_plugin *party_self;

/* ------------------------------------------------------------------ */
/* SQL fragments */

/* clang-format off */
#define PARTY_ORG_SCOPE(o, s) "party.org_in_scope(" o ", " s "::text)"

#define PARTY_ORG_JSON                                                                      \
	"json_build_object('id', o.id, 'parent_id', o.parent_id, 'kind', o.kind,"             \
	" 'name', o.name, 'region_ids', to_json(o.region_ids),"                                \
	" 'regions', (SELECT coalesce(json_agg(json_build_object('id', rg.id, 'name', rg.name," \
	"  'level', rg.level) ORDER BY u.n), '[]') FROM unnest(o.region_ids) WITH ORDINALITY"  \
	"  u(id, n) JOIN core.region rg ON rg.id = u.id),"                                     \
	" 'secretary', (SELECT json_build_object('resident_id', sr.id, 'name', sr.name)"       \
	"  FROM core.resident sr WHERE sr.id = o.secretary_resident_id),"                       \
	" 'committee', (SELECT coalesce(json_agg(json_build_object('resident_id', cr.id,"      \
	"  'name', cr.name) ORDER BY u.n), '[]') FROM unnest(o.committee_resident_ids)"        \
	"  WITH ORDINALITY u(id, n) JOIN core.resident cr ON cr.id = u.id),"                   \
	" 'member_count', (SELECT count(*) FROM party.member mm WHERE mm.org_id = o.id"        \
	"  AND mm.status = 'normal'),"                                                          \
	" 'dissolved_on', o.dissolved_on, 'version', o.version, 'created_at', o.created_at,"   \
	" 'updated_at', o.updated_at)"

#define PARTY_MEMBER_FROM                                                                   \
	" FROM party.member m JOIN core.resident r ON r.id = m.resident_id"                   \
	" JOIN core.region g ON g.id = r.grid_id JOIN party.org o ON o.id = m.org_id"
#define PARTY_MEMBER_SCOPE(s)                                                               \
	"(" s "::text = '' OR g.path <@ " s "::text::ltree OR " PARTY_ORG_SCOPE("m.org_id", s) ")"
#define PARTY_AGE(d) "date_part('year', age(" d ", r.birth_date))::int"

#define PARTY_MEMBER_JSON                                                                   \
	"json_build_object('id', m.id, 'resident_id', m.resident_id, 'name', r.name,"         \
	" 'gender', r.gender, 'birth_date', r.birth_date, 'age', " PARTY_AGE("current_date") "," \
	" 'grid_id', r.grid_id, 'grid_name', g.name, 'life_status', r.life_status,"            \
	" 'org_id', m.org_id, 'org_name', o.name, 'category', m.category,"                      \
	" 'join_date', m.join_date, 'conversion_date', m.conversion_date, 'origin', m.origin,"  \
	" 'employer', m.employer, 'reported_on', m.reported_on, 'status', m.status,"            \
	" 'status_date', m.status_date, 'note', m.note, 'version', m.version,"                  \
	" 'created_at', m.created_at, 'updated_at', m.updated_at)"

#define PARTY_MEMBER_DETAIL_JSON                                                            \
	"(" PARTY_MEMBER_JSON "::jsonb || jsonb_build_object('transfers', (SELECT"             \
	" coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'from_org_id', t.from_org_id,"     \
	" 'from_org_name', fo.name, 'to_org_id', t.to_org_id, 'to_org_name', tor.name,"         \
	" 'destination', t.destination, 'transferred_on', t.transferred_on, 'note', t.note,"    \
	" 'by_user', t.by_user, 'recorded_at', t.recorded_at) ORDER BY t.id), '[]')"           \
	" FROM party.transfer t LEFT JOIN party.org fo ON fo.id = t.from_org_id"               \
	" LEFT JOIN party.org tor ON tor.id = t.to_org_id WHERE t.member_id = m.id)))::json"

#define PARTY_CAND_FROM                                                                     \
	" FROM party.candidate c JOIN core.resident r ON r.id = c.resident_id"                \
	" JOIN core.region g ON g.id = r.grid_id JOIN party.org o ON o.id = c.org_id"
#define PARTY_CAND_SCOPE(s)                                                                 \
	"(" s "::text = '' OR g.path <@ " s "::text::ltree OR " PARTY_ORG_SCOPE("c.org_id", s) ")"

/* The next step of a candidate and the earliest day it may be taken. */
#define PARTY_CAND_NEXT                                                                     \
	"CASE c.stage WHEN 'applicant' THEN json_build_object('to', 'activist', 'earliest_on',"  \
	" (c.applied_on + interval '6 months')::date)"                                          \
	" WHEN 'activist' THEN json_build_object('to', 'target', 'earliest_on',"                \
	" (c.activist_on + interval '1 year')::date)"                                           \
	" WHEN 'target' THEN json_build_object('to', 'probationary', 'earliest_on', c.target_on)" \
	" WHEN 'probationary' THEN json_build_object('to', 'full', 'earliest_on',"              \
	" (c.probationary_on + interval '1 year')::date) END"

#define PARTY_CAND_JSON                                                                     \
	"json_build_object('id', c.id, 'resident_id', c.resident_id, 'name', r.name,"         \
	" 'gender', r.gender, 'age', " PARTY_AGE("current_date") ", 'grid_id', r.grid_id,"     \
	" 'org_id', c.org_id, 'org_name', o.name, 'stage', c.stage, 'applied_on', c.applied_on," \
	" 'activist_on', c.activist_on, 'target_on', c.target_on,"                              \
	" 'probationary_on', c.probationary_on, 'full_on', c.full_on,"                          \
	" 'withdrawn_on', c.withdrawn_on, 'withdrawn_reason', c.withdrawn_reason,"              \
	" 'member_id', c.member_id, 'next', " PARTY_CAND_NEXT ","                               \
	" 'last_thought_report', (SELECT max(t.quarter) FROM party.thought_report t"           \
	"  WHERE t.candidate_id = c.id), 'version', c.version, 'created_at', c.created_at,"    \
	" 'updated_at', c.updated_at)"

#define PARTY_CAND_DETAIL_JSON                                                              \
	"(" PARTY_CAND_JSON "::jsonb || jsonb_build_object('thought_reports', (SELECT"         \
	" coalesce(jsonb_agg(jsonb_build_object('id', t.id, 'quarter', t.quarter,"             \
	" 'submitted_on', t.submitted_on, 'summary', t.summary) ORDER BY t.quarter), '[]')"    \
	" FROM party.thought_report t WHERE t.candidate_id = c.id)))::json"

#define PARTY_MEETING_FROM                                                                  \
	" FROM party.meeting mt JOIN party.org o ON o.id = mt.org_id"                         \
	" JOIN party.meeting_kind k ON k.code = mt.kind"
#define PARTY_MEETING_JSON                                                                  \
	"json_build_object('id', mt.id, 'org_id', mt.org_id, 'org_name', o.name,"             \
	" 'kind', mt.kind, 'kind_label', k.label, 'held_on', mt.held_on,"                       \
	" 'quarter', party.quarter_of(mt.held_on), 'topic', mt.topic, 'note', mt.note,"        \
	" 'attendees', (SELECT coalesce(json_agg(json_build_object('member_id', am.id,"        \
	"  'resident_id', ar.id, 'name', ar.name) ORDER BY am.id), '[]')"                      \
	"  FROM party.attendance a JOIN party.member am ON am.id = a.member_id"                \
	"  JOIN core.resident ar ON ar.id = am.resident_id WHERE a.meeting_id = mt.id),"       \
	" 'attendee_count', (SELECT count(*) FROM party.attendance a WHERE a.meeting_id = mt.id)," \
	" 'created_by', mt.created_by, 'created_at', mt.created_at)"

#define PARTY_ACTIVITY_JSON                                                                 \
	"json_build_object('id', ac.id, 'member_id', ac.member_id, 'resident_id', m.resident_id," \
	" 'name', r.name, 'org_id', m.org_id, 'employer', m.employer, 'held_on', ac.held_on,"   \
	" 'title', ac.title, 'hours', ac.hours, 'fed_back_on', ac.fed_back_on,"                 \
	" 'created_at', ac.created_at)"
/* clang-format on */

/* ------------------------------------------------------------------ */
/* small helpers */

static const char *party_id_text(int64_t v, char buf[24])
{
	snprintf(buf, 24, "%" PRId64, v);
	return buf;
}

static void party_invalid(og_req *req, const og_host_api *host, const char *field,
                          const char *message)
{
	host->reply_error(req, 422, "invalid", message, field);
}

/* An error reply with extra members inside "error".  extra: steals, may be NULL. */
static void party_reply_error_with(og_req *req, const og_host_api *host, int status,
                                   const char *code, const char *message, const char *field,
                                   json_t *extra)
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

/*
 * Optional array of distinct ids (1..max entries unless allow_empty) as a
 * PostgreSQL array literal "{1,2}" (new, free()); *out NULL when absent.
 */
static int party_opt_ids(og_req *req, const og_host_api *host, json_t *in, const char *field,
                         size_t max, bool allow_empty, char **out)
{
	json_t *v = json_object_get(in, field), *x, *y;
	size_t i, j, n;
	char msg[160], *buf, *p;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	n = json_is_array(v) ? json_array_size(v) : 0;
	if (!json_is_array(v) || n > max || (n == 0 && !allow_empty)) {
		snprintf(msg, sizeof(msg), "%s must be an array of %s to %zu ids", field,
		         allow_empty ? "0" : "1", max);
		party_invalid(req, host, field, msg);
		return -1;
	}
	json_array_foreach(v, i, x) {
		if (!json_is_integer(x) || json_integer_value(x) <= 0) {
			snprintf(msg, sizeof(msg), "%s[%zu] must be an id (a positive integer)",
			         field, i);
			party_invalid(req, host, field, msg);
			return -1;
		}
		for (j = 0; j < i; j++) {
			y = json_array_get(v, j);
			if (json_integer_value(y) == json_integer_value(x)) {
				snprintf(msg, sizeof(msg),
				         "%s lists id %" JSON_INTEGER_FORMAT " twice", field,
				         json_integer_value(x));
				party_invalid(req, host, field, msg);
				return -1;
			}
		}
	}
	buf = malloc(n * 22 + 3);
	if (buf == NULL) {
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	p = buf;
	*p++ = '{';
	json_array_foreach(v, i, x)
		p += sprintf(p, "%s%" JSON_INTEGER_FORMAT, i ? "," : "", json_integer_value(x));
	*p++ = '}';
	*p = '\0';
	*out = buf;
	return 0;
}

static const char *party_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key)); /* NULL unless a string */
}

static int64_t party_int(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/* ETag "<version>" for If-Match. */
static void party_set_etag(og_req *req, const og_host_api *host, json_t *row)
{
	char etag[32];

	snprintf(etag, sizeof(etag), "\"%" JSON_INTEGER_FORMAT "\"",
	         json_integer_value(json_object_get(row, "version")));
	host->set_header(req, "ETag", etag);
}

/*
 * One JSON row: query_json, with a 404 (message `what`) when there is
 * none.  *out new.  1 found, 0 after the 404, -1 after the query's error.
 */
static int party_one(og_req *req, const og_host_api *host, const char *sql, int n,
                     const char *const *params, const char *what, json_t **out)
{
	int rc = host->query_json(req, sql, n, params, out);

	if (rc == 0)
		host->reply_error(req, 404, "not_found", what, NULL);
	return rc;
}

/* Runs a statement answering one boolean; 1/0, or -1 after its error. */
static int party_bool(og_req *req, const og_host_api *host, const char *sql, int n,
                      const char *const *params)
{
	og_result *r = host->query(req, sql, n, params);
	int yes;

	if (r == NULL)
		return -1;
	yes = host->result_rows(r) > 0 && host->result_bool(r, 0, 0);
	host->result_free(r);
	return yes;
}

/* The database's today, "YYYY-MM-DD", into buf[11]; 0 or -1. */
static int party_today(og_req *req, const og_host_api *host, char buf[11])
{
	og_result *r = host->query(req, "SELECT current_date::text", 0, NULL);

	if (r == NULL)
		return -1;
	snprintf(buf, 11, "%s", host->result_text(r, 0, 0));
	host->result_free(r);
	return 0;
}

/* A date not after today: 0, or -1 after a 422 naming the field. */
static int party_not_future(og_req *req, const og_host_api *host, const char *date,
                            const char *today, const char *field)
{
	char msg[96];

	if (date != NULL && strcmp(date, today) > 0) {
		snprintf(msg, sizeof(msg), "%s cannot be in the future", field);
		party_invalid(req, host, field, msg);
		return -1;
	}
	return 0;
}

/*
 * Is resident `rid` active and in the caller's scope?  1 yes (*birth set
 * to the birth date or "" when unknown, *grid to its grid), 0 after a 422
 * naming the field, -1 after the query's error.
 */
static int party_resident_ok(og_req *req, const og_host_api *host, int64_t rid, const char *field,
                             char birth[11], int64_t *grid)
{
	const og_caller *me = host->caller(req);
	char sid[24], msg[128];
	const char *params[2] = {party_id_text(rid, sid), me->scope_path};
	og_result *r;
	int rc = 1;

	r = host->query(req,
	                "SELECT coalesce(x.birth_date::text, ''), x.grid_id, x.life_status"
	                " FROM core.resident x JOIN core.region g ON g.id = x.grid_id"
	                " WHERE x.id = $1::bigint AND ($2::text = '' OR g.path <@ $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return -1;
	if (host->result_rows(r) == 0) {
		snprintf(msg, sizeof(msg), "%s: no such resident in your scope", field);
		party_invalid(req, host, field, msg);
		rc = 0;
	} else if (strcmp(host->result_text(r, 0, 2), "active") != 0) {
		snprintf(msg, sizeof(msg), "%s: the resident is %s, not active", field,
		         host->result_text(r, 0, 2));
		party_invalid(req, host, field, msg);
		rc = 0;
	} else {
		if (birth != NULL)
			snprintf(birth, 11, "%s", host->result_text(r, 0, 0));
		if (grid != NULL)
			*grid = host->result_int64(r, 0, 1);
	}
	host->result_free(r);
	return rc;
}

/*
 * Is organisation `oid` in the caller's scope and not dissolved?  1 yes
 * (*home set to its first region), 0 after a 422 naming the field, -1
 * after the query's error.
 */
static int party_org_ok(og_req *req, const og_host_api *host, int64_t oid, const char *field,
                        int64_t *home)
{
	const og_caller *me = host->caller(req);
	char sid[24], msg[128];
	const char *params[2] = {party_id_text(oid, sid), me->scope_path};
	og_result *r;
	int rc = 1;

	r = host->query(req,
	                "SELECT o.region_ids[1], o.dissolved_on IS NOT NULL FROM party.org o"
	                " WHERE o.id = $1::bigint AND " PARTY_ORG_SCOPE("o.id", "$2"),
	                2, params);
	if (r == NULL)
		return -1;
	if (host->result_rows(r) == 0 || host->result_bool(r, 0, 1)) {
		snprintf(msg, sizeof(msg), "%s: no such organisation in your scope%s", field,
		         host->result_rows(r) ? " (it is dissolved)" : "");
		party_invalid(req, host, field, msg);
		rc = 0;
	} else if (home != NULL) {
		*home = host->result_int64(r, 0, 0);
	}
	host->result_free(r);
	return rc;
}

/*
 * May the caller write to a record of organisation `oid` (a member read
 * through its resident's grid may belong to an organisation outside the
 * caller's scope)?  1 yes; 0 after a 404 (`what`); -1 after the query's
 * error.
 */
static int party_org_writable(og_req *req, const og_host_api *host, int64_t oid, const char *what)
{
	const og_caller *me = host->caller(req);
	char sid[24];
	const char *params[2] = {party_id_text(oid, sid), me->scope_path};
	int rc = party_bool(req, host, "SELECT " PARTY_ORG_SCOPE("$1::bigint", "$2"), 2, params);

	if (rc == 0)
		host->reply_error(req, 404, "not_found", what, NULL);
	return rc;
}

/* The date `years` years after `date` is <= `later`? (both YYYY-MM-DD) */
static int party_years_after(og_req *req, const og_host_api *host, const char *date, int years,
                             const char *later)
{
	char sy[24];
	const char *params[3] = {date, party_id_text(years, sy), later};

	return party_bool(req, host,
	                  "SELECT ($1::date + make_interval(years => $2::int))::date <= $3::date",
	                  3, params);
}

static void party_tag_source(int64_t member_id, char buf[48])
{
	snprintf(buf, 48, "party.member:%" PRId64, member_id);
}

/* ------------------------------------------------------------------ */
/* organisations */

static const char *const party_org_kinds[] = {"committee", "general_branch", "branch", NULL};
#define PARTY_ORG_KINDS "committee, general_branch, branch"

/* GET /api/v1/party/orgs?parent=&kind=&region=&limit=&cursor= */
static void party_orgs_list(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	const char *kind;
	int64_t cursor, parent, region;
	int limit;
	char sc[24], sl[24], sp[24], sr[24];
	const char *params[6];
	json_t *page;

	if (host->page(req, &limit, &cursor) < 0 || host->query_id(req, "parent", &parent) < 0 ||
	    host->query_id(req, "region", &region) < 0 ||
	    host->query_enum(req, "kind", party_org_kinds, &kind) < 0)
		return;
	params[0] = me->scope_path;
	params[1] = party_id_text(cursor, sc);
	params[2] = party_id_text(limit, sl);
	params[3] = parent ? party_id_text(parent, sp) : NULL;
	params[4] = kind;
	params[5] = region ? party_id_text(region, sr) : NULL;
	if (host->query_json(
	            req,
	            "WITH page AS (SELECT o.id FROM party.org o WHERE " PARTY_ORG_SCOPE(
	                    "o.id",
	                    "$1") " AND o.id > $2::bigint AND ($4::bigint IS NULL OR o.parent_id = "
	                          "$4::bigint)"
	                          " AND ($5::text IS NULL OR o.kind = $5::text)"
	                          " AND ($6::bigint IS NULL OR EXISTS (SELECT 1 FROM core.region "
	                          "x, core.region y"
	                          "  WHERE x.id = $6::bigint AND y.id = ANY (o.region_ids) AND "
	                          "y.path <@ x.path))"
	                          " ORDER BY o.id LIMIT $3::int + 1), "
	                          "shown AS (SELECT id FROM page ORDER BY id LIMIT $3::int) "
	                          "SELECT json_build_object('items', coalesce((SELECT "
	                          "json_agg(" PARTY_ORG_JSON
	                          " ORDER BY o.id) FROM party.org o WHERE o.id IN (SELECT id FROM "
	                          "shown)),"
	                          " '[]'::json), 'next_cursor', CASE WHEN (SELECT count(*) FROM "
	                          "page) > $3::int"
	                          " THEN (SELECT max(id)::text FROM shown) END)",
	            6, params, &page) != 1)
		return;
	host->reply_json(req, 200, page); /* steals page */
}

static int party_org_load(og_req *req, const og_host_api *host, int64_t id, bool lock, json_t **out)
{
	const og_caller *me = host->caller(req);
	char sid[24];
	const char *params[2] = {party_id_text(id, sid), me->scope_path};

	return party_one(req, host,
	                 lock ? "SELECT " PARTY_ORG_JSON " FROM party.org o WHERE o.id = $1::bigint"
	                        " AND " PARTY_ORG_SCOPE("o.id", "$2") " FOR UPDATE"
	                      : "SELECT " PARTY_ORG_JSON " FROM party.org o WHERE o.id = $1::bigint"
	                        " AND " PARTY_ORG_SCOPE("o.id", "$2"),
	                 2, params, "no such organisation", out);
}

/* GET /api/v1/party/orgs/{id} */
static void party_org_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *o;

	if (host->path_id(req, "id", &id) < 0 || party_org_load(req, host, id, false, &o) != 1)
		return;
	party_set_etag(req, host, o);
	host->reply_json(req, 200, o); /* steals o */
}

/*
 * Checks the members of an organisation body that name other rows:
 * regions (every one in the caller's scope, open), parent (an
 * organisation in scope that is not a branch, and not `self` or below
 * it), secretary and committee (active residents in scope).  0 or -1
 * after a 422.
 */
static int party_org_refs(og_req *req, const og_host_api *host, int64_t self, const char *regions,
                          int64_t parent, int64_t secretary, const char *committee)
{
	const og_caller *me = host->caller(req);
	char sp[24], sid[24];
	const char *params[3];
	og_result *r;
	int rc;

	if (regions != NULL) {
		params[0] = regions;
		params[1] = me->scope_path;
		rc = party_bool(req, host,
		                "SELECT count(*) = cardinality($1::bigint[]) FROM core.region g"
		                " WHERE g.id = ANY ($1::bigint[]) AND g.closed_on IS NULL"
		                " AND ($2::text = '' OR g.path <@ $2::text::ltree)",
		                2, params);
		if (rc <= 0) {
			if (rc == 0)
				party_invalid(
				        req, host, "region_ids",
				        "region_ids: every region must exist, be open and be in "
				        "your scope");
			return -1;
		}
	}
	if (parent != 0) {
		params[0] = party_id_text(parent, sp);
		params[1] = me->scope_path;
		params[2] = party_id_text(self, sid);
		r = host->query(
		        req,
		        "WITH RECURSIVE up(id, parent_id) AS (SELECT id, parent_id FROM"
		        " party.org WHERE id = $1::bigint UNION SELECT o.id, o.parent_id"
		        " FROM party.org o JOIN up ON o.id = up.parent_id) "
		        "SELECT o.kind, EXISTS (SELECT 1 FROM up WHERE up.id = $3::bigint)"
		        " FROM party.org o WHERE o.id = $1::bigint AND o.dissolved_on IS NULL"
		        " AND " PARTY_ORG_SCOPE("o.id", "$2"),
		        3, params);
		if (r == NULL)
			return -1;
		rc = host->result_rows(r);
		if (rc == 0)
			party_invalid(req, host, "parent_id",
			              "parent_id: no such open organisation in your scope");
		else if (strcmp(host->result_text(r, 0, 0), "branch") == 0)
			party_invalid(req, host, "parent_id",
			              "parent_id: a branch has no organisations under it");
		else if (host->result_bool(r, 0, 1))
			party_invalid(req, host, "parent_id",
			              "parent_id: an organisation cannot be put under itself");
		else
			rc = 2;
		host->result_free(r);
		if (rc != 2)
			return -1;
	}
	if (secretary != 0 &&
	    party_resident_ok(req, host, secretary, "secretary_resident_id", NULL, NULL) != 1)
		return -1;
	if (committee != NULL) {
		params[0] = committee;
		params[1] = me->scope_path;
		rc = party_bool(req, host,
		                "SELECT count(*) = cardinality($1::bigint[]) FROM core.resident x"
		                " JOIN core.region g ON g.id = x.grid_id WHERE x.id = ANY"
		                " ($1::bigint[]) AND x.life_status = 'active'"
		                " AND ($2::text = '' OR g.path <@ $2::text::ltree)",
		                2, params);
		if (rc <= 0) {
			if (rc == 0)
				party_invalid(req, host, "committee_resident_ids",
				              "committee_resident_ids: every one must be an active "
				              "resident in your scope");
			return -1;
		}
	}
	return 0;
}

/* POST /api/v1/party/orgs */
static void party_org_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"kind",
	                                    "name",
	                                    "parent_id",
	                                    "region_ids",
	                                    "secretary_resident_id",
	                                    "committee_resident_ids",
	                                    NULL};
	json_t *in, *after = NULL;
	const char *kind, *name;
	char *regions = NULL, *committee = NULL;
	int64_t parent, secretary;
	char sp[24], ss[24];
	const char *params[6];

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_enum(req, in, "kind", party_org_kinds, OG_OPTIONAL, &kind) < 0 ||
	    host->body_text(req, in, "name", 100, OG_REQUIRED, &name) < 0 ||
	    host->body_id(req, in, "parent_id", OG_OPTIONAL, &parent) < 0 ||
	    host->body_id(req, in, "secretary_resident_id", OG_OPTIONAL, &secretary) < 0)
		return;
	if (kind == NULL) {
		party_invalid(req, host, "kind", "kind is required: " PARTY_ORG_KINDS);
		return;
	}
	if (party_opt_ids(req, host, in, "region_ids", PARTY_IDS_MAX, false, &regions) < 0)
		return;
	if (regions == NULL) {
		party_invalid(req, host, "region_ids",
		              "region_ids is required: the regions the organisation is attached to "
		              "(a grid party branch: its grid(s))");
		return;
	}
	if (party_opt_ids(req, host, in, "committee_resident_ids", PARTY_IDS_MAX, true,
	                  &committee) < 0 ||
	    party_org_refs(req, host, 0, regions, parent, secretary, committee) < 0)
		goto out;
	params[0] = kind;
	params[1] = name;
	params[2] = parent ? party_id_text(parent, sp) : NULL;
	params[3] = regions;
	params[4] = secretary ? party_id_text(secretary, ss) : NULL;
	params[5] = committee;
	if (host->query_json(req,
	                     "WITH o AS (INSERT INTO party.org (kind, name, parent_id, region_ids,"
	                     " secretary_resident_id, committee_resident_ids) VALUES ($1, $2,"
	                     " $3::bigint, $4::bigint[], $5::bigint, coalesce($6::bigint[], '{}'))"
	                     " RETURNING *) SELECT " PARTY_ORG_JSON " FROM o",
	                     6, params, &after) != 1)
		goto out;
	{
		char sid[24];

		if (host->audit(req, "create", "party.org",
		                party_id_text(party_int(after, "id"), sid),
		                json_integer_value(
		                        json_array_get(json_object_get(after, "region_ids"), 0)),
		                NULL, after) < 0)
			goto out;
		{
			char loc[64];

			snprintf(loc, sizeof(loc), "/api/v1/party/orgs/%s", sid);
			host->set_header(req, "Location", loc);
		}
	}
	party_set_etag(req, host, after);
	host->reply_json(req, 201, after); /* steals after */
	after = NULL;
out:
	json_decref(after);
	free(regions);
	free(committee);
}

/* PATCH /api/v1/party/orgs/{id} */
static void party_org_patch(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version",
	                                    "name",
	                                    "parent_id",
	                                    "region_ids",
	                                    "secretary_resident_id",
	                                    "committee_resident_ids",
	                                    "dissolved_on",
	                                    NULL};
	json_t *in, *before = NULL, *after = NULL;
	const char *name, *dissolved;
	char *regions = NULL, *committee = NULL;
	int64_t id, version, parent, secretary;
	char sid[24], sv[24], sp[24], ss[24], msg[96];
	const char *params[12];

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_text(req, in, "name", 100, OG_OPTIONAL, &name) < 0 ||
	    host->body_id(req, in, "parent_id", OG_OPTIONAL, &parent) < 0 ||
	    host->body_id(req, in, "secretary_resident_id", OG_OPTIONAL, &secretary) < 0 ||
	    host->body_date(req, in, "dissolved_on", OG_OPTIONAL, &dissolved) < 0)
		return;
	if (party_opt_ids(req, host, in, "region_ids", PARTY_IDS_MAX, false, &regions) < 0 ||
	    party_opt_ids(req, host, in, "committee_resident_ids", PARTY_IDS_MAX, true,
	                  &committee) < 0)
		goto out;
	if (party_org_load(req, host, id, true, &before) != 1 ||
	    party_org_refs(req, host, id, regions, parent, secretary, committee) < 0)
		goto out;
	if (party_int(before, "version") != version) {
		snprintf(msg, sizeof(msg),
		         "the organisation has changed: it is now at version %" PRId64,
		         party_int(before, "version"));
		host->reply_error(req, 409, "version_conflict", msg, "version");
		goto out;
	}
	params[0] = party_id_text(id, sid);
	params[1] = party_id_text(version, sv);
	params[2] = name;
	params[3] = json_object_get(in, "parent_id") != NULL ? "t" : "f";
	params[4] = parent ? party_id_text(parent, sp) : NULL;
	params[5] = regions;
	params[6] = json_object_get(in, "secretary_resident_id") != NULL ? "t" : "f";
	params[7] = secretary ? party_id_text(secretary, ss) : NULL;
	params[8] = committee;
	params[9] = json_object_get(in, "dissolved_on") != NULL ? "t" : "f";
	params[10] = dissolved;
	if (host->query_json(
	            req,
	            "WITH o AS (UPDATE party.org o SET name = coalesce($3, o.name),"
	            " parent_id = CASE WHEN $4::boolean THEN $5::bigint ELSE o.parent_id END,"
	            " region_ids = coalesce($6::bigint[], o.region_ids),"
	            " secretary_resident_id = CASE WHEN $7::boolean THEN $8::bigint"
	            "  ELSE o.secretary_resident_id END,"
	            " committee_resident_ids = coalesce($9::bigint[], o.committee_resident_ids),"
	            " dissolved_on = CASE WHEN $10::boolean THEN $11::date ELSE o.dissolved_on END,"
	            " version = o.version + 1, updated_at = now()"
	            " WHERE o.id = $1::bigint AND o.version = $2::int RETURNING *)"
	            " SELECT " PARTY_ORG_JSON " FROM o",
	            11, params, &after) != 1)
		goto out;
	if (host->audit(req, "update", "party.org", sid,
	                json_integer_value(json_array_get(json_object_get(after, "region_ids"), 0)),
	                before, after) < 0)
		goto out;
	party_set_etag(req, host, after);
	host->reply_json(req, 200, after); /* steals after */
	after = NULL;
out:
	json_decref(before);
	json_decref(after);
	free(regions);
	free(committee);
}

/* GET /api/v1/party/orgs/{id}/meetings/quarterly?year= : 三会一课 counts
 * per quarter against the required minimum. */
static void party_org_meeting_counts(og_req *req, const og_host_api *host)
{
	int64_t id, year = 0;
	char sid[24], sy[24];
	const char *params[2];
	json_t *o = NULL, *out = NULL;

	if (host->path_id(req, "id", &id) < 0)
		return;
	if (host->query_int(req, "year", 1900, 2999, &year) < 0)
		return;
	if (party_org_load(req, host, id, false, &o) != 1)
		return;
	json_decref(o);
	params[0] = party_id_text(id, sid);
	params[1] = year ? party_id_text(year, sy) : NULL;
	if (host->query_json(
	            req,
	            "WITH y AS (SELECT coalesce($2::int, extract(year FROM current_date)::int) AS "
	            "y),"
	            " cnt AS (SELECT q, k.code, k.label, k.per_quarter, k.ord,"
	            "  (SELECT count(*) FROM party.meeting mt WHERE mt.org_id = $1::bigint"
	            "   AND mt.kind = k.code AND mt.held_on >= make_date(y.y, 3 * q - 2, 1)"
	            "   AND mt.held_on < make_date(y.y, 3 * q - 2, 1) + interval '3 months') AS "
	            "held"
	            "  FROM y, generate_series(1, 4) q, party.meeting_kind k) "
	            "SELECT json_build_object('org_id', $1::bigint, 'year', (SELECT y FROM y),"
	            " 'quarters', (SELECT json_agg(x ORDER BY q) FROM (SELECT q,"
	            "  json_build_object('quarter', (SELECT y FROM y) || 'Q' || q,"
	            "  'held', sum(held), 'required', sum(per_quarter),"
	            "  'all_met', bool_and(held >= per_quarter),"
	            "  'kinds', json_agg(json_build_object('kind', code, 'label', label,"
	            "  'held', held, 'required', per_quarter, 'met', held >= per_quarter)"
	            "  ORDER BY ord)) AS x FROM cnt GROUP BY q) s))",
	            2, params, &out) != 1)
		return;
	host->reply_json(req, 200, out); /* steals out */
}

/* ------------------------------------------------------------------ */
/* members */

static const char *const party_categories[] = {"full", "probationary", NULL};
static const char *const party_origins[] = {"community", "in_service", "retired", "floating", NULL};
static const char *const party_member_statuses[] = {"normal", "transferred_out", "deceased", NULL};
#define PARTY_ORIGINS "community, in_service, retired, floating"

/* GET /api/v1/party/members?org=&status=&category=&origin=&region=&limit=&cursor= */
static void party_members_list(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	const char *status, *category, *origin;
	int64_t cursor, org, region;
	int limit;
	char sc[24], sl[24], so[24], sr[24];
	const char *params[8];
	json_t *page;

	if (host->page(req, &limit, &cursor) < 0 || host->query_id(req, "org", &org) < 0 ||
	    host->query_id(req, "region", &region) < 0 ||
	    host->query_enum(req, "status", party_member_statuses, &status) < 0 ||
	    host->query_enum(req, "category", party_categories, &category) < 0 ||
	    host->query_enum(req, "origin", party_origins, &origin) < 0)
		return;
	params[0] = me->scope_path;
	params[1] = party_id_text(cursor, sc);
	params[2] = party_id_text(limit, sl);
	params[3] = org ? party_id_text(org, so) : NULL;
	params[4] = status;
	params[5] = category;
	params[6] = origin;
	params[7] = region ? party_id_text(region, sr) : NULL;
	if (host->query_json(
	            req,
	            "WITH page AS (SELECT m.id" PARTY_MEMBER_FROM " WHERE " PARTY_MEMBER_SCOPE(
	                    "$1") " AND m.id > $2::bigint AND ($4::bigint IS NULL OR m.org_id = "
	                          "$4::bigint)"
	                          " AND ($5::text IS NULL OR m.status = $5::text)"
	                          " AND ($6::text IS NULL OR m.category = $6::text)"
	                          " AND ($7::text IS NULL OR m.origin = $7::text)"
	                          " AND ($8::bigint IS NULL OR g.path <@ (SELECT path FROM "
	                          "core.region"
	                          "  WHERE id = $8::bigint))"
	                          " ORDER BY m.id LIMIT $3::int + 1), "
	                          "shown AS (SELECT id FROM page ORDER BY id LIMIT $3::int) "
	                          "SELECT json_build_object('items', coalesce((SELECT "
	                          "json_agg(" PARTY_MEMBER_JSON " ORDER BY m.id)" PARTY_MEMBER_FROM
	                          " WHERE m.id IN (SELECT id FROM shown)),"
	                          " '[]'::json), 'next_cursor', CASE WHEN (SELECT count(*) FROM "
	                          "page) > $3::int"
	                          " THEN (SELECT max(id)::text FROM shown) END)",
	            8, params, &page) != 1)
		return;
	host->reply_json(req, 200, page); /* steals page */
}

static int party_member_load(og_req *req, const og_host_api *host, int64_t id, bool lock,
                             json_t **out)
{
	const og_caller *me = host->caller(req);
	char sid[24];
	const char *params[2] = {party_id_text(id, sid), me->scope_path};

	return party_one(
	        req, host,
	        lock ? "SELECT " PARTY_MEMBER_DETAIL_JSON PARTY_MEMBER_FROM
	               " WHERE m.id = $1::bigint AND " PARTY_MEMBER_SCOPE("$2") " FOR UPDATE OF m"
	             : "SELECT " PARTY_MEMBER_DETAIL_JSON PARTY_MEMBER_FROM
	               " WHERE m.id = $1::bigint AND " PARTY_MEMBER_SCOPE("$2"),
	        2, params, "no such member", out);
}

/* GET /api/v1/party/members/{id} */
static void party_member_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *m;

	if (host->path_id(req, "id", &id) < 0 || party_member_load(req, host, id, false, &m) != 1)
		return;
	party_set_etag(req, host, m);
	host->reply_json(req, 200, m); /* steals m */
}

/*
 * Inserts a member row (from POST /members or the pipeline's probationary
 * step), sets the tag, audits.  *out new: the member as the API shows it.
 * 0, or -1 with the reply set.
 */
static int party_member_insert(og_req *req, const og_host_api *host, const char *const *vals,
                               int64_t grid, json_t **out)
{
	char sid[24], source[48];
	const char *params[1];
	og_result *r;
	int64_t id;

	r = host->query(req,
	                "INSERT INTO party.member (resident_id, org_id, category, join_date,"
	                " conversion_date, origin, employer, reported_on, note) VALUES ($1::bigint,"
	                " $2::bigint, $3, $4::date, $5::date, $6, $7, $8::date, $9) RETURNING id",
	                9, vals);
	if (r == NULL)
		return -1;
	id = host->result_int64(r, 0, 0);
	host->result_free(r);
	party_tag_source(id, source);
	if (host->set_tag(req, party_self, strtoll(vals[0], NULL, 10), PARTY_TAG, source) != 0)
		return -1;
	params[0] = party_id_text(id, sid);
	if (host->query_json(req,
	                     "SELECT " PARTY_MEMBER_DETAIL_JSON PARTY_MEMBER_FROM
	                     " WHERE m.id = $1::bigint",
	                     1, params, out) != 1)
		return -1;
	if (host->audit(req, "create", "party.member", sid, grid, NULL, *out) < 0) {
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/*
 * Is resident `rid` already a member, or in the pipeline?  0 no; -1 after
 * a 409 naming the existing record (or the query's error).
 */
static int party_resident_free(og_req *req, const og_host_api *host, int64_t rid, bool pipeline)
{
	char sid[24];
	const char *params[1] = {party_id_text(rid, sid)};
	og_result *r;
	json_t *extra;
	int64_t mid, cid;

	r = host->query(req,
	                "SELECT (SELECT id FROM party.member WHERE resident_id = $1::bigint),"
	                " (SELECT id FROM party.candidate WHERE resident_id = $1::bigint"
	                "  AND stage NOT IN ('full', 'withdrawn'))",
	                1, params);
	if (r == NULL)
		return -1;
	mid = host->result_int64(r, 0, 0);
	cid = host->result_int64(r, 0, 1);
	host->result_free(r);
	if (mid != 0) {
		extra = json_pack("{s:I}", "existing_member_id", (json_int_t)mid);
		party_reply_error_with(req, host, 409, "duplicate",
		                       "the resident already has a party member record",
		                       "resident_id", extra);
		return -1;
	}
	if (cid != 0) {
		extra = json_pack("{s:I}", "existing_candidate_id", (json_int_t)cid);
		party_reply_error_with(
		        req, host, 409, pipeline ? "duplicate" : "in_pipeline",
		        pipeline ? "the resident is already in the development pipeline"
		                 : "the resident is in the development pipeline: "
		                   "membership comes from its steps",
		        "resident_id", extra);
		return -1;
	}
	return 0;
}

/* POST /api/v1/party/members: registers an existing party member. */
static void party_member_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {
	        "resident_id", "org_id",   "category",    "join_date", "conversion_date",
	        "origin",      "employer", "reported_on", "note",      NULL};
	json_t *in, *out = NULL;
	const char *category, *join, *conv, *origin, *employer, *reported, *note;
	int64_t rid, org, grid;
	char sr[24], so[24], birth[11], today[11];
	const char *vals[9];
	int rc;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "resident_id", OG_REQUIRED, &rid) < 0 ||
	    host->body_id(req, in, "org_id", OG_REQUIRED, &org) < 0 ||
	    host->body_enum(req, in, "category", party_categories, OG_OPTIONAL, &category) < 0 ||
	    host->body_date(req, in, "join_date", OG_OPTIONAL, &join) < 0 ||
	    host->body_date(req, in, "conversion_date", OG_OPTIONAL, &conv) < 0 ||
	    host->body_enum(req, in, "origin", party_origins, OG_OPTIONAL, &origin) < 0 ||
	    host->body_text(req, in, "employer", 100, OG_OPTIONAL, &employer) < 0 ||
	    host->body_date(req, in, "reported_on", OG_OPTIONAL, &reported) < 0 ||
	    host->body_text(req, in, "note", 500, OG_OPTIONAL, &note) < 0 ||
	    party_today(req, host, today) < 0)
		return;
	if (category == NULL) {
		party_invalid(req, host, "category", "category is required: full or probationary");
		return;
	}
	if (join == NULL) {
		party_invalid(req, host, "join_date", "join_date is required");
		return;
	}
	if (origin == NULL) {
		party_invalid(req, host, "origin", "origin is required: " PARTY_ORIGINS);
		return;
	}
	if (party_not_future(req, host, join, today, "join_date") < 0 ||
	    party_not_future(req, host, conv, today, "conversion_date") < 0 ||
	    party_not_future(req, host, reported, today, "reported_on") < 0)
		return;
	if (strcmp(category, "probationary") == 0 && conv != NULL) {
		party_invalid(req, host, "conversion_date",
		              "a probationary member has no conversion date yet");
		return;
	}
	if (conv != NULL) {
		if ((rc = party_years_after(req, host, join, 1, conv)) < 0)
			return;
		if (rc == 0) {
			party_invalid(
			        req, host, "conversion_date",
			        "conversion_date must be at least one year (the probation) after "
			        "join_date");
			return;
		}
	}
	if (reported != NULL && strcmp(origin, "in_service") != 0) {
		party_invalid(req, host, "reported_on",
		              "reported_on (在职党员报到) is for in_service members only");
		return;
	}
	if ((rc = party_resident_ok(req, host, rid, "resident_id", birth, &grid)) != 1 ||
	    party_org_ok(req, host, org, "org_id", NULL) != 1)
		return;
	if (birth[0] != '\0') {
		if ((rc = party_years_after(req, host, birth, 18, join)) < 0)
			return;
		if (rc == 0) {
			party_invalid(
			        req, host, "join_date",
			        "join_date: the resident (by the shared model's birth date) was "
			        "not yet 18");
			return;
		}
	}
	if (party_resident_free(req, host, rid, false) < 0)
		return;
	vals[0] = party_id_text(rid, sr);
	vals[1] = party_id_text(org, so);
	vals[2] = category;
	vals[3] = join;
	vals[4] = conv;
	vals[5] = origin;
	vals[6] = employer;
	vals[7] = reported;
	vals[8] = note;
	if (party_member_insert(req, host, vals, grid, &out) < 0)
		return;
	{
		char loc[64];

		snprintf(loc, sizeof(loc), "/api/v1/party/members/%" PRId64, party_int(out, "id"));
		host->set_header(req, "Location", loc);
	}
	party_set_etag(req, host, out);
	host->reply_json(req, 201, out); /* steals out */
}

/* PATCH /api/v1/party/members/{id}: the plugin's own fields only. */
static void party_member_patch(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version", "category", "conversion_date",
	                                    "origin",  "employer", "reported_on",
	                                    "note",    NULL};
	json_t *in, *before = NULL, *after = NULL;
	const char *category, *conv, *origin, *employer, *reported, *note, *eff_cat, *eff_origin;
	int64_t id, version;
	char sid[24], sv[24], today[11], msg[96];
	const char *params[11];
	int rc;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_enum(req, in, "category", party_categories, OG_OPTIONAL, &category) < 0 ||
	    host->body_date(req, in, "conversion_date", OG_OPTIONAL, &conv) < 0 ||
	    host->body_enum(req, in, "origin", party_origins, OG_OPTIONAL, &origin) < 0 ||
	    host->body_text(req, in, "employer", 100, OG_OPTIONAL, &employer) < 0 ||
	    host->body_date(req, in, "reported_on", OG_OPTIONAL, &reported) < 0 ||
	    host->body_text(req, in, "note", 500, OG_OPTIONAL, &note) < 0 ||
	    party_today(req, host, today) < 0)
		return;
	if (party_not_future(req, host, conv, today, "conversion_date") < 0 ||
	    party_not_future(req, host, reported, today, "reported_on") < 0)
		return;
	if (party_member_load(req, host, id, true, &before) != 1)
		return;
	if (party_int(before, "version") != version) {
		snprintf(msg, sizeof(msg), "the member has changed: it is now at version %" PRId64,
		         party_int(before, "version"));
		host->reply_error(req, 409, "version_conflict", msg, "version");
		goto out;
	}
	if (party_org_writable(req, host, party_int(before, "org_id"), "no such member") != 1)
		goto out;
	if (strcmp(party_str(before, "status"), "normal") != 0) {
		host->reply_error(req, 409, "not_normal",
		                  "the member is transferred out or deceased: the record is closed",
		                  NULL);
		goto out;
	}
	if (category != NULL && strcmp(category, party_str(before, "category")) != 0) {
		const char *p1[1] = {sid};

		party_id_text(id, sid);
		rc = party_bool(req, host,
		                "SELECT EXISTS (SELECT 1 FROM party.candidate WHERE member_id ="
		                " $1::bigint AND stage = 'probationary')",
		                1, p1);
		if (rc < 0)
			goto out;
		if (rc == 1) {
			host->reply_error(
			        req, 409, "in_pipeline",
			        "this probationary member converts through the development "
			        "pipeline (POST /api/v1/party/pipeline/{id}/steps, to: full)",
			        "category");
			goto out;
		}
	}
	eff_cat = category ? category : party_str(before, "category");
	eff_origin = origin ? origin : party_str(before, "origin");
	if (conv == NULL && json_object_get(in, "conversion_date") == NULL)
		conv = party_str(before, "conversion_date");
	if (strcmp(eff_cat, "probationary") == 0 && conv != NULL) {
		party_invalid(req, host, "conversion_date",
		              "a probationary member has no conversion date yet");
		goto out;
	}
	if (strcmp(eff_cat, "full") == 0 &&
	    strcmp(party_str(before, "category"), "probationary") == 0 && conv == NULL) {
		party_invalid(req, host, "conversion_date",
		              "a probationary member becomes full with a conversion_date");
		goto out;
	}
	if (conv != NULL) {
		if ((rc = party_years_after(req, host, party_str(before, "join_date"), 1, conv)) <
		    0)
			goto out;
		if (rc == 0) {
			party_invalid(
			        req, host, "conversion_date",
			        "conversion_date must be at least one year (the probation) after "
			        "join_date");
			goto out;
		}
	}
	if (reported != NULL && strcmp(eff_origin, "in_service") != 0) {
		party_invalid(req, host, "reported_on",
		              "reported_on (在职党员报到) is for in_service members only");
		goto out;
	}
	params[0] = party_id_text(id, sid);
	params[1] = party_id_text(version, sv);
	params[2] = eff_cat;
	params[3] = conv;
	params[4] = eff_origin;
	params[5] = json_object_get(in, "employer") != NULL ? "t" : "f";
	params[6] = employer;
	params[7] = json_object_get(in, "reported_on") != NULL ? "t" : "f";
	params[8] = reported;
	params[9] = json_object_get(in, "note") != NULL ? "t" : "f";
	params[10] = note;
	if (host->query_json(
	            req,
	            "WITH u AS (UPDATE party.member m SET category = $3, conversion_date = "
	            "$4::date,"
	            " origin = $5, employer = CASE WHEN $6::boolean THEN $7 ELSE m.employer END,"
	            " reported_on = CASE WHEN $8::boolean THEN $9::date ELSE m.reported_on END,"
	            " note = CASE WHEN $10::boolean THEN $11 ELSE m.note END,"
	            " version = m.version + 1, updated_at = now()"
	            " WHERE m.id = $1::bigint AND m.version = $2::int RETURNING m.id) "
	            "SELECT count(*) FROM u",
	            11, params, &after) != 1)
		goto out;
	json_decref(after);
	after = NULL;
	/* a statement sees the rows as they were before its own CTE's update:
	 * read the member again */
	if (party_member_load(req, host, id, false, &after) != 1)
		goto out;
	if (host->audit(req, "update", "party.member", sid, party_int(after, "grid_id"), before,
	                after) < 0)
		goto out;
	party_set_etag(req, host, after);
	host->reply_json(req, 200, after); /* steals after */
	after = NULL;
out:
	json_decref(before);
	json_decref(after);
}

/*
 * POST /api/v1/party/members/{id}/transfer: to another organisation
 * (to_org_id) or out of the district's tree (destination).  The history
 * keeps every move; the tag goes with a transfer out.
 */
static void party_member_transfer(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"to_org_id", "destination", "transferred_on",
	                                    "note",      "version",     NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *before = NULL, *after = NULL;
	const char *dest, *on, *note;
	int64_t id, to, version = 0;
	char sid[24], st[24], su[24], today[11], msg[128];
	const char *params[6];

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "to_org_id", OG_OPTIONAL, &to) < 0 ||
	    host->body_text(req, in, "destination", 200, OG_OPTIONAL, &dest) < 0 ||
	    host->body_date(req, in, "transferred_on", OG_OPTIONAL, &on) < 0 ||
	    host->body_text(req, in, "note", 500, OG_OPTIONAL, &note) < 0 ||
	    party_today(req, host, today) < 0)
		return;
	if (json_object_get(in, "version") != NULL && host->client_version(req, in, &version) < 0)
		return;
	if ((to == 0) == (dest == NULL)) {
		party_invalid(req, host, "to_org_id",
		              "give to_org_id (another organisation) or destination (out of the "
		              "district), not both");
		return;
	}
	if (on == NULL)
		on = today;
	if (party_not_future(req, host, on, today, "transferred_on") < 0)
		return;
	if (party_member_load(req, host, id, true, &before) != 1)
		return;
	if (version != 0 && party_int(before, "version") != version) {
		snprintf(msg, sizeof(msg), "the member has changed: it is now at version %" PRId64,
		         party_int(before, "version"));
		host->reply_error(req, 409, "version_conflict", msg, "version");
		goto out;
	}
	if (strcmp(party_str(before, "status"), "normal") != 0) {
		host->reply_error(req, 409, "not_normal",
		                  "only a member in normal status can be transferred", NULL);
		goto out;
	}
	if (party_org_writable(req, host, party_int(before, "org_id"), "no such member") != 1)
		goto out;
	if (to != 0 && (party_org_ok(req, host, to, "to_org_id", NULL) != 1))
		goto out;
	if (to == party_int(before, "org_id")) {
		party_invalid(req, host, "to_org_id", "to_org_id: the member is already there");
		goto out;
	}
	if (strcmp(on, party_str(before, "join_date")) < 0) {
		party_invalid(req, host, "transferred_on", "transferred_on is before join_date");
		goto out;
	}
	params[0] = party_id_text(id, sid);
	params[1] = to ? party_id_text(to, st) : NULL;
	params[2] = dest;
	params[3] = on;
	params[4] = note;
	params[5] = me->user_id > 0 ? party_id_text(me->user_id, su) : NULL;
	if (host->query_json(
	            req,
	            "WITH t AS (INSERT INTO party.transfer (member_id, from_org_id, to_org_id,"
	            " destination, transferred_on, note, by_user) SELECT m.id, m.org_id, "
	            "$2::bigint,"
	            " $3, $4::date, $5, $6::bigint FROM party.member m WHERE m.id = $1::bigint"
	            " RETURNING member_id), "
	            "u AS (UPDATE party.member m SET org_id = coalesce($2::bigint, m.org_id),"
	            " status = CASE WHEN $2::bigint IS NULL THEN 'transferred_out' ELSE m.status "
	            "END,"
	            " status_date = CASE WHEN $2::bigint IS NULL THEN $4::date ELSE m.status_date "
	            "END,"
	            " version = m.version + 1, updated_at = now() WHERE m.id = (SELECT member_id"
	            " FROM t) RETURNING m.id) SELECT 1",
	            6, params, &after) != 1)
		goto out;
	json_decref(after);
	after = NULL;
	if (to == 0 &&
	    host->clear_tag(req, party_self, party_int(before, "resident_id"), PARTY_TAG) != 0)
		goto out;
	params[0] = sid;
	if (host->query_json(req,
	                     "SELECT " PARTY_MEMBER_DETAIL_JSON PARTY_MEMBER_FROM
	                     " WHERE m.id = $1::bigint",
	                     1, params, &after) != 1)
		goto out;
	if (host->audit(req, "transfer", "party.member", sid, party_int(after, "grid_id"), before,
	                after) < 0)
		goto out;
	party_set_etag(req, host, after);
	host->reply_json(req, 200, after); /* steals after */
	after = NULL;
out:
	json_decref(before);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* the development pipeline */

static const char *const party_stages[] = {"applicant", "activist",  "target", "probationary",
                                           "full",      "withdrawn", NULL};

/* GET /api/v1/party/pipeline?stage=&org=&limit=&cursor= */
static void party_pipeline_list(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	const char *stage;
	int64_t cursor, org;
	int limit;
	char sc[24], sl[24], so[24];
	const char *params[5];
	json_t *page;

	if (host->page(req, &limit, &cursor) < 0 || host->query_id(req, "org", &org) < 0 ||
	    host->query_enum(req, "stage", party_stages, &stage) < 0)
		return;
	params[0] = me->scope_path;
	params[1] = party_id_text(cursor, sc);
	params[2] = party_id_text(limit, sl);
	params[3] = org ? party_id_text(org, so) : NULL;
	params[4] = stage;
	if (host->query_json(
	            req,
	            "WITH page AS (SELECT c.id" PARTY_CAND_FROM " WHERE " PARTY_CAND_SCOPE(
	                    "$1") " AND c.id > $2::bigint AND ($4::bigint IS NULL OR c.org_id = "
	                          "$4::bigint)"
	                          " AND ($5::text IS NULL OR c.stage = $5::text)"
	                          " ORDER BY c.id LIMIT $3::int + 1), "
	                          "shown AS (SELECT id FROM page ORDER BY id LIMIT $3::int) "
	                          "SELECT json_build_object('items', coalesce((SELECT "
	                          "json_agg(" PARTY_CAND_JSON " ORDER BY c.id)" PARTY_CAND_FROM
	                          " WHERE c.id IN (SELECT id FROM shown)),"
	                          " '[]'::json), 'next_cursor', CASE WHEN (SELECT count(*) FROM "
	                          "page) > $3::int"
	                          " THEN (SELECT max(id)::text FROM shown) END)",
	            5, params, &page) != 1)
		return;
	host->reply_json(req, 200, page); /* steals page */
}

static int party_cand_load(og_req *req, const og_host_api *host, int64_t id, bool lock,
                           json_t **out)
{
	const og_caller *me = host->caller(req);
	char sid[24];
	const char *params[2] = {party_id_text(id, sid), me->scope_path};

	return party_one(
	        req, host,
	        lock ? "SELECT " PARTY_CAND_DETAIL_JSON PARTY_CAND_FROM
	               " WHERE c.id = $1::bigint AND " PARTY_CAND_SCOPE("$2") " FOR UPDATE OF c"
	             : "SELECT " PARTY_CAND_DETAIL_JSON PARTY_CAND_FROM
	               " WHERE c.id = $1::bigint AND " PARTY_CAND_SCOPE("$2"),
	        2, params, "no such person in the development pipeline", out);
}

/* GET /api/v1/party/pipeline/{id} */
static void party_pipeline_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *c;

	if (host->path_id(req, "id", &id) < 0 || party_cand_load(req, host, id, false, &c) != 1)
		return;
	party_set_etag(req, host, c);
	host->reply_json(req, 200, c); /* steals c */
}

/* POST /api/v1/party/pipeline: an application to join (入党申请). */
static void party_pipeline_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"resident_id", "org_id", "applied_on", NULL};
	json_t *in, *out = NULL;
	const char *applied;
	int64_t rid, org, grid;
	char sr[24], so[24], sid[24], birth[11], today[11], loc[64];
	const char *params[3];
	int rc;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "resident_id", OG_REQUIRED, &rid) < 0 ||
	    host->body_id(req, in, "org_id", OG_REQUIRED, &org) < 0 ||
	    host->body_date(req, in, "applied_on", OG_OPTIONAL, &applied) < 0 ||
	    party_today(req, host, today) < 0)
		return;
	if (applied == NULL)
		applied = today;
	if (party_not_future(req, host, applied, today, "applied_on") < 0)
		return;
	if (party_resident_ok(req, host, rid, "resident_id", birth, &grid) != 1 ||
	    party_org_ok(req, host, org, "org_id", NULL) != 1)
		return;
	if (birth[0] != '\0') {
		if ((rc = party_years_after(req, host, birth, 18, applied)) < 0)
			return;
		if (rc == 0) {
			party_invalid(
			        req, host, "applied_on",
			        "an applicant must be 18 (by the shared model's birth date) on "
			        "applied_on");
			return;
		}
	}
	if (party_resident_free(req, host, rid, true) < 0)
		return;
	params[0] = party_id_text(rid, sr);
	params[1] = party_id_text(org, so);
	params[2] = applied;
	if (host->query_json(
	            req,
	            "WITH c AS (INSERT INTO party.candidate (resident_id, org_id, stage,"
	            " applied_on) VALUES ($1::bigint, $2::bigint, 'applicant', $3::date)"
	            " RETURNING *) SELECT " PARTY_CAND_DETAIL_JSON
	            " FROM c JOIN core.resident r ON r.id = c.resident_id"
	            " JOIN core.region g ON g.id = r.grid_id JOIN party.org o ON o.id = c.org_id",
	            3, params, &out) != 1)
		return;
	party_id_text(party_int(out, "id"), sid);
	if (host->audit(req, "create", "party.candidate", sid, grid, NULL, out) < 0) {
		json_decref(out);
		return;
	}
	snprintf(loc, sizeof(loc), "/api/v1/party/pipeline/%s", sid);
	host->set_header(req, "Location", loc);
	party_set_etag(req, host, out);
	host->reply_json(req, 201, out); /* steals out */
}

/* The steps allowed from a stage, as a JSON array (new). */
static json_t *party_allowed(const char *stage)
{
	if (strcmp(stage, "applicant") == 0)
		return json_pack("[ss]", "activist", "withdrawn");
	if (strcmp(stage, "activist") == 0)
		return json_pack("[ss]", "target", "withdrawn");
	if (strcmp(stage, "target") == 0)
		return json_pack("[ss]", "probationary", "withdrawn");
	if (strcmp(stage, "probationary") == 0)
		return json_pack("[s]", "full");
	return json_array();
}

/*
 * POST /api/v1/party/pipeline/{id}/steps {to, date, version?, reason?,
 * origin?}: the next step, refused out of order (409 illegal_step with
 * error.allowed) or too early (422 too_early, field date, with
 * error.earliest_on): activist 6 months after the application,
 * development target 1 year after becoming an activist, probationary
 * after the target date, full 1 year after admission.  probationary
 * creates the member record (and the 党员 tag); full converts it.
 */
static void party_pipeline_step(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"to", "date", "version", "reason", "origin", NULL};
	static const char *const steps[] = {"activist", "target",    "probationary",
	                                    "full",     "withdrawn", NULL};
	json_t *in, *before = NULL, *after = NULL, *allowed = NULL, *next, *v;
	const char *to, *date, *reason, *origin, *stage, *earliest = NULL;
	int64_t id, version = 0, grid;
	char sid[24], today[11], msg[200];
	const char *params[6];
	bool ok = false;
	size_t i;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_enum(req, in, "to", steps, OG_OPTIONAL, &to) < 0 ||
	    host->body_date(req, in, "date", OG_OPTIONAL, &date) < 0 ||
	    host->body_text(req, in, "reason", 200, OG_OPTIONAL, &reason) < 0 ||
	    host->body_enum(req, in, "origin", party_origins, OG_OPTIONAL, &origin) < 0 ||
	    party_today(req, host, today) < 0)
		return;
	if (to == NULL) {
		party_invalid(req, host, "to",
		              "to is required: activist, target, probationary, full or withdrawn");
		return;
	}
	if (json_object_get(in, "version") != NULL && host->client_version(req, in, &version) < 0)
		return;
	if (date == NULL)
		date = today;
	if (party_not_future(req, host, date, today, "date") < 0)
		return;
	if (party_cand_load(req, host, id, true, &before) != 1)
		return;
	if (party_org_writable(req, host, party_int(before, "org_id"),
	                       "no such person in the development pipeline") != 1)
		goto out;
	grid = party_int(before, "grid_id");
	if (version != 0 && party_int(before, "version") != version) {
		snprintf(msg, sizeof(msg), "the record has changed: it is now at version %" PRId64,
		         party_int(before, "version"));
		host->reply_error(req, 409, "version_conflict", msg, "version");
		goto out;
	}
	stage = party_str(before, "stage");
	allowed = party_allowed(stage);
	json_array_foreach(allowed, i, v)
		ok = ok || strcmp(json_string_value(v), to) == 0;
	if (!ok) {
		snprintf(msg, sizeof(msg), "%s -> %s is not a step of the pipeline", stage, to);
		party_reply_error_with(req, host, 409, "illegal_step", msg, "to",
		                       json_pack("{s:s, s:O}", "stage", stage, "allowed", allowed));
		goto out;
	}
	if (strcmp(to, "withdrawn") == 0) {
		const char *last = party_str(before, "applied_on");
		const char *keys[] = {"activist_on", "target_on"};

		for (i = 0; i < 2; i++)
			if (party_str(before, keys[i]) != NULL)
				last = party_str(before, keys[i]);
		if (reason == NULL) {
			party_invalid(req, host, "reason", "reason is required to withdraw");
			goto out;
		}
		earliest = last;
	} else {
		next = json_object_get(before, "next");
		earliest = party_str(next, "earliest_on");
		if (reason != NULL) {
			party_invalid(req, host, "reason", "reason belongs to withdrawn only");
			goto out;
		}
	}
	if (origin != NULL && strcmp(to, "probationary") != 0) {
		party_invalid(req, host, "origin", "origin belongs to the probationary step only");
		goto out;
	}
	if (earliest != NULL && strcmp(date, earliest) < 0) {
		snprintf(msg, sizeof(msg), "too early: %s may be taken on %s at the earliest", to,
		         earliest);
		party_reply_error_with(req, host, 422, "too_early", msg, "date",
		                       json_pack("{s:s}", "earliest_on", earliest));
		goto out;
	}
	params[0] = party_id_text(id, sid);
	params[1] = to;
	params[2] = date;
	params[3] = reason;
	if (host->query_json(
	            req,
	            "WITH u AS (UPDATE party.candidate c SET stage = $2,"
	            " activist_on = CASE WHEN $2 = 'activist' THEN $3::date ELSE activist_on END,"
	            " target_on = CASE WHEN $2 = 'target' THEN $3::date ELSE target_on END,"
	            " probationary_on = CASE WHEN $2 = 'probationary' THEN $3::date"
	            "  ELSE probationary_on END,"
	            " full_on = CASE WHEN $2 = 'full' THEN $3::date ELSE full_on END,"
	            " withdrawn_on = CASE WHEN $2 = 'withdrawn' THEN $3::date ELSE withdrawn_on "
	            "END,"
	            " withdrawn_reason = coalesce($4, withdrawn_reason),"
	            " version = version + 1, updated_at = now() WHERE c.id = $1::bigint"
	            " RETURNING c.id) SELECT 1",
	            4, params, &after) != 1)
		goto out;
	json_decref(after);
	after = NULL;
	if (strcmp(to, "probationary") == 0) {
		char sr[24], so[24];
		const char *vals[9];
		json_t *m = NULL;
		og_result *r;

		{
			/* the open candidate is this one; only a member record conflicts */
			const char *p1[1] = {party_id_text(party_int(before, "resident_id"), sr)};

			r = host->query(req,
			                "SELECT 1 FROM party.member WHERE resident_id = $1::bigint",
			                1, p1);
			if (r == NULL)
				goto out;
			ok = host->result_rows(r) == 0;
			host->result_free(r);
			if (!ok) {
				host->reply_error(req, 409, "duplicate",
				                  "the resident already has a party member record",
				                  "to");
				goto out;
			}
		}
		vals[0] = party_id_text(party_int(before, "resident_id"), sr);
		vals[1] = party_id_text(party_int(before, "org_id"), so);
		vals[2] = "probationary";
		vals[3] = date;
		vals[4] = NULL;
		vals[5] = origin ? origin : "community";
		vals[6] = NULL;
		vals[7] = NULL;
		vals[8] = NULL;
		if (party_member_insert(req, host, vals, grid, &m) < 0)
			goto out;
		params[1] = party_id_text(party_int(m, "id"), so);
		json_decref(m);
		if (host->query_json(req,
		                     "UPDATE party.candidate SET member_id = $2::bigint WHERE"
		                     " id = $1::bigint RETURNING 1",
		                     2, params, &after) != 1)
			goto out;
		json_decref(after);
		after = NULL;
	} else if (strcmp(to, "full") == 0) {
		json_t *mb = NULL, *ma = NULL;
		char sm[24];
		int64_t mid = party_int(before, "member_id");

		params[0] = party_id_text(mid, sm);
		params[1] = date;
		if (host->query_json(
		            req,
		            "SELECT json_build_object('category', category, 'status', status,"
		            " 'conversion_date', conversion_date) FROM party.member"
		            " WHERE id = $1::bigint FOR UPDATE",
		            1, params, &mb) != 1)
			goto out;
		if (strcmp(party_str(mb, "status"), "normal") != 0) {
			json_decref(mb);
			host->reply_error(req, 409, "not_normal",
			                  "the member is transferred out or deceased", "to");
			goto out;
		}
		if (host->query_json(
		            req,
		            "UPDATE party.member SET category = 'full', conversion_date ="
		            " $2::date, version = version + 1, updated_at = now() WHERE"
		            " id = $1::bigint RETURNING json_build_object('category',"
		            " category, 'status', status, 'conversion_date', conversion_date)",
		            2, params, &ma) != 1) {
			json_decref(mb);
			goto out;
		}
		ok = host->audit(req, "convert", "party.member", sm, grid, mb, ma) == 0;
		json_decref(mb);
		json_decref(ma);
		if (!ok)
			goto out;
		params[0] = sid;
	}
	if (party_cand_load(req, host, id, false, &after) != 1)
		goto out;
	if (host->audit(req, to, "party.candidate", sid, grid, before, after) < 0)
		goto out;
	party_set_etag(req, host, after);
	host->reply_json(req, 200, after); /* steals after */
	after = NULL;
out:
	json_decref(allowed);
	json_decref(before);
	json_decref(after);
}

/* POST /api/v1/party/pipeline/{id}/thought-reports {submitted_on, quarter?, summary?} */
static void party_thought_report(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"submitted_on", "quarter", "summary", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *c = NULL, *out = NULL;
	const char *on, *quarter, *summary, *stage;
	int64_t id;
	char sid[24], su[24], today[11];
	const char *params[5];
	og_result *r;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_date(req, in, "submitted_on", OG_OPTIONAL, &on) < 0 ||
	    host->body_text(req, in, "quarter", 6, OG_OPTIONAL, &quarter) < 0 ||
	    host->body_text(req, in, "summary", 500, OG_OPTIONAL, &summary) < 0 ||
	    party_today(req, host, today) < 0)
		return;
	if (on == NULL)
		on = today;
	if (party_not_future(req, host, on, today, "submitted_on") < 0)
		return;
	if (quarter != NULL && (strlen(quarter) != 6 || quarter[4] != 'Q' || quarter[5] < '1' ||
	                        quarter[5] > '4' || strspn(quarter, "0123456789") != 4)) {
		party_invalid(req, host, "quarter", "quarter must be written like 2026Q3");
		return;
	}
	if (party_cand_load(req, host, id, true, &c) != 1)
		return;
	if (party_org_writable(req, host, party_int(c, "org_id"),
	                       "no such person in the development pipeline") != 1)
		goto out;
	stage = party_str(c, "stage");
	if (strcmp(stage, "full") == 0 || strcmp(stage, "withdrawn") == 0) {
		host->reply_error(req, 409, "closed",
		                  "thought reports are recorded for people still in the pipeline",
		                  NULL);
		goto out;
	}
	params[0] = party_id_text(id, sid);
	params[1] = on;
	params[2] = quarter;
	params[3] = summary;
	params[4] = me->user_id > 0 ? party_id_text(me->user_id, su) : NULL;
	r = host->query(req,
	                "SELECT 1 FROM party.thought_report WHERE candidate_id = $1::bigint AND"
	                " quarter = coalesce($3, party.quarter_of($2::date))",
	                3, params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) > 0) {
		host->result_free(r);
		host->reply_error(req, 409, "duplicate",
		                  "a thought report for that quarter is already recorded",
		                  "quarter");
		goto out;
	}
	host->result_free(r);
	if (host->query_json(
	            req,
	            "INSERT INTO party.thought_report (candidate_id, quarter, submitted_on,"
	            " summary, by_user) VALUES ($1::bigint, coalesce($3,"
	            " party.quarter_of($2::date)), $2::date, $4, $5::bigint) RETURNING"
	            " json_build_object('id', id, 'candidate_id', candidate_id, 'quarter',"
	            " quarter, 'submitted_on', submitted_on, 'summary', summary,"
	            " 'recorded_at', recorded_at)",
	            5, params, &out) != 1)
		goto out;
	if (host->audit(req, "thought_report", "party.candidate", sid, party_int(c, "grid_id"),
	                NULL, out) < 0)
		goto out;
	host->reply_json(req, 201, out); /* steals out */
	out = NULL;
out:
	json_decref(c);
	json_decref(out);
}

/*
 * GET /api/v1/party/pipeline/overdue?date=&org= : people in the pipeline
 * (applicant to probationary on the date) who applied before the quarter
 * began and have no thought report for it; probationary members whose
 * one-year probation has ended without conversion.
 */
static void party_pipeline_overdue(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	const char *date;
	int64_t org;
	char so[24];
	const char *params[3];
	json_t *out;

	if (host->query_date(req, "date", &date) < 0 || host->query_id(req, "org", &org) < 0)
		return;
	params[0] = me->scope_path;
	params[1] = date;
	params[2] = org ? party_id_text(org, so) : NULL;
	if (host->query_json(
	            req,
	            "WITH d AS (SELECT coalesce($2::date, current_date) AS d), "
	            "sel AS (SELECT c.id, party.stage_on(c, d.d) AS st, d.d"
	            "  FROM party.candidate c CROSS JOIN d"
	            "  JOIN core.resident r ON r.id = c.resident_id JOIN core.region g"
	            "  ON g.id = r.grid_id WHERE " PARTY_CAND_SCOPE(
	                    "$1") "  AND r.life_status = 'active' AND (c.member_id IS NULL OR "
	                          "EXISTS (SELECT 1"
	                          "  FROM party.member mm WHERE mm.id = c.member_id AND mm.status "
	                          "= 'normal'))"
	                          "  AND ($3::bigint IS NULL OR c.org_id = $3::bigint)) "
	                          "SELECT json_build_object('date', (SELECT d FROM d), 'quarter',"
	                          " party.quarter_of((SELECT d FROM d)),"
	                          " 'thought_reports_missing', coalesce((SELECT "
	                          "json_agg(" PARTY_CAND_JSON "  ORDER BY c.id)" PARTY_CAND_FROM
	                          " JOIN sel ON sel.id = c.id"
	                          "  WHERE sel.st IN ('applicant', 'activist', 'target', "
	                          "'probationary')"
	                          "  AND c.applied_on < date_trunc('quarter', sel.d)::date"
	                          "  AND NOT EXISTS (SELECT 1 FROM party.thought_report t WHERE"
	                          "  t.candidate_id = c.id AND t.quarter = "
	                          "party.quarter_of(sel.d))), '[]'::json),"
	                          " 'conversions_due', coalesce((SELECT json_agg((" PARTY_CAND_JSON
	                          "::jsonb ||"
	                          "  jsonb_build_object('due_on', (c.probationary_on + interval '1 "
	                          "year')::date))"
	                          "  ORDER BY c.id)" PARTY_CAND_FROM " JOIN sel ON sel.id = c.id"
	                          "  WHERE sel.st = 'probationary'"
	                          "  AND (c.probationary_on + interval '1 year')::date <= sel.d), "
	                          "'[]'::json))",
	            3, params, &out) != 1)
		return;
	host->reply_json(req, 200, out); /* steals out */
}

/* ------------------------------------------------------------------ */
/* meetings and activities */

static const char *const party_meeting_kinds[] = {"branch_meeting", "committee_meeting",
                                                  "group_meeting", "lecture", NULL};
#define PARTY_MEETING_KINDS "branch_meeting, committee_meeting, group_meeting, lecture"

/* GET /api/v1/party/meetings?org=&kind=&from=&to=&limit=&cursor= */
static void party_meetings_list(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	const char *kind, *from, *to;
	int64_t cursor, org;
	int limit;
	char sc[24], sl[24], so[24];
	const char *params[7];
	json_t *page;

	if (host->page(req, &limit, &cursor) < 0 || host->query_id(req, "org", &org) < 0 ||
	    host->query_enum(req, "kind", party_meeting_kinds, &kind) < 0 ||
	    host->query_date(req, "from", &from) < 0 || host->query_date(req, "to", &to) < 0)
		return;
	params[0] = me->scope_path;
	params[1] = party_id_text(cursor, sc);
	params[2] = party_id_text(limit, sl);
	params[3] = org ? party_id_text(org, so) : NULL;
	params[4] = kind;
	params[5] = from;
	params[6] = to;
	if (host->query_json(
	            req,
	            "WITH page AS (SELECT mt.id FROM party.meeting mt WHERE " PARTY_ORG_SCOPE(
	                    "mt.org_id",
	                    "$1") " AND mt.id > $2::bigint AND ($4::bigint IS NULL OR mt.org_id = "
	                          "$4::bigint)"
	                          " AND ($5::text IS NULL OR mt.kind = $5::text)"
	                          " AND ($6::date IS NULL OR mt.held_on >= $6::date)"
	                          " AND ($7::date IS NULL OR mt.held_on <= $7::date)"
	                          " ORDER BY mt.id LIMIT $3::int + 1), "
	                          "shown AS (SELECT id FROM page ORDER BY id LIMIT $3::int) "
	                          "SELECT json_build_object('items', coalesce((SELECT "
	                          "json_agg(" PARTY_MEETING_JSON
	                          " ORDER BY mt.id)" PARTY_MEETING_FROM
	                          " WHERE mt.id IN (SELECT id FROM shown)),"
	                          " '[]'::json), 'next_cursor', CASE WHEN (SELECT count(*) FROM "
	                          "page) > $3::int"
	                          " THEN (SELECT max(id)::text FROM shown) END)",
	            7, params, &page) != 1)
		return;
	host->reply_json(req, 200, page); /* steals page */
}

/* GET /api/v1/party/meetings/{id} */
static void party_meeting_get(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	int64_t id;
	char sid[24];
	const char *params[2];
	json_t *out;

	if (host->path_id(req, "id", &id) < 0)
		return;
	params[0] = party_id_text(id, sid);
	params[1] = me->scope_path;
	if (party_one(req, host,
	              "SELECT " PARTY_MEETING_JSON PARTY_MEETING_FROM
	              " WHERE mt.id = $1::bigint AND " PARTY_ORG_SCOPE("mt.org_id", "$2"),
	              2, params, "no such meeting", &out) != 1)
		return;
	host->reply_json(req, 200, out); /* steals out */
}

/*
 * POST /api/v1/party/meetings {org_id, kind, held_on, topic, note?,
 * attendee_member_ids}: attendees are members in normal status of the
 * organisation or of one under it.
 */
static void party_meeting_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {
	        "org_id", "kind", "held_on", "topic", "note", "attendee_member_ids", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *out = NULL, *bad = NULL;
	const char *kind, *held, *topic, *note;
	char *att = NULL;
	int64_t org, home;
	char so[24], su[24], sid[24], today[11], loc[64];
	const char *params[7];

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "org_id", OG_REQUIRED, &org) < 0 ||
	    host->body_enum(req, in, "kind", party_meeting_kinds, OG_OPTIONAL, &kind) < 0 ||
	    host->body_date(req, in, "held_on", OG_OPTIONAL, &held) < 0 ||
	    host->body_text(req, in, "topic", 200, OG_REQUIRED, &topic) < 0 ||
	    host->body_text(req, in, "note", 500, OG_OPTIONAL, &note) < 0 ||
	    party_today(req, host, today) < 0)
		return;
	if (kind == NULL) {
		party_invalid(req, host, "kind", "kind is required: " PARTY_MEETING_KINDS);
		return;
	}
	if (held == NULL) {
		party_invalid(req, host, "held_on", "held_on is required");
		return;
	}
	if (party_not_future(req, host, held, today, "held_on") < 0)
		return;
	if (party_opt_ids(req, host, in, "attendee_member_ids", PARTY_ATTENDEES_MAX, true, &att) <
	    0)
		return;
	if (party_org_ok(req, host, org, "org_id", &home) != 1)
		goto out;
	if (att != NULL) {
		params[0] = att;
		params[1] = party_id_text(org, so);
		if (host->query_json(
		            req,
		            "WITH RECURSIVE down(id) AS (SELECT $2::bigint UNION SELECT o.id FROM"
		            " party.org o JOIN down ON o.parent_id = down.id) "
		            "SELECT coalesce(json_agg(u.id ORDER BY u.id), '[]') FROM unnest("
		            "$1::bigint[]) u(id) WHERE NOT EXISTS (SELECT 1 FROM party.member m "
		            "WHERE"
		            " m.id = u.id AND m.status = 'normal' AND m.org_id IN (SELECT id FROM "
		            "down))",
		            2, params, &bad) != 1)
			goto out;
		if (json_array_size(bad) > 0) {
			party_reply_error_with(
			        req, host, 422, "invalid",
			        "attendee_member_ids: not members (in normal status) of "
			        "the organisation or one under it",
			        "attendee_member_ids", json_pack("{s:O}", "ids", bad));
			goto out;
		}
	}
	params[0] = party_id_text(org, so);
	params[1] = kind;
	params[2] = held;
	params[3] = topic;
	params[4] = note;
	params[5] = me->user_id > 0 ? party_id_text(me->user_id, su) : NULL;
	params[6] = att;
	if (host->query_json(
	            req,
	            "WITH mt AS (INSERT INTO party.meeting (org_id, kind, held_on, topic, note,"
	            " created_by) VALUES ($1::bigint, $2, $3::date, $4, $5, $6::bigint)"
	            " RETURNING id), "
	            "a AS (INSERT INTO party.attendance (meeting_id, member_id) SELECT mt.id, u.id"
	            " FROM mt, unnest(coalesce($7::bigint[], '{}')) u(id) RETURNING meeting_id) "
	            "SELECT (SELECT id FROM mt) + 0 * (SELECT count(*) FROM a)",
	            7, params, &out) != 1)
		goto out;
	party_id_text(json_integer_value(out), sid);
	json_decref(out);
	out = NULL;
	params[0] = sid;
	if (host->query_json(req,
	                     "SELECT " PARTY_MEETING_JSON PARTY_MEETING_FROM
	                     " WHERE mt.id = $1::bigint",
	                     1, params, &out) != 1)
		goto out;
	if (host->audit(req, "create", "party.meeting", sid, home, NULL, out) < 0)
		goto out;
	snprintf(loc, sizeof(loc), "/api/v1/party/meetings/%s", sid);
	host->set_header(req, "Location", loc);
	host->reply_json(req, 201, out); /* steals out */
	out = NULL;
out:
	json_decref(out);
	json_decref(bad);
	free(att);
}

/* GET /api/v1/party/activities?member=&from=&to=&limit=&cursor= */
static void party_activities_list(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	const char *from, *to;
	int64_t cursor, member;
	int limit;
	char sc[24], sl[24], sm[24];
	const char *params[6];
	json_t *page;

	if (host->page(req, &limit, &cursor) < 0 || host->query_id(req, "member", &member) < 0 ||
	    host->query_date(req, "from", &from) < 0 || host->query_date(req, "to", &to) < 0)
		return;
	params[0] = me->scope_path;
	params[1] = party_id_text(cursor, sc);
	params[2] = party_id_text(limit, sl);
	params[3] = member ? party_id_text(member, sm) : NULL;
	params[4] = from;
	params[5] = to;
	if (host->query_json(
	            req,
	            "WITH page AS (SELECT ac.id FROM party.activity ac JOIN party.member m ON"
	            " m.id = ac.member_id JOIN core.resident r ON r.id = m.resident_id"
	            " JOIN core.region g ON g.id = r.grid_id WHERE " PARTY_MEMBER_SCOPE(
	                    "$1") " AND ac.id > $2::bigint AND ($4::bigint IS NULL OR ac.member_id "
	                          "= $4::bigint)"
	                          " AND ($5::date IS NULL OR ac.held_on >= $5::date)"
	                          " AND ($6::date IS NULL OR ac.held_on <= $6::date)"
	                          " ORDER BY ac.id LIMIT $3::int + 1), "
	                          "shown AS (SELECT id FROM page ORDER BY id LIMIT $3::int) "
	                          "SELECT json_build_object('items', coalesce((SELECT "
	                          "json_agg(" PARTY_ACTIVITY_JSON
	                          " ORDER BY ac.id) FROM party.activity ac JOIN party.member m ON "
	                          "m.id ="
	                          " ac.member_id JOIN core.resident r ON r.id = m.resident_id"
	                          " WHERE ac.id IN (SELECT id FROM shown)), '[]'::json),"
	                          " 'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $3::int"
	                          " THEN (SELECT max(id)::text FROM shown) END)",
	            6, params, &page) != 1)
		return;
	host->reply_json(req, 200, page); /* steals page */
}

/* POST /api/v1/party/activities {member_id, held_on, title, hours?, fed_back_on?} */
static void party_activity_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"member_id", "held_on",     "title",
	                                    "hours",     "fed_back_on", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *m = NULL, *out = NULL, *hv;
	const char *held, *title, *fed;
	int64_t mid;
	char sm[24], su[24], sh[32], today[11];
	const char *params[6];

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_id(req, in, "member_id", OG_REQUIRED, &mid) < 0 ||
	    host->body_date(req, in, "held_on", OG_OPTIONAL, &held) < 0 ||
	    host->body_text(req, in, "title", 200, OG_REQUIRED, &title) < 0 ||
	    host->body_date(req, in, "fed_back_on", OG_OPTIONAL, &fed) < 0 ||
	    party_today(req, host, today) < 0)
		return;
	hv = json_object_get(in, "hours");
	sh[0] = '\0';
	if (hv != NULL && !json_is_null(hv)) {
		if (!json_is_number(hv) || json_number_value(hv) < 0 ||
		    json_number_value(hv) > 24) {
			party_invalid(req, host, "hours", "hours must be a number from 0 to 24");
			return;
		}
		snprintf(sh, sizeof(sh), "%.1f", json_number_value(hv));
	}
	if (held == NULL) {
		party_invalid(req, host, "held_on", "held_on is required");
		return;
	}
	if (party_not_future(req, host, held, today, "held_on") < 0 ||
	    party_not_future(req, host, fed, today, "fed_back_on") < 0)
		return;
	if (fed != NULL && strcmp(fed, held) < 0) {
		party_invalid(req, host, "fed_back_on", "fed_back_on is before held_on");
		return;
	}
	{
		char s[24];
		const char *p[2] = {party_id_text(mid, s), me->scope_path};
		int n = host->query_json(req,
		                         "SELECT " PARTY_MEMBER_JSON PARTY_MEMBER_FROM
		                         " WHERE m.id = $1::bigint AND " PARTY_MEMBER_SCOPE("$2"),
		                         2, p, &m);

		if (n < 0)
			return;
		if (n == 0 || strcmp(party_str(m, "status"), "normal") != 0) {
			party_invalid(req, host, "member_id",
			              "member_id: no such member (in normal status) in your scope");
			goto out;
		}
	}
	params[0] = party_id_text(mid, sm);
	params[1] = held;
	params[2] = title;
	params[3] = sh[0] ? sh : NULL;
	params[4] = fed;
	params[5] = me->user_id > 0 ? party_id_text(me->user_id, su) : NULL;
	if (host->query_json(req,
	                     "WITH ac AS (INSERT INTO party.activity (member_id, held_on, title,"
	                     " hours, fed_back_on, created_by) VALUES ($1::bigint, $2::date, $3,"
	                     " coalesce($4::numeric, 0), $5::date, $6::bigint) RETURNING *)"
	                     " SELECT " PARTY_ACTIVITY_JSON " FROM ac JOIN party.member m ON"
	                     " m.id = ac.member_id JOIN core.resident r ON r.id = m.resident_id",
	                     6, params, &out) != 1)
		goto out;
	{
		char sid[24];

		if (host->audit(req, "create", "party.activity",
		                party_id_text(party_int(out, "id"), sid), party_int(m, "grid_id"),
		                NULL, out) < 0)
			goto out;
	}
	host->reply_json(req, 201, out); /* steals out */
	out = NULL;
out:
	json_decref(m);
	json_decref(out);
}

/*
 * POST /api/v1/party/activities/{id}/feedback {fed_back_on}: the activity
 * was reported back to the member's employer (反馈).  Once only: a second
 * feedback is a 409.
 */
static void party_activity_feedback(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"fed_back_on", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *before = NULL, *after = NULL;
	const char *fed;
	int64_t id;
	char sid[24], today[11];
	const char *params[3];

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->body_date(req, in, "fed_back_on", OG_OPTIONAL, &fed) < 0 ||
	    party_today(req, host, today) < 0)
		return;
	if (fed == NULL)
		fed = today;
	if (party_not_future(req, host, fed, today, "fed_back_on") < 0)
		return;
	params[0] = party_id_text(id, sid);
	params[1] = me->scope_path;
	if (party_one(
	            req, host,
	            "SELECT " PARTY_ACTIVITY_JSON "::jsonb || jsonb_build_object('grid_id',"
	            " r.grid_id) FROM party.activity ac JOIN party.member m ON m.id = ac.member_id"
	            " JOIN core.resident r ON r.id = m.resident_id JOIN core.region g"
	            " ON g.id = r.grid_id WHERE ac.id = $1::bigint AND " PARTY_MEMBER_SCOPE(
	                    "$2") " FOR UPDATE OF ac",
	            2, params, "no such activity", &before) != 1)
		return;
	if (party_str(before, "fed_back_on") != NULL) {
		host->reply_error(req, 409, "duplicate", "the activity was already fed back",
		                  "fed_back_on");
		goto out;
	}
	if (strcmp(fed, party_str(before, "held_on")) < 0) {
		party_invalid(req, host, "fed_back_on", "fed_back_on is before held_on");
		goto out;
	}
	params[1] = fed;
	if (host->query_json(req,
	                     "WITH ac AS (UPDATE party.activity SET fed_back_on = $2::date"
	                     " WHERE id = $1::bigint RETURNING *) SELECT " PARTY_ACTIVITY_JSON
	                     " FROM ac JOIN party.member m ON m.id = ac.member_id"
	                     " JOIN core.resident r ON r.id = m.resident_id",
	                     2, params, &after) != 1)
		goto out;
	if (host->audit(req, "feedback", "party.activity", sid, party_int(before, "grid_id"),
	                before, after) < 0)
		goto out;
	host->reply_json(req, 200, after); /* steals after */
	after = NULL;
out:
	json_decref(before);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* the shared model's events */

/*
 * resident.deceased: the member's status becomes deceased on the date of
 * death, the 党员 tag is cleared; an open pipeline record is withdrawn.
 * payload is borrowed.
 */
static int party_hook(og_req *req, const og_host_api *host, const char *event, int64_t entity_id,
                      json_t *payload)
{
	char sid[24];
	const char *params[2];
	json_t *out = NULL, *m, *c;
	size_t i;
	int rc = 0;

	(void)payload;
	if (req == NULL) {
		host->log(OG_LOG_WARN, "%s fired outside a request: members not updated", event);
		return 0;
	}
	params[0] = party_id_text(entity_id, sid);
	if (host->query_json(
	            req,
	            "WITH x AS (SELECT id, grid_id, coalesce(life_status_date, current_date) AS d"
	            "  FROM core.resident WHERE id = $1::bigint), "
	            "mb AS (SELECT m.* FROM party.member m WHERE m.resident_id = $1::bigint"
	            "  AND m.status = 'normal' FOR UPDATE), "
	            "mu AS (UPDATE party.member m SET status = 'deceased', status_date ="
	            "  greatest((SELECT d FROM x), m.join_date), version = m.version + 1,"
	            "  updated_at = now() FROM mb WHERE m.id = mb.id RETURNING m.id, m.status,"
	            "  m.status_date, mb.status AS before_status), "
	            "cu AS (UPDATE party.candidate c SET stage = 'withdrawn', withdrawn_on ="
	            "  greatest((SELECT d FROM x), c.applied_on, c.activist_on, c.target_on,"
	            "  c.probationary_on), withdrawn_reason = '去世', version = c.version + 1,"
	            "  updated_at = now() WHERE c.resident_id = $1::bigint AND c.stage IN"
	            "  ('applicant', 'activist', 'target', 'probationary')"
	            "  RETURNING c.id, c.stage) "
	            "SELECT json_build_object('grid_id', (SELECT grid_id FROM x),"
	            " 'members', (SELECT coalesce(json_agg(json_build_object('id', id, 'status',"
	            "  status, 'status_date', status_date, 'before_status', before_status)), '[]')"
	            "  FROM mu),"
	            " 'candidates', (SELECT coalesce(json_agg(json_build_object('id', id)), '[]')"
	            "  FROM cu))",
	            1, params, &out) != 1)
		return -1;
	json_array_foreach(json_object_get(out, "members"), i, m) {
		char s[24];
		json_t *before = json_pack("{s:s}", "status", party_str(m, "before_status"));

		json_object_del(m, "before_status");
		rc = host->audit(req, "deceased", "party.member",
		                 party_id_text(party_int(m, "id"), s), party_int(out, "grid_id"),
		                 before, m);
		json_decref(before);
		if (rc < 0)
			goto out;
		if ((rc = host->clear_tag(req, party_self, entity_id, PARTY_TAG)) != 0)
			goto out;
	}
	json_array_foreach(json_object_get(out, "candidates"), i, c) {
		char s[24];

		if ((rc = host->audit(req, "withdrawn", "party.candidate",
		                      party_id_text(party_int(c, "id"), s),
		                      party_int(out, "grid_id"), NULL, c)) < 0)
			goto out;
	}
out:
	json_decref(out);
	return rc < 0 ? -1 : rc;
}

/* ------------------------------------------------------------------ */
/* indicators and ledgers */

/* clang-format off */
/*
 * Members are counted where they live (the shared model's grid: report
 * 8's branches are drawn by residence), on the report date $1: joined by
 * then and not yet transferred out or deceased.  Ages are the shared
 * model's birth dates on $1.
 */
#define PARTY_IND_M(cond)                                                                    \
	"SELECT g.id, count(m.id) FROM core.region g LEFT JOIN (party.member m JOIN"           \
	" core.resident r ON r.id = m.resident_id) ON r.grid_id = g.id"                          \
	" AND party.member_on(m, $1::date) AND " cond " WHERE g.level = 'grid' GROUP BY g.id"
#define PARTY_ROWS_M(cond)                                                                   \
	"SELECT m.id AS id, r.name AS name, CASE r.gender WHEN 'male' THEN '男' WHEN 'female'"  \
	" THEN '女' END AS gender, " PARTY_AGE("$1::date") " AS age, g.name AS grid,"            \
	" o.name AS org, m.category AS category, m.origin AS origin, m.join_date AS join_date"  \
	" FROM party.member m JOIN core.resident r ON r.id = m.resident_id"                     \
	" JOIN core.region g ON g.id = r.grid_id JOIN party.org o ON o.id = m.org_id"           \
	" WHERE g.path <@ $2::ltree AND party.member_on(m, $1::date) AND " cond " ORDER BY m.id"
#define PARTY_PROBATIONARY_ON                                                                \
	"(m.category = 'probationary' OR coalesce(m.conversion_date > $1::date, false))"
#define PARTY_AGE_ON PARTY_AGE("$1::date")

/* Candidates by their stage on $1 (from the dated steps), where they live. */
#define PARTY_IND_C(stage)                                                                   \
	"SELECT g.id, count(c.id) FROM core.region g LEFT JOIN (party.candidate c JOIN"        \
	" core.resident r ON r.id = c.resident_id) ON r.grid_id = g.id"                          \
	" AND party.stage_on(c, $1::date) = '" stage "' WHERE g.level = 'grid' GROUP BY g.id"
#define PARTY_ROWS_C(stage)                                                                  \
	"SELECT c.id AS id, r.name AS name, g.name AS grid, o.name AS org,"                    \
	" c.applied_on AS applied_on, c.activist_on AS activist_on, c.target_on AS target_on"   \
	" FROM party.candidate c JOIN core.resident r ON r.id = c.resident_id"                  \
	" JOIN core.region g ON g.id = r.grid_id JOIN party.org o ON o.id = c.org_id"           \
	" WHERE g.path <@ $2::ltree AND party.stage_on(c, $1::date) = '" stage "' ORDER BY c.id"

/* Branch meetings of the quarter of $1 up to $1, in the branch's grid. */
#define PARTY_QUARTER_OF_1                                                                   \
	" BETWEEN date_trunc('quarter', $1::date)::date AND $1::date"
#define PARTY_MEETINGS_HELD_SQL                                                              \
	"SELECT g.id, count(mt.id) FROM core.region g LEFT JOIN (party.meeting mt JOIN"        \
	" party.org o ON o.id = mt.org_id AND o.kind = 'branch') ON party.org_grid(o.id) = g.id" \
	" AND mt.held_on" PARTY_QUARTER_OF_1 " WHERE g.level = 'grid' GROUP BY g.id"
#define PARTY_MEETINGS_HELD_ROWS                                                             \
	"SELECT mt.id AS id, o.name AS org, k.label AS kind, mt.held_on AS held_on,"           \
	" mt.topic AS topic, (SELECT count(*) FROM party.attendance a WHERE"                    \
	" a.meeting_id = mt.id) AS attendees FROM party.meeting mt JOIN party.org o"            \
	" ON o.id = mt.org_id AND o.kind = 'branch' JOIN party.meeting_kind k ON k.code = mt.kind" \
	" JOIN core.region g ON g.id = party.org_grid(o.id) WHERE g.path <@ $2::ltree"          \
	" AND mt.held_on" PARTY_QUARTER_OF_1 " ORDER BY mt.id"
#define PARTY_MEETINGS_REQUIRED_SQL                                                          \
	"SELECT g.id, count(o.id) * (SELECT sum(per_quarter) FROM party.meeting_kind)"         \
	" FROM core.region g LEFT JOIN party.org o ON o.kind = 'branch'"                        \
	" AND party.org_grid(o.id) = g.id AND o.created_at::date <= $1::date"                   \
	" AND (o.dissolved_on IS NULL OR o.dissolved_on > $1::date)"                            \
	" WHERE g.level = 'grid' GROUP BY g.id"

/* A member who attended a meeting or did an activity in the quarter of $1. */
#define PARTY_ACTIVE_Q                                                                       \
	"(EXISTS (SELECT 1 FROM party.attendance a JOIN party.meeting mt ON mt.id ="           \
	" a.meeting_id WHERE a.member_id = m.id AND mt.held_on" PARTY_QUARTER_OF_1 ")"          \
	" OR EXISTS (SELECT 1 FROM party.activity ac WHERE ac.member_id = m.id"                 \
	" AND ac.held_on" PARTY_QUARTER_OF_1 "))"

/*
 * The same figures in the facts form (ABI 1.3): the members of the region
 * on $1, joined to the shared model once for all fifteen, with what the
 * conditions above read as columns of f.  Each PARTY_M gives the condition
 * twice, over m and r (sql, rows_sql) and over f (the facts): they must
 * say the same.
 */
/* PARTY_ACTIVE_Q probed per member: as EXISTS, PostgreSQL hashes every
 * attendance and activity of the quarter instead, which costs a community
 * more than its few members' probes. */
#define PARTY_F_ACTIVE_Q                                                                     \
	"((SELECT 1 FROM party.attendance a JOIN party.meeting mt ON mt.id = a.meeting_id"     \
	" WHERE a.member_id = m.id AND mt.held_on" PARTY_QUARTER_OF_1 " LIMIT 1) IS NOT NULL"  \
	" OR (SELECT 1 FROM party.activity ac WHERE ac.member_id = m.id AND ac.held_on"        \
	PARTY_QUARTER_OF_1 " LIMIT 1) IS NOT NULL)"
#define PARTY_FACTS_M                                                                        \
	"SELECT r.grid_id, " PARTY_PROBATIONARY_ON " AS probationary, r.gender,"                \
	" " PARTY_AGE_ON " AS age, m.origin, m.reported_on <= $1::date AS reported,"            \
	" " PARTY_F_ACTIVE_Q " AS active_quarter FROM party.member m"                           \
	" JOIN core.resident r ON r.id = m.resident_id JOIN core.region g ON g.id = r.grid_id"  \
	" WHERE g.path <@ $2::ltree AND party.member_on(m, $1::date)"
#define PARTY_FACTS_C                                                                        \
	"SELECT r.grid_id, party.stage_on(c, $1::date) AS stage FROM party.candidate c"        \
	" JOIN core.resident r ON r.id = c.resident_id JOIN core.region g ON g.id = r.grid_id"  \
	" WHERE g.path <@ $2::ltree"

/* The branch meetings of the quarter whose branch may lie in the region
 * (its regions meet the region's grids: the GIN index), counted in the
 * branch's grid as above (rows of other grids are left out). */
#define PARTY_FACTS_MEETINGS                                                                 \
	"SELECT party.org_grid(o.id) AS grid_id FROM party.meeting mt JOIN party.org o"        \
	" ON o.id = mt.org_id AND o.kind = 'branch' WHERE mt.held_on" PARTY_QUARTER_OF_1        \
	" AND o.region_ids && ARRAY(SELECT g.id FROM core.region g WHERE g.level = 'grid'"      \
	" AND g.path <@ $2::ltree)"

#if OG_ABI_MINOR >= 3
#define PARTY_FACTS(sql, filter) , sql, filter, NULL
#else
#define PARTY_FACTS(sql, filter)
#endif
#define PARTY_M(code, label, cond, fcond)                                                    \
	{code, label, "人", PARTY_IND_M(cond), NULL, NULL, PARTY_ROWS_M(cond)                    \
	 PARTY_FACTS(PARTY_FACTS_M, fcond)}
#define PARTY_RATIO(code, label, num, den)                                                   \
	{code, label, "%", NULL, num, den, NULL PARTY_FACTS(NULL, NULL)}

static const og_indicator_def party_indicators[] = {
	PARTY_M("party.members", "党员总数", "true", NULL),
	PARTY_M("party.members_full", "正式党员", "NOT " PARTY_PROBATIONARY_ON,
	        "NOT f.probationary"),
	PARTY_M("party.members_probationary", "预备党员", PARTY_PROBATIONARY_ON, "f.probationary"),
	PARTY_M("party.members_male", "男性党员", "r.gender = 'male'", "f.gender = 'male'"),
	PARTY_M("party.members_female", "女性党员", "r.gender = 'female'", "f.gender = 'female'"),
	PARTY_M("party.members_under35", "35岁以下党员", PARTY_AGE_ON " < 35", "f.age < 35"),
	PARTY_M("party.members_35_64", "35至64岁党员", PARTY_AGE_ON " BETWEEN 35 AND 64",
	        "f.age BETWEEN 35 AND 64"),
	PARTY_M("party.members_65plus", "65岁以上党员", PARTY_AGE_ON " >= 65", "f.age >= 65"),
	PARTY_M("party.members_80plus", "80岁以上党员", PARTY_AGE_ON " >= 80", "f.age >= 80"),
	PARTY_M("party.members_community", "社区党员", "m.origin = 'community'",
	        "f.origin = 'community'"),
	PARTY_M("party.members_in_service", "在职党员", "m.origin = 'in_service'",
	        "f.origin = 'in_service'"),
	PARTY_M("party.members_in_service_reported", "在职党员到社区报到",
	        "m.origin = 'in_service' AND m.reported_on <= $1::date",
	        "f.origin = 'in_service' AND f.reported"),
	PARTY_M("party.members_retired", "离退休党员", "m.origin = 'retired'",
	        "f.origin = 'retired'"),
	PARTY_M("party.members_floating", "流动党员", "m.origin = 'floating'",
	        "f.origin = 'floating'"),
	PARTY_M("party.members_active_quarter", "本季度参加过活动的党员", PARTY_ACTIVE_Q,
	        "f.active_quarter"),
	PARTY_RATIO("party.share_under35", "35岁以下党员占比", "party.members_under35",
	            "party.members"),
	PARTY_RATIO("party.share_65plus", "65岁以上党员占比", "party.members_65plus",
	            "party.members"),
	PARTY_RATIO("party.share_80plus", "80岁以上党员占比", "party.members_80plus",
	            "party.members"),
	PARTY_RATIO("party.share_retired", "离退休党员占比", "party.members_retired",
	            "party.members"),
	PARTY_RATIO("party.share_active_quarter", "本季度参加活动党员占比",
	            "party.members_active_quarter", "party.members"),
	{"party.applicants", "入党申请人", "人", PARTY_IND_C("applicant"), NULL, NULL,
	 PARTY_ROWS_C("applicant") PARTY_FACTS(PARTY_FACTS_C, "f.stage = 'applicant'")},
	{"party.activists", "入党积极分子", "人", PARTY_IND_C("activist"), NULL, NULL,
	 PARTY_ROWS_C("activist") PARTY_FACTS(PARTY_FACTS_C, "f.stage = 'activist'")},
	{"party.targets", "发展对象", "人", PARTY_IND_C("target"), NULL, NULL,
	 PARTY_ROWS_C("target") PARTY_FACTS(PARTY_FACTS_C, "f.stage = 'target'")},
	{"party.meetings_held_quarter", "本季度三会一课召开次数", "次", PARTY_MEETINGS_HELD_SQL,
	 NULL, NULL, PARTY_MEETINGS_HELD_ROWS PARTY_FACTS(PARTY_FACTS_MEETINGS, NULL)},
	{"party.meetings_required_quarter", "本季度三会一课应召开次数", "次",
	 PARTY_MEETINGS_REQUIRED_SQL, NULL, NULL, NULL PARTY_FACTS(NULL, NULL)},
};

#define PARTY_ORIGIN_ZH(col)                                                                 \
	"CASE " col " WHEN 'community' THEN '社区党员' WHEN 'in_service' THEN '在职党员'"       \
	" WHEN 'retired' THEN '离退休党员' WHEN 'floating' THEN '流动党员' END"
#define PARTY_STATUS_ZH(col)                                                                 \
	"CASE " col " WHEN 'normal' THEN '正常' WHEN 'transferred_out' THEN '已转出'"          \
	" WHEN 'deceased' THEN '去世' END"
#define PARTY_STAGE_ZH(col)                                                                  \
	"CASE " col " WHEN 'applicant' THEN '入党申请人' WHEN 'activist' THEN '入党积极分子'"   \
	" WHEN 'target' THEN '发展对象' WHEN 'probationary' THEN '预备党员'"                     \
	" WHEN 'full' THEN '正式党员' WHEN 'withdrawn' THEN '终止' END"

static const char *const party_roster_columns[] = {
	"id", "name", "gender", "birth_date", "age", "phone", "grid", "org", "category",
	"join_date", "conversion_date", "origin", "employer", "reported_on", "status"};
static const char *const party_roster_labels[] = {
	"编号", "姓名", "性别", "出生日期", "年龄", "联系电话", "居住网格", "所在支部", "党员类别",
	"入党日期", "转正日期", "党员来源", "工作单位", "报到日期", "状态"};
static const og_ledger_def party_ledger_roster = {
	.name = "roster",
	.title = "党员花名册",
	.permission = PARTY_PERM_READ,
	.sql = "SELECT m.id, r.name, CASE r.gender WHEN 'male' THEN '男' WHEN 'female' THEN '女'"
	       " END, r.birth_date, " PARTY_AGE("current_date") ", r.phone, g.name, o.name,"
	       " CASE m.category WHEN 'full' THEN '正式党员' ELSE '预备党员' END, m.join_date,"
	       " m.conversion_date, " PARTY_ORIGIN_ZH("m.origin") ", m.employer, m.reported_on, "
	       PARTY_STATUS_ZH("m.status") PARTY_MEMBER_FROM
	       " WHERE (g.path <@ $1::ltree OR party.org_in_scope(m.org_id, $1::text))"
	       " ORDER BY m.id",
	.columns = party_roster_columns,
	.labels = party_roster_labels,
	.ncolumns = sizeof(party_roster_columns) / sizeof(party_roster_columns[0]),
};

static const char *const party_pipeline_columns[] = {
	"id", "name", "gender", "age", "grid", "org", "stage", "applied_on", "activist_on",
	"target_on", "probationary_on", "full_on", "thought_reports", "last_thought_report"};
static const char *const party_pipeline_labels[] = {
	"编号", "姓名", "性别", "年龄", "居住网格", "所在支部", "阶段", "申请日期",
	"确定积极分子日期", "确定发展对象日期", "接收预备党员日期", "转正日期", "思想汇报份数",
	"最近思想汇报季度"};
static const og_ledger_def party_ledger_pipeline = {
	.name = "pipeline",
	.title = "发展党员工作台账",
	.permission = PARTY_PERM_READ,
	.sql = "SELECT c.id, r.name, CASE r.gender WHEN 'male' THEN '男' WHEN 'female' THEN '女'"
	       " END, " PARTY_AGE("current_date") ", g.name, o.name, " PARTY_STAGE_ZH("c.stage") ","
	       " c.applied_on, c.activist_on, c.target_on, c.probationary_on, c.full_on,"
	       " (SELECT count(*) FROM party.thought_report t WHERE t.candidate_id = c.id),"
	       " (SELECT max(t.quarter) FROM party.thought_report t WHERE t.candidate_id = c.id)"
	       PARTY_CAND_FROM
	       " WHERE (g.path <@ $1::ltree OR party.org_in_scope(c.org_id, $1::text))"
	       " ORDER BY c.id",
	.columns = party_pipeline_columns,
	.labels = party_pipeline_labels,
	.ncolumns = sizeof(party_pipeline_columns) / sizeof(party_pipeline_columns[0]),
};

static const char *const party_meetings_columns[] = {
	"id", "org", "kind", "held_on", "quarter", "topic", "attendee_count", "attendees"};
static const char *const party_meetings_labels[] = {
	"编号", "党组织", "会议类型", "日期", "季度", "主题", "参会人数", "参会党员"};
static const og_ledger_def party_ledger_meetings = {
	.name = "meetings",
	.title = "三会一课记录",
	.permission = PARTY_PERM_READ,
	.sql = "SELECT mt.id, o.name, k.label, mt.held_on, party.quarter_of(mt.held_on), mt.topic,"
	       " (SELECT count(*) FROM party.attendance a WHERE a.meeting_id = mt.id),"
	       " (SELECT string_agg(ar.name, '、' ORDER BY am.id) FROM party.attendance a"
	       "  JOIN party.member am ON am.id = a.member_id JOIN core.resident ar"
	       "  ON ar.id = am.resident_id WHERE a.meeting_id = mt.id)" PARTY_MEETING_FROM
	       " WHERE party.org_in_scope(mt.org_id, $1::text) ORDER BY mt.id",
	.columns = party_meetings_columns,
	.labels = party_meetings_labels,
	.ncolumns = sizeof(party_meetings_columns) / sizeof(party_meetings_columns[0]),
};

/* ------------------------------------------------------------------ */
/* OpenAPI detail of the routes */

#define PARTY_P_PAGE                                                                         \
	"{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1,"  \
	"\"maximum\":500,\"default\":50}},"                                                     \
	"{\"name\":\"cursor\",\"in\":\"query\",\"description\":\"next_cursor of the previous "  \
	"page\",\"schema\":{\"type\":\"string\"}}"
#define PARTY_P_ID(name, what)                                                               \
	"{\"name\":\"" name "\",\"in\":\"query\",\"description\":\"" what "\","                 \
	"\"schema\":{\"type\":\"integer\",\"minimum\":1}}"
#define PARTY_P_DATE(name, what)                                                             \
	"{\"name\":\"" name "\",\"in\":\"query\",\"description\":\"" what "\","                 \
	"\"schema\":{\"type\":\"string\",\"format\":\"date\"}}"
#define PARTY_P_ENUM(name, values)                                                           \
	"{\"name\":\"" name "\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":"     \
	values "}}"
#define PARTY_BODY(schema)                                                                   \
	"\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":"     \
	schema "}}}"
#define PARTY_S_DATE(what) "{\"type\":\"string\",\"format\":\"date\",\"description\":\"" what "\"}"
#define PARTY_S_ID(what) "{\"type\":\"integer\",\"minimum\":1,\"description\":\"" what "\"}"
#define PARTY_S_IDS(what)                                                                    \
	"{\"type\":\"array\",\"maxItems\":50,\"items\":{\"type\":\"integer\",\"minimum\":1},"  \
	"\"description\":\"" what "\"}"
#define PARTY_S_TEXT(max) "{\"type\":\"string\",\"minLength\":1,\"maxLength\":" #max "}"
#define PARTY_S_VERSION                                                                      \
	"\"version\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"the version you "    \
	"read (or send If-Match)\"}"
#define PARTY_E_KINDS "[\"committee\",\"general_branch\",\"branch\"]"
#define PARTY_E_CATEGORY "[\"full\",\"probationary\"]"
#define PARTY_E_ORIGIN "[\"community\",\"in_service\",\"retired\",\"floating\"]"
#define PARTY_E_STATUS "[\"normal\",\"transferred_out\",\"deceased\"]"
#define PARTY_E_STAGE                                                                        \
	"[\"applicant\",\"activist\",\"target\",\"probationary\",\"full\",\"withdrawn\"]"
#define PARTY_E_MEETING "[\"branch_meeting\",\"committee_meeting\",\"group_meeting\",\"lecture\"]"

static const char party_doc_orgs_list[] =
	"{\"parameters\":[" PARTY_P_ID("parent", "only organisations directly under this one") ","
	PARTY_P_ENUM("kind", PARTY_E_KINDS) ","
	PARTY_P_ID("region", "only organisations attached under this region") "," PARTY_P_PAGE "]}";
#define PARTY_ORG_PROPS                                                                      \
	"\"name\":" PARTY_S_TEXT(100) ","                                                       \
	"\"parent_id\":" PARTY_S_ID("the organisation above (not a branch)") ","               \
	"\"region_ids\":" PARTY_S_IDS("regions the organisation is attached to, in your scope "  \
	"(a grid party branch: its grid(s)); the first is its home") ","                         \
	"\"secretary_resident_id\":" PARTY_S_ID("the secretary, an active resident") ","       \
	"\"committee_resident_ids\":" PARTY_S_IDS("committee members, active residents")
static const char party_doc_orgs_create[] =
	"{" PARTY_BODY("{\"type\":\"object\",\"required\":[\"kind\",\"name\",\"region_ids\"],"
	"\"properties\":{\"kind\":{\"type\":\"string\",\"enum\":" PARTY_E_KINDS "},"
	PARTY_ORG_PROPS "}}") "}";
static const char party_doc_orgs_patch[] =
	"{" PARTY_BODY("{\"type\":\"object\",\"required\":[\"version\"],\"properties\":{"
	PARTY_S_VERSION "," PARTY_ORG_PROPS ",\"dissolved_on\":" PARTY_S_DATE("the day it was "
	"dissolved (null: open)") "}}") "}";
static const char party_doc_org_get[] =
	"{\"description\":\"The organisation: kind, name, parent_id, regions, secretary and "
	"committee (names from the shared model), member_count, version (also as ETag).\"}";
static const char party_doc_org_counts[] =
	"{\"parameters\":[{\"name\":\"year\",\"in\":\"query\",\"schema\":{\"type\":\"integer\","
	"\"minimum\":1900,\"maximum\":2999},\"description\":\"default this year\"}],"
	"\"description\":\"三会一课 per quarter: for each kind held, required (the minimum per "
	"quarter: branch_meeting 1, committee_meeting 3, group_meeting 3, lecture 1) and met; "
	"all_met per quarter.\"}";
static const char party_doc_members_list[] =
	"{\"parameters\":[" PARTY_P_ID("org", "only members of this organisation") ","
	PARTY_P_ID("region", "only members living under this region") ","
	PARTY_P_ENUM("status", PARTY_E_STATUS) "," PARTY_P_ENUM("category", PARTY_E_CATEGORY) ","
	PARTY_P_ENUM("origin", PARTY_E_ORIGIN) "," PARTY_P_PAGE "]}";
static const char party_doc_members_create[] =
	"{" PARTY_BODY("{\"type\":\"object\",\"required\":[\"resident_id\",\"org_id\",\"category\","
	"\"join_date\",\"origin\"],\"additionalProperties\":false,\"properties\":{"
	"\"resident_id\":" PARTY_S_ID("an active resident in your scope: name, gender, birth date "
	"are the shared model's, never sent here") ","
	"\"org_id\":" PARTY_S_ID("the branch") ","
	"\"category\":{\"type\":\"string\",\"enum\":" PARTY_E_CATEGORY "},"
	"\"join_date\":" PARTY_S_DATE("not in the future; the resident was 18") ","
	"\"conversion_date\":" PARTY_S_DATE("full members: at least one year after join_date") ","
	"\"origin\":{\"type\":\"string\",\"enum\":" PARTY_E_ORIGIN "},"
	"\"employer\":" PARTY_S_TEXT(100) ","
	"\"reported_on\":" PARTY_S_DATE("in_service only: the day of 在职党员报到") ","
	"\"note\":" PARTY_S_TEXT(500) "}}") "}";
static const char party_doc_members_patch[] =
	"{" PARTY_BODY("{\"type\":\"object\",\"required\":[\"version\"],\"properties\":{"
	PARTY_S_VERSION ",\"category\":{\"type\":\"string\",\"enum\":" PARTY_E_CATEGORY "},"
	"\"conversion_date\":" PARTY_S_DATE("with category full") ","
	"\"origin\":{\"type\":\"string\",\"enum\":" PARTY_E_ORIGIN "},"
	"\"employer\":" PARTY_S_TEXT(100) ",\"reported_on\":" PARTY_S_DATE("in_service only") ","
	"\"note\":" PARTY_S_TEXT(500) "}}") "}";
static const char party_doc_member_get[] =
	"{\"description\":\"The member (name, gender, birth_date, age read from the shared "
	"model) with transfers, the history of moves between organisations.\"}";
static const char party_doc_member_transfer[] =
	"{" PARTY_BODY("{\"type\":\"object\",\"properties\":{"
	"\"to_org_id\":" PARTY_S_ID("another organisation in your scope") ","
	"\"destination\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200,\"description\":"
	"\"out of the district: where to (then status transferred_out, the tag cleared)\"},"
	"\"transferred_on\":" PARTY_S_DATE("default today") ",\"note\":" PARTY_S_TEXT(500) ","
	PARTY_S_VERSION "}}") "}";
static const char party_doc_pipeline_list[] =
	"{\"parameters\":[" PARTY_P_ENUM("stage", PARTY_E_STAGE) ","
	PARTY_P_ID("org", "only this organisation's") "," PARTY_P_PAGE "]}";
static const char party_doc_pipeline_create[] =
	"{" PARTY_BODY("{\"type\":\"object\",\"required\":[\"resident_id\",\"org_id\"],"
	"\"properties\":{\"resident_id\":" PARTY_S_ID("an active resident in your scope, 18 or "
	"over") ",\"org_id\":" PARTY_S_ID("the branch applied to") ","
	"\"applied_on\":" PARTY_S_DATE("default today") "}}") "}";
static const char party_doc_pipeline_get[] =
	"{\"description\":\"The record: stage, the date of each step, next {to, earliest_on}, "
	"thought_reports.\"}";
static const char party_doc_pipeline_step[] =
	"{" PARTY_BODY("{\"type\":\"object\",\"required\":[\"to\"],\"properties\":{"
	"\"to\":{\"type\":\"string\",\"enum\":[\"activist\",\"target\",\"probationary\",\"full\","
	"\"withdrawn\"],\"description\":\"the next step: out of order is a 409 illegal_step "
	"(error.allowed); too early a 422 too_early (field date, error.earliest_on): activist 6 "
	"months after applying, target 1 year after activist, full 1 year after probationary\"},"
	"\"date\":" PARTY_S_DATE("default today, not in the future") ","
	"\"reason\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200,\"description\":"
	"\"withdrawn only, required\"},"
	"\"origin\":{\"type\":\"string\",\"enum\":" PARTY_E_ORIGIN ",\"description\":"
	"\"probationary only: the new member's origin (default community)\"},"
	PARTY_S_VERSION "}}") "}";
static const char party_doc_thought[] =
	"{" PARTY_BODY("{\"type\":\"object\",\"properties\":{"
	"\"submitted_on\":" PARTY_S_DATE("default today") ","
	"\"quarter\":{\"type\":\"string\",\"pattern\":\"^[0-9]{4}Q[1-4]$\",\"description\":"
	"\"default the quarter of submitted_on\"},"
	"\"summary\":" PARTY_S_TEXT(500) "}}") "}";
static const char party_doc_overdue[] =
	"{\"parameters\":[" PARTY_P_DATE("date", "default today") ","
	PARTY_P_ID("org", "only this organisation's") "],"
	"\"description\":\"thought_reports_missing: people at applicant..probationary on the date "
	"who applied before the quarter began and have no report for it; conversions_due: "
	"probationary members whose one-year probation ended (due_on) without conversion.\"}";
static const char party_doc_meetings_list[] =
	"{\"parameters\":[" PARTY_P_ID("org", "only this organisation's") ","
	PARTY_P_ENUM("kind", PARTY_E_MEETING) "," PARTY_P_DATE("from", "held on or after") ","
	PARTY_P_DATE("to", "held on or before") "," PARTY_P_PAGE "]}";
static const char party_doc_meetings_create[] =
	"{" PARTY_BODY("{\"type\":\"object\",\"required\":[\"org_id\",\"kind\",\"held_on\","
	"\"topic\"],\"properties\":{\"org_id\":" PARTY_S_ID("the organisation holding it") ","
	"\"kind\":{\"type\":\"string\",\"enum\":" PARTY_E_MEETING "},"
	"\"held_on\":" PARTY_S_DATE("not in the future") ",\"topic\":" PARTY_S_TEXT(200) ","
	"\"note\":" PARTY_S_TEXT(500) ",\"attendee_member_ids\":{\"type\":\"array\",\"maxItems\":"
	"500,\"items\":{\"type\":\"integer\",\"minimum\":1},\"description\":\"members (normal "
	"status) of the organisation or one under it\"}}}") "}";
static const char party_doc_meeting_get[] =
	"{\"description\":\"The meeting with its attendees (names from the shared model).\"}";
static const char party_doc_activities_list[] =
	"{\"parameters\":[" PARTY_P_ID("member", "only this member's") ","
	PARTY_P_DATE("from", "held on or after") "," PARTY_P_DATE("to", "held on or before") ","
	PARTY_P_PAGE "]}";
static const char party_doc_activities_create[] =
	"{" PARTY_BODY("{\"type\":\"object\",\"required\":[\"member_id\",\"held_on\",\"title\"],"
	"\"properties\":{\"member_id\":" PARTY_S_ID("a member in normal status") ","
	"\"held_on\":" PARTY_S_DATE("not in the future") ",\"title\":" PARTY_S_TEXT(200) ","
	"\"hours\":{\"type\":\"number\",\"minimum\":0,\"maximum\":24},"
	"\"fed_back_on\":" PARTY_S_DATE("the day it was reported to the member's employer") "}}")
	"}";
static const char party_doc_activity_feedback[] =
	"{" PARTY_BODY("{\"type\":\"object\",\"properties\":{\"fed_back_on\":"
	PARTY_S_DATE("default today; not before held_on; once only (409)") "}}") "}";
/* clang-format on */

/* ------------------------------------------------------------------ */
/* registration */

static const char *const party_read_roles[] = {"district", "street", "community", "grid_worker",
                                               NULL};
static const char *const party_write_roles[] = {"street", "community", NULL};
static const char *const party_manage_roles[] = {"street", "community", NULL};

static const struct {
	const char *code;
	const char *label;
	const char *const *roles;
} party_permissions[] = {
        {PARTY_PERM_READ, "查看党组织、党员、发展党员与三会一课", party_read_roles},
        {PARTY_PERM_WRITE, "登记党员、发展党员、思想汇报、三会一课与活动", party_write_roles},
        {PARTY_PERM_MANAGE, "设置党组织(党委、总支、支部)及其委员", party_manage_roles},
};

static const struct {
	unsigned method;
	const char *path;
	const char *permission;
	og_handler handler;
	const char *summary;
	const char *doc;
} party_routes[] = {
        {OG_GET, "/api/v1/party/orgs", PARTY_PERM_READ, party_orgs_list,
         "Party organisations in the caller's scope", party_doc_orgs_list},
        {OG_POST, "/api/v1/party/orgs", PARTY_PERM_MANAGE, party_org_create,
         "Create a party organisation attached to regions", party_doc_orgs_create},
        {OG_GET, "/api/v1/party/orgs/{id}", PARTY_PERM_READ, party_org_get,
         "One party organisation", party_doc_org_get},
        {OG_PATCH, "/api/v1/party/orgs/{id}", PARTY_PERM_MANAGE, party_org_patch,
         "Change a party organisation (send the version)", party_doc_orgs_patch},
        {OG_GET, "/api/v1/party/orgs/{id}/meetings/quarterly", PARTY_PERM_READ,
         party_org_meeting_counts, "三会一课 held per quarter against the required minimum",
         party_doc_org_counts},
        {OG_GET, "/api/v1/party/members", PARTY_PERM_READ, party_members_list,
         "Party members in the caller's scope", party_doc_members_list},
        {OG_POST, "/api/v1/party/members", PARTY_PERM_WRITE, party_member_create,
         "Register a resident as a party member (201)", party_doc_members_create},
        {OG_GET, "/api/v1/party/members/{id}", PARTY_PERM_READ, party_member_get,
         "One member with the transfer history", party_doc_member_get},
        {OG_PATCH, "/api/v1/party/members/{id}", PARTY_PERM_WRITE, party_member_patch,
         "Change a member's category, origin, employer, report date (send the version)",
         party_doc_members_patch},
        {OG_POST, "/api/v1/party/members/{id}/transfer", PARTY_PERM_WRITE, party_member_transfer,
         "Transfer a member to another organisation or out of the district",
         party_doc_member_transfer},
        {OG_GET, "/api/v1/party/pipeline", PARTY_PERM_READ, party_pipeline_list,
         "People in the development pipeline", party_doc_pipeline_list},
        {OG_POST, "/api/v1/party/pipeline", PARTY_PERM_WRITE, party_pipeline_create,
         "Record an application to join (入党申请)", party_doc_pipeline_create},
        {OG_GET, "/api/v1/party/pipeline/overdue", PARTY_PERM_READ, party_pipeline_overdue,
         "Missing thought reports for the quarter and due conversions", party_doc_overdue},
        {OG_GET, "/api/v1/party/pipeline/{id}", PARTY_PERM_READ, party_pipeline_get,
         "One pipeline record with its thought reports", party_doc_pipeline_get},
        {OG_POST, "/api/v1/party/pipeline/{id}/steps", PARTY_PERM_WRITE, party_pipeline_step,
         "Take the next step of the development pipeline", party_doc_pipeline_step},
        {OG_POST, "/api/v1/party/pipeline/{id}/thought-reports", PARTY_PERM_WRITE,
         party_thought_report, "Record a quarterly thought report (思想汇报)", party_doc_thought},
        {OG_GET, "/api/v1/party/meetings", PARTY_PERM_READ, party_meetings_list,
         "三会一课 meetings in the caller's scope", party_doc_meetings_list},
        {OG_POST, "/api/v1/party/meetings", PARTY_PERM_WRITE, party_meeting_create,
         "Record a meeting with its attendance", party_doc_meetings_create},
        {OG_GET, "/api/v1/party/meetings/{id}", PARTY_PERM_READ, party_meeting_get,
         "One meeting with its attendance", party_doc_meeting_get},
        {OG_GET, "/api/v1/party/activities", PARTY_PERM_READ, party_activities_list,
         "Members' volunteer activities", party_doc_activities_list},
        {OG_POST, "/api/v1/party/activities", PARTY_PERM_WRITE, party_activity_create,
         "Register a member's activity (and its feedback to the employer)",
         party_doc_activities_create},
        {OG_POST, "/api/v1/party/activities/{id}/feedback", PARTY_PERM_WRITE,
         party_activity_feedback, "Record that an activity was fed back to the member's employer",
         party_doc_activity_feedback},
};

/* Registers everything: migrations, permissions, the tag, routes, the
 * hook, indicators, ledgers.  Each host call logs its own failure. */
static int party_init(og_plugin *self, const og_host_api *host)
{
	size_t i;

	party_self = self;
	for (i = 0; i < party_migrations_count; i++)
		if (host->register_migration(self, party_migrations[i].version,
		                             party_migrations[i].name, party_migrations[i].sql) < 0)
			return -1;
	for (i = 0; i < sizeof(party_permissions) / sizeof(party_permissions[0]); i++)
		if (host->register_permission(self, party_permissions[i].code,
		                              party_permissions[i].label,
		                              party_permissions[i].roles) < 0)
			return -1;
	if (host->register_tag(self, PARTY_TAG, "党员") < 0)
		return -1;
	for (i = 0; i < sizeof(party_routes) / sizeof(party_routes[0]); i++) {
		if (host->register_route(self, party_routes[i].method, party_routes[i].path,
		                         party_routes[i].permission, party_routes[i].handler,
		                         party_routes[i].summary) < 0)
			return -1;
		if (host->describe_route(self, party_routes[i].method, party_routes[i].path,
		                         party_routes[i].doc) < 0)
			return -1;
	}
	if (host->register_hook(self, "resident.deceased", party_hook) < 0)
		return -1;
	for (i = 0; i < sizeof(party_indicators) / sizeof(party_indicators[0]); i++)
		if (host->register_indicator(self, &party_indicators[i]) < 0)
			return -1;
	if (host->register_ledger(self, &party_ledger_roster) < 0 ||
	    host->register_ledger(self, &party_ledger_pipeline) < 0 ||
	    host->register_ledger(self, &party_ledger_meetings) < 0)
		return -1;
	return 0;
}

/* The one exported symbol.  No dependencies, no fini. */
OG_PLUGIN_DEFINE("party", "1.0.0", "党建", NULL, party_init, NULL);

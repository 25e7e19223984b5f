/*
 * plugins/civil/civil.c — civil affairs (民政): 低保 (minimum living
 * allowance, by household), 特困 (extreme hardship support), 高龄津贴
 * (elderly allowance) and 残疾人两项补贴 (disability subsidies), as benefit
 * cases on the shared population model.
 *
 * For: the plugin's routes under /api/v1/civil/ — programmes and their
 * document checklists, per-district settings, cases (create, list, read,
 * the state machine's steps, the documents on file, the event history),
 * the elderly allowance eligibility list computed from birth dates the
 * shared model already holds; its hooks on the shared model's events (a
 * member who dies, moves out or changes household, or a household that
 * moves, flags the case for review with the reason — amounts never change
 * by themselves); the tags dibao 低保户 and tekun 特困人员, which follow
 * case status; its indicators and ledgers for the one report.
 *
 * Not for: names, ID numbers, addresses or household membership — those
 * are the shared model's and are read by JOIN, never copied or edited
 * here; payments (the amount is the approved monthly figure, not a
 * payment record); anything outside include/onegrid/plugin.h.
 *
 * The state machine (civil.transition, seeded by schema/0001_civil.sql,
 * also enforced by a trigger):
 *
 *   application -> investigation -> public_notice -> approved -> active
 *        \              \                \-> rejected
 *         \-> rejected   \-> rejected
 *   active -> review_due | suspended | terminated
 *   review_due -> active | suspended | terminated
 *   suspended -> active | terminated
 *
 * Who takes which step is a permission per step (civil.transition's
 * permission column): grid workers start cases and record documents
 * (civil.case.write), community staff investigate, put a case on public
 * notice and open a review (civil.case.investigate), street staff approve,
 * reject, start, suspend and end benefits (civil.case.approve).  The
 * transition route itself needs only civil.case.read so that a street or
 * district approver reaches it; the step's own permission is checked
 * inside (403 naming it).
 *
 * Scope: a case is seen through its household's (or resident's) grid; a
 * case outside the caller's scope is a 404 like one that does not exist.
 * Every write is audited in its transaction.  Everything is static; the
 * only exported symbol is og_plugin_desc.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <onegrid/plugin.h>

/* schema/0001_civil.sql and 0002_case_member_case.sql embedded by `sql2c.sh
 * --static civil_migrations civil ...`: civil_migrations[] and
 * civil_migrations_count. */
#include "civil_migrations.c"

#define CIVIL_REASON_MAX 500 /* characters, as civil.case_event.reason */
#define CIVIL_NOTE_MAX 500   /* civil.benefit_case.note */
#define CIVIL_DOC_NOTE_MAX 200
#define CIVIL_AMOUNT_MAX 100000000 /* fen: 1,000,000 yuan a month is surely a typo */
#define CIVIL_CODE_MAX 32

#define CIVIL_PERM_READ "civil.case.read"
#define CIVIL_PERM_WRITE "civil.case.write"
#define CIVIL_PERM_INVESTIGATE "civil.case.investigate"
#define CIVIL_PERM_APPROVE "civil.case.approve"
#define CIVIL_PERM_SETTINGS "civil.settings.write"
#define CIVIL_PERM_PROGRAMMES "civil.programmes.write"

/* Our own handle, kept from init for set_tag / clear_tag (which take the
 * owning plugin).  Set once before the workers fork; never changes. */
static og_plugin *civil_self;

/* ------------------------------------------------------------------ */
/* SQL shared by several statements */

/* clang-format off */
/*
 * The rows every case statement starts from: the case c, its programme p,
 * its household h or resident x (one of them is NULL) and the grid g it
 * belongs to through them.  The scope predicate is over g, as everywhere
 * in the API: scope "" is everything.
 */
#define CIVIL_CASE_FROM                                                                   \
	" FROM civil.benefit_case c JOIN civil.programme p ON p.code = c.programme"      \
	" LEFT JOIN core.household h ON h.id = c.household_id"                          \
	" LEFT JOIN core.resident x ON x.id = c.resident_id"                            \
	" JOIN core.region g ON g.id = coalesce(h.grid_id, x.grid_id)"
#define CIVIL_IN_SCOPE(s) "(" s "::text = '' OR g.path <@ " s "::text::ltree)"

/* A household's address as people write it (h is core.household). */
#define CIVIL_HH_ADDRESS(h)                                                               \
	"concat_ws(' ', nullif(" h ".address, ''), (SELECT b.name FROM core.building b"   \
	" WHERE b.id = " h ".building_id), nullif(" h ".unit, ''), nullif(" h ".room, ''))"

/* Checklist items of c's programme not on file, as [{code, label}]. */
#define CIVIL_MISSING_DOCS                                                                 \
	"(SELECT coalesce(json_agg(json_build_object('code', d.code, 'label', d.label)"     \
	"  ORDER BY d.ord), '[]') FROM civil.programme_document d"                         \
	"  WHERE d.programme = c.programme AND NOT EXISTS (SELECT 1 FROM civil.case_document" \
	"   cd WHERE cd.case_id = c.id AND cd.code = d.code))"

/* Is case c missing a document (counted for open cases only)? */
#define CIVIL_INCOMPLETE                                                                   \
	"(c.status NOT IN ('rejected', 'terminated') AND EXISTS (SELECT 1 FROM"            \
	" civil.programme_document d WHERE d.programme = c.programme AND NOT EXISTS"       \
	" (SELECT 1 FROM civil.case_document cd WHERE cd.case_id = c.id AND cd.code = d.code)))"

/* Is case c due for review today: flagged, or past its periodic date? */
#define CIVIL_REVIEW_DUE                                                                   \
	"(c.status = 'review_due' OR (c.status = 'active' AND c.next_review_on <= current_date))"

/*
 * One case as the API shows it (list items and the base of the detail).
 * The subject — household or person — is read from the shared model by
 * JOIN: a name, an address, an age; never an ID number or a phone.
 */
#define CIVIL_CASE_JSON                                                                    \
	"json_build_object('id', c.id, 'programme', c.programme, 'programme_name', p.name,"  \
	" 'unit', p.unit, 'household_id', c.household_id, 'resident_id', c.resident_id,"    \
	" 'grid_id', g.id, 'grid_name', g.name,"                                            \
	" 'subject', CASE WHEN c.household_id IS NOT NULL THEN json_build_object("          \
	"   'household_id', h.id, 'address', " CIVIL_HH_ADDRESS("h") ","                    \
	"   'head_resident_id', h.head_resident_id, 'head_name', (SELECT hr.name FROM"      \
	"   core.resident hr WHERE hr.id = h.head_resident_id), 'member_count', (SELECT"    \
	"   count(*) FROM core.resident m WHERE m.household_id = h.id AND"                  \
	"   m.life_status = 'active'))"                                                     \
	"  ELSE json_build_object('resident_id', x.id, 'name', x.name, 'gender', x.gender," \
	"   'birth_date', x.birth_date, 'age', date_part('year', age(current_date,"         \
	"   x.birth_date))::int, 'life_status', x.life_status, 'household_id',"             \
	"   x.household_id) END,"                                                           \
	" 'status', c.status, 'applied_on', c.applied_on, 'notice_start', c.notice_start,"  \
	" 'notice_days', c.notice_days, 'notice_ends_on', c.notice_start + c.notice_days - 1," \
	" 'monthly_amount_fen', c.monthly_amount_fen, 'start_on', c.start_on,"              \
	" 'next_review_on', c.next_review_on, 'review_due', " CIVIL_REVIEW_DUE ","          \
	" 'missing_documents', " CIVIL_MISSING_DOCS ","                                     \
	" 'open_flags', (SELECT count(*) FROM civil.case_flag f WHERE f.case_id = c.id AND"  \
	"  f.resolved_at IS NULL),"                                                         \
	" 'allowed_transitions', (SELECT coalesce(json_agg(t.to_status ORDER BY t.ord),"     \
	"  '[]') FROM civil.transition t WHERE t.from_status = c.status),"                  \
	" 'note', c.note, 'version', c.version, 'created_by', c.created_by,"                \
	" 'created_at', c.created_at, 'updated_at', c.updated_at)"

/* The detail adds the checklist, the members and the flags. */
#define CIVIL_CASE_DETAIL_JSON                                                             \
	"(" CIVIL_CASE_JSON "::jsonb || jsonb_build_object("                                \
	" 'documents', (SELECT coalesce(jsonb_agg(jsonb_build_object('code', d.code,"       \
	"   'label', d.label, 'on_file', cd.case_id IS NOT NULL, 'received_on',"            \
	"   cd.received_on, 'note', cd.note, 'recorded_by', cd.recorded_by)"                \
	"   ORDER BY d.ord), '[]') FROM civil.programme_document d LEFT JOIN"               \
	"   civil.case_document cd ON cd.case_id = c.id AND cd.code = d.code"               \
	"   WHERE d.programme = c.programme),"                                              \
	" 'members', (SELECT coalesce(jsonb_agg(jsonb_build_object('resident_id', r.id,"    \
	"   'name', r.name, 'relation', r.relation, 'gender', r.gender, 'age',"             \
	"   date_part('year', age(current_date, r.birth_date))::int, 'life_status',"        \
	"   r.life_status, 'household_id', r.household_id, 'counted', EXISTS (SELECT 1"     \
	"   FROM civil.case_member cm WHERE cm.case_id = c.id AND cm.resident_id = r.id"    \
	"   AND cm.removed_on IS NULL)) ORDER BY r.id), '[]') FROM core.resident r"         \
	"   WHERE (c.household_id IS NOT NULL AND r.household_id = c.household_id)"         \
	"   OR r.id = c.resident_id OR r.id IN (SELECT cm.resident_id FROM"                 \
	"   civil.case_member cm WHERE cm.case_id = c.id AND cm.removed_on IS NULL)),"      \
	" 'flags', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', f.id, 'kind',"       \
	"   f.kind, 'resident_id', f.resident_id, 'occurred_on', f.occurred_on, 'reason',"  \
	"   f.reason, 'created_at', f.created_at, 'resolved_at', f.resolved_at,"            \
	"   'resolved_by', f.resolved_by, 'resolution', f.resolution) ORDER BY f.id DESC),"  \
	"   '[]') FROM civil.case_flag f WHERE f.case_id = c.id)))::json"

/* clang-format on */

/* ------------------------------------------------------------------ */
/* small helpers */

static const char *civil_id_text(int64_t v, char buf[24])
{
	snprintf(buf, 24, "%" PRId64, v);
	return buf;
}

/* strdup without POSIX (plugins build with plain -std=c11); new, free(). */
static char *civil_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = malloc(n);

	if (copy != NULL)
		memcpy(copy, s, n);
	return copy;
}

/* A 422 naming the field. */
static void civil_invalid(og_req *req, const og_host_api *host, const char *field,
                          const char *message)
{
	host->reply_error(req, 422, "invalid", message, field);
}

/*
 * An error reply with members beyond code/message/field inside "error"
 * (the allowed next steps of an illegal transition, the end date of a
 * public notice, the missing documents).  extra: steals, may be NULL.
 */
static void civil_reply_error_with(og_req *req, const og_host_api *host, int status,
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

/* A money member: integer fen, never a fraction (1 yuan = 100 fen).  1
 * given, 0 absent, -1 after a 422. */
static int civil_opt_amount(og_req *req, const og_host_api *host, json_t *in, int64_t *out)
{
	json_t *v = json_object_get(in, "monthly_amount_fen");

	if (v != NULL && json_is_real(v)) {
		civil_invalid(req, host, "monthly_amount_fen",
		              "monthly_amount_fen is an integer number of fen (1 yuan = 100 fen), "
		              "never a fraction");
		return -1;
	}
	return host->body_int(req, in, "monthly_amount_fen", 0, CIVIL_AMOUNT_MAX, OG_OPTIONAL, out);
}

/*
 * The ltree path (new, free()) of region `id` if it lies in the caller's
 * scope; NULL after a reply (404 naming the parameter, or the query's
 * error).
 */
static char *civil_region_path(og_req *req, const og_host_api *host, int64_t id, const char *param)
{
	const og_caller *me = host->caller(req);
	char sid[24];
	const char *params[2] = {civil_id_text(id, sid), me->scope_path};
	og_result *r;
	char *path = NULL;

	r = host->query(req,
	                "SELECT r.path::text FROM core.region r WHERE r.id = $1::bigint"
	                " AND ($2::text = '' OR r.path <@ $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return NULL;
	if (host->result_rows(r) == 1) {
		path = civil_strdup(host->result_text(r, 0, 0));
		if (path == NULL)
			host->reply_error(req, 500, "internal", "out of memory", NULL);
	} else {
		host->reply_error(req, 404, "not_found", "no such region in your scope", param);
	}
	host->result_free(r);
	return path;
}

/* Is s one of the statuses of the state machine? */
static bool civil_known_status(const char *s)
{
	static const char *const statuses[] = {"application", "investigation", "public_notice",
	                                       "approved",    "rejected",      "active",
	                                       "review_due",  "suspended",     "terminated"};
	size_t i;

	for (i = 0; s != NULL && i < sizeof(statuses) / sizeof(statuses[0]); i++)
		if (strcmp(statuses[i], s) == 0)
			return true;
	return false;
}

static const char *civil_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key)); /* NULL unless a string */
}

static int64_t civil_int(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/* Drops the statement-internal members ("_...") of a case read for update. */
static void civil_strip_internal(json_t *obj)
{
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v) {
		(void)v;
		if (key[0] == '_')
			json_object_del(obj, key);
	}
}

/* ETag "<version>" of a case or setting, for If-Match. */
static void civil_set_etag(og_req *req, const og_host_api *host, json_t *row)
{
	char etag[32];

	snprintf(etag, sizeof(etag), "\"%" JSON_INTEGER_FORMAT "\"",
	         json_integer_value(json_object_get(row, "version")));
	host->set_header(req, "ETag", etag);
}

/* The source reference a tag carries: the case that gives it. */
static void civil_tag_source(int64_t case_id, char buf[48])
{
	snprintf(buf, 48, "civil.case:%" PRId64, case_id);
}

/* ------------------------------------------------------------------ */
/* programmes */

/* clang-format off */
#define CIVIL_PROGRAMME_JSON                                                               \
	"json_build_object('code', p.code, 'name', p.name, 'short_name', p.short_name,"     \
	" 'unit', p.unit, 'notice_days', p.notice_days, 'review_months', p.review_months,"  \
	" 'default_amount_fen', p.default_amount_fen, 'tag', p.tag, 'documents', (SELECT"  \
	" coalesce(json_agg(json_build_object('code', d.code, 'label', d.label) ORDER BY"  \
	" d.ord), '[]') FROM civil.programme_document d WHERE d.programme = p.code),"       \
	" 'version', p.version, 'updated_at', p.updated_at)"

/* clang-format on */

/* GET /api/v1/civil/programmes */
static void civil_programmes_list(og_req *req, const og_host_api *host)
{
	json_t *items;

	if (host->query_json(req,
	                     "SELECT coalesce(json_agg(" CIVIL_PROGRAMME_JSON " ORDER BY p.ord),"
	                     " '[]') FROM civil.programme p",
	                     0, NULL, &items) != 1)
		return;
	/* Four programmes: one page, no cursor. */
	host->reply_json(req, 200, json_pack("{s:o, s:n}", "items", items, "next_cursor"));
}

/* PATCH /api/v1/civil/programmes/{code}
 * {"version", "notice_days", "review_months", "default_amount_fen"} */
static void civil_programmes_patch(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version", "notice_days", "review_months",
	                                    "default_amount_fen", NULL};
	const char *code = host->path_param(req, "code");
	json_t *in, *before = NULL, *after = NULL, *amount;
	int64_t version, notice = 0, months = 0, fen = 0;
	int has_notice, has_months; /* 1 when given */
	char sv[24], sn[24], sm[24], sf[24], msg[96];
	const char *params[7];
	int n;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    (has_notice = host->body_int(req, in, "notice_days", 0, 60, OG_OPTIONAL, &notice)) <
	            0 ||
	    (has_months = host->body_int(req, in, "review_months", 1, 60, OG_OPTIONAL, &months)) <
	            0 ||
	    host->body_int(req, in, "default_amount_fen", 0, CIVIL_AMOUNT_MAX, OG_OPTIONAL, &fen) <
	            0)
		return;
	amount = json_object_get(in, "default_amount_fen");
	params[0] = code;
	n = host->query_json(req,
	                     "SELECT " CIVIL_PROGRAMME_JSON " FROM civil.programme p"
	                     " WHERE p.code = $1 FOR UPDATE",
	                     1, params, &before);
	if (n < 0)
		return;
	if (n == 0) {
		host->reply_error(req, 404, "not_found", "no such programme", NULL);
		return;
	}
	if (civil_int(before, "version") != version) {
		snprintf(msg, sizeof(msg),
		         "the programme has changed: it is now at version %" PRId64,
		         civil_int(before, "version"));
		host->reply_error(req, 409, "version_conflict", msg, "version");
		json_decref(before);
		return;
	}
	params[1] = has_notice ? civil_id_text(notice, sn) : NULL;
	params[2] = has_months ? civil_id_text(months, sm) : NULL;
	params[3] = amount != NULL ? "t" : "f";
	params[4] = amount != NULL && !json_is_null(amount) ? civil_id_text(fen, sf) : NULL;
	params[5] = civil_id_text(version, sv);
	n = host->query_json(
	        req,
	        "UPDATE civil.programme p SET"
	        " notice_days = coalesce($2::int, p.notice_days),"
	        " review_months = coalesce($3::int, p.review_months),"
	        " default_amount_fen = CASE WHEN $4::boolean THEN $5::bigint"
	        "  ELSE p.default_amount_fen END,"
	        " version = p.version + 1, updated_at = now()"
	        " WHERE p.code = $1 AND p.version = $6::int RETURNING " CIVIL_PROGRAMME_JSON,
	        6, params, &after);
	if (n == 0)
		host->reply_error(req, 409, "version_conflict", "the programme has changed",
		                  "version");
	if (n == 1 && host->audit(req, "update", "civil.programme", code, 0, before, after) == 0) {
		civil_set_etag(req, host, after);
		host->reply_json(req, 200, after); /* steals after */
		after = NULL;
	}
	json_decref(before);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* settings, per district */

/*
 * The district whose settings the request means: ?district= (which must
 * be a district in the caller's scope), else the caller's own.  0 after a
 * reply.
 */
static int64_t civil_settings_district(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	int64_t id;
	char sid[24];
	const char *params[2];
	og_result *r;
	int rows;

	if (host->query_id(req, "district", &id) < 0)
		return 0;
	if (id == 0)
		id = me->district_id;
	if (id == 0) {
		civil_invalid(req, host, "district",
		              "your scope is above every district: say which with ?district=");
		return 0;
	}
	params[0] = civil_id_text(id, sid);
	params[1] = me->scope_path;
	/* A district above a street user's scope is still "theirs" to read:
	 * settings belong to the district the caller works in. */
	r = host->query(
	        req,
	        "SELECT 1 FROM core.region r WHERE r.id = $1::bigint AND r.level = 'district'"
	        " AND ($2::text = '' OR $2::text::ltree <@ r.path)",
	        2, params);
	if (r == NULL)
		return 0;
	rows = host->result_rows(r);
	host->result_free(r);
	if (rows == 0) {
		host->reply_error(req, 404, "not_found", "no such district in your scope",
		                  "district");
		return 0;
	}
	return id;
}

/* clang-format off */
#define CIVIL_SETTING_SQL                                                                  \
	"SELECT json_build_object('district_id', r.id, 'elderly_age',"                      \
	" coalesce(s.elderly_age, 80), 'version', coalesce(s.version, 1), 'updated_by',"   \
	" s.updated_by, 'updated_at', s.updated_at) FROM core.region r"                      \
	" LEFT JOIN civil.setting s ON s.district_id = r.id WHERE r.id = $1::bigint"

/* clang-format on */

/* GET /api/v1/civil/settings?district= */
static void civil_settings_get(og_req *req, const og_host_api *host)
{
	int64_t district = civil_settings_district(req, host);
	char sid[24];
	const char *params[1];
	json_t *out;

	if (district == 0)
		return;
	params[0] = civil_id_text(district, sid);
	if (host->query_json(req, CIVIL_SETTING_SQL, 1, params, &out) != 1) {
		if (host->last_sqlstate(req)[0] == '\0')
			host->reply_error(req, 404, "not_found", "no such district", "district");
		return;
	}
	civil_set_etag(req, host, out);
	host->reply_json(req, 200, out);
}

/* PATCH /api/v1/civil/settings?district=  {"version", "elderly_age"} */
static void civil_settings_patch(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"version", "elderly_age", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *before = NULL, *after = NULL;
	int64_t district, version, age = 0;
	char sid[24], sv[24], sa[24], su[24], msg[96];
	const char *params[4];
	og_result *r;
	int n;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0 ||
	    host->client_version(req, in, &version) < 0 ||
	    host->body_int(req, in, "elderly_age", 60, 120, OG_REQUIRED, &age) < 0)
		return;
	if ((district = civil_settings_district(req, host)) == 0)
		return;
	params[0] = civil_id_text(district, sid);
	/* Locks the row when there is one; a district without one is at the
	 * defaults' version 1 (two first writers meet in the upsert below). */
	if ((r = host->query(req,
	                     "SELECT 1 FROM civil.setting WHERE district_id = $1::bigint"
	                     " FOR UPDATE",
	                     1, params)) == NULL)
		return;
	host->result_free(r);
	n = host->query_json(req, CIVIL_SETTING_SQL, 1, params, &before);
	if (n != 1)
		return;
	if (civil_int(before, "version") != version) {
		snprintf(msg, sizeof(msg),
		         "the settings have changed: they are now at version %" PRId64,
		         civil_int(before, "version"));
		host->reply_error(req, 409, "version_conflict", msg, "version");
		json_decref(before);
		return;
	}
	params[1] = civil_id_text(age, sa);
	params[2] = civil_id_text(version, sv);
	params[3] = me->user_id > 0 ? civil_id_text(me->user_id, su) : NULL;
	n = host->query_json(req,
	                     "WITH up AS (INSERT INTO civil.setting AS s (district_id, elderly_age,"
	                     "  version, updated_by) VALUES ($1::bigint, $2::int, 2, $4::bigint)"
	                     " ON CONFLICT (district_id) DO UPDATE SET elderly_age ="
	                     "  EXCLUDED.elderly_age, version = s.version + 1, updated_by ="
	                     "  EXCLUDED.updated_by, updated_at = now() WHERE s.version = $3::int"
	                     " RETURNING s.*) "
	                     "SELECT json_build_object('district_id', district_id, 'elderly_age',"
	                     " elderly_age, 'version', version, 'updated_by', updated_by,"
	                     " 'updated_at', updated_at) FROM up",
	                     4, params, &after);
	if (n == 0)
		host->reply_error(req, 409, "version_conflict", "the settings have changed",
		                  "version");
	if (n == 1 &&
	    host->audit(req, "update", "civil.setting", sid, district, before, after) == 0) {
		civil_set_etag(req, host, after);
		host->reply_json(req, 200, after); /* steals after */
		after = NULL;
	}
	json_decref(before);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* cases: list, read, history */

/* GET /api/v1/civil/cases?programme=&status=&region=&household=&resident=
 *   &incomplete=&review_due=&limit=&cursor= */
static void civil_cases_list(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	const char *programme = host->query_param(req, "programme");
	const char *status = host->query_param(req, "status");
	int64_t cursor, region, household, resident;
	int limit, incomplete, review_due;
	char *path = NULL;
	char sc[24], sl[24], sh[24], sr[24];
	const char *params[10];
	json_t *page;
	og_result *r;
	int rows;

	if (host->page(req, &limit, &cursor) < 0 || host->query_id(req, "region", &region) < 0 ||
	    host->query_id(req, "household", &household) < 0 ||
	    host->query_id(req, "resident", &resident) < 0)
		return;
	if (host->query_bool(req, "incomplete", &incomplete) < 0 ||
	    host->query_bool(req, "review_due", &review_due) < 0)
		return;
	if (status != NULL && !civil_known_status(status)) {
		civil_invalid(req, host, "status",
		              "status must be one of application, investigation, public_notice, "
		              "approved, rejected, active, review_due, suspended, terminated");
		return;
	}
	if (programme != NULL) {
		params[0] = programme;
		if ((r = host->query(req, "SELECT 1 FROM civil.programme WHERE code = $1", 1,
		                     params)) == NULL)
			return;
		rows = host->result_rows(r);
		host->result_free(r);
		if (rows == 0) {
			civil_invalid(req, host, "programme",
			              "programme must be dibao, tekun, elderly or disability");
			return;
		}
	}
	if (region != 0 && (path = civil_region_path(req, host, region, "region")) == NULL)
		return;

	params[0] = me->scope_path;
	params[1] = civil_id_text(cursor, sc);
	params[2] = civil_id_text(limit, sl);
	params[3] = programme;
	params[4] = status;
	params[5] = path;
	params[6] = household != 0 ? civil_id_text(household, sh) : NULL;
	params[7] = resident != 0 ? civil_id_text(resident, sr) : NULL;
	params[8] = incomplete < 0 ? NULL : incomplete ? "t" : "f";
	params[9] = review_due < 0 ? NULL : review_due ? "t" : "f";
	rows = host->query_json(
	        req,
	        "WITH page AS (SELECT c.id" CIVIL_CASE_FROM " WHERE " CIVIL_IN_SCOPE(
	                "$1") " AND c.id > $2::bigint"
	                      "  AND ($4::text IS NULL OR c.programme = $4::text)"
	                      "  AND ($5::text IS NULL OR c.status = $5::text)"
	                      "  AND ($6::text IS NULL OR g.path <@ $6::text::ltree)"
	                      "  AND ($7::bigint IS NULL OR c.household_id = $7::bigint)"
	                      "  AND ($8::bigint IS NULL OR c.resident_id = $8::bigint)"
	                      "  AND ($9::boolean IS NULL OR $9::boolean = " CIVIL_INCOMPLETE ")"
	                      "  AND ($10::boolean IS NULL OR $10::boolean = " CIVIL_REVIEW_DUE ")"
	                      " ORDER BY c.id LIMIT $3::int + 1), "
	                      "shown AS (SELECT id FROM page ORDER BY id LIMIT $3::int) "
	                      "SELECT json_build_object('items', coalesce((SELECT "
	                      "json_agg(" CIVIL_CASE_JSON " ORDER BY c.id)" CIVIL_CASE_FROM
	                      " WHERE c.id IN (SELECT id FROM shown)), '[]'::json),"
	                      " 'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $3::int"
	                      "  THEN (SELECT max(id)::text FROM shown) END)",
	        10, params, &page);
	free(path);
	if (rows != 1)
		return;
	host->reply_json(req, 200, page); /* steals page */
}

/*
 * Case `id` in the caller's scope as the detail shows it (*out new).
 * 1 found; 0 after a 404; -1 after the query's error.
 */
static int civil_case_load(og_req *req, const og_host_api *host, int64_t id, json_t **out)
{
	const og_caller *me = host->caller(req);
	char sid[24];
	const char *params[2] = {civil_id_text(id, sid), me->scope_path};
	int n;

	n = host->query_json(req,
	                     "SELECT " CIVIL_CASE_DETAIL_JSON CIVIL_CASE_FROM
	                     " WHERE c.id = $1::bigint AND " CIVIL_IN_SCOPE("$2"),
	                     2, params, out);
	if (n == 0)
		host->reply_error(req, 404, "not_found", "no such case", NULL);
	return n;
}

/* GET /api/v1/civil/cases/{id} */
static void civil_case_get(og_req *req, const og_host_api *host)
{
	int64_t id;
	json_t *c;

	if (host->path_id(req, "id", &id) < 0 || civil_case_load(req, host, id, &c) != 1)
		return;
	civil_set_etag(req, host, c);
	host->reply_json(req, 200, c); /* steals c */
}

/* GET /api/v1/civil/cases/{id}/events?limit=&cursor=  (oldest first) */
static void civil_case_events(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	int64_t id, cursor;
	int limit, n;
	char sid[24], sc[24], sl[24];
	const char *params[4];
	json_t *page;

	if (host->path_id(req, "id", &id) < 0 || host->page(req, &limit, &cursor) < 0)
		return;
	params[0] = civil_id_text(id, sid);
	params[1] = me->scope_path;
	params[2] = civil_id_text(cursor, sc);
	params[3] = civil_id_text(limit, sl);
	n = host->query_json(
	        req,
	        "WITH c AS (SELECT c.id" CIVIL_CASE_FROM
	        " WHERE c.id = $1::bigint AND " CIVIL_IN_SCOPE(
	                "$2") "), "
	                      "page AS (SELECT e.* FROM civil.case_event e WHERE e.case_id IN "
	                      "(SELECT id FROM c)"
	                      "  AND e.id > $3::bigint ORDER BY e.id LIMIT $4::int + 1), "
	                      "shown AS (SELECT * FROM page ORDER BY id LIMIT $4::int) "
	                      "SELECT CASE WHEN EXISTS (SELECT 1 FROM c) THEN "
	                      "json_build_object('items',"
	                      " coalesce((SELECT json_agg(json_build_object('id', e.id, 'case_id', "
	                      "e.case_id,"
	                      "  'from_status', e.from_status, 'to_status', e.to_status, "
	                      "'occurred_on',"
	                      "  e.occurred_on, 'by_user', e.by_user, 'by_username', u.username, "
	                      "'reason',"
	                      "  e.reason, 'monthly_amount_fen', e.monthly_amount_fen, "
	                      "'next_review_on',"
	                      "  e.next_review_on, 'details', e.details, 'recorded_at', "
	                      "e.recorded_at)"
	                      "  ORDER BY e.id) FROM shown e LEFT JOIN core.app_user u ON u.id = "
	                      "e.by_user),"
	                      "  '[]'::json),"
	                      " 'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $4::int"
	                      "  THEN (SELECT max(id)::text FROM shown) END) END",
	        4, params, &page);
	if (n < 0)
		return;
	if (n == 0 || json_is_null(page)) {
		json_decref(page);
		host->reply_error(req, 404, "not_found", "no such case", NULL);
		return;
	}
	host->reply_json(req, 200, page); /* steals page */
}

/* ------------------------------------------------------------------ */
/* tags and members: what an active case counts */

/* Sets (set=true) or clears the tag on every resident id in `ids`. */
static int civil_tags_apply(og_req *req, const og_host_api *host, json_t *ids, const char *tag,
                            int64_t case_id, bool set)
{
	char source[48];
	size_t i;
	json_t *v;

	if (tag == NULL)
		return 0;
	civil_tag_source(case_id, source);
	json_array_foreach(ids, i, v) {
		int64_t rid = json_integer_value(v);
		int rc = set ? host->set_tag(req, civil_self, rid, tag, source)
		             : host->clear_tag(req, civil_self, rid, tag);

		if (rc != 0)
			return -1;
	}
	return 0;
}

/*
 * Takes the case's member snapshot afresh (a case becoming active, or a
 * review confirming it): the active residents of its household (or the
 * person), each with the household they are in now; members no longer
 * there are closed.  Sets the programme's tag on the members and clears
 * it from anyone who holds it from this case and is no longer counted.
 * 0; -1 with the reply set (409 when nobody is left to count).
 */
static int civil_members_take(og_req *req, const og_host_api *host, int64_t case_id,
                              const char *tag)
{
	char sid[24], source[48];
	const char *params[3] = {civil_id_text(case_id, sid), tag, source};
	json_t *out = NULL, *members, *untag;
	int rc = -1;

	civil_tag_source(case_id, source);
	if (host->query_json(
	            req,
	            "WITH c AS (SELECT * FROM civil.benefit_case WHERE id = $1::bigint), "
	            "want AS (SELECT r.id, r.household_id FROM core.resident r, c"
	            "  WHERE r.life_status = 'active' AND ((c.household_id IS NOT NULL"
	            "  AND r.household_id = c.household_id) OR r.id = c.resident_id)), "
	            "gone AS (UPDATE civil.case_member m SET removed_on = current_date"
	            "  WHERE m.case_id = $1::bigint AND m.removed_on IS NULL"
	            "  AND NOT EXISTS (SELECT 1 FROM want w WHERE w.id = m.resident_id)"
	            "  RETURNING m.resident_id), "
	            "moved AS (UPDATE civil.case_member m SET household_id = w.household_id"
	            "  FROM want w WHERE m.case_id = $1::bigint AND m.removed_on IS NULL"
	            "  AND m.resident_id = w.id AND m.household_id IS DISTINCT FROM w.household_id"
	            "  RETURNING m.id), "
	            "added AS (INSERT INTO civil.case_member (case_id, resident_id, household_id,"
	            "  added_on) SELECT $1::bigint, w.id, w.household_id, current_date FROM want w"
	            "  WHERE NOT EXISTS (SELECT 1 FROM civil.case_member m WHERE m.case_id = "
	            "$1::bigint"
	            "  AND m.resident_id = w.id AND m.removed_on IS NULL) RETURNING resident_id) "
	            "SELECT json_build_object("
	            " 'members', (SELECT coalesce(json_agg(id ORDER BY id), '[]') FROM want),"
	            " 'untag', (SELECT coalesce(json_agg(t.resident_id ORDER BY t.resident_id), "
	            "'[]')"
	            "  FROM core.resident_tag t WHERE t.tag = $2::text AND t.source = $3::text"
	            "  AND NOT EXISTS (SELECT 1 FROM want w WHERE w.id = t.resident_id)))",
	            3, params, &out) != 1)
		return -1;
	members = json_object_get(out, "members");
	untag = json_object_get(out, "untag");
	if (json_array_size(members) == 0) {
		civil_reply_error_with(req, host, 409, "no_members",
		                       "no active resident is left to count on this case: "
		                       "terminate it instead",
		                       "to", NULL);
		goto out;
	}
	if (civil_tags_apply(req, host, untag, tag, case_id, false) < 0 ||
	    civil_tags_apply(req, host, members, tag, case_id, true) < 0)
		goto out;
	rc = 0;
out:
	json_decref(out);
	return rc;
}

/* Closes the snapshot (suspended, terminated) and clears the case's tags. */
static int civil_members_release(og_req *req, const og_host_api *host, int64_t case_id,
                                 const char *tag)
{
	char sid[24], source[48];
	const char *params[3] = {civil_id_text(case_id, sid), tag, source};
	json_t *out = NULL;
	int rc;

	civil_tag_source(case_id, source);
	if (host->query_json(req,
	                     "WITH gone AS (UPDATE civil.case_member SET removed_on = current_date"
	                     "  WHERE case_id = $1::bigint AND removed_on IS NULL"
	                     "  RETURNING resident_id) "
	                     "SELECT coalesce(json_agg(t.resident_id ORDER BY t.resident_id), '[]')"
	                     " FROM core.resident_tag t WHERE t.tag = $2::text"
	                     " AND t.source = $3::text",
	                     3, params, &out) != 1)
		return -1;
	rc = civil_tags_apply(req, host, out, tag, case_id, false);
	json_decref(out);
	return rc;
}

/* ------------------------------------------------------------------ */
/* cases: create */

/*
 * What a new case's subject must be: for a household programme a
 * household in scope with an active member; for a person programme an
 * active resident in scope, of the configured age for the elderly
 * allowance, holding the 残疾人 tag for the disability subsidies.
 * *grid set; 1 ok, 0 after a 422, -1 after a query error.
 */
static int civil_subject_check(og_req *req, const og_host_api *host, const char *programme,
                               const char *unit, int64_t household, int64_t resident, int64_t *grid)
{
	const og_caller *me = host->caller(req);
	char sid[24], msg[200];
	const char *params[2];
	json_t *s = NULL;
	int n;

	params[1] = me->scope_path;
	if (strcmp(unit, "household") == 0) {
		if (resident != 0 || household == 0) {
			snprintf(
			        msg, sizeof(msg),
			        "%s is granted to a household: give household_id (not resident_id)",
			        programme);
			civil_invalid(req, host, resident != 0 ? "resident_id" : "household_id",
			              msg);
			return 0;
		}
		params[0] = civil_id_text(household, sid);
		n = host->query_json(
		        req,
		        "SELECT json_build_object('grid_id', h.grid_id, 'members', (SELECT"
		        " count(*) FROM core.resident m WHERE m.household_id = h.id AND"
		        " m.life_status = 'active')) FROM core.household h"
		        " JOIN core.region g ON g.id = h.grid_id WHERE h.id = $1::bigint"
		        " AND " CIVIL_IN_SCOPE("$2"),
		        2, params, &s);
		if (n < 0)
			return -1;
		if (n == 0) {
			civil_invalid(req, host, "household_id", "no such household in your scope");
			return 0;
		}
		*grid = civil_int(s, "grid_id");
		n = civil_int(s, "members") > 0;
		json_decref(s);
		if (!n) {
			civil_invalid(req, host, "household_id",
			              "the household has no active member");
			return 0;
		}
		return 1;
	}

	if (household != 0 || resident == 0) {
		snprintf(msg, sizeof(msg),
		         "%s is granted to a person: give resident_id (not household_id)",
		         programme);
		civil_invalid(req, host, household != 0 ? "household_id" : "resident_id", msg);
		return 0;
	}
	params[0] = civil_id_text(resident, sid);
	n = host->query_json(
	        req,
	        "SELECT json_build_object('grid_id', x.grid_id, 'life_status', x.life_status,"
	        " 'birth_date', x.birth_date, 'elderly_age', coalesce(s.elderly_age, 80),"
	        " 'old_enough', x.birth_date <= (current_date - make_interval(years =>"
	        "  coalesce(s.elderly_age, 80)))::date,"
	        " 'disabled', EXISTS (SELECT 1 FROM core.resident_tag t WHERE t.resident_id = x.id"
	        "  AND t.tag = 'disabled'))"
	        " FROM core.resident x JOIN core.region g ON g.id = x.grid_id"
	        " LEFT JOIN civil.setting s ON s.district_id = subpath(g.path, 0, 1)::text::bigint"
	        " WHERE x.id = $1::bigint AND " CIVIL_IN_SCOPE("$2"),
	        2, params, &s);
	if (n < 0)
		return -1;
	if (n == 0) {
		civil_invalid(req, host, "resident_id", "no such resident in your scope");
		return 0;
	}
	*grid = civil_int(s, "grid_id");
	n = 1;
	if (strcmp(civil_str(s, "life_status"), "active") != 0) {
		snprintf(msg, sizeof(msg), "the resident's life status is %s, not active",
		         civil_str(s, "life_status"));
		civil_invalid(req, host, "resident_id", msg);
		n = 0;
	} else if (strcmp(programme, "elderly") == 0 &&
	           !json_is_true(json_object_get(s, "old_enough"))) {
		snprintf(msg, sizeof(msg),
		         "the elderly allowance starts at %" PRId64 " years of age; the resident "
		         "was born %s",
		         civil_int(s, "elderly_age"),
		         civil_str(s, "birth_date") != NULL ? civil_str(s, "birth_date")
		                                            : "(unknown)");
		civil_invalid(req, host, "resident_id", msg);
		n = 0;
	} else if (strcmp(programme, "disability") == 0 &&
	           !json_is_true(json_object_get(s, "disabled"))) {
		civil_invalid(
		        req, host, "resident_id",
		        "the disability subsidies need the resident's 残疾人 (disabled) tag in "
		        "the shared model");
		n = 0;
	}
	json_decref(s);
	return n;
}

/* POST /api/v1/civil/cases
 * {"programme", "household_id" | "resident_id", "applied_on", "note"} */
static void civil_case_create(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"programme",  "household_id", "resident_id",
	                                    "applied_on", "note",         NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *v, *prog = NULL, *after = NULL;
	const char *programme, *applied_on, *note;
	int64_t household = 0, resident = 0, grid = 0, id;
	char sh[24], sr[24], su[24], sid[24], msg[160], location[80];
	const char *params[6];
	og_result *r;
	int n;

	if ((in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0)
		return;
	v = json_object_get(in, "programme");
	if (!json_is_string(v)) {
		civil_invalid(req, host, "programme",
		              "programme is required: dibao, tekun, elderly or disability");
		return;
	}
	programme = json_string_value(v);
	if (host->body_id(req, in, "household_id", OG_OPTIONAL, &household) < 0 ||
	    host->body_id(req, in, "resident_id", OG_OPTIONAL, &resident) < 0 ||
	    host->body_date(req, in, "applied_on", OG_OPTIONAL, &applied_on) < 0 ||
	    host->body_text(req, in, "note", CIVIL_NOTE_MAX, OG_OPTIONAL, &note) < 0)
		return;

	params[0] = programme;
	params[1] = applied_on;
	n = host->query_json(req,
	                     "SELECT json_build_object('unit', p.unit, 'future', $2::date >"
	                     " current_date) FROM civil.programme p WHERE p.code = $1",
	                     2, params, &prog);
	if (n < 0)
		return;
	if (n == 0) {
		civil_invalid(req, host, "programme",
		              "programme must be dibao, tekun, elderly or disability");
		return;
	}
	if (json_is_true(json_object_get(prog, "future"))) {
		civil_invalid(req, host, "applied_on", "applied_on cannot be in the future");
		goto out;
	}
	n = civil_subject_check(req, host, programme, civil_str(prog, "unit"), household, resident,
	                        &grid);
	if (n != 1)
		goto out;

	/* One open case per programme and subject (the partial unique indexes
	 * say the same; this names the case that is already there). */
	params[1] = household != 0 ? civil_id_text(household, sh) : NULL;
	params[2] = resident != 0 ? civil_id_text(resident, sr) : NULL;
	r = host->query(req,
	                "SELECT id, status FROM civil.benefit_case WHERE programme = $1"
	                " AND status NOT IN ('rejected', 'terminated')"
	                " AND (household_id = $2::bigint OR resident_id = $3::bigint)",
	                3, params);
	if (r == NULL)
		goto out;
	if (host->result_rows(r) > 0) {
		snprintf(msg, sizeof(msg), "case %s of the same programme is already open (%s)",
		         host->result_text(r, 0, 0), host->result_text(r, 0, 1));
		civil_reply_error_with(
		        req, host, 409, "duplicate", msg,
		        household != 0 ? "household_id" : "resident_id",
		        json_pack("{s:I}", "existing_id", (json_int_t)host->result_int64(r, 0, 0)));
		host->result_free(r);
		goto out;
	}
	host->result_free(r);

	params[3] = applied_on;
	params[4] = note;
	params[5] = me->user_id > 0 ? civil_id_text(me->user_id, su) : NULL;
	r = host->query(req,
	                "WITH c AS (INSERT INTO civil.benefit_case (programme, household_id,"
	                "  resident_id, applied_on, note, created_by) VALUES ($1, $2::bigint,"
	                "  $3::bigint, coalesce($4::date, current_date), $5, $6::bigint)"
	                "  RETURNING id), "
	                "e AS (INSERT INTO civil.case_event (case_id, from_status, to_status,"
	                "  by_user, reason) SELECT id, NULL, 'application', $6::bigint, $5 FROM c) "
	                "SELECT id FROM c",
	                6, params);
	if (r == NULL)
		goto out;
	id = host->result_int64(r, 0, 0);
	host->result_free(r);
	if (civil_case_load(req, host, id, &after) != 1)
		goto out;
	civil_id_text(id, sid);
	if (host->audit(req, "create", "civil.case", sid, grid, NULL, after) < 0 ||
	    host->fire(req, "civil.case_created", id, after) != 0)
		goto out;
	snprintf(location, sizeof(location), "/api/v1/civil/cases/%" PRId64, id);
	host->set_header(req, "Location", location);
	civil_set_etag(req, host, after);
	host->reply_json(req, 201, after); /* steals after */
	after = NULL;
out:
	json_decref(prog);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* cases: the state machine */

/* The 409 of a step the state machine does not have, with the steps it has. */
static void civil_reply_illegal(og_req *req, const og_host_api *host, const char *from,
                                const char *to, json_t *allowed /* steals */)
{
	char msg[200];

	if (json_array_size(allowed) == 0)
		snprintf(msg, sizeof(msg), "a case that is %s is closed: it takes no further step",
		         from);
	else
		snprintf(msg, sizeof(msg), "a case that is %s cannot go to %s", from, to);
	civil_reply_error_with(req, host, 409, "illegal_transition", msg, "to",
	                       json_pack("{s:o}", "allowed", allowed));
}

/*
 * The fields a step accepts beyond "to", "version" and "reason"; anything
 * else given is a 422 naming it (a notice date sent with an approval is a
 * client mistake worth saying).
 */
static int civil_step_fields(og_req *req, const og_host_api *host, json_t *in, const char *from,
                             const char *to)
{
	bool notice = strcmp(to, "public_notice") == 0;
	bool amount = notice || strcmp(to, "approved") == 0 || strcmp(to, "active") == 0;
	bool start = strcmp(to, "active") == 0 && strcmp(from, "approved") == 0;
	const char *bad = NULL;
	char msg[160];

	if (!notice && json_object_get(in, "notice_start") != NULL)
		bad = "notice_start";
	else if (!notice && json_object_get(in, "notice_days") != NULL)
		bad = "notice_days";
	else if (!amount && json_object_get(in, "monthly_amount_fen") != NULL)
		bad = "monthly_amount_fen";
	else if (!start && json_object_get(in, "start_on") != NULL)
		bad = "start_on";
	if (bad == NULL)
		return 0;
	snprintf(msg, sizeof(msg), "%s does not belong to a step from %s to %s", bad, from, to);
	civil_invalid(req, host, bad, msg);
	return -1;
}

/* POST /api/v1/civil/cases/{id}/transitions
 * {"to", "reason", "version", "notice_start", "notice_days",
 *  "monthly_amount_fen", "start_on"} */
static void civil_case_transition(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"to",           "version",     "reason",
	                                    "notice_start", "notice_days", "monthly_amount_fen",
	                                    "start_on",     NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *v, *cur = NULL, *after = NULL, *allowed = NULL, *details = NULL;
	const char *to, *from, *reason, *notice_start, *start_on, *tag, *mode = NULL;
	int64_t id, version = 0, notice_days = 0, amount = 0, grid;
	bool has_version, found = false;
	int has_days, has_amount; /* 1 when given */
	char sid[24], snd[24], sam[24], su[24], msg[240], perm[65], *dtext = NULL;
	const char *params[11];
	og_result *r;
	int i, rows;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0)
		return;
	v = json_object_get(in, "to");
	if (!json_is_string(v) || !civil_known_status(json_string_value(v))) {
		civil_invalid(req, host, "to",
		              "to must be the status to move to: investigation, public_notice, "
		              "approved, rejected, active, review_due, suspended or terminated");
		return;
	}
	to = json_string_value(v);
	/* The version is optional here (the state machine itself refuses a
	 * step taken twice), but when sent, in the body or If-Match, it must
	 * be the current one. */
	has_version =
	        json_object_get(in, "version") != NULL || host->header(req, "If-Match") != NULL;
	if ((has_version && host->client_version(req, in, &version) < 0) ||
	    host->body_text(req, in, "reason", CIVIL_REASON_MAX, OG_OPTIONAL, &reason) < 0 ||
	    host->body_date(req, in, "notice_start", OG_OPTIONAL, &notice_start) < 0 ||
	    (has_days = host->body_int(req, in, "notice_days", 0, 60, OG_OPTIONAL, &notice_days)) <
	            0 ||
	    (has_amount = civil_opt_amount(req, host, in, &amount)) < 0 ||
	    host->body_date(req, in, "start_on", OG_OPTIONAL, &start_on) < 0)
		return;

	/* The case, locked: nobody takes another step between our checks and
	 * our update. */
	params[0] = civil_id_text(id, sid);
	params[1] = me->scope_path;
	rows = host->query_json(
	        req,
	        "SELECT (" CIVIL_CASE_JSON "::jsonb || jsonb_build_object("
	        " '_review_months', p.review_months, '_notice_days', p.notice_days,"
	        " '_default_amount_fen', p.default_amount_fen, '_tag', p.tag,"
	        " '_today', current_date, '_approvable_from', c.notice_start + c.notice_days,"
	        " '_notice_over', current_date >= c.notice_start + "
	        "c.notice_days))::json" CIVIL_CASE_FROM
	        " WHERE c.id = $1::bigint AND " CIVIL_IN_SCOPE("$2") " FOR UPDATE OF c",
	        2, params, &cur);
	if (rows < 0)
		return;
	if (rows == 0) {
		host->reply_error(req, 404, "not_found", "no such case", NULL);
		return;
	}
	if (has_version && civil_int(cur, "version") != version) {
		snprintf(msg, sizeof(msg),
		         "the case has changed: you sent version %" PRId64
		         ", it is now at %" PRId64,
		         version, civil_int(cur, "version"));
		host->reply_error(req, 409, "version_conflict", msg, "version");
		goto out;
	}
	from = civil_str(cur, "status");
	grid = civil_int(cur, "grid_id");
	tag = civil_str(cur, "_tag");

	/* Is the step in the machine, and may the caller take it? */
	params[0] = from;
	if ((r = host->query(req,
	                     "SELECT to_status, permission FROM civil.transition"
	                     " WHERE from_status = $1 ORDER BY ord",
	                     1, params)) == NULL)
		goto out;
	allowed = json_array();
	for (i = 0; i < host->result_rows(r); i++) {
		json_array_append_new(allowed, json_string(host->result_text(r, i, 0)));
		if (strcmp(host->result_text(r, i, 0), to) == 0) {
			found = true;
			snprintf(perm, sizeof(perm), "%s", host->result_text(r, i, 1));
		}
	}
	host->result_free(r);
	if (!found) {
		civil_reply_illegal(req, host, from, to, allowed);
		allowed = NULL;
		goto out;
	}
	if (!host->has_permission(req, perm)) {
		snprintf(msg, sizeof(msg), "moving a case from %s to %s needs permission %s", from,
		         to, perm);
		host->reply_error(req, 403, "forbidden", msg, NULL);
		goto out;
	}
	if (civil_step_fields(req, host, in, from, to) < 0)
		goto out;

	/* What each step needs. */
	details = json_object();
	if (strcmp(to, "public_notice") == 0) {
		if (notice_start == NULL) {
			civil_invalid(
			        req, host, "notice_start",
			        "notice_start (the first day of the public notice) is required");
			goto out;
		}
		if (strcmp(notice_start, civil_str(cur, "applied_on")) < 0) {
			civil_invalid(req, host, "notice_start",
			              "the public notice cannot start before the application");
			goto out;
		}
		if (!has_days)
			notice_days = civil_int(cur, "_notice_days");
		if (!has_amount) {
			json_t *def = json_object_get(cur, "_default_amount_fen");

			if (!json_is_integer(def)) {
				civil_invalid(req, host, "monthly_amount_fen",
				              "monthly_amount_fen (the proposed monthly amount in "
				              "fen) is "
				              "required: this programme has no standard amount");
				goto out;
			}
			amount = json_integer_value(def);
			has_amount = true;
		}
		json_object_set_new(details, "notice_start", json_string(notice_start));
		json_object_set_new(details, "notice_days", json_integer(notice_days));
		has_days = true;
	} else if (strcmp(to, "approved") == 0) {
		json_t *missing = json_object_get(cur, "missing_documents");

		if (!json_is_true(json_object_get(cur, "_notice_over"))) {
			snprintf(msg, sizeof(msg),
			         "the public notice runs until %s: approval is possible from %s",
			         civil_str(cur, "notice_ends_on"),
			         civil_str(cur, "_approvable_from"));
			civil_reply_error_with(req, host, 409, "public_notice_running", msg, "to",
			                       json_pack("{s:O, s:O}", "notice_ends_on",
			                                 json_object_get(cur, "notice_ends_on"),
			                                 "approvable_from",
			                                 json_object_get(cur, "_approvable_from")));
			goto out;
		}
		if (json_array_size(missing) > 0) {
			civil_reply_error_with(
			        req, host, 409, "documents_missing",
			        "documents of the checklist are not on file: record them "
			        "before approval",
			        "to", json_pack("{s:O}", "missing", missing));
			goto out;
		}
	} else if (strcmp(to, "rejected") == 0 || strcmp(to, "suspended") == 0 ||
	           strcmp(to, "terminated") == 0) {
		if (reason == NULL) {
			snprintf(msg, sizeof(msg), "a reason is required to move a case to %s", to);
			civil_invalid(req, host, "reason", msg);
			goto out;
		}
	} else if (strcmp(to, "active") == 0) {
		if (strcmp(from, "approved") == 0) {
			if (start_on != NULL &&
			    strcmp(start_on, civil_str(cur, "applied_on")) < 0) {
				civil_invalid(req, host, "start_on",
				              "benefits cannot start before the application");
				goto out;
			}
			mode = "start";
		} else if (strcmp(from, "review_due") == 0 ||
		           json_is_null(json_object_get(cur, "next_review_on"))) {
			mode = "today";
		}
		if (start_on != NULL)
			json_object_set_new(details, "start_on", json_string(start_on));
	}
	if (has_amount && (!json_is_integer(json_object_get(cur, "monthly_amount_fen")) ||
	                   civil_int(cur, "monthly_amount_fen") != amount)) {
		/* A changed amount is said out loud in the history. */
		json_object_set(details, "amount_before",
		                json_object_get(cur, "monthly_amount_fen"));
		json_object_set_new(details, "amount_after", json_integer(amount));
	}
	dtext = json_dumps(details, JSON_COMPACT);

	params[0] = sid;
	params[1] = to;
	params[2] = notice_start;
	params[3] = has_days ? civil_id_text(notice_days, snd) : NULL;
	params[4] = has_amount ? civil_id_text(amount, sam) : NULL;
	params[5] = start_on;
	params[6] = mode;
	params[7] = me->user_id > 0 ? civil_id_text(me->user_id, su) : NULL;
	params[8] = reason;
	params[9] = dtext;
	params[10] = from;
	if ((r = host->query(
	             req,
	             "WITH u AS (UPDATE civil.benefit_case c SET status = $2,"
	             "  notice_start = coalesce($3::date, c.notice_start),"
	             "  notice_days = coalesce($4::int, c.notice_days),"
	             "  monthly_amount_fen = coalesce($5::bigint, c.monthly_amount_fen),"
	             "  start_on = CASE WHEN $7::text = 'start' THEN coalesce($6::date, "
	             "current_date)"
	             "   ELSE c.start_on END,"
	             "  next_review_on = CASE $7::text"
	             "   WHEN 'start' THEN (coalesce($6::date, current_date)"
	             "    + make_interval(months => p.review_months))::date"
	             "   WHEN 'today' THEN (current_date + make_interval(months => "
	             "p.review_months))::date"
	             "   ELSE c.next_review_on END,"
	             "  version = c.version + 1, updated_at = now()"
	             "  FROM civil.programme p WHERE p.code = c.programme AND c.id = $1::bigint"
	             "  RETURNING c.*) "
	             "INSERT INTO civil.case_event (case_id, from_status, to_status, by_user, "
	             "reason,"
	             " monthly_amount_fen, next_review_on, details)"
	             " SELECT u.id, $11::text, u.status, $8::bigint, $9::text, "
	             "u.monthly_amount_fen,"
	             "  u.next_review_on, $10::jsonb FROM u RETURNING id",
	             11, params)) == NULL)
		goto out;
	host->result_free(r);

	/* Flags are answered by the review that ends (or by the case ending,
	 * or starting afresh with a new member snapshot). */
	if (strcmp(from, "review_due") == 0 || strcmp(to, "active") == 0 ||
	    strcmp(to, "rejected") == 0 || strcmp(to, "terminated") == 0) {
		params[1] = params[7];
		params[2] = to;
		if ((r = host->query(req,
		                     "UPDATE civil.case_flag SET resolved_at = now(),"
		                     " resolved_by = $2::bigint, resolution = $3"
		                     " WHERE case_id = $1::bigint AND resolved_at IS NULL",
		                     3, params)) == NULL)
			goto out;
		host->result_free(r);
	}
	/* The members counted and the tags follow the status. */
	if (strcmp(to, "active") == 0) {
		if (civil_members_take(req, host, id, tag) < 0)
			goto out;
	} else if (strcmp(to, "suspended") == 0 || strcmp(to, "terminated") == 0) {
		if (civil_members_release(req, host, id, tag) < 0)
			goto out;
	}

	if (civil_case_load(req, host, id, &after) != 1)
		goto out;
	civil_strip_internal(cur);
	if (host->audit(req, "transition", "civil.case", sid, grid, cur, after) < 0 ||
	    host->fire(req, "civil.case_transition", id, after) != 0)
		goto out;
	civil_set_etag(req, host, after);
	host->reply_json(req, 200, after); /* steals after */
	after = NULL;
out:
	free(dtext);
	json_decref(details);
	json_decref(allowed);
	json_decref(cur);
	json_decref(after);
}

/* ------------------------------------------------------------------ */
/* documents */

/*
 * Case `id` in scope, locked, as {programme, grid_id, today} (*out new).
 * 1; 0 after a 404; -1 after the query's error.
 */
static int civil_case_lock_brief(og_req *req, const og_host_api *host, int64_t id, json_t **out)
{
	const og_caller *me = host->caller(req);
	char sid[24];
	const char *params[2] = {civil_id_text(id, sid), me->scope_path};
	int n;

	n = host->query_json(
	        req,
	        "SELECT json_build_object('programme', c.programme, 'grid_id', g.id,"
	        " 'today', current_date)" CIVIL_CASE_FROM
	        " WHERE c.id = $1::bigint AND " CIVIL_IN_SCOPE("$2") " FOR UPDATE OF c",
	        2, params, out);
	if (n == 0)
		host->reply_error(req, 404, "not_found", "no such case", NULL);
	return n;
}

/* POST /api/v1/civil/cases/{id}/documents {"code", "received_on", "note"}
 * 201 when the document is newly on file, 200 when a copy replaces it. */
static void civil_document_record(og_req *req, const og_host_api *host)
{
	static const char *const known[] = {"code", "received_on", "note", NULL};
	const og_caller *me = host->caller(req);
	json_t *in, *v, *c = NULL, *res = NULL, *after;
	const char *code, *received_on, *note;
	int64_t id;
	char sid[24], su[24], msg[400];
	const char *params[5];
	og_result *r;
	int n;

	if (host->path_id(req, "id", &id) < 0 || (in = host->body_object(req)) == NULL ||
	    host->body_known_keys(req, in, known, NULL) < 0)
		return;
	v = json_object_get(in, "code");
	if (!json_is_string(v) || json_string_length(v) < 1 ||
	    json_string_length(v) > CIVIL_CODE_MAX) {
		civil_invalid(req, host, "code",
		              "code (a document of the programme's checklist) is "
		              "required");
		return;
	}
	code = json_string_value(v);
	if (host->body_date(req, in, "received_on", OG_OPTIONAL, &received_on) < 0 ||
	    host->body_text(req, in, "note", CIVIL_DOC_NOTE_MAX, OG_OPTIONAL, &note) < 0)
		return;
	if (civil_case_lock_brief(req, host, id, &c) != 1)
		return;
	if (received_on != NULL && strcmp(received_on, civil_str(c, "today")) > 0) {
		civil_invalid(req, host, "received_on", "received_on cannot be in the future");
		goto out;
	}
	params[0] = civil_str(c, "programme");
	params[1] = code;
	if ((r = host->query(req,
	                     "SELECT (SELECT string_agg(code, ', ' ORDER BY ord) FROM"
	                     " civil.programme_document WHERE programme = $1),"
	                     " EXISTS (SELECT 1 FROM civil.programme_document WHERE programme = $1"
	                     " AND code = $2)",
	                     2, params)) == NULL)
		goto out;
	if (!host->result_bool(r, 0, 1)) {
		snprintf(msg, sizeof(msg), "not a document of the %s checklist (%s)", params[0],
		         host->result_text(r, 0, 0));
		host->result_free(r);
		civil_invalid(req, host, "code", msg);
		goto out;
	}
	host->result_free(r);

	params[0] = civil_id_text(id, sid);
	params[1] = code;
	params[2] = received_on;
	params[3] = note;
	params[4] = me->user_id > 0 ? civil_id_text(me->user_id, su) : NULL;
	n = host->query_json(
	        req,
	        "WITH prev AS (SELECT * FROM civil.case_document WHERE case_id = $1::bigint"
	        "  AND code = $2), "
	        "up AS (INSERT INTO civil.case_document AS cd (case_id, code, received_on, note,"
	        "  recorded_by) VALUES ($1::bigint, $2, coalesce($3::date, current_date), $4,"
	        "  $5::bigint) ON CONFLICT (case_id, code) DO UPDATE SET received_on ="
	        "  EXCLUDED.received_on, note = EXCLUDED.note, recorded_by = EXCLUDED.recorded_by,"
	        "  recorded_at = now() RETURNING cd.*) "
	        "SELECT json_build_object('before', (SELECT json_build_object('code', code,"
	        "  'received_on', received_on, 'note', note) FROM prev),"
	        " 'after', (SELECT json_build_object('case_id', up.case_id, 'code', up.code,"
	        "  'label', d.label, 'received_on', up.received_on, 'note', up.note,"
	        "  'recorded_by', up.recorded_by, 'recorded_at', up.recorded_at) FROM up"
	        "  JOIN civil.benefit_case c ON c.id = up.case_id JOIN civil.programme_document d"
	        "  ON d.programme = c.programme AND d.code = up.code))",
	        5, params, &res);
	if (n != 1)
		goto out;
	if (host->audit(req, "document.record", "civil.case", sid, civil_int(c, "grid_id"),
	                json_object_get(res, "before"), json_object_get(res, "after")) < 0)
		goto out;
	after = json_incref(json_object_get(res, "after"));
	host->reply_json(req, json_is_null(json_object_get(res, "before")) ? 201 : 200, after);
out:
	json_decref(c);
	json_decref(res);
}

/* DELETE /api/v1/civil/cases/{id}/documents/{code}: a document recorded
 * by mistake (or withdrawn) is no longer on file. */
static void civil_document_remove(og_req *req, const og_host_api *host)
{
	const char *code = host->path_param(req, "code");
	json_t *c = NULL, *before = NULL;
	int64_t id;
	char sid[24];
	const char *params[2];
	int n;

	if (host->path_id(req, "id", &id) < 0 || civil_case_lock_brief(req, host, id, &c) != 1)
		return;
	params[0] = civil_id_text(id, sid);
	params[1] = code;
	n = host->query_json(req,
	                     "DELETE FROM civil.case_document WHERE case_id = $1::bigint"
	                     " AND code = $2 RETURNING json_build_object('case_id', case_id,"
	                     " 'code', code, 'received_on', received_on, 'note', note)",
	                     2, params, &before);
	if (n == 0)
		host->reply_error(req, 404, "not_found",
		                  "that document is not on file for this case", "code");
	if (n == 1 && host->audit(req, "document.remove", "civil.case", sid,
	                          civil_int(c, "grid_id"), before, NULL) == 0)
		host->reply_json(req, 200,
		                 json_pack("{s:b, s:I, s:s}", "removed", 1, "case_id",
		                           (json_int_t)id, "code", code));
	json_decref(before);
	json_decref(c);
}

/* ------------------------------------------------------------------ */
/* eligibility */

/* GET /api/v1/civil/eligible/elderly?region=&limit=&cursor=
 * Active residents of the caller's scope who have reached the district's
 * elderly allowance age and have no open elderly allowance case. */
static void civil_eligible_elderly(og_req *req, const og_host_api *host)
{
	const og_caller *me = host->caller(req);
	int64_t cursor, region;
	int limit, n;
	char *path = NULL;
	char sc[24], sl[24];
	const char *params[4];
	json_t *page;

	if (host->page(req, &limit, &cursor) < 0 || host->query_id(req, "region", &region) < 0)
		return;
	if (region != 0 && (path = civil_region_path(req, host, region, "region")) == NULL)
		return;
	params[0] = me->scope_path;
	params[1] = civil_id_text(cursor, sc);
	params[2] = civil_id_text(limit, sl);
	params[3] = path;
	n = host->query_json(
	        req,
	        "WITH page AS (SELECT x.id, x.name, x.gender, x.birth_date, x.grid_id, "
	        "x.household_id,"
	        "  g.name AS grid_name, coalesce(s.elderly_age, 80) AS threshold"
	        "  FROM core.resident x JOIN core.region g ON g.id = x.grid_id"
	        "  LEFT JOIN civil.setting s ON s.district_id = subpath(g.path, 0, 1)::text::bigint"
	        "  WHERE " CIVIL_IN_SCOPE(
	                "$1") " AND ($4::text IS NULL OR g.path <@ $4::text::ltree)"
	                      "  AND x.id > $2::bigint AND x.life_status = 'active' AND "
	                      "x.birth_date IS NOT NULL"
	                      "  AND x.birth_date <= (current_date - make_interval(years =>"
	                      "   coalesce(s.elderly_age, 80)))::date"
	                      "  AND NOT EXISTS (SELECT 1 FROM civil.benefit_case c WHERE "
	                      "c.programme = 'elderly'"
	                      "   AND c.resident_id = x.id AND c.status NOT IN ('rejected', "
	                      "'terminated'))"
	                      "  ORDER BY x.id LIMIT $3::int + 1), "
	                      "shown AS (SELECT * FROM page ORDER BY id LIMIT $3::int) "
	                      "SELECT json_build_object('items', coalesce((SELECT "
	                      "json_agg(json_build_object("
	                      "  'resident_id', e.id, 'name', e.name, 'gender', e.gender, "
	                      "'birth_date',"
	                      "  e.birth_date, 'age', date_part('year', age(current_date, "
	                      "e.birth_date))::int,"
	                      "  'eligible_since', (e.birth_date + make_interval(years => "
	                      "e.threshold))::date,"
	                      "  'grid_id', e.grid_id, 'grid_name', e.grid_name, 'household_id', "
	                      "e.household_id)"
	                      "  ORDER BY e.id) FROM shown e), '[]'::json),"
	                      " 'next_cursor', CASE WHEN (SELECT count(*) FROM page) > $3::int"
	                      "  THEN (SELECT max(id)::text FROM shown) END)",
	        4, params, &page);
	free(path);
	if (n != 1)
		return;
	host->reply_json(req, 200, page); /* steals page */
}

/* ------------------------------------------------------------------ */
/* hooks on the shared model */

/*
 * After a hook statement: audits each case it flagged and clears the
 * tags of members who left (from the statement's {"flagged": [...],
 * "untag": [...]}).  0, or -1 with the reply set.
 */
static int civil_hook_apply(og_req *req, const og_host_api *host, json_t *out)
{
	json_t *flagged = json_object_get(out, "flagged");
	json_t *untag = json_object_get(out, "untag");
	json_t *f, *u;
	size_t i;
	char sid[24];

	json_array_foreach(flagged, i, f) {
		if (host->audit(req, "flag", "civil.case",
		                civil_id_text(civil_int(f, "case_id"), sid),
		                civil_int(f, "grid_id"), NULL, f) < 0)
			return -1;
	}
	json_array_foreach(untag, i, u) {
		if (host->clear_tag(req, civil_self, civil_int(u, "resident_id"),
		                    civil_str(u, "tag")) != 0)
			return -1;
	}
	return 0;
}

/* clang-format off */
/*
 * The second half of every hook statement: cand (case_id, kind,
 * resident_id, occurred_on, reason, leaves) becomes flags; an active case
 * flagged goes to review_due with an event saying why; members who left
 * stop being counted.  $2 is the user, $3 the event name.  Answers
 * {"flagged": [...], "untag": [{resident_id, tag}]}.
 */
#define CIVIL_HOOK_TAIL                                                                      \
	"fl AS (INSERT INTO civil.case_flag (case_id, kind, resident_id, occurred_on, reason,"  \
	"  created_by) SELECT DISTINCT case_id, kind, resident_id, occurred_on, reason,"        \
	"  $2::bigint FROM cand ON CONFLICT (case_id, kind, (coalesce(resident_id, 0)))"        \
	"  WHERE resolved_at IS NULL DO NOTHING RETURNING id, case_id, kind, resident_id,"      \
	"  reason), "                                                                           \
	"st AS (UPDATE civil.benefit_case c SET status = 'review_due', version = c.version + 1," \
	"  updated_at = now() WHERE c.id IN (SELECT case_id FROM fl) AND c.status = 'active'"  \
	"  RETURNING c.id, c.monthly_amount_fen, c.next_review_on), "                           \
	"ev AS (INSERT INTO civil.case_event (case_id, from_status, to_status, by_user, reason," \
	"  monthly_amount_fen, next_review_on, details) SELECT st.id, 'active', 'review_due',"  \
	"  $2::bigint, (SELECT string_agg(fl.reason, '；' ORDER BY fl.id) FROM fl"              \
	"  WHERE fl.case_id = st.id), st.monthly_amount_fen, st.next_review_on,"                \
	"  jsonb_build_object('automatic', true, 'event', $3::text, 'flags', (SELECT"           \
	"  jsonb_agg(fl.id ORDER BY fl.id) FROM fl WHERE fl.case_id = st.id)) FROM st), "       \
	"mem AS (UPDATE civil.case_member m SET removed_on = current_date FROM cand"            \
	"  WHERE cand.leaves AND m.case_id = cand.case_id AND m.resident_id = cand.resident_id" \
	"  AND m.removed_on IS NULL RETURNING m.case_id, m.resident_id) "                       \
	"SELECT json_build_object("                                                             \
	" 'flagged', (SELECT coalesce(json_agg(json_build_object('case_id', fl.case_id,"       \
	"  'flag_id', fl.id, 'kind', fl.kind, 'resident_id', fl.resident_id, 'reason',"         \
	"  fl.reason, 'to_review', EXISTS (SELECT 1 FROM st WHERE st.id = fl.case_id),"         \
	"  'grid_id', (SELECT coalesce(h.grid_id, x.grid_id) FROM civil.benefit_case c"        \
	"   LEFT JOIN core.household h ON h.id = c.household_id LEFT JOIN core.resident x"     \
	"   ON x.id = c.resident_id WHERE c.id = fl.case_id)) ORDER BY fl.id), '[]') FROM fl)," \
	" 'untag', (SELECT coalesce(json_agg(json_build_object('resident_id', t.resident_id,"  \
	"  'tag', t.tag) ORDER BY t.resident_id, t.tag), '[]') FROM mem"                       \
	"  JOIN core.resident_tag t ON t.resident_id = mem.resident_id"                         \
	"  AND t.source = 'civil.case:' || mem.case_id))"

/*
 * A resident's event.  $1 resident, $2 user, $3 event, $4 what happened:
 * "gone" (deceased or moved out of the district: every open case the
 * person is the subject or a member of, or whose household they are in),
 * "changed" (updated: a counted member now in another household has left
 * it; an active resident now in a case's household who is not counted has
 * joined it).  A created resident can only have joined.
 */
static const char civil_sql_hook_resident[] =
    "WITH r AS (SELECT x.id, x.household_id, x.life_status,"
    "  coalesce(x.life_status_date, current_date) AS on_date FROM core.resident x"
    "  WHERE x.id = $1::bigint), "
    "cand AS ("
    " SELECT c.id AS case_id, CASE WHEN r.life_status = 'deceased' THEN 'member_deceased'"
    "   ELSE 'member_moved_out' END AS kind, r.id AS resident_id, r.on_date AS occurred_on,"
    "   format(CASE WHEN r.life_status = 'deceased' THEN '居民 #%s 于 %s 死亡'"
    "   ELSE '居民 #%s 于 %s 迁出本区' END, r.id, r.on_date) AS reason, true AS leaves"
    "  FROM r JOIN civil.benefit_case c ON c.status NOT IN ('rejected', 'terminated')"
    "   AND (c.resident_id = r.id OR (c.household_id IS NOT NULL"
    "   AND c.household_id = r.household_id) OR EXISTS (SELECT 1 FROM civil.case_member m"
    "   WHERE m.case_id = c.id AND m.resident_id = r.id AND m.removed_on IS NULL))"
    "  WHERE $4::text = 'gone' AND r.life_status IN ('deceased', 'moved_out')"
    " UNION ALL"
    " SELECT c.id, 'member_left_household', r.id, current_date,"
    "   CASE WHEN c.household_id IS NOT NULL"
    "   THEN format('居民 #%s 已离开本户(户 #%s)', r.id, m.household_id)"
    "   ELSE format('居民 #%s 的家庭已变更(原户 #%s,现户 #%s)', r.id, m.household_id,"
    "   r.household_id) END, c.household_id IS NOT NULL"
    "  FROM r JOIN civil.case_member m ON m.resident_id = r.id AND m.removed_on IS NULL"
    "  JOIN civil.benefit_case c ON c.id = m.case_id AND c.status IN ('active', 'review_due')"
    "  WHERE $4::text = 'changed' AND m.household_id IS DISTINCT FROM r.household_id"
    " UNION ALL"
    " SELECT c.id, 'member_joined', r.id, current_date,"
    "   format('居民 #%s 加入本户', r.id), false"
    "  FROM r JOIN civil.benefit_case c ON c.household_id = r.household_id"
    "   AND c.status IN ('active', 'review_due')"
    "  WHERE $4::text IN ('changed', 'created') AND r.life_status = 'active'"
    "   AND NOT EXISTS (SELECT 1 FROM civil.case_member m WHERE m.case_id = c.id"
    "   AND m.resident_id = r.id AND m.removed_on IS NULL)), " CIVIL_HOOK_TAIL;

/*
 * A household moved (another grid or another address).  $1 household, $2
 * user, $3 event.  Its own open cases and the open person cases of its
 * members are flagged; nobody leaves.
 */
static const char civil_sql_hook_household[] =
    "WITH mv AS (SELECT m.moved_on, m.from_grid_id, m.to_grid_id FROM core.household_move m"
    "  WHERE m.household_id = $1::bigint ORDER BY m.id DESC LIMIT 1), "
    "cand AS ("
    " SELECT c.id AS case_id, 'household_moved' AS kind, NULL::bigint AS resident_id,"
    "   coalesce((SELECT moved_on FROM mv), current_date) AS occurred_on,"
    "   CASE WHEN (SELECT from_grid_id IS DISTINCT FROM to_grid_id FROM mv)"
    "   THEN format('户 #%s 于 %s 迁至网格 #%s', $1::bigint, (SELECT moved_on FROM mv),"
    "   (SELECT to_grid_id FROM mv))"
    "   ELSE format('户 #%s 住址变更', $1::bigint) END AS reason, false AS leaves"
    "  FROM civil.benefit_case c WHERE c.household_id = $1::bigint"
    "   AND c.status NOT IN ('rejected', 'terminated')"
    " UNION ALL"
    " SELECT c.id, 'household_moved', x.id, coalesce((SELECT moved_on FROM mv), current_date),"
    "   format('居民 #%s 所在的户 #%s 已搬迁', x.id, $1::bigint), false"
    "  FROM core.resident x JOIN civil.benefit_case c ON c.resident_id = x.id"
    "   AND c.status NOT IN ('rejected', 'terminated')"
    "  WHERE x.household_id = $1::bigint), " CIVIL_HOOK_TAIL;

/* clang-format on */

/*
 * A new resident matters only when it joins the household of a receiving
 * case.  A resident created through the API (resident.created) is
 * answered from the payload and one indexed lookup before the full hook
 * statement runs.  1 go on, 0 nothing to do, -1 after a query error.
 */
static int civil_created_matters(og_req *req, const og_host_api *host, json_t *payload)
{
	json_t *hh = json_object_get(payload, "household_id");
	char sh[24];
	const char *params[1];
	og_result *r;
	int yes;

	if (!json_is_integer(hh))
		return 0;
	params[0] = civil_id_text(json_integer_value(hh), sh);
	r = host->query(
	        req,
	        "SELECT EXISTS (SELECT 1 FROM civil.benefit_case WHERE household_id = $1::bigint"
	        " AND status IN ('active', 'review_due'))",
	        1, params);
	if (r == NULL)
		return -1;
	yes = host->result_bool(r, 0, 0);
	host->result_free(r);
	return yes;
}

static int civil_cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int civil_hook_run(og_req *req, const og_host_api *host, const char *event,
                          int64_t resident_id, const char *what);

/*
 * residents.imported (ABI 1.3): up to 1,000 imported residents at once
 * (payload, borrowed: an array of resident objects, in file order).  Which
 * of their households have a receiving case is one statement for the
 * whole chunk; only the residents who joined such a household — few, if
 * any — then go through the same statement a resident.created would run,
 * in file order, so the flags, events and audit records are those the
 * per-row hook made.  0, or -1 with the reply set.
 */
static int civil_imported(og_req *req, const og_host_api *host, json_t *payload)
{
	size_t i, n = 0, cap, len = 0;
	json_t *res;
	char *ids;
	const char *params[1];
	og_result *r;
	int64_t *hit = NULL;
	int nhit, rc = 0;

	cap = json_array_size(payload) * 21 + 3;
	ids = malloc(cap);
	if (ids == NULL) {
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	ids[len++] = '{';
	json_array_foreach(payload, i, res) {
		json_t *hh = json_object_get(res, "household_id");

		if (!json_is_integer(hh))
			continue;
		len += (size_t)snprintf(ids + len, cap - len, "%s%" PRId64, n++ ? "," : "",
		                        (int64_t)json_integer_value(hh));
	}
	ids[len++] = '}';
	ids[len] = '\0';
	if (n == 0) {
		free(ids);
		return 0;
	}
	params[0] = ids;
	r = host->query(req,
	                "SELECT DISTINCT household_id FROM civil.benefit_case"
	                " WHERE household_id = ANY ($1::bigint[])"
	                " AND status IN ('active', 'review_due') ORDER BY 1",
	                1, params);
	free(ids);
	if (r == NULL)
		return -1;
	nhit = host->result_rows(r);
	if (nhit > 0 && (hit = malloc((size_t)nhit * sizeof(*hit))) == NULL) {
		host->result_free(r);
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	for (int k = 0; k < nhit; k++)
		hit[k] = host->result_int64(r, k, 0);
	host->result_free(r);
	json_array_foreach(payload, i, res) {
		json_t *hh = json_object_get(res, "household_id");
		int64_t h;
		json_t *id = json_object_get(res, "id");

		if (nhit == 0)
			break;
		if (!json_is_integer(hh) || !json_is_integer(id))
			continue;
		h = json_integer_value(hh);
		if (bsearch(&h, hit, (size_t)nhit, sizeof(*hit), civil_cmp_id) == NULL)
			continue;
		rc = civil_hook_run(req, host, "resident.created", json_integer_value(id),
		                    "created");
		if (rc != 0)
			break;
	}
	free(hit);
	return rc;
}

/* Runs a resident statement ($4 = what) or the household one (what NULL)
 * for entity_id and applies its result.  0, or -1 with the reply set. */
static int civil_hook_run(og_req *req, const og_host_api *host, const char *event,
                          int64_t entity_id, const char *what)
{
	const og_caller *me = host->caller(req);
	char sid[24], su[24];
	const char *params[4];
	json_t *out = NULL;
	int rc;

	params[0] = civil_id_text(entity_id, sid);
	params[1] = me != NULL && me->user_id > 0 ? civil_id_text(me->user_id, su) : NULL;
	params[2] = event;
	params[3] = what;
	if (host->query_json(req, what != NULL ? civil_sql_hook_resident : civil_sql_hook_household,
	                     what != NULL ? 4 : 3, params, &out) != 1)
		return -1;
	rc = civil_hook_apply(req, host, out);
	json_decref(out);
	return rc;
}

/*
 * One hook for every shared-model event the plugin follows.  payload is
 * borrowed; the statements read the rows again (the write that fired the
 * event is visible in this transaction).
 */
static int civil_hook(og_req *req, const og_host_api *host, const char *event, int64_t entity_id,
                      json_t *payload)
{
	const char *what;
	int rc;

	if (req == NULL) {
		host->log(OG_LOG_WARN, "%s fired outside a request: cases not checked", event);
		return 0;
	}
	if (strcmp(event, OG_EVENT_RESIDENTS_IMPORTED) == 0)
		return civil_imported(req, host, payload);
	if (strcmp(event, "household.moved") == 0) {
		what = NULL;
	} else if (strcmp(event, "resident.created") == 0) {
		if ((rc = civil_created_matters(req, host, payload)) <= 0)
			return rc;
		what = "created";
	} else {
		what = strcmp(event, "resident.deceased") == 0 ||
		                       strcmp(event, "resident.moved_out") == 0
		               ? "gone"
		               : "changed";
	}
	return civil_hook_run(req, host, event, entity_id, what);
}

/* ------------------------------------------------------------------ */
/* indicators and ledgers */

/* clang-format off */
/*
 * Indicators: $1 the report date; one row (grid_id, value) per grid,
 * zeros included.  A case counts as receiving (在保) when it is active or
 * under review on that date (civil.cases_on replays the case history).
 */
#define CIVIL_IND_COUNT(cond)                                                                \
	"SELECT g.id, count(k.case_id) FROM core.region g LEFT JOIN civil.cases_on($1::date) k" \
	" ON k.grid_id = g.id AND " cond " WHERE g.level = 'grid' GROUP BY g.id"
#define CIVIL_RECEIVING(prog) "k.programme = '" prog "' AND k.status IN ('active', 'review_due')"
#define CIVIL_REVIEW_DUE_ON                                                                  \
	"(k.status = 'review_due' OR (k.status = 'active' AND k.next_review_on <= $1::date))"
/* Checklist items of case k not received by $1. */
#define CIVIL_MISSING_ON_FROM                                                                \
	" FROM civil.programme_document d WHERE d.programme = k.programme AND NOT EXISTS"     \
	" (SELECT 1 FROM civil.case_document cd WHERE cd.case_id = k.case_id"                 \
	" AND cd.code = d.code AND cd.received_on <= $1::date)"
#define CIVIL_MISSING_ON                                                                     \
	"(k.status NOT IN ('rejected', 'terminated')"                                          \
	" AND EXISTS (SELECT 1" CIVIL_MISSING_ON_FROM "))"

/* A status as staff say it. */
#define CIVIL_STATUS_ZH(col)                                                                 \
	"CASE " col " WHEN 'application' THEN '申请' WHEN 'investigation' THEN '入户调查'"     \
	" WHEN 'public_notice' THEN '公示' WHEN 'approved' THEN '已审批'"                        \
	" WHEN 'rejected' THEN '不予批准' WHEN 'active' THEN '在保'"                              \
	" WHEN 'review_due' THEN '待复核' WHEN 'suspended' THEN '暂停'"                          \
	" WHEN 'terminated' THEN '终止' END"

/*
 * The records behind a figure (ABI 1.2 rows_sql): $1 the report date, $2
 * the region's ltree path; one row per case counted, "id" (the case)
 * first and ordered by it, readable columns: the subject's address and
 * head, or name, read from the shared model.  `extra` adds columns.
 */
#define CIVIL_IND_ROWS(cond, extra)                                                          \
	"SELECT k.case_id AS id, p.short_name AS programme, g.name AS grid,"                  \
	" CASE WHEN k.household_id IS NOT NULL THEN concat_ws(' ', " CIVIL_HH_ADDRESS("h")    \
	" , '户主 ' || (SELECT r.name FROM core.resident r WHERE r.id = h.head_resident_id))"  \
	" ELSE x.name END AS subject, " CIVIL_STATUS_ZH("k.status") " AS status,"             \
	" round(k.monthly_amount_fen::numeric / 100, 2) AS monthly_amount_yuan,"               \
	" k.next_review_on AS next_review_on" extra                                             \
	" FROM civil.cases_on($1::date) k JOIN civil.programme p ON p.code = k.programme"     \
	" JOIN core.region g ON g.id = k.grid_id"                                               \
	" LEFT JOIN core.household h ON h.id = k.household_id"                                  \
	" LEFT JOIN core.resident x ON x.id = k.resident_id"                                    \
	" WHERE g.path <@ $2::ltree AND " cond " ORDER BY k.case_id"

/* Persons a receiving 低保 case counted on the date. */
#define CIVIL_DIBAO_MEMBER_ON                                                                \
	" civil.case_member m ON m.case_id = k.case_id AND m.added_on <= $1::date"             \
	" AND (m.removed_on IS NULL OR m.removed_on > $1::date)"
#define CIVIL_DIBAO_PERSONS_SQL                                                              \
	"SELECT g.id, count(m.id) FROM core.region g LEFT JOIN civil.cases_on($1::date) k"      \
	" ON k.grid_id = g.id AND " CIVIL_RECEIVING("dibao") " LEFT JOIN" CIVIL_DIBAO_MEMBER_ON \
	" WHERE g.level = 'grid' GROUP BY g.id"
/* One row per person; a resident is counted by one 低保 case at most (one
 * household, one open case per household), so the resident's id is unique. */
#define CIVIL_DIBAO_PERSONS_ROWS                                                             \
	"SELECT r.id AS id, r.name AS name, r.relation AS relation, CASE r.gender"            \
	" WHEN 'male' THEN '男' WHEN 'female' THEN '女' END AS gender,"                        \
	" date_part('year', age($1::date, r.birth_date))::int AS age, g.name AS grid,"         \
	" " CIVIL_HH_ADDRESS("h") " AS address, k.case_id AS case_id"                          \
	" FROM civil.cases_on($1::date) k JOIN core.region g ON g.id = k.grid_id"              \
	" JOIN" CIVIL_DIBAO_MEMBER_ON " JOIN core.resident r ON r.id = m.resident_id"           \
	" LEFT JOIN core.household h ON h.id = k.household_id"                                  \
	" WHERE g.path <@ $2::ltree AND " CIVIL_RECEIVING("dibao") " ORDER BY r.id"

#define CIVIL_DIBAO_YUAN_SQL                                                                 \
	"SELECT g.id, coalesce(round(sum(k.monthly_amount_fen)::numeric / 100, 2), 0.00)"       \
	" FROM core.region g LEFT JOIN civil.cases_on($1::date) k ON k.grid_id = g.id AND "     \
	CIVIL_RECEIVING("dibao") " WHERE g.level = 'grid' GROUP BY g.id"

#define CIVIL_REVIEW_REASONS                                                                 \
	", coalesce((SELECT string_agg(f.reason, '；' ORDER BY f.id) FROM civil.case_flag f"   \
	" WHERE f.case_id = k.case_id AND f.created_at::date <= $1::date AND (f.resolved_at"   \
	" IS NULL OR f.resolved_at::date > $1::date)), '定期复核') AS reasons"
#define CIVIL_MISSING_LIST                                                                   \
	", (SELECT string_agg(d.label, '、' ORDER BY d.ord)" CIVIL_MISSING_ON_FROM              \
	") AS missing_documents"

#if OG_ABI_MINOR >= 2
#define CIVIL_ROWS(sql) , .rows_sql = sql
#else
#define CIVIL_ROWS(sql)
#endif

/*
 * The same figures in the facts form (ABI 1.3): every case of the region as
 * civil.cases_on($1) has it, replayed once for all eight figures and
 * started from the region's households and residents (a case belongs to
 * exactly one of them), with the members each 低保 case counted (by case:
 * the index of migration 2), and what the conditions above read: k is that
 * case, so the conditions are the very macros; f is the row the core
 * filters, with the same columns.
 */
#define CIVIL_FACTS_EVENT                                                                   \
	" JOIN LATERAL (SELECT ev.to_status, ev.monthly_amount_fen, ev.next_review_on"         \
	" FROM civil.case_event ev WHERE ev.case_id = c.id AND ev.occurred_on <= $1::date"    \
	" ORDER BY ev.occurred_on DESC, ev.id DESC LIMIT 1) e ON true"
#define CIVIL_FACTS_CASE                                                                    \
	"SELECT c.id AS case_id, c.programme, e.to_status AS status, e.monthly_amount_fen,"   \
	" e.next_review_on, c.household_id, c.resident_id"
#define CIVIL_FACTS                                                                         \
	"SELECT k.*, " CIVIL_MISSING_ON " AS missing_documents, dm.n AS dibao_members"         \
	" FROM (" CIVIL_FACTS_CASE ", h.grid_id FROM core.region g JOIN core.household h"     \
	" ON h.grid_id = g.id JOIN civil.benefit_case c ON c.household_id = h.id"              \
	CIVIL_FACTS_EVENT " WHERE g.path <@ $2::ltree UNION ALL " CIVIL_FACTS_CASE ","        \
	" x.grid_id FROM core.region g JOIN core.resident x ON x.grid_id = g.id"              \
	" JOIN civil.benefit_case c ON c.resident_id = x.id" CIVIL_FACTS_EVENT                 \
	" WHERE g.path <@ $2::ltree) k LEFT JOIN LATERAL (SELECT count(*) AS n"                  \
	" FROM civil.case_member m WHERE k.programme = 'dibao' AND m.case_id = k.case_id"      \
	" AND m.added_on <= $1::date AND (m.removed_on IS NULL OR m.removed_on > $1::date))"   \
	" dm ON true"
#define CIVIL_F_RECEIVING(prog) "f.programme = '" prog "' AND f.status IN ('active', 'review_due')"
#if OG_ABI_MINOR >= 3
#define CIVIL_FACTS_COUNT(filter) , .facts_sql = CIVIL_FACTS, .fact_filter = filter
#define CIVIL_FACTS_SUM(filter, value) CIVIL_FACTS_COUNT(filter), .fact_value = value
#else
#define CIVIL_FACTS_COUNT(filter)
#define CIVIL_FACTS_SUM(filter, value)
#endif

/* clang-format on */

static const og_indicator_def civil_indicators[] = {
        {.code = "civil.dibao_households",
         .label = "低保户数",
         .unit = "户",
         .sql = CIVIL_IND_COUNT(CIVIL_RECEIVING("dibao"))
                 CIVIL_ROWS(CIVIL_IND_ROWS(CIVIL_RECEIVING("dibao"), ""))
                         CIVIL_FACTS_COUNT(CIVIL_F_RECEIVING("dibao"))},
        {.code = "civil.dibao_persons",
         .label = "低保人数",
         .unit = "人",
         .sql = CIVIL_DIBAO_PERSONS_SQL CIVIL_ROWS(CIVIL_DIBAO_PERSONS_ROWS)
                 CIVIL_FACTS_SUM(CIVIL_F_RECEIVING("dibao"), "f.dibao_members")},
        {.code = "civil.dibao_monthly_yuan",
         .label = "低保月保障金总额",
         .unit = "元",
         .sql = CIVIL_DIBAO_YUAN_SQL CIVIL_ROWS(CIVIL_IND_ROWS(CIVIL_RECEIVING("dibao"), ""))
                 CIVIL_FACTS_SUM(NULL, "CASE WHEN " CIVIL_F_RECEIVING("dibao") " THEN coalesce("
                                       "round(f.monthly_amount_fen::numeric / 100, 2), 0.00)"
                                       " ELSE 0.00 END")},
        {.code = "civil.tekun_persons",
         .label = "特困供养人数",
         .unit = "人",
         .sql = CIVIL_IND_COUNT(CIVIL_RECEIVING("tekun"))
                 CIVIL_ROWS(CIVIL_IND_ROWS(CIVIL_RECEIVING("tekun"), ""))
                         CIVIL_FACTS_COUNT(CIVIL_F_RECEIVING("tekun"))},
        {.code = "civil.elderly_recipients",
         .label = "高龄津贴领取人数",
         .unit = "人",
         .sql = CIVIL_IND_COUNT(CIVIL_RECEIVING("elderly"))
                 CIVIL_ROWS(CIVIL_IND_ROWS(CIVIL_RECEIVING("elderly"), ""))
                         CIVIL_FACTS_COUNT(CIVIL_F_RECEIVING("elderly"))},
        {.code = "civil.disability_recipients",
         .label = "残疾人两项补贴领取人数",
         .unit = "人",
         .sql = CIVIL_IND_COUNT(CIVIL_RECEIVING("disability"))
                 CIVIL_ROWS(CIVIL_IND_ROWS(CIVIL_RECEIVING("disability"), ""))
                         CIVIL_FACTS_COUNT(CIVIL_F_RECEIVING("disability"))},
        {.code = "civil.cases_review_due",
         .label = "待复核案件数",
         .unit = "件",
         .sql = CIVIL_IND_COUNT(CIVIL_REVIEW_DUE_ON)
                 CIVIL_ROWS(CIVIL_IND_ROWS(CIVIL_REVIEW_DUE_ON, CIVIL_REVIEW_REASONS))
                         CIVIL_FACTS_COUNT("(f.status = 'review_due' OR (f.status = 'active'"
                                           " AND f.next_review_on <= $1::date))")},
        {.code = "civil.cases_missing_documents",
         .label = "材料不全案件数",
         .unit = "件",
         .sql = CIVIL_IND_COUNT(CIVIL_MISSING_ON)
                 CIVIL_ROWS(CIVIL_IND_ROWS(CIVIL_MISSING_ON, CIVIL_MISSING_LIST))
                         CIVIL_FACTS_COUNT("f.missing_documents")},
};

/* clang-format off */
/* Ledgers: $1 the ltree path of the region rendered; as of today. */
#define CIVIL_STATUS_LABEL CIVIL_STATUS_ZH("c.status")

static const char *const civil_dibao_columns[] = {
    "case_id", "grid", "address", "head", "members", "member_count", "monthly_amount_yuan",
    "start_on", "next_review_on", "status"};
static const char *const civil_dibao_labels[] = {
    "案件编号", "网格", "家庭住址", "户主", "保障成员", "保障人数", "月保障金(元)",
    "起始日期", "下次复核日期", "状态"};
static const og_ledger_def civil_ledger_dibao = {
    .name = "dibao",
    .title = "低保台账",
    .permission = CIVIL_PERM_READ,
    .sql = "SELECT c.id, g.name, " CIVIL_HH_ADDRESS("h") ","
           " (SELECT r.name FROM core.resident r WHERE r.id = h.head_resident_id),"
           " (SELECT string_agg(r.name || coalesce('(' || r.relation || ')', ''), '、'"
           "  ORDER BY r.id) FROM civil.case_member m JOIN core.resident r"
           "  ON r.id = m.resident_id WHERE m.case_id = c.id AND m.removed_on IS NULL),"
           " (SELECT count(*) FROM civil.case_member m WHERE m.case_id = c.id"
           "  AND m.removed_on IS NULL),"
           " round(c.monthly_amount_fen::numeric / 100, 2), c.start_on, c.next_review_on, "
           CIVIL_STATUS_LABEL
           " FROM civil.benefit_case c JOIN core.household h ON h.id = c.household_id"
           " JOIN core.region g ON g.id = h.grid_id"
           " WHERE c.programme = 'dibao' AND c.status IN ('active', 'review_due')"
           " AND g.path <@ $1::ltree ORDER BY g.path, c.id",
    .columns = civil_dibao_columns,
    .labels = civil_dibao_labels,
    .ncolumns = sizeof(civil_dibao_columns) / sizeof(civil_dibao_columns[0]),
};

static const char *const civil_tekun_columns[] = {
    "case_id", "grid", "name", "gender", "age", "address", "monthly_amount_yuan", "start_on",
    "next_review_on", "status"};
static const char *const civil_tekun_labels[] = {
    "案件编号", "网格", "姓名", "性别", "年龄", "住址", "月供养金(元)", "起始日期",
    "下次复核日期", "状态"};
static const og_ledger_def civil_ledger_tekun = {
    .name = "tekun",
    .title = "特困台账",
    .permission = CIVIL_PERM_READ,
    .sql = "SELECT c.id, g.name, x.name,"
           " CASE x.gender WHEN 'male' THEN '男' WHEN 'female' THEN '女' END,"
           " date_part('year', age(current_date, x.birth_date))::int, "
           CIVIL_HH_ADDRESS("h") ","
           " round(c.monthly_amount_fen::numeric / 100, 2), c.start_on, c.next_review_on, "
           CIVIL_STATUS_LABEL
           " FROM civil.benefit_case c JOIN core.resident x ON x.id = c.resident_id"
           " LEFT JOIN core.household h ON h.id = x.household_id"
           " JOIN core.region g ON g.id = x.grid_id"
           " WHERE c.programme = 'tekun' AND c.status IN ('active', 'review_due')"
           " AND g.path <@ $1::ltree ORDER BY g.path, c.id",
    .columns = civil_tekun_columns,
    .labels = civil_tekun_labels,
    .ncolumns = sizeof(civil_tekun_columns) / sizeof(civil_tekun_columns[0]),
};

static const char *const civil_review_columns[] = {"case_id", "programme", "grid", "subject",
                                                   "status", "due_on", "reasons"};
static const char *const civil_review_labels[] = {"案件编号", "救助项目", "网格", "对象",
                                                  "状态", "应复核日期", "复核原因"};
static const og_ledger_def civil_ledger_review = {
    .name = "review_due",
    .title = "待复核清单",
    .permission = CIVIL_PERM_READ,
    .sql = "SELECT c.id, p.short_name, g.name,"
           " CASE WHEN c.household_id IS NOT NULL THEN concat_ws(' ', " CIVIL_HH_ADDRESS("h")
           ", '户主 ' || (SELECT r.name FROM core.resident r WHERE r.id = h.head_resident_id))"
           " ELSE x.name END, " CIVIL_STATUS_LABEL ", c.next_review_on,"
           " coalesce((SELECT string_agg(f.reason, '；' ORDER BY f.id) FROM civil.case_flag f"
           "  WHERE f.case_id = c.id AND f.resolved_at IS NULL),"
           "  '定期复核(应于 ' || c.next_review_on || ')')" CIVIL_CASE_FROM
           " WHERE " CIVIL_REVIEW_DUE " AND g.path <@ $1::ltree"
           " ORDER BY c.next_review_on NULLS FIRST, c.id",
    .columns = civil_review_columns,
    .labels = civil_review_labels,
    .ncolumns = sizeof(civil_review_columns) / sizeof(civil_review_columns[0]),
};

/* clang-format on */

/* ------------------------------------------------------------------ */
/* OpenAPI detail of the routes */

/* clang-format off */
#define CIVIL_P_PAGE                                                                         \
	"{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1,"  \
	"\"maximum\":500,\"default\":50}},"                                                     \
	"{\"name\":\"cursor\",\"in\":\"query\",\"description\":\"next_cursor of the previous "  \
	"page\",\"schema\":{\"type\":\"string\"}}"
#define CIVIL_P_ID(name, what)                                                               \
	"{\"name\":\"" name "\",\"in\":\"query\",\"description\":\"" what "\","                 \
	"\"schema\":{\"type\":\"integer\",\"minimum\":1}}"
#define CIVIL_P_BOOL(name, what)                                                             \
	"{\"name\":\"" name "\",\"in\":\"query\",\"description\":\"" what "\","                 \
	"\"schema\":{\"type\":\"boolean\"}}"
#define CIVIL_BODY(schema)                                                                   \
	"\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":"     \
	schema "}}}"
#define CIVIL_S_DATE(what) "{\"type\":\"string\",\"format\":\"date\",\"description\":\"" what "\"}"
#define CIVIL_S_FEN(what)                                                                    \
	"{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000000,\"description\":\"" what     \
	" (integer fen: 1 yuan = 100 fen)\"}"
#define CIVIL_S_VERSION                                                                      \
	"\"version\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"the version you "    \
	"read (or send If-Match)\"}"
#define CIVIL_STATUS_ENUM                                                                    \
	"[\"application\",\"investigation\",\"public_notice\",\"approved\",\"rejected\","       \
	"\"active\",\"review_due\",\"suspended\",\"terminated\"]"
#define CIVIL_PROGRAMME_ENUM "[\"dibao\",\"tekun\",\"elderly\",\"disability\"]"

static const char civil_doc_programmes_patch[] =
	"{" CIVIL_BODY("{\"type\":\"object\",\"required\":[\"version\"],\"properties\":{"
	CIVIL_S_VERSION ","
	"\"notice_days\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":60,"
	"\"description\":\"days of public notice (公示)\"},"
	"\"review_months\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":60,"
	"\"description\":\"months between periodic reviews (复核)\"},"
	"\"default_amount_fen\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":100000000,"
	"\"nullable\":true,\"description\":\"standard monthly amount in fen, null when each "
	"case has its own\"}}}") "}";

static const char civil_doc_settings_get[] =
	"{\"parameters\":[" CIVIL_P_ID("district", "the district (default: yours; required for an "
	"administrator)") "]}";

static const char civil_doc_settings_patch[] =
	"{\"parameters\":[" CIVIL_P_ID("district", "the district (default: yours)") "],"
	CIVIL_BODY("{\"type\":\"object\",\"required\":[\"version\",\"elderly_age\"],"
	"\"properties\":{" CIVIL_S_VERSION ",\"elderly_age\":{\"type\":\"integer\",\"minimum\":60,"
	"\"maximum\":120,\"description\":\"age from which the elderly allowance is due "
	"(default 80)\"}}}") "}";

static const char civil_doc_cases_list[] =
	"{\"parameters\":["
	"{\"name\":\"programme\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":"
	CIVIL_PROGRAMME_ENUM "}},"
	"{\"name\":\"status\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":"
	CIVIL_STATUS_ENUM "}},"
	CIVIL_P_ID("region", "only cases under this region (in your scope)") ","
	CIVIL_P_ID("household", "only the cases of this household") ","
	CIVIL_P_ID("resident", "only the cases of this resident") ","
	CIVIL_P_BOOL("incomplete", "true: open cases missing a document of the checklist "
	"(missing_documents says which); false: the others") ","
	CIVIL_P_BOOL("review_due", "true: cases flagged for review or past their review date") ","
	CIVIL_P_PAGE "]}";

static const char civil_doc_cases_create[] =
	"{" CIVIL_BODY("{\"type\":\"object\",\"required\":[\"programme\"],\"properties\":{"
	"\"programme\":{\"type\":\"string\",\"enum\":" CIVIL_PROGRAMME_ENUM "},"
	"\"household_id\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"for a household "
	"programme (dibao): a household in your scope with an active member\"},"
	"\"resident_id\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"for a person "
	"programme (tekun, elderly, disability): an active resident in your scope\"},"
	"\"applied_on\":" CIVIL_S_DATE("default today; not in the future") ","
	"\"note\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":500}}}") "}";

static const char civil_doc_case_events[] = "{\"parameters\":[" CIVIL_P_PAGE "]}";

static const char civil_doc_case_transition[] =
	"{" CIVIL_BODY("{\"type\":\"object\",\"required\":[\"to\"],\"properties\":{"
	"\"to\":{\"type\":\"string\",\"enum\":" CIVIL_STATUS_ENUM ",\"description\":\"the next "
	"status; the case's allowed_transitions lists the legal ones (others: 409 "
	"illegal_transition with error.allowed)\"},"
	CIVIL_S_VERSION ","
	"\"reason\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":500,\"description\":"
	"\"required for rejected, suspended and terminated\"},"
	"\"notice_start\":" CIVIL_S_DATE("public_notice only, required: first day of the "
	"notice") ","
	"\"notice_days\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":60,\"description\":"
	"\"public_notice only; default the programme's\"},"
	"\"monthly_amount_fen\":" CIVIL_S_FEN("public_notice (required unless the programme has a "
	"standard amount), approved or active: the monthly amount") ","
	"\"start_on\":" CIVIL_S_DATE("approved -> active only: first day of benefit, default "
	"today") "}}") "}";

static const char civil_doc_documents_post[] =
	"{" CIVIL_BODY("{\"type\":\"object\",\"required\":[\"code\"],\"properties\":{"
	"\"code\":{\"type\":\"string\",\"maxLength\":32,\"description\":\"a document of the "
	"programme's checklist (GET /api/v1/civil/programmes)\"},"
	"\"received_on\":" CIVIL_S_DATE("default today; not in the future") ","
	"\"note\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":200}}}") "}";

static const char civil_doc_programmes_list[] =
	"{\"description\":\"Every programme: code, name, unit (household or person), notice_days, "
	"review_months, default_amount_fen (integer fen or null), the tag an active case gives, "
	"and documents, the checklist [{code, label}]. One page: next_cursor is null.\"}";

static const char civil_doc_case_get[] =
	"{\"description\":\"The case (as in the list: subject read from the shared model, "
	"status, dates, monthly_amount_fen, missing_documents, allowed_transitions, version) plus "
	"documents (the whole checklist with on_file and received_on), members (the household's "
	"residents by name and relation, counted or not) and flags (why a review was opened). "
	"ETag carries the version.\"}";

static const char civil_doc_documents_delete[] =
	"{\"description\":\"404 (field code) when the document is not on file. Answers "
	"{removed: true, case_id, code}.\"}";

static const char civil_doc_eligible_elderly[] =
	"{\"parameters\":[" CIVIL_P_ID("region", "only residents under this region (in your "
	"scope)") "," CIVIL_P_PAGE "]}";
/* clang-format on */

/* ------------------------------------------------------------------ */
/* registration */

static const char *const civil_read_roles[] = {"district", "street", "community", "grid_worker",
                                               NULL};
static const char *const civil_write_roles[] = {"street", "community", "grid_worker", NULL};
static const char *const civil_investigate_roles[] = {"street", "community", NULL};
static const char *const civil_approve_roles[] = {"district", "street", NULL};
static const char *const civil_settings_roles[] = {"district", NULL};
static const char *const civil_no_roles[] = {NULL}; /* the administrator's, until granted */

static const struct {
	const char *code;
	const char *label;
	const char *const *roles;
} civil_permissions[] = {
        {CIVIL_PERM_READ, "查看民政救助案件", civil_read_roles},
        {CIVIL_PERM_WRITE, "受理民政救助申请、登记材料", civil_write_roles},
        {CIVIL_PERM_INVESTIGATE, "民政救助入户调查、公示与复核", civil_investigate_roles},
        {CIVIL_PERM_APPROVE, "民政救助审批、停发与终止", civil_approve_roles},
        {CIVIL_PERM_SETTINGS, "设置本区民政参数(高龄津贴年龄)", civil_settings_roles},
        {CIVIL_PERM_PROGRAMMES, "修改民政救助项目参数", civil_no_roles},
};

static const struct {
	unsigned method;
	const char *path;
	const char *permission;
	og_handler handler;
	const char *summary;
	const char *doc; /* OpenAPI detail merged into the operation */
} civil_routes[] = {
        {OG_GET, "/api/v1/civil/programmes", CIVIL_PERM_READ, civil_programmes_list,
         "The programmes (低保, 特困, 高龄津贴, 残疾人两项补贴) with their document checklists",
         civil_doc_programmes_list},
        {OG_PATCH, "/api/v1/civil/programmes/{code}", CIVIL_PERM_PROGRAMMES, civil_programmes_patch,
         "Change a programme's notice days, review interval or standard amount (send the version)",
         civil_doc_programmes_patch},
        {OG_GET, "/api/v1/civil/settings", CIVIL_PERM_READ, civil_settings_get,
         "The district's civil affairs settings (elderly allowance age)", civil_doc_settings_get},
        {OG_PATCH, "/api/v1/civil/settings", CIVIL_PERM_SETTINGS, civil_settings_patch,
         "Change the district's civil affairs settings (send the version)",
         civil_doc_settings_patch},
        {OG_GET, "/api/v1/civil/cases", CIVIL_PERM_READ, civil_cases_list,
         "Cases in the caller's scope (filters: programme, status, region, household, resident, "
         "incomplete, review_due; keyset on id)",
         civil_doc_cases_list},
        {OG_POST, "/api/v1/civil/cases", CIVIL_PERM_WRITE, civil_case_create,
         "Start a case (an application) for a household or resident in the caller's scope",
         civil_doc_cases_create},
        {OG_GET, "/api/v1/civil/cases/{id}", CIVIL_PERM_READ, civil_case_get,
         "One case with its checklist, members (from the shared model) and flags",
         civil_doc_case_get},
        {OG_GET, "/api/v1/civil/cases/{id}/events", CIVIL_PERM_READ, civil_case_events,
         "Every step of the case: date, by whom, reason, amount after it", civil_doc_case_events},
        {OG_POST, "/api/v1/civil/cases/{id}/transitions", CIVIL_PERM_READ, civil_case_transition,
         "Take the next step of the case (each step needs its own permission: "
         "civil.case.investigate or civil.case.approve)",
         civil_doc_case_transition},
        {OG_POST, "/api/v1/civil/cases/{id}/documents", CIVIL_PERM_WRITE, civil_document_record,
         "Record that a document of the checklist is on file (201; 200 when a copy replaces it)",
         civil_doc_documents_post},
        {OG_DELETE, "/api/v1/civil/cases/{id}/documents/{code}", CIVIL_PERM_WRITE,
         civil_document_remove, "A document recorded by mistake is no longer on file",
         civil_doc_documents_delete},
        {OG_GET, "/api/v1/civil/eligible/elderly", CIVIL_PERM_READ, civil_eligible_elderly,
         "Active residents in the caller's scope who have reached the elderly allowance age and "
         "have no open case for it",
         civil_doc_eligible_elderly},
};

/* resident.created for residents created one by one, residents.imported
 * (ABI 1.3) for the bulk import's chunks instead of one call per row. */
static const char *const civil_hook_events[] = {"resident.created",  OG_EVENT_RESIDENTS_IMPORTED,
                                                "resident.updated",  "resident.moved_out",
                                                "resident.deceased", "household.moved"};

/*
 * Registers everything, in the order the host needs: migrations,
 * permissions (before the routes and ledgers naming them), tags, routes,
 * hooks, indicators, ledgers.  Each host call logs its own failure.
 */
static int civil_init(og_plugin *self, const og_host_api *host)
{
	size_t i;

	civil_self = self;
	for (i = 0; i < civil_migrations_count; i++)
		if (host->register_migration(self, civil_migrations[i].version,
		                             civil_migrations[i].name, civil_migrations[i].sql) < 0)
			return -1;
	for (i = 0; i < sizeof(civil_permissions) / sizeof(civil_permissions[0]); i++)
		if (host->register_permission(self, civil_permissions[i].code,
		                              civil_permissions[i].label,
		                              civil_permissions[i].roles) < 0)
			return -1;
	if (host->register_tag(self, "dibao", "低保户") < 0 ||
	    host->register_tag(self, "tekun", "特困人员") < 0)
		return -1;
	for (i = 0; i < sizeof(civil_routes) / sizeof(civil_routes[0]); i++) {
		if (host->register_route(self, civil_routes[i].method, civil_routes[i].path,
		                         civil_routes[i].permission, civil_routes[i].handler,
		                         civil_routes[i].summary) < 0)
			return -1;
		if (host->describe_route(self, civil_routes[i].method, civil_routes[i].path,
		                         civil_routes[i].doc) < 0)
			return -1;
	}
	for (i = 0; i < sizeof(civil_hook_events) / sizeof(civil_hook_events[0]); i++)
		if (host->register_hook(self, civil_hook_events[i], civil_hook) < 0)
			return -1;
	for (i = 0; i < sizeof(civil_indicators) / sizeof(civil_indicators[0]); i++)
		if (host->register_indicator(self, &civil_indicators[i]) < 0)
			return -1;
	if (host->register_ledger(self, &civil_ledger_dibao) < 0 ||
	    host->register_ledger(self, &civil_ledger_tekun) < 0 ||
	    host->register_ledger(self, &civil_ledger_review) < 0)
		return -1;
	return 0;
}

/* The one exported symbol.  No dependencies, no fini: nothing to release. */
OG_PLUGIN_DEFINE("civil", "1.0.0", "民政", NULL, civil_init, NULL);

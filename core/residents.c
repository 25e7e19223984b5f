/*
 * core/residents.c — residents of the shared model: the one validation of a
 * resident's fields (also used by the bulk import), the one masking of a
 * resident's ID number and phone (also used by the change feed and the
 * export; the SQL picture of a resident they all select is
 * OGC_RESIDENT_JSON_SQL in core.h), and the routes that register, read,
 * change, search residents and record their life events.
 *
 * Rules kept here: every field is checked and normalised in one pure
 * function (ogc_residents_validate), so an 18-character ID number fixes the
 * birth date and gender, given values contradicting it are a 422 naming the
 * field, and a typo in a field name is a 422 rather than silently dropped.
 * One person is one row: a second resident with the same ID number is a 409
 * that gives the existing id only when the caller may see that row.  Every
 * read and write is confined to the caller's scope (rows outside it are a
 * 404); a PATCH carries the version it read; moving out and death are life
 * events, never a PATCH and never a DELETE.  ID numbers and phones are
 * masked unless the caller holds residents.read_sensitive, and every reply
 * that shows them in full is audited.
 *
 * Not here: the ID-number and phone rules themselves (idnumber.c), tags on
 * residents (tags.c), bulk import and export (transfer.c), households and
 * their moves (households.c), Idempotency-Key (the router, idempotency.c),
 * the change feed (database triggers) and the transaction around a write
 * (the router commits it iff the reply is below 400).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>

#include "core.h"

#define NAME_MAX_CHARS 50
#define SHORT_MAX_CHARS 20 /* ethnicity, registered_province, relation */
#define ID_NUMBER_MAX 40   /* bytes, as the table's CHECK */
#define PHONE_IN_MAX 40    /* bytes of a phone before normalising */
#define Q_MAX_CHARS 50
#define TAG_MAX 64
#define AGE_MAX 150
#define EARLIEST_YEAR 1850 /* as idnumber.c: the standard's own example is born 1880 */
#define SENSITIVE "residents.read_sensitive"

/* Columns a client writes, in the order errors are looked for. */
#define WRITABLE_COLUMNS                                                   \
	"name, id_type, id_number, gender, birth_date, ethnicity, phone, " \
	"residence_status, registered_province, grid_id, household_id, relation"

static const char *const writable_fields[] = {
        "name",  "id_type",          "id_number",           "gender",  "birth_date",   "ethnicity",
        "phone", "residence_status", "registered_province", "grid_id", "household_id", "relation",
        NULL};

/* Read-only members of a resident: a client may send back what it read. */
static const char *const readonly_fields[] = {
        "id",         "age",        "tags",        "version",
        "created_at", "updated_at", "life_status", "life_status_date",
        NULL};

/* ------------------------------------------------------------------ */
/* Canonical values and their accepted spellings */

struct alias {
	const char *in, *out;
};

static const struct alias id_types[] = {{"resident_id", "resident_id"},
                                        {"passport", "passport"},
                                        {"hmt_permit", "hmt_permit"},
                                        {"foreign_permanent", "foreign_permanent"},
                                        {"none", "none"},
                                        {"居民身份证", "resident_id"},
                                        {"身份证", "resident_id"},
                                        {"护照", "passport"},
                                        {"港澳台居民居住证", "hmt_permit"},
                                        {"港澳台居住证", "hmt_permit"},
                                        {"外国人永久居留身份证", "foreign_permanent"},
                                        {"外国人永久居留证", "foreign_permanent"},
                                        {"无", "none"},
                                        {NULL, NULL}};

static const struct alias genders[] = {{"male", "male"}, {"female", "female"}, {"男", "male"},
                                       {"女", "female"}, {"男性", "male"},     {"女性", "female"},
                                       {NULL, NULL}};

static const struct alias residences[] = {{"registered", "registered"}, {"resident", "resident"},
                                          {"floating", "floating"},     {"户籍", "registered"},
                                          {"户籍人口", "registered"},   {"常住", "resident"},
                                          {"常住人口", "resident"},     {"流动", "floating"},
                                          {"流动人口", "floating"},     {NULL, NULL}};

/* Relation to the head is free text; these spellings become the usual
 * Chinese term so that lists and reports group them. */
static const struct alias relations[] = {
        {"本人", "户主"},        {"head", "户主"},   {"self", "户主"},   {"spouse", "配偶"},
        {"son", "子"},           {"daughter", "女"}, {"parent", "父母"}, {"grandchild", "孙子女"},
        {"sibling", "兄弟姐妹"}, {"other", "其他"},  {NULL, NULL}};

static const char *const event_kinds[] = {"moved_in", "moved_out", "deceased", "household_changed",
                                          NULL};

/* The canonical value of s (n bytes; ASCII compared without case), or NULL. */
static const char *lookup(const struct alias *t, const char *s, size_t n)
{
	for (; t->in != NULL; t++)
		if (strlen(t->in) == n && strncasecmp(t->in, s, n) == 0)
			return t->out;
	return NULL;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* UTF-8 characters in n bytes of s. */
static size_t chars_n(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

/* ------------------------------------------------------------------ */
/* ogc_residents_validate */

/* An unknown member's name, for *field (which must outlive the call):
 * valid until the next call. */
static char unknown_field[64];

static int fail(const char **field, const char *name, char *why, size_t whylen, const char *fmt,
                ...) OG_PRINTF(5, 6);
static int fail(const char **field, const char *name, char *why, size_t whylen, const char *fmt,
                ...)
{
	va_list ap;

	*field = name;
	if (whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Is s (n bytes) at p a space to trim: ASCII space or U+3000 (ideographic)? */
static size_t space_at(const char *p, size_t n)
{
	if (n >= 1 && p[0] == ' ')
		return 1;
	if (n >= 3 && (unsigned char)p[0] == 0xE3 && (unsigned char)p[1] == 0x80 &&
	    (unsigned char)p[2] == 0x80)
		return 3;
	return 0;
}

/*
 * A text member, trimmed of surrounding spaces.  0 absent; 1 present with
 * *s borrowed from in and *n its bytes (*n 0 for null, "" or blanks: the
 * bulk import sends empty cells as ""); -1 when it is not a string or holds
 * a control character.
 */
static int member_text(json_t *in, const char *key, const char **s, size_t *n)
{
	json_t *v = json_object_get(in, key);
	const char *p, *e;
	size_t k;

	*s = NULL;
	*n = 0;
	if (v == NULL)
		return 0;
	if (json_is_null(v))
		return 1;
	if (!json_is_string(v))
		return -1;
	p = json_string_value(v);
	e = p + json_string_length(v);
	for (const char *q = p; q < e; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return -1;
	while (p < e && (k = space_at(p, (size_t)(e - p))) > 0)
		p += k;
	while (e > p) {
		if (e[-1] == ' ')
			e--;
		else if (e - p >= 3 && space_at(e - 3, 3) == 3)
			e -= 3;
		else
			break;
	}
	*s = p;
	*n = (size_t)(e - p);
	return 1;
}

/* An id member: a JSON integer > 0 or its decimal text.  0 absent; 1
 * present (*id 0 for null or ""); -1 anything else. */
static int member_id(json_t *in, const char *key, int64_t *id)
{
	json_t *v = json_object_get(in, key);
	const char *s;
	size_t n;
	char buf[24];

	*id = 0;
	if (v == NULL)
		return 0;
	if (json_is_null(v))
		return 1;
	if (json_is_integer(v)) {
		if (json_integer_value(v) <= 0)
			return -1;
		*id = (int64_t)json_integer_value(v);
		return 1;
	}
	if (member_text(in, key, &s, &n) != 1)
		return -1;
	if (n == 0)
		return 1;
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return ogc_util_parse_id(buf, id) ? 1 : -1;
}

static void today(char out[11])
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* "YYYY-MM-DD" (n bytes at s): a real calendar day from EARLIEST_YEAR on,
 * not after today.  0 with out filled, or -1 with a reason in why. */
static int check_date(const char *s, size_t n, char out[11], char *why, size_t whylen)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	char now[11];
	int y, m, d, max;

	if (n != 10 || s[4] != '-' || s[7] != '-') {
		snprintf(why, whylen, "must be a date written YYYY-MM-DD");
		return -1;
	}
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
			snprintf(why, whylen, "must be a date written YYYY-MM-DD");
			return -1;
		}
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (m < 1 || m > 12) {
		snprintf(why, whylen, "is not a calendar date (month %02d)", m);
		return -1;
	}
	max = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	if (d < 1 || d > max) {
		snprintf(why, whylen, "is not a calendar date (day %02d of month %02d)", d, m);
		return -1;
	}
	if (y < EARLIEST_YEAR) {
		snprintf(why, whylen, "is before %d", EARLIEST_YEAR);
		return -1;
	}
	memcpy(out, s, 10);
	out[10] = '\0';
	today(now);
	if (strcmp(out, now) > 0) {
		snprintf(why, whylen, "is in the future");
		return -1;
	}
	return 0;
}

/* A short optional text (ethnicity, province, relation): 0 absent, 1 set
 * in o (null for blank), -1 after fail(). */
static int short_text(json_t *in, json_t *o, const char *key, const struct alias *aliases,
                      const char **field, char *why, size_t whylen)
{
	const char *s, *canon;
	size_t n;
	int rc = member_text(in, key, &s, &n);

	if (rc < 0)
		return fail(field, key, why, whylen, "%s must be text (no control characters)",
		            key);
	if (rc == 0)
		return 0;
	if (n == 0) {
		json_object_set_new(o, key, json_null());
		return 1;
	}
	if (chars_n(s, n) > SHORT_MAX_CHARS)
		return fail(field, key, why, whylen, "%s must be at most %d characters", key,
		            SHORT_MAX_CHARS);
	canon = aliases != NULL ? lookup(aliases, s, n) : NULL;
	json_object_set_new(o, key, canon != NULL ? json_string(canon) : json_stringn(s, n));
	return 1;
}

int ogc_residents_validate(json_t *in, bool partial, json_t **out, const char **field, char *why,
                           size_t whylen)
{
	const char *key, *s, *type = NULL, *gender = NULL, *residence = NULL;
	json_t *val, *o;
	char num[ID_NUMBER_MAX + 8], norm[ID_NUMBER_MAX + 8], birth[11] = "", reason[200];
	char phone[PHONE_IN_MAX + 8], phone_norm[PHONE_IN_MAX + 8];
	bool num_given, gender_given, birth_given, have_info = false;
	bool has_num = false;
	ogc_idinfo info;
	int64_t id;
	size_t n;
	int rc;

	*out = NULL;
	*field = NULL;
	if (whylen > 0)
		why[0] = '\0';
	if (!json_is_object(in))
		return fail(field, "body", why, whylen, "a resident must be a JSON object");

	/* Unknown members first: a typo must not pass as "absent". */
	json_object_foreach(in, key, val) {
		if (!in_list(writable_fields, key) && !in_list(readonly_fields, key)) {
			size_t k = strlen(key);

			if (k >= sizeof(unknown_field)) {
				k = sizeof(unknown_field) - 1;
				while (k > 0 && ((unsigned char)key[k] & 0xC0) == 0x80)
					k--; /* never cut a character in two */
			}
			memcpy(unknown_field, key, k);
			unknown_field[k] = '\0';
			return fail(field, unknown_field, why, whylen, "unknown field %s",
			            unknown_field);
		}
	}
	o = json_object();

	/* name */
	rc = member_text(in, "name", &s, &n);
	if (rc < 0) {
		fail(field, "name", why, whylen, "name must be text (no control characters)");
		goto bad;
	}
	if (rc == 1 || !partial) {
		if (n == 0) {
			fail(field, "name", why, whylen, "name is required");
			goto bad;
		}
		if (chars_n(s, n) > NAME_MAX_CHARS) {
			fail(field, "name", why, whylen, "name must be at most %d characters",
			     NAME_MAX_CHARS);
			goto bad;
		}
		json_object_set_new(o, "name", json_stringn(s, n));
	}

	/* id_type (null or blank: as if absent) */
	rc = member_text(in, "id_type", &s, &n);
	if (rc < 0 || (n > 0 && (type = lookup(id_types, s, n)) == NULL)) {
		fail(field, "id_type", why, whylen,
		     "id_type must be one of resident_id, passport, hmt_permit, "
		     "foreign_permanent, none");
		goto bad;
	}

	/* id_number */
	rc = member_text(in, "id_number", &s, &n);
	if (rc < 0) {
		fail(field, "id_number", why, whylen,
		     "id_number must be text (no control characters)");
		goto bad;
	}
	num_given = rc == 1;
	if (n > ID_NUMBER_MAX) {
		fail(field, "id_number", why, whylen, "id_number must be at most %d characters",
		     ID_NUMBER_MAX);
		goto bad;
	}
	if (n > 0) {
		memcpy(num, s, n);
		num[n] = '\0';
		has_num = true;
	}

	/* gender and birth_date: read now, checked against the number below */
	rc = member_text(in, "gender", &s, &n);
	if (rc < 0 || (n > 0 && (gender = lookup(genders, s, n)) == NULL)) {
		fail(field, "gender", why, whylen, "gender must be male or female (男 or 女)");
		goto bad;
	}
	gender_given = rc == 1;
	rc = member_text(in, "birth_date", &s, &n);
	if (rc < 0) {
		fail(field, "birth_date", why, whylen,
		     "birth_date must be a date written YYYY-MM-DD");
		goto bad;
	}
	birth_given = rc == 1;
	if (n > 0 && check_date(s, n, birth, reason, sizeof(reason)) != 0) {
		fail(field, "birth_date", why, whylen, "birth_date %s", reason);
		goto bad;
	}

	if (!partial && type == NULL)
		type = has_num ? "resident_id" : "none";
	if (type == NULL) {
		/* A PATCH changing the number only: the caller merges it with
		 * the stored id_type and validates the whole row again. */
		if (num_given) {
			for (size_t i = 0; has_num && num[i] != '\0'; i++)
				if (num[i] >= 'a' && num[i] <= 'z')
					num[i] = (char)(num[i] - 'a' + 'A');
			json_object_set_new(o, "id_number",
			                    has_num ? json_string(num) : json_null());
		}
	} else if (strcmp(type, "none") == 0) {
		if (has_num) {
			fail(field, "id_number", why, whylen,
			     "id_type none takes no id_number (give the id_type of the number)");
			goto bad;
		}
		json_object_set_new(o, "id_type", json_string("none"));
		json_object_set_new(o, "id_number", json_null());
	} else if (has_num) {
		memset(&info, 0, sizeof(info));
		reason[0] = '\0';
		if (ogc_idnumber_check(type, num, norm, sizeof(norm), &info, reason,
		                       sizeof(reason)) != 0) {
			fail(field, "id_number", why, whylen, "%s",
			     reason[0] != '\0' ? reason : "id_number is not valid");
			goto bad;
		}
		have_info = true;
		json_object_set_new(o, "id_type", json_string(type));
		json_object_set_new(o, "id_number", json_string(norm));
	} else if (num_given || !partial) {
		fail(field, "id_number", why, whylen, "id_number is required for id_type %s", type);
		goto bad;
	} else {
		json_object_set_new(o, "id_type", json_string(type));
	}

	if (have_info && info.gender != NULL && gender != NULL &&
	    strcmp(gender, info.gender) != 0) {
		fail(field, "gender", why, whylen, "gender %s contradicts the ID number (%s)",
		     gender, info.gender);
		goto bad;
	}
	if (gender == NULL && have_info && info.gender != NULL)
		gender = info.gender;
	if (gender != NULL || gender_given || !partial)
		json_object_set_new(o, "gender",
		                    gender != NULL ? json_string(gender) : json_null());

	if (have_info && info.birth_date[0] != '\0' && birth[0] != '\0' &&
	    strcmp(birth, info.birth_date) != 0) {
		fail(field, "birth_date", why, whylen,
		     "birth_date %s contradicts the ID number (%s)", birth, info.birth_date);
		goto bad;
	}
	if (birth[0] == '\0' && have_info && info.birth_date[0] != '\0')
		snprintf(birth, sizeof(birth), "%s", info.birth_date);
	if (birth[0] != '\0' || birth_given || !partial)
		json_object_set_new(o, "birth_date",
		                    birth[0] != '\0' ? json_string(birth) : json_null());

	if (short_text(in, o, "ethnicity", NULL, field, why, whylen) < 0)
		goto bad;
	if (!partial && json_object_get(o, "ethnicity") == NULL)
		json_object_set_new(o, "ethnicity", json_null());

	/* phone */
	rc = member_text(in, "phone", &s, &n);
	if (rc < 0) {
		fail(field, "phone", why, whylen, "phone must be text (no control characters)");
		goto bad;
	}
	if (n > 0) {
		if (n > PHONE_IN_MAX) {
			fail(field, "phone", why, whylen, "phone is too long");
			goto bad;
		}
		memcpy(phone, s, n);
		phone[n] = '\0';
		if (ogc_phone_check(phone, phone_norm, sizeof(phone_norm)) != 0) {
			fail(field, "phone", why, whylen,
			     "phone must be a mainland mobile number (1[3-9] and 9 digits, "
			     "optionally +86) or a landline with its area code");
			goto bad;
		}
		json_object_set_new(o, "phone", json_string(phone_norm));
	} else if (rc == 1 || !partial) {
		json_object_set_new(o, "phone", json_null());
	}

	/* residence_status (null or blank: as if absent; a new resident is
	 * registered (户籍) unless told otherwise) */
	rc = member_text(in, "residence_status", &s, &n);
	if (rc < 0 || (n > 0 && (residence = lookup(residences, s, n)) == NULL)) {
		fail(field, "residence_status", why, whylen,
		     "residence_status must be registered, resident or floating "
		     "(户籍, 常住, 流动)");
		goto bad;
	}
	if (residence == NULL && !partial)
		residence = "registered";
	if (residence != NULL)
		json_object_set_new(o, "residence_status", json_string(residence));

	rc = short_text(in, o, "registered_province", NULL, field, why, whylen);
	if (rc < 0)
		goto bad;
	if (rc == 1 && !json_is_null(json_object_get(o, "registered_province")) &&
	    residence != NULL && strcmp(residence, "floating") != 0) {
		fail(field, "registered_province", why, whylen,
		     "registered_province is only for floating residents (residence_status "
		     "floating)");
		goto bad;
	}
	if (!partial && rc == 0)
		json_object_set_new(o, "registered_province", json_null());

	/* grid_id and household_id */
	rc = member_id(in, "grid_id", &id);
	if (rc < 0) {
		fail(field, "grid_id", why, whylen, "grid_id must be a grid's id (an integer > 0)");
		goto bad;
	}
	if ((rc == 1 || !partial) && id == 0) {
		fail(field, "grid_id", why, whylen,
		     "grid_id is required (the grid the resident lives in)");
		goto bad;
	}
	if (id > 0)
		json_object_set_new(o, "grid_id", json_integer(id));
	rc = member_id(in, "household_id", &id);
	if (rc < 0) {
		fail(field, "household_id", why, whylen,
		     "household_id must be a household's id (an integer > 0) or null");
		goto bad;
	}
	if (rc == 1 || !partial)
		json_object_set_new(o, "household_id", id > 0 ? json_integer(id) : json_null());

	if (short_text(in, o, "relation", relations, field, why, whylen) < 0)
		goto bad;
	if (!partial && json_object_get(o, "relation") == NULL)
		json_object_set_new(o, "relation", json_null());

	*out = o;
	return 0;
bad:
	json_decref(o);
	return -1;
}

/* ------------------------------------------------------------------ */
/* Helpers of the routes */

static void id_text(int64_t v, char buf[24])
{
	snprintf(buf, 24, "%lld", (long long)v);
}

static void not_found(og_req *req, const og_host_api *host)
{
	host->reply_error(req, 404, "not_found", "no such resident", NULL);
}

static bool may_see_sensitive(og_req *req, const og_host_api *host)
{
	return host->has_permission(req, SENSITIVE) == 1;
}

static bool shows_sensitive(json_t *r)
{
	return json_is_string(json_object_get(r, "id_number")) ||
	       json_is_string(json_object_get(r, "phone"));
}

static void mask_value(json_t *obj, const char *key, bool phone)
{
	const char *s = json_string_value(json_object_get(obj, key));
	char buf[64];

	if (s == NULL)
		return;
	if (phone)
		ogc_mask_phone(s, buf, sizeof(buf));
	else
		ogc_mask_id_number(s, buf, sizeof(buf));
	json_object_set_new(obj, key, json_string(buf));
}

void ogc_residents_mask(json_t *r)
{
	mask_value(r, "id_number", false);
	mask_value(r, "phone", true);
}

/*
 * Loads resident id if it lies inside the caller's scope (locked for the
 * rest of the transaction when lock): 1 with *out new, 0 after a 404,
 * -1 after an error reply.
 */
static int load_resident(og_req *req, const og_host_api *host, int64_t id, bool lock, json_t **out)
{
	char sid[24];
	const char *params[2] = {sid, ogc_util_scope(req)};
	int n;

	id_text(id, sid);
	n = host->query_json(req,
	                     lock ? "SELECT " OGC_RESIDENT_JSON_SQL " FROM core.resident x "
	                            "JOIN core.region g ON g.id = x.grid_id "
	                            "WHERE x.id = $1::bigint "
	                            "  AND ($2::text = '' OR g.path <@ $2::text::ltree) "
	                            "FOR UPDATE OF x"
	                          : "SELECT " OGC_RESIDENT_JSON_SQL " FROM core.resident x "
	                            "JOIN core.region g ON g.id = x.grid_id "
	                            "WHERE x.id = $1::bigint "
	                            "  AND ($2::text = '' OR g.path <@ $2::text::ltree)",
	                     2, params, out);
	if (n == 0)
		not_found(req, host);
	return n;
}

/* Is `id` an open grid (a region of level grid) inside the caller's
 * scope?  0 yes; -1 after the reply (422 field grid_id, or a db error). */
static int check_grid(og_req *req, const og_host_api *host, int64_t id)
{
	char sid[24], msg[160];
	const char *params[2] = {sid, ogc_util_scope(req)};
	og_result *r;
	const char *level;
	bool closed;

	id_text(id, sid);
	r = host->query(req,
	                "SELECT r.level, r.closed_on IS NOT NULL AND r.closed_on <= current_date "
	                "FROM core.region r WHERE r.id = $1::bigint "
	                "  AND ($2::text = '' OR r.path <@ $2::text::ltree)",
	                2, params);
	if (r == NULL)
		return -1;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		ogc_util_invalid(req, "grid_id", "no such grid in your scope");
		return -1;
	}
	level = host->result_text(r, 0, 0);
	closed = host->result_bool(r, 0, 1);
	if (strcmp(level, "grid") != 0) {
		snprintf(msg, sizeof(msg), "grid_id must name a grid, not a %s", level);
		host->result_free(r);
		ogc_util_invalid(req, "grid_id", msg);
		return -1;
	}
	host->result_free(r);
	if (closed) {
		ogc_util_invalid(req, "grid_id", "this grid is closed");
		return -1;
	}
	return 0;
}

/* The grid of household `id`, which must lie inside the caller's scope;
 * the household is share-locked so that a concurrent move of it waits for
 * this write (its members must stay in its grid).  0 with *grid set; -1
 * after the reply (422 naming field, or a db error). */
static int household_grid(og_req *req, const og_host_api *host, int64_t id, const char *field,
                          int64_t *grid)
{
	char sid[24];
	const char *params[2] = {sid, ogc_util_scope(req)};
	og_result *r;

	id_text(id, sid);
	r = host->query(req,
	                "SELECT h.grid_id FROM core.household h "
	                "JOIN core.region g ON g.id = h.grid_id "
	                "WHERE h.id = $1::bigint AND ($2::text = '' OR g.path <@ $2::text::ltree) "
	                "FOR SHARE OF h",
	                2, params);
	if (r == NULL)
		return -1;
	if (host->result_rows(r) == 0) {
		host->result_free(r);
		ogc_util_invalid(req, field, "no such household in your scope");
		return -1;
	}
	*grid = host->result_int64(r, 0, 0);
	host->result_free(r);
	return 0;
}

/*
 * 409 for an ID number already registered to another resident.  The error
 * gives "existing_id" only when that resident lies in the caller's scope:
 * otherwise the caller learns no more than "duplicate".  self: the
 * resident being changed (0 on create).  Always leaves a reply.
 */
static void reply_duplicate(og_req *req, const og_host_api *host, const char *number, int64_t self)
{
	char sid[24];
	const char *params[3] = {number, ogc_util_scope(req), sid};
	json_t *err;
	og_result *r;

	id_text(self, sid);
	r = host->query(req,
	                "SELECT x.id, ($2::text = '' OR g.path <@ $2::text::ltree) "
	                "FROM core.resident x JOIN core.region g ON g.id = x.grid_id "
	                "WHERE x.id_number = $1 AND x.id <> $3::bigint",
	                3, params);
	if (r == NULL)
		return;
	err = json_pack("{s:s, s:s, s:s}", "code", "duplicate", "message",
	                "a resident with this ID number is already registered "
	                "(one person, one row)",
	                "field", "id_number");
	if (host->result_rows(r) == 1 && host->result_bool(r, 0, 1))
		json_object_set_new(err, "existing_id", json_integer(host->result_int64(r, 0, 0)));
	host->result_free(r);
	host->reply_json(req, 409, json_pack("{s:o}", "error", err));
}

/* Audits that `what` (borrowed) was shown unmasked; entity_id may be NULL
 * for a list.  0 or -1 (reply set). */
static int audit_sensitive(og_req *req, const og_host_api *host, const char *entity_id,
                           int64_t region_id, json_t *what)
{
	return host->audit(req, "read_sensitive", "resident", entity_id, region_id, NULL, what);
}

/* ------------------------------------------------------------------ */
/* POST /api/v1/residents */

static void residents_create(og_req *req, const og_host_api *host)
{
	json_t *body = host->body(req), *norm = NULL, *res = NULL;
	const char *field, *params[1];
	char why[256], sid[24];
	int64_t grid, hh, hgrid;
	char *text;
	int n;

	if (!ogc_util_body_object(req, body, false))
		return;
	if (ogc_residents_validate(body, false, &norm, &field, why, sizeof(why)) != 0) {
		ogc_util_invalid(req, field, why);
		return;
	}
	grid = ogc_util_json_id(norm, "grid_id");
	hh = ogc_util_json_id(norm, "household_id");
	if (check_grid(req, host, grid) != 0)
		goto out;
	if (hh > 0) {
		if (household_grid(req, host, hh, "household_id", &hgrid) != 0)
			goto out;
		if (hgrid != grid) {
			ogc_util_invalid(req, "household_id",
			                 "the household is in another grid than grid_id");
			goto out;
		}
	}
	text = json_dumps(norm, JSON_COMPACT);
	params[0] = text;
	/* A second row with the same number does nothing (a concurrent one
	 * waits for the first to commit): answered as a 409 below. */
	n = host->query_json(req,
	                     "WITH x AS (INSERT INTO core.resident (" WRITABLE_COLUMNS ") "
	                     "  SELECT " WRITABLE_COLUMNS " FROM "
	                     "  json_populate_record(NULL::core.resident, $1::json) "
	                     "  ON CONFLICT (id_number) WHERE id_number IS NOT NULL DO NOTHING "
	                     "  RETURNING *) "
	                     "SELECT " OGC_RESIDENT_JSON_SQL " FROM x",
	                     1, params, &res);
	free(text);
	if (n < 0)
		goto out;
	if (n == 0) {
		reply_duplicate(req, host, json_string_value(json_object_get(norm, "id_number")),
		                0);
		goto out;
	}
	id_text(ogc_util_json_id(res, "id"), sid);
	if (host->audit(req, "create", "resident", sid, grid, NULL, res) != 0)
		goto out;
	if (host->fire(req, "resident.created", ogc_util_json_id(res, "id"), res) != 0)
		goto out;
	if (!may_see_sensitive(req, host))
		ogc_residents_mask(res);
	host->reply_json(req, 201, res);
	res = NULL; /* stolen */
out:
	json_decref(norm);
	json_decref(res);
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/residents/{id} */

static void residents_get(og_req *req, const og_host_api *host)
{
	json_t *res = NULL;
	char sid[24];
	int64_t id;

	if (host->path_id(req, "id", &id) != 0)
		return;
	if (load_resident(req, host, id, false, &res) != 1)
		return;
	if (!may_see_sensitive(req, host)) {
		ogc_residents_mask(res);
	} else if (shows_sensitive(res)) {
		json_t *what = json_array();

		if (json_is_string(json_object_get(res, "id_number")))
			json_array_append_new(what, json_string("id_number"));
		if (json_is_string(json_object_get(res, "phone")))
			json_array_append_new(what, json_string("phone"));
		id_text(id, sid);
		what = json_pack("{s:o}", "fields", what);
		if (audit_sensitive(req, host, sid, ogc_util_json_id(res, "grid_id"), what) != 0) {
			json_decref(what);
			json_decref(res);
			return;
		}
		json_decref(what);
	}
	host->reply_json(req, 200, res);
}

/* ------------------------------------------------------------------ */
/* PATCH /api/v1/residents/{id} */

/* Refuses a change of a life-status member: those change through events.
 * 0 fine; -1 after a 422. */
static int check_life_members(og_req *req, json_t *body, json_t *stored)
{
	static const char *const keys[] = {"life_status", "life_status_date"};

	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_object_get(body, keys[i]);
		json_t *cur = json_object_get(stored, keys[i]);

		if (v != NULL && !json_equal(v, cur ? cur : json_null())) {
			ogc_util_invalid(
			        req, keys[i],
			        "life status changes through life events: record a life event "
			        "instead (POST /api/v1/residents/{id}/events)");
			return -1;
		}
	}
	return 0;
}

/*
 * The row a PATCH asks for: the stored fields overlaid with the patch p
 * (both borrowed), checked as a whole.  A new ID number re-derives birth
 * date and gender unless the patch gives them; dropping the number makes
 * id_type none; leaving floating drops the registered province.  0 with
 * *out new; -1 after a 422.
 */
static int merge_patch(og_req *req, json_t *stored, json_t *p, json_t **out)
{
	json_t *m = json_object(), *o = NULL;
	const char *field, *ptype, *stype;
	char why[256];
	bool p_type = json_object_get(p, "id_type") != NULL;
	bool p_num = json_object_get(p, "id_number") != NULL;

	for (size_t i = 0; writable_fields[i] != NULL; i++) {
		json_t *v = json_object_get(stored, writable_fields[i]);

		json_object_set(m, writable_fields[i], v != NULL ? v : json_null());
	}
	json_object_update(m, p);
	stype = json_string_value(json_object_get(stored, "id_type"));
	ptype = json_string_value(json_object_get(p, "id_type"));
	if (p_num && !p_type) {
		if (json_is_null(json_object_get(p, "id_number")))
			json_object_set_new(m, "id_type", json_string("none"));
		else if (stype != NULL && strcmp(stype, "none") == 0)
			json_object_set_new(m, "id_type", json_string("resident_id"));
	}
	if (p_type && !p_num && ptype != NULL && strcmp(ptype, "none") == 0)
		json_object_set_new(m, "id_number", json_null());
	if (json_object_get(p, "gender") == NULL)
		json_object_del(m, "gender");
	if (json_object_get(p, "birth_date") == NULL)
		json_object_del(m, "birth_date");
	if (json_object_get(p, "residence_status") != NULL &&
	    json_object_get(p, "registered_province") == NULL &&
	    strcmp(json_string_value(json_object_get(p, "residence_status")), "floating") != 0)
		json_object_set_new(m, "registered_province", json_null());

	if (ogc_residents_validate(m, false, &o, &field, why, sizeof(why)) != 0) {
		json_decref(m);
		ogc_util_invalid(req, field, why);
		return -1;
	}
	json_decref(m);
	/* Not derivable from the (new) number: keep what was stored. */
	if (json_object_get(p, "gender") == NULL && json_is_null(json_object_get(o, "gender")))
		json_object_set(o, "gender", json_object_get(stored, "gender"));
	if (json_object_get(p, "birth_date") == NULL &&
	    json_is_null(json_object_get(o, "birth_date")))
		json_object_set(o, "birth_date", json_object_get(stored, "birth_date"));
	*out = o;
	return 0;
}

/* Grid and household of a patched row: a new household (in scope) brings
 * its grid unless grid_id is given too, and then they must agree; a new
 * grid must be an open grid in scope and agree with the household kept.
 * 0, or -1 after the reply. */
static int patch_placement(og_req *req, const og_host_api *host, json_t *stored, json_t *p,
                           json_t *row)
{
	int64_t sgrid = ogc_util_json_id(stored, "grid_id");
	int64_t shh = ogc_util_json_id(stored, "household_id");
	int64_t grid = ogc_util_json_id(row, "grid_id");
	int64_t hh = ogc_util_json_id(row, "household_id"), hgrid;

	if (json_object_get(p, "household_id") != NULL && hh > 0 && hh != shh) {
		if (household_grid(req, host, hh, "household_id", &hgrid) != 0)
			return -1;
		if (json_object_get(p, "grid_id") == NULL) {
			grid = hgrid;
			json_object_set_new(row, "grid_id", json_integer(grid));
		} else if (hgrid != grid) {
			ogc_util_invalid(req, "household_id",
			                 "the household is in another grid than grid_id");
			return -1;
		}
	}
	if (grid != sgrid) {
		if (check_grid(req, host, grid) != 0)
			return -1;
		if (hh > 0 && hh == shh) {
			if (household_grid(req, host, hh, "household_id", &hgrid) != 0)
				return -1;
			if (hgrid != grid) {
				ogc_util_invalid(
				        req, "household_id",
				        "the resident's household is in another grid: give "
				        "household_id (a household of the new grid, or null) "
				        "with grid_id");
				return -1;
			}
		}
	}
	return 0;
}

static bool row_changed(json_t *stored, json_t *row)
{
	for (size_t i = 0; writable_fields[i] != NULL; i++) {
		json_t *a = json_object_get(stored, writable_fields[i]);
		json_t *b = json_object_get(row, writable_fields[i]);

		if (!json_equal(a ? a : json_null(), b ? b : json_null()))
			return true;
	}
	return false;
}

static void residents_patch(og_req *req, const og_host_api *host)
{
	json_t *body = host->body(req), *stored = NULL, *p = NULL, *row = NULL, *res = NULL;
	const char *field, *params[3], *newnum, *oldnum;
	char why[256], sid[24], sver[24], *text;
	int64_t id, version;
	int n;

	if (host->path_id(req, "id", &id) != 0)
		return;
	if (!ogc_util_body_object(req, body, false))
		return;
	if (host->client_version(req, body, &version) != 0)
		return;
	if (load_resident(req, host, id, true, &stored) != 1)
		return;
	if (ogc_util_json_id(stored, "version") != version) {
		host->reply_error(req, 409, "version_conflict",
		                  "the resident was changed since you read it; reload and retry",
		                  "version");
		goto out;
	}
	if (check_life_members(req, body, stored) != 0)
		goto out;
	if (ogc_residents_validate(body, true, &p, &field, why, sizeof(why)) != 0) {
		ogc_util_invalid(req, field, why);
		goto out;
	}
	if (merge_patch(req, stored, p, &row) != 0)
		goto out;
	if (patch_placement(req, host, stored, p, row) != 0)
		goto out;
	if (!row_changed(stored, row)) {
		/* Nothing to write: no new version, no audit row, no hook. */
		if (!may_see_sensitive(req, host))
			ogc_residents_mask(stored);
		host->reply_json(req, 200, stored);
		stored = NULL;
		goto out;
	}
	newnum = json_string_value(json_object_get(row, "id_number"));
	oldnum = json_string_value(json_object_get(stored, "id_number"));
	if (newnum != NULL && (oldnum == NULL || strcmp(newnum, oldnum) != 0)) {
		const char *dp[2] = {newnum, NULL};
		og_result *r;
		bool taken;

		id_text(id, sid);
		dp[1] = sid;
		r = host->query(
		        req,
		        "SELECT 1 FROM core.resident WHERE id_number = $1 AND id <> $2::bigint", 2,
		        dp);
		if (r == NULL)
			goto out;
		taken = host->result_rows(r) > 0;
		host->result_free(r);
		if (taken) {
			reply_duplicate(req, host, newnum, id);
			goto out;
		}
	}

	id_text(id, sid);
	id_text(version, sver);
	text = json_dumps(row, JSON_COMPACT);
	params[0] = sid;
	params[1] = sver;
	params[2] = text;
	n = host->query_json(req,
	                     "WITH x AS (UPDATE core.resident r SET (" WRITABLE_COLUMNS ") = "
	                     "  (SELECT " WRITABLE_COLUMNS " FROM "
	                     "   json_populate_record(NULL::core.resident, $3::json)), "
	                     "  version = r.version + 1, updated_at = now() "
	                     "  WHERE r.id = $1::bigint AND r.version = $2::int RETURNING r.*) "
	                     "SELECT " OGC_RESIDENT_JSON_SQL " FROM x",
	                     3, params, &res);
	free(text);
	if (n < 0) {
		/* A concurrent registration took the number after the check. */
		if (strcmp(host->last_sqlstate(req), "23505") == 0)
			host->reply_error(req, 409, "duplicate",
			                  "a resident with this ID number is already registered "
			                  "(one person, one row)",
			                  "id_number");
		goto out;
	}
	if (n == 0) {
		host->reply_error(req, 409, "version_conflict",
		                  "the resident was changed since you read it; reload and retry",
		                  "version");
		goto out;
	}
	if (host->audit(req, "update", "resident", sid, ogc_util_json_id(res, "grid_id"), stored,
	                res) != 0)
		goto out;
	if (host->fire(req, "resident.updated", id, res) != 0)
		goto out;
	if (!may_see_sensitive(req, host))
		ogc_residents_mask(res);
	host->reply_json(req, 200, res);
	res = NULL; /* stolen */
out:
	json_decref(stored);
	json_decref(p);
	json_decref(row);
	json_decref(res);
}

/* ------------------------------------------------------------------ */
/* POST /api/v1/residents/{id}/events */

struct event_in {
	const char *kind; /* static */
	char occurred_on[11];
	json_t *details;      /* borrowed from the body, or NULL */
	bool has_household;   /* household_id given (household_changed) */
	int64_t household_id; /* 0 for null: leaves every household */
	json_t *relation;     /* new, or NULL when not given */
	int64_t version;      /* 0 when not given */
};

static const char *const event_members[] = {"kind",     "occurred_on", "details", "household_id",
                                            "relation", "version",     NULL};

/* Reads and checks an event body; 0, or -1 after a 422. */
static int read_event(og_req *req, json_t *body, struct event_in *e)
{
	const char *key, *s, *field;
	char why[200];
	json_t *val, *rel;
	size_t n;
	int rc;

	memset(e, 0, sizeof(*e));
	json_object_foreach(body, key, val) {
		if (!in_list(event_members, key)) {
			char msg[128];

			snprintf(msg, sizeof(msg), "unknown field %.64s", key);
			ogc_req_reply_error(req, 422, "invalid", msg, key);
			return -1;
		}
	}
	rc = member_text(body, "kind", &s, &n);
	for (size_t i = 0; rc == 1 && n > 0 && event_kinds[i] != NULL; i++)
		if (strlen(event_kinds[i]) == n && strncmp(event_kinds[i], s, n) == 0)
			e->kind = event_kinds[i];
	if (e->kind == NULL) {
		ogc_util_invalid(req, "kind",
		                 "kind must be moved_in, moved_out, deceased or household_changed");
		return -1;
	}
	rc = member_text(body, "occurred_on", &s, &n);
	if (rc < 0 || n == 0) {
		ogc_util_invalid(req, "occurred_on", "occurred_on (YYYY-MM-DD) is required");
		return -1;
	}
	if (check_date(s, n, e->occurred_on, why, sizeof(why)) != 0) {
		char msg[240];

		snprintf(msg, sizeof(msg), "occurred_on %s", why);
		ogc_util_invalid(req, "occurred_on", msg);
		return -1;
	}
	val = json_object_get(body, "details");
	if (val != NULL && !json_is_null(val)) {
		if (!json_is_object(val)) {
			ogc_util_invalid(req, "details", "details must be a JSON object");
			return -1;
		}
		e->details = val;
	}
	val = json_object_get(body, "version");
	if (val != NULL) {
		if (!json_is_integer(val) || json_integer_value(val) < 1) {
			ogc_util_invalid(req, "version", "version must be the integer you read");
			return -1;
		}
		e->version = (int64_t)json_integer_value(val);
	}
	rc = member_id(body, "household_id", &e->household_id);
	if (rc != 0 && strcmp(e->kind, "household_changed") != 0) {
		ogc_util_invalid(req, "household_id", "household_id is only for household_changed");
		return -1;
	}
	if (rc < 0) {
		ogc_util_invalid(req, "household_id",
		                 "household_id must be a household's id (an integer > 0) or null");
		return -1;
	}
	if (rc == 0 && strcmp(e->kind, "household_changed") == 0) {
		ogc_util_invalid(req, "household_id",
		                 "household_id (the new household, or null) is required");
		return -1;
	}
	e->has_household = rc == 1;
	if (json_object_get(body, "relation") != NULL) {
		if (strcmp(e->kind, "household_changed") != 0) {
			ogc_util_invalid(req, "relation", "relation is only for household_changed");
			return -1;
		}
		rel = json_object();
		if (short_text(body, rel, "relation", relations, &field, why, sizeof(why)) < 0) {
			json_decref(rel);
			ogc_util_invalid(req, "relation", why);
			return -1;
		}
		e->relation = json_incref(json_object_get(rel, "relation"));
		json_decref(rel);
	}
	return 0;
}

static void residents_event(og_req *req, const og_host_api *host)
{
	json_t *body = host->body(req), *before = NULL, *res = NULL, *event = NULL;
	json_t *details = NULL, *audit_after;
	struct event_in e;
	const char *status, *fire, *params[8], *birth, *life;
	char sid[24], uid[24], shh[24], sgrid[24], *dtext = NULL, *rtext = NULL;
	int64_t id, grid = 0;
	int n;

	if (host->path_id(req, "id", &id) != 0)
		return;
	if (!ogc_util_body_object(req, body, false))
		return;
	if (read_event(req, body, &e) != 0)
		return;
	if (load_resident(req, host, id, true, &before) != 1)
		goto out;
	if (e.version > 0 && ogc_util_json_id(before, "version") != e.version) {
		host->reply_error(req, 409, "version_conflict",
		                  "the resident was changed since you read it; reload and retry",
		                  "version");
		goto out;
	}
	life = json_string_value(json_object_get(before, "life_status"));
	if (life != NULL && strcmp(life, "deceased") == 0) {
		host->reply_error(req, 409, "deceased",
		                  "the resident is recorded as deceased: no later life event",
		                  "kind");
		goto out;
	}
	if (life != NULL && strcmp(life, "moved_out") == 0 && strcmp(e.kind, "moved_out") == 0) {
		host->reply_error(req, 409, "moved_out",
		                  "the resident has already moved out (record moved_in first)",
		                  "kind");
		goto out;
	}
	birth = json_string_value(json_object_get(before, "birth_date"));
	if (birth != NULL && strcmp(e.occurred_on, birth) < 0) {
		ogc_util_invalid(req, "occurred_on",
		                 "occurred_on is before the resident's birth date");
		goto out;
	}
	if (e.has_household) {
		if (e.household_id == ogc_util_json_id(before, "household_id")) {
			ogc_util_invalid(req, "household_id",
			                 "the resident is already in this household");
			goto out;
		}
		if (e.household_id > 0 &&
		    household_grid(req, host, e.household_id, "household_id", &grid) != 0)
			goto out;
		if (grid > 0 && grid != ogc_util_json_id(before, "grid_id") &&
		    check_grid(req, host, grid) != 0)
			goto out;
		/* The move itself goes into the event's details. */
		details = e.details != NULL ? json_deep_copy(e.details) : json_object();
		json_object_set(details, "from_household_id",
		                json_object_get(before, "household_id"));
		json_object_set_new(details, "to_household_id",
		                    e.household_id > 0 ? json_integer(e.household_id)
		                                       : json_null());
		if (grid > 0 && grid != ogc_util_json_id(before, "grid_id")) {
			json_object_set(details, "from_grid_id",
			                json_object_get(before, "grid_id"));
			json_object_set_new(details, "to_grid_id", json_integer(grid));
		}
	} else if (e.details != NULL) {
		details = json_incref(e.details);
	}

	id_text(id, sid);
	id_text(host->caller(req)->user_id, uid);
	if (details != NULL)
		dtext = json_dumps(details, JSON_COMPACT);
	params[0] = sid;
	params[1] = e.kind;
	params[2] = e.occurred_on;
	params[3] = dtext;
	params[4] = host->caller(req)->user_id > 0 ? uid : NULL;
	n = host->query_json(req,
	                     "INSERT INTO core.resident_event (resident_id, kind, occurred_on, "
	                     "  details, recorded_by) "
	                     "VALUES ($1::bigint, $2, $3::date, $4::jsonb, $5::bigint) "
	                     "RETURNING json_build_object('id', id, 'resident_id', resident_id, "
	                     "  'kind', kind, 'occurred_on', occurred_on, 'details', details, "
	                     "  'recorded_by', recorded_by, 'recorded_at', recorded_at)",
	                     5, params, &event);
	if (n != 1)
		goto out;

	status = strcmp(e.kind, "moved_out") == 0  ? "moved_out"
	         : strcmp(e.kind, "deceased") == 0 ? "deceased"
	         : strcmp(e.kind, "moved_in") == 0 ? "active"
	                                           : NULL;
	id_text(e.household_id, shh);
	id_text(grid, sgrid);
	if (e.relation != NULL && !json_is_null(e.relation))
		rtext = strdup(json_string_value(e.relation));
	params[1] = status;
	params[2] = e.occurred_on;
	params[3] = e.has_household ? "t" : "f";
	params[4] = e.household_id > 0 ? shh : NULL;
	params[5] = grid > 0 ? sgrid : NULL;
	params[6] = e.relation != NULL ? "t" : "f";
	params[7] = rtext;
	n = host->query_json(
	        req,
	        "WITH x AS (UPDATE core.resident r SET "
	        "  life_status = coalesce($2::text, r.life_status), "
	        "  life_status_date = CASE WHEN $2::text IS NULL "
	        "    THEN r.life_status_date ELSE $3::date END, "
	        "  household_id = CASE WHEN $4::boolean THEN $5::bigint "
	        "    ELSE r.household_id END, "
	        "  grid_id = coalesce($6::bigint, r.grid_id), "
	        "  relation = CASE WHEN $7::boolean THEN $8::text ELSE r.relation END, "
	        "  version = r.version + 1, updated_at = now() "
	        "  WHERE r.id = $1::bigint RETURNING r.*) "
	        "SELECT " OGC_RESIDENT_JSON_SQL " FROM x",
	        8, params, &res);
	if (n != 1) {
		if (n == 0)
			not_found(req, host);
		goto out;
	}
	audit_after = json_pack("{s:O, s:O}", "event", event, "resident", res);
	n = host->audit(req, "event", "resident", sid, ogc_util_json_id(res, "grid_id"), before,
	                audit_after);
	json_decref(audit_after);
	if (n != 0)
		goto out;
	fire = strcmp(e.kind, "moved_out") == 0  ? "resident.moved_out"
	       : strcmp(e.kind, "deceased") == 0 ? "resident.deceased"
	                                         : "resident.updated";
	if (host->fire(req, fire, id, res) != 0)
		goto out;
	if (!may_see_sensitive(req, host))
		ogc_residents_mask(res);
	host->reply_json(req, 201, json_pack("{s:O, s:O}", "event", event, "resident", res));
out:
	free(dtext);
	free(rtext);
	json_decref(e.relation);
	json_decref(details);
	json_decref(before);
	json_decref(res);
	json_decref(event);
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/residents/{id}/history */

static void residents_history(og_req *req, const og_host_api *host)
{
	json_t *res = NULL, *items = NULL, *item, *ch;
	const char *params[2];
	char sid[24];
	bool sensitive, shown = false;
	size_t i, k;
	int64_t id;

	if (host->path_id(req, "id", &id) != 0)
		return;
	if (load_resident(req, host, id, false, &res) != 1)
		return;
	id_text(id, sid);
	params[0] = sid;
	params[1] = sid;
	/* Events from core.resident_event; the registration and every field
	 * change from the audit rows the writes above left, merged in the
	 * order they were recorded. */
	if (host->query_json(
	            req,
	            "SELECT coalesce(json_agg(h.j ORDER BY h.at, h.src, h.ord), '[]') FROM ("
	            "  SELECT e.recorded_at AS at, 1 AS src, e.id AS ord, json_build_object("
	            "    'at', e.recorded_at, 'kind', 'event', 'event_id', e.id, 'event', e.kind, "
	            "    'occurred_on', e.occurred_on, 'details', e.details, 'by', u.username) AS "
	            "j "
	            "  FROM core.resident_event e LEFT JOIN core.app_user u ON u.id = "
	            "e.recorded_by "
	            "  WHERE e.resident_id = $1::bigint "
	            "  UNION ALL "
	            "  SELECT a.at, CASE WHEN a.action = 'create' THEN 0 ELSE 2 END, a.id, "
	            "    json_build_object('at', a.at, "
	            "      'kind', CASE WHEN a.action = 'create' THEN 'created' ELSE 'change' END, "
	            "      'by', a.username, 'changes', (SELECT "
	            "coalesce(json_agg(json_build_object("
	            "        'field', f.key, 'from', a.before -> f.key, 'to', f.value) "
	            "        ORDER BY f.key), '[]') FROM jsonb_each(a.after) f "
	            "        WHERE f.key NOT IN ('id', 'age', 'tags', 'version', 'created_at', "
	            "                            'updated_at') "
	            "          AND coalesce(a.before -> f.key, 'null'::jsonb) IS DISTINCT FROM "
	            "f.value)) "
	            "  FROM core.audit a "
	            "  WHERE a.entity = 'resident' AND a.entity_id = $2::text "
	            "    AND a.action IN ('create', 'update')) h",
	            2, params, &items) < 0)
		goto out;
	sensitive = may_see_sensitive(req, host);
	json_array_foreach(items, i, item) {
		json_array_foreach(json_object_get(item, "changes"), k, ch) {
			const char *f = json_string_value(json_object_get(ch, "field"));
			bool phone = f != NULL && strcmp(f, "phone") == 0;

			if (f == NULL || (!phone && strcmp(f, "id_number") != 0))
				continue;
			if (!sensitive) {
				mask_value(ch, "from", phone);
				mask_value(ch, "to", phone);
			} else if (json_is_string(json_object_get(ch, "from")) ||
			           json_is_string(json_object_get(ch, "to"))) {
				shown = true;
			}
		}
	}
	if (shown) {
		json_t *what = json_pack("{s:[s]}", "fields", "history");

		if (audit_sensitive(req, host, sid, ogc_util_json_id(res, "grid_id"), what) != 0) {
			json_decref(what);
			goto out;
		}
		json_decref(what);
	}
	host->reply_json(req, 200, json_pack("{s:O}", "items", items));
out:
	json_decref(items);
	json_decref(res);
}

/* ------------------------------------------------------------------ */
/* GET /api/v1/residents */

static const char *const list_params[] = {"q",      "region",  "household", "tag",
                                          "status", "age_min", "age_max",   "residence",
                                          "limit",  "cursor",  NULL};

/* An optional non-negative integer parameter up to max; 0 absent, 1 set,
 * -1 after a 422. */
static int int_param(og_req *req, const og_host_api *host, const char *name, int max, int *out)
{
	const char *s = host->query_param(req, name);
	char msg[96];
	long v = 0;

	if (s == NULL || *s == '\0')
		return 0;
	for (const char *p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - s > 4) {
			v = -1;
			break;
		}
		v = v * 10 + (*p - '0');
	}
	if (v < 0 || v > max) {
		snprintf(msg, sizeof(msg), "%s must be an integer from 0 to %d", name, max);
		ogc_util_invalid(req, name, msg);
		return -1;
	}
	*out = (int)v;
	return 1;
}

/* An optional id parameter; 0 absent, 1 set, -1 after a 422. */
static int id_param(og_req *req, const og_host_api *host, const char *name, int64_t *out)
{
	const char *s = host->query_param(req, name);
	char msg[96];

	if (s == NULL || *s == '\0')
		return 0;
	if (!ogc_util_parse_id(s, out)) {
		snprintf(msg, sizeof(msg), "%s must be an id (an integer > 0)", name);
		ogc_util_invalid(req, name, msg);
		return -1;
	}
	return 1;
}

/* An 18-character resident ID number (17 digits, then a digit or X)? */
static bool looks_like_id(const char *s, size_t n)
{
	if (n != 18)
		return false;
	for (size_t i = 0; i < 17; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return (s[17] >= '0' && s[17] <= '9') || s[17] == 'X' || s[17] == 'x';
}

/* Letters and digits only, with at least one digit: could be a passport
 * or permit number. */
static bool looks_like_other_id(const char *s, size_t n)
{
	bool digit = false;

	if (n < 5 || n > ID_NUMBER_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			digit = true;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return false;
	}
	return digit;
}

/* Search terms of q: exactly one of *id (an ID number), *phone or
 * *pattern (ILIKE, % and _ escaped) is set, plus *other_id for a q that
 * might be a foreign number.  Strings are new (free them).  0, or -1
 * after a 422 (or a 500 when out of memory). */
static int read_q(og_req *req, const og_host_api *host, char **id, char **phone, char **pattern,
                  char **other_id)
{
	const char *q = host->query_param(req, "q");
	char buf[Q_MAX_CHARS * 4 + 8], norm[64];
	json_t *tmp;
	const char *s;
	size_t n;
	char *p;

	*id = *phone = *pattern = *other_id = NULL;
	if (q == NULL)
		return 0;
	/* Trimmed like a body member, so "  张三 " finds 张三. */
	tmp = json_pack("{s:s}", "q", q);
	if (tmp == NULL || member_text(tmp, "q", &s, &n) != 1 || chars_n(s, n) > Q_MAX_CHARS ||
	    n >= sizeof(buf)) {
		json_decref(tmp);
		ogc_util_invalid(req, "q", "q must be at most 50 characters of text");
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	json_decref(tmp);
	if (n == 0)
		return 0;
	if (looks_like_id(buf, n)) {
		if (buf[17] == 'x')
			buf[17] = 'X';
		*id = strdup(buf);
		return 0;
	}
	if (ogc_phone_check(buf, norm, sizeof(norm)) == 0) {
		*phone = strdup(norm);
		return 0;
	}
	if (looks_like_other_id(buf, n)) {
		*other_id = strdup(buf);
		for (p = *other_id; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
	}
	*pattern = ogc_util_like_pattern(buf, n);
	if (*pattern == NULL) {
		free(*other_id);
		*other_id = NULL;
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	return 0;
}

/* The list statement as it is assembled: text and parameters (borrowed). */
typedef struct list_sql {
	char sql[6144];
	size_t len;
	const char *params[16];
	int n;
	bool failed; /* too long or too many parameters: a bug, answered 500 */
} list_sql;

static void lb_init(list_sql *lb)
{
	lb->sql[0] = '\0';
	lb->len = 0;
	lb->n = 0;
	lb->failed = false;
}

/* Adds value as the next parameter and returns its number ($n). */
static int lb_param(list_sql *lb, const char *value)
{
	if (lb->n >= (int)(sizeof(lb->params) / sizeof(lb->params[0]))) {
		lb->failed = true;
		return 1;
	}
	lb->params[lb->n++] = value;
	return lb->n;
}

static void lb_printf(list_sql *lb, const char *fmt, ...) OG_PRINTF(2, 3);
static void lb_printf(list_sql *lb, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (lb->failed)
		return;
	va_start(ap, fmt);
	w = vsnprintf(lb->sql + lb->len, sizeof(lb->sql) - lb->len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= sizeof(lb->sql) - lb->len) {
		lb->failed = true;
		return;
	}
	lb->len += (size_t)w;
}

/* Parameter numbers of the list's filters; 0 where a filter is not given. */
typedef struct list_filters {
	int cursor, limit, region, scope, household, tag, status, age_min, age_max, residence,
	        pattern, other_id, id_number, phone;
} list_filters;

/* The filters on x (core.resident) other than region and scope. */
static void lb_filters(list_sql *lb, const list_filters *f)
{
	if (f->household)
		lb_printf(lb, " AND x.household_id = $%d::bigint", f->household);
	if (f->tag)
		lb_printf(lb,
		          " AND EXISTS (SELECT 1 FROM core.resident_tag t "
		          "WHERE t.resident_id = x.id AND t.tag = $%d::text)",
		          f->tag);
	if (f->status)
		lb_printf(lb, " AND x.life_status = $%d::text", f->status);
	if (f->age_min)
		lb_printf(lb,
		          " AND x.birth_date <= (current_date - make_interval(years => $%d::int))::date",
		          f->age_min);
	if (f->age_max)
		lb_printf(lb,
		          " AND x.birth_date > "
		          "(current_date - make_interval(years => $%d::int + 1))::date",
		          f->age_max);
	if (f->residence)
		lb_printf(lb, " AND x.residence_status = $%d::text", f->residence);
	if (f->pattern && f->other_id)
		lb_printf(lb, " AND (x.name ILIKE $%d::text OR x.id_number = $%d::text)", f->pattern,
		          f->other_id);
	else if (f->pattern)
		lb_printf(lb, " AND x.name ILIKE $%d::text", f->pattern);
	if (f->id_number)
		lb_printf(lb, " AND x.id_number = $%d::text", f->id_number);
	if (f->phone)
		lb_printf(lb, " AND x.phone = $%d::text", f->phone);
}

/*
 * The list for a caller who sees every field: PostgreSQL writes the page's
 * JSON and the daemon passes the text on untouched.  Why: parsing 50
 * residents with Jansson, walking them and encoding them again was most of
 * the daemon's CPU for a list (perf: 70 % in Jansson and malloc, 1.7 ms a
 * request on 1,000,000 residents).  The next cursor and the ids whose ID
 * number or phone the reply shows (for the audit row) come from the same
 * statement.  lb holds the page (limit + 1 rows) and its parameters.
 * 0, or -1 with the error reply set.
 */
static int list_unmasked(og_req *req, const og_host_api *host, list_sql *lb, bool region,
                         int tag, int limit, bool custom_plan)
{
	char slim[16];
	og_result *r;
	json_t *shown;
	const char *items, *next;
	int plim;

	snprintf(slim, sizeof(slim), "%d", limit);
	plim = lb_param(lb, slim);
	lb_printf(lb, "SELECT %s, ", region ? "EXISTS (SELECT 1 FROM rr)" : "true");
	if (tag)
		lb_printf(lb, "EXISTS (SELECT 1 FROM core.tag WHERE code = $%d::text), ", tag);
	else
		lb_printf(lb, "true, ");
	lb_printf(lb,
	          "(SELECT coalesce(json_agg(" OGC_RESIDENT_JSON_SQL " ORDER BY x.id), '[]') "
	          "FROM (SELECT page.id FROM page ORDER BY page.id LIMIT $%d::int) p "
	          "JOIN core.resident x ON x.id = p.id), "
	          "CASE WHEN (SELECT count(*) FROM page) > $%d::int THEN (SELECT page.id FROM page "
	          "ORDER BY page.id OFFSET $%d::int - 1 LIMIT 1) END, "
	          "(SELECT coalesce(json_agg(x.id ORDER BY x.id), '[]') "
	          "FROM (SELECT page.id FROM page ORDER BY page.id LIMIT $%d::int) p "
	          "JOIN core.resident x ON x.id = p.id "
	          "WHERE x.id_number IS NOT NULL OR x.phone IS NOT NULL)",
	          plim, plim, plim, plim);
	if (custom_plan)
		lb_printf(lb, " " OGC_SQL_CUSTOM_PLAN);
	if (lb->failed) {
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	r = host->query(req, lb->sql, lb->n, lb->params);
	if (r == NULL)
		return -1;
	if (!host->result_bool(r, 0, 0)) {
		host->result_free(r);
		host->reply_error(req, 404, "not_found", "no such region", "region");
		return -1;
	}
	if (!host->result_bool(r, 0, 1)) {
		host->result_free(r);
		ogc_util_invalid(req, "tag", "no such tag");
		return -1;
	}
	shown = json_loads(host->result_text(r, 0, 4), 0, NULL);
	if (json_array_size(shown) > 0) {
		json_t *what = json_pack("{s:O}", "ids", shown);
		int rc = audit_sensitive(req, host, NULL, host->caller(req)->scope_region_id, what);

		json_decref(what);
		if (rc != 0) {
			json_decref(shown);
			host->result_free(r);
			return -1;
		}
	}
	json_decref(shown);
	/* The same members, in the same order, as ogc_util_list writes. */
	items = host->result_text(r, 0, 2);
	next = host->result_text(r, 0, 3);
	req->raw = evbuffer_new();
	if (req->raw == NULL) {
		host->result_free(r);
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		return -1;
	}
	req->raw_type = "application/json; charset=utf-8";
	evbuffer_add(req->raw, "{\"items\":", 9);
	if (items != NULL)
		evbuffer_add(req->raw, items, strlen(items));
	else
		evbuffer_add(req->raw, "[]", 2);
	if (next != NULL)
		evbuffer_add_printf(req->raw, ",\"next_cursor\":\"%s\"}", next);
	else
		evbuffer_add(req->raw, ",\"next_cursor\":null}", 20);
	req->status = 200;
	host->result_free(r);
	return 0;
}

static void residents_list(og_req *req, const og_host_api *host)
{
	const char *tag, *status, *residence = NULL;
	char *qid = NULL, *qphone = NULL, *qpattern = NULL, *qother = NULL;
	char scursor[24], slimit[24], sregion[24], shh[24], samin[8], samax[8];
	json_t *out = NULL, *items, *item;
	int64_t cursor, region = 0, hh = 0;
	int limit, age_min = -1, age_max = -1, rc_region, rc_hh, rc;
	const char *scope;
	list_sql lb;
	list_filters f;
	bool sensitive, custom_plan;

	/* An unknown parameter is a typo that would silently widen the list. */
	for (struct evkeyval *kv = req->query.tqh_first; kv != NULL; kv = kv->next.tqe_next) {
		if (!in_list(list_params, kv->key)) {
			char msg[128];

			snprintf(msg, sizeof(msg), "unknown parameter %.64s", kv->key);
			ogc_req_reply_error(req, 422, "invalid", msg, kv->key);
			return;
		}
	}
	if (host->page(req, &limit, &cursor) != 0)
		return;
	if ((rc_region = id_param(req, host, "region", &region)) < 0 ||
	    (rc_hh = id_param(req, host, "household", &hh)) < 0)
		return;
	tag = host->query_param(req, "tag");
	if (tag != NULL && *tag == '\0')
		tag = NULL;
	if (tag != NULL && strlen(tag) > TAG_MAX) {
		ogc_util_invalid(req, "tag", "no such tag");
		return;
	}
	status = host->query_param(req, "status");
	if (status == NULL || *status == '\0')
		status = "active";
	if (strcmp(status, "active") != 0 && strcmp(status, "moved_out") != 0 &&
	    strcmp(status, "deceased") != 0 && strcmp(status, "all") != 0) {
		ogc_util_invalid(req, "status",
		                 "status must be active, moved_out, deceased or all");
		return;
	}
	if (int_param(req, host, "age_min", AGE_MAX, &age_min) < 0 ||
	    int_param(req, host, "age_max", AGE_MAX, &age_max) < 0)
		return;
	if (age_min >= 0 && age_max >= 0 && age_min > age_max) {
		ogc_util_invalid(req, "age_max", "age_max must not be below age_min");
		return;
	}
	{
		const char *r = host->query_param(req, "residence");

		if (r != NULL && *r != '\0' &&
		    (residence = lookup(residences, r, strlen(r))) == NULL) {
			ogc_util_invalid(req, "residence",
			                 "residence must be registered, resident or floating");
			return;
		}
	}
	if (read_q(req, host, &qid, &qphone, &qpattern, &qother) != 0)
		return;

	id_text(cursor, scursor);
	snprintf(slimit, sizeof(slimit), "%d", limit + 1); /* one more: is there a next page? */
	id_text(region, sregion);
	id_text(hh, shh);
	snprintf(samin, sizeof(samin), "%d", age_min);
	snprintf(samax, sizeof(samax), "%d", age_max);
	scope = ogc_util_scope(req);
	/* Only the filters given go into the statement, each with its own
	 * parameter: the planner sees no "$n IS NULL OR" to fold, and each
	 * combination is one stable text.  The page is chosen on ids alone
	 * (index-only on resident_grid_status for the usual grid list), and
	 * only its rows are read whole and turned into JSON. */
	lb_init(&lb);
	f.cursor = lb_param(&lb, scursor);
	f.limit = lb_param(&lb, slimit);
	f.region = rc_region == 1 ? lb_param(&lb, sregion) : 0;
	f.scope = *scope != '\0' ? lb_param(&lb, scope) : 0;
	f.household = rc_hh == 1 ? lb_param(&lb, shh) : 0;
	f.tag = tag != NULL ? lb_param(&lb, tag) : 0;
	f.status = strcmp(status, "all") != 0 ? lb_param(&lb, status) : 0;
	f.age_min = age_min >= 0 ? lb_param(&lb, samin) : 0;
	f.age_max = age_max >= 0 ? lb_param(&lb, samax) : 0;
	f.residence = residence != NULL ? lb_param(&lb, residence) : 0;
	f.pattern = qpattern != NULL ? lb_param(&lb, qpattern) : 0;
	f.other_id = qpattern != NULL && qother != NULL ? lb_param(&lb, qother) : 0;
	f.id_number = qid != NULL ? lb_param(&lb, qid) : 0;
	f.phone = qphone != NULL ? lb_param(&lb, qphone) : 0;
	if (rc_region == 1)
		lb_printf(&lb,
		          "WITH rr AS (SELECT r.path, r.level FROM core.region r "
		          "WHERE r.id = $%d::bigint",
		          f.region);
	if (rc_region == 1 && f.scope)
		lb_printf(&lb, " AND r.path <@ $%d::text::ltree", f.scope);
	if (rc_region == 1 && !f.pattern && !f.id_number && !f.phone) {
		/* A region's list.  A grid's (a grid worker's usual request) comes
		 * in id order straight from resident_grid_status; any other
		 * region's walks ids and keeps those under the region.  rr, inside
		 * the scope, gates each branch, and the plan depends on no value:
		 * this text may be prepared and its generic plan reused. */
		lb_printf(&lb,
		          "), page AS ((SELECT x.id FROM core.resident x "
		          "WHERE (SELECT level FROM rr) = 'grid' AND x.grid_id = $%d::bigint "
		          "AND x.id > $%d::bigint",
		          f.region, f.cursor);
		lb_filters(&lb, &f);
		lb_printf(&lb,
		          " ORDER BY x.id LIMIT $%d::int) UNION ALL (SELECT x.id "
		          "FROM core.resident x JOIN core.region g ON g.id = x.grid_id "
		          "WHERE (SELECT level FROM rr) <> 'grid' AND x.id > $%d::bigint "
		          "AND g.path <@ (SELECT path FROM rr)",
		          f.limit, f.cursor);
		lb_filters(&lb, &f);
		lb_printf(&lb, " ORDER BY x.id LIMIT $%d::int)) ", f.limit);
		custom_plan = false;
	} else {
		lb_printf(&lb,
		          "%s page AS (SELECT x.id FROM core.resident x JOIN core.region g "
		          "ON g.id = x.grid_id WHERE x.id > $%d::bigint",
		          rc_region == 1 ? ")," : "WITH", f.cursor);
		if (f.scope)
			lb_printf(&lb, " AND g.path <@ $%d::text::ltree", f.scope);
		if (rc_region == 1)
			lb_printf(&lb, " AND g.path <@ (SELECT path FROM rr)");
		lb_filters(&lb, &f);
		lb_printf(&lb, " ORDER BY x.id LIMIT $%d::int) ", f.limit);
		/* Planned for its values every time: a generic plan of "g.path
		 * <@ $n" cannot tell a grid worker's scope from a whole
		 * district's, nor a rare name from a common one. */
		custom_plan = true;
	}
	sensitive = may_see_sensitive(req, host);
	if (sensitive) {
		(void)list_unmasked(req, host, &lb, rc_region == 1, f.tag, limit, custom_plan);
		free(qid);
		free(qphone);
		free(qpattern);
		free(qother);
		return;
	}
	lb_printf(&lb, "SELECT json_build_object('region_ok', %s, ",
	          rc_region == 1 ? "EXISTS (SELECT 1 FROM rr)" : "true");
	if (f.tag)
		lb_printf(&lb, "'tag_ok', EXISTS (SELECT 1 FROM core.tag WHERE code = $%d::text), ",
		          f.tag);
	else
		lb_printf(&lb, "'tag_ok', true, ");
	lb_printf(&lb, "'items', coalesce((SELECT json_agg(" OGC_RESIDENT_JSON_SQL
	               " ORDER BY x.id) FROM page JOIN core.resident x ON x.id = page.id), "
	               "'[]'))");
	if (custom_plan)
		lb_printf(&lb, " " OGC_SQL_CUSTOM_PLAN);
	if (lb.failed) {
		host->reply_error(req, 500, "internal", "out of memory", NULL);
		rc = -1;
	} else {
		rc = host->query_json(req, lb.sql, lb.n, lb.params, &out);
	}
	free(qid);
	free(qphone);
	free(qpattern);
	free(qother);
	if (rc < 0)
		return;
	if (!json_is_true(json_object_get(out, "region_ok"))) {
		json_decref(out);
		host->reply_error(req, 404, "not_found", "no such region", "region");
		return;
	}
	if (!json_is_true(json_object_get(out, "tag_ok"))) {
		json_decref(out);
		ogc_util_invalid(req, "tag", "no such tag");
		return;
	}
	items = json_incref(json_object_get(out, "items"));
	json_decref(out);
	cursor = ogc_util_page_cut(&items, limit);
	{
		json_t *shown = json_array();
		size_t i;

		json_array_foreach(items, i, item) {
			if (!sensitive)
				ogc_residents_mask(item);
			else if (shows_sensitive(item))
				json_array_append_new(shown,
				                      json_integer(ogc_util_json_id(item, "id")));
		}
		if (json_array_size(shown) > 0) {
			json_t *what = json_pack("{s:o}", "ids", shown);

			rc = audit_sensitive(req, host, NULL, host->caller(req)->scope_region_id,
			                     what);
			json_decref(what);
			if (rc != 0) {
				json_decref(items);
				return;
			}
		} else {
			json_decref(shown);
		}
	}
	host->reply_json(req, 200, ogc_util_list(items, cursor));
}

/* ------------------------------------------------------------------ */
/* Routes and their OpenAPI detail */

/* The writable members of a resident, as a JSON Schema "properties". */
/* clang-format off */
#define RESIDENT_PROPERTIES                                                                        \
	"\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":50},"                         \
	"\"id_type\":{\"type\":\"string\",\"enum\":[\"resident_id\",\"passport\","                 \
	"\"hmt_permit\",\"foreign_permanent\",\"none\"],\"description\":"                          \
	"\"default: resident_id when an id_number is given, else none\"},"                         \
	"\"id_number\":{\"type\":\"string\",\"nullable\":true,\"maxLength\":40,"                   \
	"\"description\":\"an 18-character resident ID number is checked (GB 11643) "              \
	"and fixes birth_date and gender\"},"                                                      \
	"\"gender\":{\"type\":\"string\",\"nullable\":true,"                                       \
	"\"enum\":[\"male\",\"female\",\"男\",\"女\",null]},"                                      \
	"\"birth_date\":{\"type\":\"string\",\"format\":\"date\",\"nullable\":true},"              \
	"\"ethnicity\":{\"type\":\"string\",\"nullable\":true,\"maxLength\":20},"                  \
	"\"phone\":{\"type\":\"string\",\"nullable\":true,\"maxLength\":40,"                       \
	"\"description\":\"mainland mobile (optional +86) or landline with area "                  \
	"code\"},"                                                                                 \
	"\"residence_status\":{\"type\":\"string\",\"enum\":[\"registered\","                      \
	"\"resident\",\"floating\",\"户籍\",\"常住\",\"流动\"],"                                   \
	"\"description\":\"default: registered\"},"                                                \
	"\"registered_province\":{\"type\":\"string\",\"nullable\":true,"                          \
	"\"maxLength\":20,\"description\":\"only for floating residents\"},"                       \
	"\"grid_id\":{\"type\":\"integer\",\"minimum\":1},"                                        \
	"\"household_id\":{\"type\":\"integer\",\"minimum\":1,\"nullable\":true},"                 \
	"\"relation\":{\"type\":\"string\",\"nullable\":true,\"maxLength\":20,"                    \
	"\"description\":\"relation to the head: 户主, 配偶, 子, 女, 父母, 孙子女, "               \
	"兄弟姐妹, 其他 or free text\"}"
/* clang-format on */

static const char create_doc[] =
        "{\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":"
        "{\"type\":\"object\",\"required\":[\"name\",\"grid_id\"],\"properties\":"
        "{" RESIDENT_PROPERTIES "}}}}},"
        "\"parameters\":[{\"name\":\"Idempotency-Key\",\"in\":\"header\",\"required\":false,"
        "\"schema\":{\"type\":\"string\",\"maxLength\":200}}]}";

static const char patch_doc[] =
        "{\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":"
        "{\"type\":\"object\",\"description\":\"the fields to change, and the version read "
        "(or an If-Match header); life_status changes through life "
        "events\",\"properties\":{" RESIDENT_PROPERTIES
        ",\"version\":{\"type\":\"integer\",\"minimum\":1}}}}}},"
        "\"parameters\":[{\"name\":\"If-Match\",\"in\":\"header\",\"required\":false,"
        "\"schema\":{\"type\":\"string\"}}]}";

static const char event_doc[] =
        "{\"requestBody\":{\"required\":true,\"content\":{\"application/json\":{\"schema\":"
        "{\"type\":\"object\",\"required\":[\"kind\",\"occurred_on\"],\"properties\":{"
        "\"kind\":{\"type\":\"string\",\"enum\":[\"moved_in\",\"moved_out\",\"deceased\","
        "\"household_changed\"]},"
        "\"occurred_on\":{\"type\":\"string\",\"format\":\"date\","
        "\"description\":\"not in the future\"},"
        "\"details\":{\"type\":\"object\",\"nullable\":true},"
        "\"household_id\":{\"type\":\"integer\",\"minimum\":1,\"nullable\":true,"
        "\"description\":\"household_changed only (required there): the new household, "
        "or null\"},"
        "\"relation\":{\"type\":\"string\",\"nullable\":true,\"maxLength\":20,"
        "\"description\":\"household_changed only\"},"
        "\"version\":{\"type\":\"integer\",\"minimum\":1,"
        "\"description\":\"optional: refuse (409) if the resident changed since\"}}}}}},"
        "\"parameters\":[{\"name\":\"Idempotency-Key\",\"in\":\"header\",\"required\":false,"
        "\"schema\":{\"type\":\"string\",\"maxLength\":200}}]}";

static const char list_doc[] =
        "{\"parameters\":["
        "{\"name\":\"q\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"maxLength\":50},"
        "\"description\":\"name (prefix or substring), a full ID number, or a phone\"},"
        "{\"name\":\"region\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1},"
        "\"description\":\"only residents under this region (404 outside your scope)\"},"
        "{\"name\":\"household\",\"in\":\"query\",\"schema\":{\"type\":\"integer\","
        "\"minimum\":1}},"
        "{\"name\":\"tag\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"maxLength\":64}},"
        "{\"name\":\"status\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":"
        "[\"active\",\"moved_out\",\"deceased\",\"all\"],\"default\":\"active\"}},"
        "{\"name\":\"age_min\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":0,"
        "\"maximum\":150}},"
        "{\"name\":\"age_max\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":0,"
        "\"maximum\":150}},"
        "{\"name\":\"residence\",\"in\":\"query\",\"schema\":{\"type\":\"string\",\"enum\":"
        "[\"registered\",\"resident\",\"floating\"]}},"
        "{\"name\":\"limit\",\"in\":\"query\",\"schema\":{\"type\":\"integer\",\"minimum\":1,"
        "\"maximum\":500,\"default\":50}},"
        "{\"name\":\"cursor\",\"in\":\"query\",\"schema\":{\"type\":\"string\"}}]}";

static const char get_doc[] =
        "{\"description\":\"ID number and phone are masked (110105********1234, 138****5678) "
        "unless the caller holds residents.read_sensitive; a reply showing them in full is "
        "audited (action read_sensitive). 404 outside the caller's scope.\"}";

static const char history_doc[] =
        "{\"description\":\"{items: [{at, kind: created|change|event, by, changes: [{field, "
        "from, to}] | event, event_id, occurred_on, details}]} in the order recorded; ID "
        "numbers and phones masked as for GET /api/v1/residents/{id}.\"}";

void ogc_residents_register_routes(void)
{
	ogc_router_add(NULL, OG_GET, "/api/v1/residents", "residents.read", residents_list,
	               "Residents in the caller's scope (search by name, ID number or phone; "
	               "filters region, household, tag, status, age, residence; keyset on id)");
	ogc_router_describe(OG_GET, "/api/v1/residents", list_doc);
	ogc_router_add(NULL, OG_POST, "/api/v1/residents", "residents.write", residents_create,
	               "Register a resident in a grid of the caller's scope (409 for an ID "
	               "number already registered)");
	ogc_router_describe(OG_POST, "/api/v1/residents", create_doc);
	ogc_router_add(NULL, OG_GET, "/api/v1/residents/{id}", "residents.read", residents_get,
	               "One resident (ID number and phone masked without "
	               "residents.read_sensitive; full reads are audited)");
	ogc_router_describe(OG_GET, "/api/v1/residents/{id}", get_doc);
	ogc_router_add(NULL, OG_PATCH, "/api/v1/residents/{id}", "residents.write", residents_patch,
	               "Change a resident's fields (needs the version read)");
	ogc_router_describe(OG_PATCH, "/api/v1/residents/{id}", patch_doc);
	ogc_router_add(NULL, OG_POST, "/api/v1/residents/{id}/events", "residents.write",
	               residents_event,
	               "Record a life event: moved_in, moved_out, deceased, household_changed");
	ogc_router_describe(OG_POST, "/api/v1/residents/{id}/events", event_doc);
	ogc_router_add(NULL, OG_GET, "/api/v1/residents/{id}/history", "residents.read",
	               residents_history, "A resident's life events and field changes over time");
	ogc_router_describe(OG_GET, "/api/v1/residents/{id}/history", history_doc);
}

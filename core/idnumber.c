/*
 * core/idnumber.c — identity numbers and phone numbers: validation,
 * normalisation and masking.
 *
 * For: the resident ID number of GB 11643-1999 (18 characters, mod 11-2
 * check character, embedded birth date and sex), the Hong Kong / Macao /
 * Taiwan residence permits (same layout, address code 810000 / 820000 /
 * 830000) and travel permits (回乡证, 台胞证), the foreigner's permanent
 * residence card (new 18-digit format starting with 9, and the old
 * 3 letters + 12 digits), passports; mainland mobile and landline phone
 * numbers; the masked forms shown to callers without the grant to see
 * them in full.  The rules are those of /work/shared/context/standards.md.
 *
 * Not for: anything with I/O or the database (residents.c and the bulk
 * import call these pure functions, and the unit tests run them alone),
 * deciding who sees a number unmasked (residents.c), or duplicates.
 *
 * Decisions: the earliest birth date accepted is 1850-01-01, so that the
 * standard's own example 440524188001010014 (born 1880) validates; the
 * latest is today (local time).  Surrounding blanks of a number are
 * dropped.  A new-format permanent residence card gives a birth date but
 * no sex (the card's sequence is not documented to encode it).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core.h"

#define ID_LEN 18
#define OLD_ID_LEN 15
#define NUMBER_MAX 40 /* longest number accepted at all (the column's CHECK) */
#define PASSPORT_MIN 5
#define PASSPORT_MAX 20
#define EARLIEST_BIRTH 18500101L /* YYYYMMDD */
#define PHONE_MAX 40             /* characters of raw input */
#define EXT_MAX 6                /* digits of a landline extension */

static const int id_weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
static const char id_check_chars[] = "10X98765432";

/* ------------------------------------------------------------------ */
/* small helpers */

static void say(char *why, size_t whylen, const char *fmt, ...) OG_PRINTF(3, 4);
static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int two_digits(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Province-level codes of GB/T 2260, plus 81/82 (Hong Kong, Macao
 * residence permits) and 83 (Taiwan residence permit). */
static bool province_code(int p)
{
	return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
	       (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65) || p == 71 ||
	       p == 81 || p == 82 || p == 83;
}

/* The check character of the first 17 digits of s (mod 11-2). */
static char check_char(const char *s)
{
	int sum = 0;

	for (int i = 0; i < 17; i++)
		sum += (s[i] - '0') * id_weights[i];
	return id_check_chars[sum % 11];
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static long today_yyyymmdd(void)
{
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL)
		return 99991231L;
	return (long)(tm.tm_year + 1900) * 10000L + (tm.tm_mon + 1) * 100L + tm.tm_mday;
}

/*
 * The 8 digits at s as a birth date: a real calendar date, not before
 * EARLIEST_BIRTH and not after today.  Writes YYYY-MM-DD into out (11
 * bytes) when out is not NULL.  0, or -1 with the reason in why.
 */
static int birth_date(const char *s, char *out, char *why, size_t whylen)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + two_digits(s + 2);
	int m = two_digits(s + 4), d = two_digits(s + 6);
	long ymd = (long)y * 10000L + m * 100L + d;
	int dim;

	if (m < 1 || m > 12) {
		say(why, whylen, "birth date %.8s is not a date", s);
		return -1;
	}
	dim = mdays[m - 1] + (m == 2 && leap(y) ? 1 : 0);
	if (d < 1 || d > dim) {
		say(why, whylen, "birth date %.8s is not a date", s);
		return -1;
	}
	if (ymd < EARLIEST_BIRTH) {
		say(why, whylen, "birth date %.8s is before 1850-01-01", s);
		return -1;
	}
	if (ymd > today_yyyymmdd()) {
		say(why, whylen, "birth date %.8s is in the future", s);
		return -1;
	}
	if (out != NULL) {
		/* YYYY-MM-DD straight from the digits, already checked. */
		memcpy(out, s, 4);
		out[4] = '-';
		memcpy(out + 5, s + 4, 2);
		out[7] = '-';
		memcpy(out + 8, s + 6, 2);
		out[10] = '\0';
	}
	return 0;
}

/*
 * The 18-character layout shared by the resident ID, the HK/Macao/Taiwan
 * residence permit and the new permanent residence card: 17 digits and a
 * check character (X upper-cased in s, which is writable and 18 long).
 * Checks the birth date at offset 6 and the check character; fills info
 * (birth date always, gender when with_gender).  The caller checked the
 * length and the address part.  0 or -1 with why.
 */
static int check_18(char *s, ogc_idinfo *info, bool with_gender, const char *what, char *why,
                    size_t whylen)
{
	char want;

	if (!all_digits(s, 17)) {
		say(why, whylen, "%s must be 17 digits followed by a digit or X", what);
		return -1;
	}
	if (s[17] == 'x')
		s[17] = 'X';
	if (!((s[17] >= '0' && s[17] <= '9') || s[17] == 'X')) {
		say(why, whylen, "the last character of %s must be a digit or X", what);
		return -1;
	}
	if (birth_date(s + 6, info->birth_date, why, whylen) != 0)
		return -1;
	want = check_char(s);
	if (s[17] != want) {
		say(why, whylen, "check character should be %c", want);
		return -1;
	}
	if (with_gender)
		info->gender = (s[16] - '0') % 2 == 1 ? "male" : "female";
	return 0;
}

/* ------------------------------------------------------------------ */
/* the number kinds */

static int check_resident_id(char *s, size_t n, ogc_idinfo *info, char *why, size_t whylen)
{
	if (n == OLD_ID_LEN && all_digits(s, n)) {
		say(why, whylen, "15-digit numbers are no longer valid; use the 18-digit number");
		return -1;
	}
	if (n != ID_LEN) {
		say(why, whylen,
		    "a resident ID number has 18 characters (17 digits and a check character), "
		    "not %zu",
		    n);
		return -1;
	}
	if (!all_digits(s, 17))
		return check_18(s, info, true, "a resident ID number", why, whylen);
	if (s[0] == '9') {
		say(why, whylen,
		    "a number starting with 9 is a foreigner's permanent residence card: "
		    "use id_type foreign_permanent");
		return -1;
	}
	if (!province_code(two_digits(s))) {
		say(why, whylen, "address code %.2s is not a province code", s);
		return -1;
	}
	return check_18(s, info, true, "a resident ID number", why, whylen);
}

/* 回乡证 H/M + 8 or 10 digits; 台胞证 8 digits; or the 18-digit residence
 * permit (810000 Hong Kong, 820000 Macao, 830000 Taiwan). */
static int check_hmt(char *s, size_t n, ogc_idinfo *info, char *why, size_t whylen)
{
	if (n == ID_LEN) {
		if (strncmp(s, "810000", 6) != 0 && strncmp(s, "820000", 6) != 0 &&
		    strncmp(s, "830000", 6) != 0) {
			say(why, whylen,
			    "an 18-character residence permit number starts with 810000, 820000 "
			    "or 830000");
			return -1;
		}
		return check_18(s, info, true, "a residence permit number", why, whylen);
	}
	if ((s[0] == 'H' || s[0] == 'M') && (n == 9 || n == 11) && all_digits(s + 1, n - 1))
		return 0;
	if (n == 8 && all_digits(s, n))
		return 0;
	say(why, whylen,
	    "a Hong Kong/Macao/Taiwan permit number is H or M and 8 or 10 digits, 8 digits "
	    "(Taiwan) or an 18-character residence permit number");
	return -1;
}

/* New format: 9 + province (2) + nationality (3) + birth date + sequence
 * (3) + check; old format: 3 letters + 12 digits. */
static int check_foreign(char *s, size_t n, ogc_idinfo *info, char *why, size_t whylen)
{
	if (n == ID_LEN) {
		if (s[0] != '9') {
			say(why, whylen,
			    "an 18-character permanent residence card number starts with 9");
			return -1;
		}
		if (all_digits(s, 3) && !province_code(two_digits(s + 1))) {
			say(why, whylen, "province code %.2s of the card number is not valid",
			    s + 1);
			return -1;
		}
		return check_18(s, info, false, "a permanent residence card number", why, whylen);
	}
	if (n == 15 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]) &&
	    isupper((unsigned char)s[2]) && all_digits(s + 3, 12))
		return 0;
	say(why, whylen,
	    "a permanent residence card number is 18 digits starting with 9, or 3 letters and "
	    "12 digits");
	return -1;
}

static int check_passport(const char *s, size_t n, char *why, size_t whylen)
{
	if (n < PASSPORT_MIN || n > PASSPORT_MAX) {
		say(why, whylen, "a passport number has 5 to 20 characters");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!isupper((unsigned char)s[i]) && !isdigit((unsigned char)s[i])) {
			say(why, whylen, "a passport number has only letters A-Z and digits");
			return -1;
		}
	return 0;
}

int ogc_idnumber_check(const char *id_type, const char *number, char *norm, size_t normlen,
                       ogc_idinfo *info, char *why, size_t whylen)
{
	ogc_idinfo scratch;
	char buf[NUMBER_MAX + 1];
	const char *end;
	size_t n;
	int rc;

	if (info == NULL)
		info = &scratch;
	info->birth_date[0] = '\0';
	info->gender = NULL;
	if (norm != NULL && normlen > 0)
		norm[0] = '\0';
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (id_type == NULL) {
		say(why, whylen, "id_type is required");
		return -1;
	}

	/* Blanks around a number (CSV cells, copy and paste) are not part of it. */
	if (number != NULL) {
		while (*number == ' ' || *number == '\t')
			number++;
		end = number + strlen(number);
		while (end > number && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		n = (size_t)(end - number);
	} else {
		n = 0;
	}

	if (strcmp(id_type, "none") == 0) {
		if (n != 0) {
			say(why, whylen, "id_type none takes no number");
			return -1;
		}
		return 0;
	}
	if (strcmp(id_type, "resident_id") != 0 && strcmp(id_type, "passport") != 0 &&
	    strcmp(id_type, "hmt_permit") != 0 && strcmp(id_type, "foreign_permanent") != 0) {
		say(why, whylen,
		    "id_type must be resident_id, passport, hmt_permit, foreign_permanent or none");
		return -1;
	}
	if (n == 0) {
		say(why, whylen, "a number is required for id_type %s", id_type);
		return -1;
	}
	if (n > NUMBER_MAX) {
		say(why, whylen, "the number is longer than %d characters", NUMBER_MAX);
		return -1;
	}
	/* Letters are compared upper-case everywhere (x of the check, H/M, passports). */
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)toupper((unsigned char)number[i]);
	buf[n] = '\0';

	if (strcmp(id_type, "resident_id") == 0)
		rc = check_resident_id(buf, n, info, why, whylen);
	else if (strcmp(id_type, "hmt_permit") == 0)
		rc = check_hmt(buf, n, info, why, whylen);
	else if (strcmp(id_type, "foreign_permanent") == 0)
		rc = check_foreign(buf, n, info, why, whylen);
	else
		rc = check_passport(buf, n, why, whylen);
	if (rc != 0) {
		info->birth_date[0] = '\0';
		info->gender = NULL;
		return -1;
	}
	if (norm != NULL) {
		if (normlen <= n) {
			say(why, whylen, "internal: no room for the normalised number");
			return -1;
		}
		memcpy(norm, buf, n + 1);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* phones */

static bool mobile(const char *d, size_t n)
{
	return n == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9' && all_digits(d, n);
}

/* Length of the area code (with its 0) of a national landline number: 010
 * and 02x are three digits, every other area code four. */
static size_t area_len(const char *d)
{
	return (d[1] == '1' && d[2] == '0') || d[1] == '2' ? 3 : 4;
}

static bool area_ok(const char *a, size_t n)
{
	return (n == 3 || n == 4) && a[0] == '0' && a[1] != '0' && all_digits(a, n);
}

static bool subscriber_ok(const char *s, size_t n)
{
	return (n == 7 || n == 8) && s[0] != '0' && all_digits(s, n);
}

int ogc_phone_check(const char *phone, char *norm, size_t normlen)
{
	char buf[PHONE_MAX + 1], digits[PHONE_MAX + 1], out[PHONE_MAX + 8];
	const char *part[3], *p;
	size_t plen[3], n = 0, nd = 0, nparts = 0, k;
	bool intl = false;

	if (norm != NULL && normlen > 0)
		norm[0] = '\0';
	if (phone == NULL)
		return -1;
	/* Blanks go; dashes stay for now (they separate area code and extension). */
	for (p = phone; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t')
			continue;
		if (n == PHONE_MAX)
			return -1;
		buf[n++] = *p;
	}
	buf[n] = '\0';
	p = buf;
	if (strncmp(p, "+86", 3) == 0) {
		p += 3;
		intl = true;
	} else if (strncmp(p, "0086", 4) == 0) {
		p += 4;
		intl = true;
	}
	while (intl && *p == '-')
		p++;
	for (const char *q = p; *q != '\0'; q++) {
		if (*q == '-')
			continue;
		if (*q < '0' || *q > '9')
			return -1;
		digits[nd++] = *q;
	}
	digits[nd] = '\0';

	/* A mobile: 11 digits, or 86 and 11 digits. */
	if (nd == 13 && !intl && strncmp(digits, "86", 2) == 0 && mobile(digits + 2, 11)) {
		memmove(digits, digits + 2, 12);
		nd = 11;
	}
	if (mobile(digits, nd)) {
		if (norm == NULL)
			return 0;
		if (normlen <= nd)
			return -1;
		memcpy(norm, digits, nd + 1);
		return 0;
	}
	if (intl)
		return -1;

	/* A landline: 0AREA-SUBSCRIBER[-EXT], or the same without the first dash. */
	for (const char *start = p, *q = p;; q++) {
		if (*q != '-' && *q != '\0')
			continue;
		if (nparts == 3 || q == start)
			return -1;
		part[nparts] = start;
		plen[nparts] = (size_t)(q - start);
		nparts++;
		if (*q == '\0')
			break;
		start = q + 1;
	}
	if (part[0][0] != '0' || plen[0] < 3)
		return -1;
	if (plen[0] > 4) {
		/* No dash after the area code: split it off by the national rule, and
		 * what follows the number, if anything, is the extension. */
		if (nparts == 3)
			return -1;
		k = area_len(part[0]);
		if (nparts == 2) {
			part[2] = part[1];
			plen[2] = plen[1];
		}
		part[1] = part[0] + k;
		plen[1] = plen[0] - k;
		plen[0] = k;
		nparts++;
	}
	if (nparts < 2 || !area_ok(part[0], plen[0]) || !subscriber_ok(part[1], plen[1]))
		return -1;
	if (nparts == 3 && (plen[2] > EXT_MAX || !all_digits(part[2], plen[2])))
		return -1;
	if (nparts == 3)
		snprintf(out, sizeof(out), "%.*s-%.*s-%.*s", (int)plen[0], part[0], (int)plen[1],
		         part[1], (int)plen[2], part[2]);
	else
		snprintf(out, sizeof(out), "%.*s-%.*s", (int)plen[0], part[0], (int)plen[1],
		         part[1]);
	if (norm == NULL)
		return 0;
	if (normlen <= strlen(out))
		return -1;
	memcpy(norm, out, strlen(out) + 1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* masks */

/* Copies in into out keeping `head` leading and `tail` trailing bytes and
 * writing * for every other one (dashes kept when keep_dash). */
static void mask_keep(const char *in, size_t n, size_t head, size_t tail, bool keep_dash, char *out,
                      size_t outlen)
{
	size_t i;

	if (outlen == 0)
		return;
	for (i = 0; i < n && i + 1 < outlen; i++) {
		if (i < head || i >= n - tail || (keep_dash && in[i] == '-'))
			out[i] = in[i];
		else
			out[i] = '*';
	}
	out[i] = '\0';
}

void ogc_mask_id_number(const char *in, char *out, size_t outlen)
{
	size_t n;

	if (out == NULL || outlen == 0)
		return;
	if (in == NULL) {
		out[0] = '\0';
		return;
	}
	n = strlen(in);
	if (n > 10)
		mask_keep(in, n, 6, 4, false, out, outlen);
	else if (n > 4)
		mask_keep(in, n, 2, 2, false, out, outlen);
	else
		mask_keep(in, n, 0, 0, false, out, outlen);
}

void ogc_mask_phone(const char *in, char *out, size_t outlen)
{
	const char *dash, *dash2;
	size_t n, area, sub_end;

	if (out == NULL || outlen == 0)
		return;
	if (in == NULL) {
		out[0] = '\0';
		return;
	}
	n = strlen(in);
	dash = strchr(in, '-');
	if (in[0] == '0' && dash != NULL) {
		/* A normalised landline 0AREA-SUBSCRIBER[-EXT]: the area code and the
		 * subscriber's last 2 digits stay; an extension is masked whole. */
		area = (size_t)(dash - in);
		dash2 = strchr(dash + 1, '-');
		sub_end = dash2 != NULL ? (size_t)(dash2 - in) : n;
		mask_keep(in, n, area + 1, 0, true, out, outlen);
		if (sub_end - area - 1 < 3)
			return;
		for (size_t i = sub_end - 2; i < sub_end && i + 1 < outlen; i++)
			out[i] = in[i];
		return;
	}
	if (n >= 8)
		mask_keep(in, n, 3, 4, false, out, outlen); /* 138****5678 */
	else if (n > 4)
		mask_keep(in, n, 2, 2, false, out, outlen);
	else
		mask_keep(in, n, 0, 0, false, out, outlen);
}

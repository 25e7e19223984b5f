/*
 * tests/unit/test_idnumber.c — identity numbers and phones (core/idnumber.c):
 * the GB 11643 check character and birth date, the permits and cards of
 * context/standards.md with their samples, passports, "none", phone
 * normalisation, and the masks.  Pure functions: no database, no daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core.h"

/* Checks number as id_type; returns the rc, leaving norm, info and why. */
static char norm[64], why[256];
static ogc_idinfo info;

static int check(const char *type, const char *number)
{
	memset(norm, 'Z', sizeof(norm));
	why[0] = '\0';
	return ogc_idnumber_check(type, number, norm, sizeof(norm), &info, why, sizeof(why));
}

/* The rc must be -1 and why must contain `part`. */
static void refused(const char *type, const char *number, const char *part)
{
	int rc = check(type, number);

	if (rc != -1 || strstr(why, part) == NULL)
		fail_msg("%s %s: rc %d why \"%s\", want -1 and \"%s\"", type, number, rc, why,
		         part);
	assert_string_equal(info.birth_date, "");
	assert_null(info.gender);
}

static void accepted(const char *type, const char *number, const char *want_norm)
{
	int rc = check(type, number);

	if (rc != 0)
		fail_msg("%s %s refused: %s", type, number, why);
	assert_string_equal(norm, want_norm);
}

/* ------------------------------------------------------------------ */

static void test_standard_examples(void **state)
{
	(void)state;
	accepted("resident_id", "11010519491231002X", "11010519491231002X");
	assert_string_equal(info.birth_date, "1949-12-31");
	assert_string_equal(info.gender, "female");

	accepted("resident_id", "440524188001010014", "440524188001010014");
	assert_string_equal(info.birth_date, "1880-01-01");
	assert_string_equal(info.gender, "male");
}

static void test_lower_case_x(void **state)
{
	(void)state;
	accepted("resident_id", "11010519491231002x", "11010519491231002X");
	assert_string_equal(info.gender, "female");
	/* Blanks around the number (a CSV cell) are dropped. */
	accepted("resident_id", "  11010519491231002x ", "11010519491231002X");
}

static void test_wrong_check(void **state)
{
	(void)state;
	refused("resident_id", "110105194912310021", "check character should be X");
	refused("resident_id", "44052418800101001X", "check character should be 4");
	refused("resident_id", "11010519491231002Y", "digit or X");
	refused("resident_id", "1101051949123100AX", "17 digits");
}

static void test_bad_dates(void **state)
{
	char id[19], future[9];
	time_t later = time(NULL) + 3 * 86400;
	struct tm tm;

	(void)state;
	refused("resident_id", "110105194913310027", "birth date 19491331 is not a date");
	refused("resident_id", "110105194912320020", "birth date 19491232 is not a date");
	refused("resident_id", "110105190002290020", "birth date 19000229 is not a date");
	accepted("resident_id", "110105200002290021",
	         "110105200002290021"); /* 2000 is a leap year */
	assert_string_equal(info.birth_date, "2000-02-29");
	refused("resident_id", "110105184912310028", "before 1850-01-01");

	/* Three days ahead, with the right check character: still refused. */
	localtime_r(&later, &tm);
	snprintf(future, sizeof(future), "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday);
	snprintf(id, sizeof(id), "110105%s002", future);
	{
		static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
		int sum = 0;

		for (int i = 0; i < 17; i++)
			sum += (id[i] - '0') * w[i];
		id[17] = "10X98765432"[sum % 11];
		id[18] = '\0';
	}
	refused("resident_id", id, "in the future");
}

static void test_shapes_and_provinces(void **state)
{
	(void)state;
	refused("resident_id", "110105491231002", "15-digit numbers are no longer valid");
	refused("resident_id", "11010519491231002", "18 characters");
	refused("resident_id", "11010519491231002X1", "18 characters");
	refused("resident_id", "", "required");
	refused("resident_id", NULL, "required");
	/* 99 and 10 are no province; a leading 9 belongs to foreign_permanent. */
	refused("resident_id", "101105194912310026", "address code 10");
	refused("resident_id", "932682198501010017", "foreign_permanent");
	refused("resident_id", "161105194912310021", "address code 16");
	refused("unknown_type", "11010519491231002X", "id_type must be");
	refused(NULL, "11010519491231002X", "id_type is required");
}

static void test_hmt_permits(void **state)
{
	(void)state;
	/* 18-character residence permits: Hong Kong, Macao, Taiwan. */
	accepted("hmt_permit", "810000199001010019", "810000199001010019");
	assert_string_equal(info.birth_date, "1990-01-01");
	assert_string_equal(info.gender, "male");
	accepted("hmt_permit", "820000198507150024", "820000198507150024");
	assert_string_equal(info.gender, "female");
	accepted("hmt_permit", "830000200012310016", "830000200012310016");
	/* ... also valid as a resident_id (province codes 81, 82, 83). */
	accepted("resident_id", "810000199001010019", "810000199001010019");
	refused("hmt_permit", "810000199001010010", "check character should be 9");
	refused("hmt_permit", "11010519491231002X", "810000, 820000 or 830000");

	/* Travel permits: no birth date, no gender. */
	accepted("hmt_permit", "H12345678", "H12345678");
	assert_string_equal(info.birth_date, "");
	assert_null(info.gender);
	accepted("hmt_permit", "m1234567890", "M1234567890");
	accepted("hmt_permit", "12345678", "12345678"); /* 台胞证 */
	refused("hmt_permit", "X12345678", "H or M");
	refused("hmt_permit", "H123456789", "H or M");
	refused("hmt_permit", "1234567", "H or M");
}

static void test_foreign_permanent(void **state)
{
	(void)state;
	accepted("foreign_permanent", "932682198501010017", "932682198501010017");
	assert_string_equal(info.birth_date, "1985-01-01");
	assert_null(info.gender);
	accepted("foreign_permanent", "911124198108030024", "911124198108030024");
	assert_string_equal(info.birth_date, "1981-08-03");
	refused("foreign_permanent", "932682198501010018", "check character should be 7");
	refused("foreign_permanent", "11010519491231002X", "starts with 9");
	refused("foreign_permanent", "992682198501010017", "province code 92");
	/* Old format: 3 letters and 12 digits. */
	accepted("foreign_permanent", "usa310085021201", "USA310085021201");
	refused("foreign_permanent", "US3310085021201", "3 letters and 12 digits");
	refused("foreign_permanent", "USA31008502120", "3 letters and 12 digits");
}

static void test_passport_and_none(void **state)
{
	(void)state;
	accepted("passport", "e12345678", "E12345678");
	assert_string_equal(info.birth_date, "");
	accepted("passport", "AB123", "AB123");
	accepted("passport", "A1234567890123456789", "A1234567890123456789");
	refused("passport", "AB12", "5 to 20");
	refused("passport", "A12345678901234567890", "5 to 20");
	refused("passport", "E1234-678", "letters A-Z and digits");
	refused("passport", "E1234678护", "letters A-Z and digits");

	accepted("none", NULL, "");
	accepted("none", "", "");
	refused("none", "E12345678", "takes no number");
}

static void test_no_optional_outputs(void **state)
{
	(void)state;
	/* norm, info and why may all be NULL. */
	assert_int_equal(
	        ogc_idnumber_check("resident_id", "11010519491231002X", NULL, 0, NULL, NULL, 0), 0);
	assert_int_equal(
	        ogc_idnumber_check("resident_id", "110105194912310021", NULL, 0, NULL, NULL, 0),
	        -1);
	/* A norm buffer too small is a refusal, never an overflow. */
	assert_int_equal(ogc_idnumber_check("resident_id", "11010519491231002X", norm, 10, &info,
	                                    why, sizeof(why)),
	                 -1);
}

/* ------------------------------------------------------------------ */
/* phones */

static void phone_ok(const char *in, const char *want)
{
	char out[64];

	memset(out, 'Z', sizeof(out));
	if (ogc_phone_check(in, out, sizeof(out)) != 0)
		fail_msg("phone \"%s\" refused, want %s", in, want);
	assert_string_equal(out, want);
}

static void phone_bad(const char *in)
{
	char out[64];

	if (ogc_phone_check(in, out, sizeof(out)) != -1)
		fail_msg("phone \"%s\" accepted as %s", in, out);
	assert_string_equal(out, "");
}

static void test_phones(void **state)
{
	(void)state;
	phone_ok("13812345678", "13812345678");
	phone_ok("138 1234 5678", "13812345678");
	phone_ok("138-1234-5678", "13812345678");
	phone_ok("+86 138 1234 5678", "13812345678");
	phone_ok("+8613812345678", "13812345678");
	phone_ok("8613812345678", "13812345678");
	phone_ok("0086-199-1234-5678", "19912345678");
	phone_ok("010-12345678", "010-12345678");
	phone_ok("01012345678", "010-12345678");
	phone_ok("0755-1234567", "0755-1234567");
	phone_ok("075588889999", "0755-88889999");
	phone_ok("021 6432 1234", "021-64321234");
	phone_ok("010-12345678-123", "010-12345678-123");
	phone_ok("01062345678-8001", "010-62345678-8001");

	phone_bad(NULL);
	phone_bad("");
	phone_bad("12812345678");  /* 12x is no mobile prefix */
	phone_bad("1381234567");   /* 10 digits */
	phone_bad("138123456789"); /* 12 digits */
	phone_bad("1381234567a");
	phone_bad("+86 010-12345678"); /* +86 only before a mobile here */
	phone_bad("010-123456");       /* subscriber too short */
	phone_bad("010-123456789");    /* too long */
	phone_bad("010-02345678");     /* a subscriber number never starts with 0 */
	phone_bad("001-12345678");
	phone_bad("010-12345678-1234567"); /* extension too long */
	phone_bad("010-12345678-12-3");
	phone_bad("010--12345678");
	phone_bad("12345678");
	phone_bad("0123456789012345678901234567890123456789012");
}

static void test_phone_small_buffer(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(ogc_phone_check("13812345678", out, sizeof(out)), -1);
	assert_int_equal(ogc_phone_check("13812345678", NULL, 0), 0);
}

/* ------------------------------------------------------------------ */
/* masks */

static void test_masks(void **state)
{
	char out[64], tiny[5];

	(void)state;
	ogc_mask_id_number("110105194912311234", out, sizeof(out));
	assert_string_equal(out, "110105********1234");
	ogc_mask_id_number("USA310085021201", out, sizeof(out));
	assert_string_equal(out, "USA310*****1201");
	ogc_mask_id_number("E12345678", out, sizeof(out));
	assert_string_equal(out, "E1*****78");
	ogc_mask_id_number("H1234", out, sizeof(out));
	assert_string_equal(out, "H1*34");
	ogc_mask_id_number("ABCD", out, sizeof(out));
	assert_string_equal(out, "****");
	ogc_mask_id_number(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	ogc_mask_id_number("110105194912311234", tiny, sizeof(tiny));
	assert_string_equal(tiny, "1101");

	ogc_mask_phone("13812345678", out, sizeof(out));
	assert_string_equal(out, "138****5678");
	ogc_mask_phone("010-12345678", out, sizeof(out));
	assert_string_equal(out, "010-******78");
	ogc_mask_phone("0755-1234567", out, sizeof(out));
	assert_string_equal(out, "0755-*****67");
	ogc_mask_phone("010-12345678-123", out, sizeof(out));
	assert_string_equal(out, "010-******78-***");
	ogc_mask_phone(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	ogc_mask_phone("13812345678", tiny, sizeof(tiny));
	assert_string_equal(tiny, "138*");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_standard_examples),
	        cmocka_unit_test(test_lower_case_x),
	        cmocka_unit_test(test_wrong_check),
	        cmocka_unit_test(test_bad_dates),
	        cmocka_unit_test(test_shapes_and_provinces),
	        cmocka_unit_test(test_hmt_permits),
	        cmocka_unit_test(test_foreign_permanent),
	        cmocka_unit_test(test_passport_and_none),
	        cmocka_unit_test(test_no_optional_outputs),
	        cmocka_unit_test(test_phones),
	        cmocka_unit_test(test_phone_small_buffer),
	        cmocka_unit_test(test_masks),
	};
	return cmocka_run_group_tests_name("idnumber", tests, NULL, NULL);
}

/*
 * tests/unit/test_db_errors.c — the SQLSTATE -> HTTP status mapping of
 * core/db.c (ogc_db_map_sqlstate), without a server.
 *
 * Not for connection handling or the messages taken from PostgreSQL's
 * errors: those need a live server and are covered by the API tests.
 * Links libonegrid, so it needs no stubs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"

static void expect_map(const char *sqlstate, int status, const char *code)
{
	ogc_dberr err;

	memset(&err, 0x55, sizeof(err)); /* no field may be left unset */
	assert_int_equal(ogc_db_map_sqlstate(sqlstate, &err), status);
	assert_int_equal(err.status, status);
	assert_string_equal(err.code, code);
	assert_string_equal(err.sqlstate, sqlstate ? sqlstate : "");
	assert_true(strlen(err.message) > 0 && strlen(err.message) < sizeof(err.message));
}

static void test_unique_violation_is_409_duplicate(void **state)
{
	(void)state;
	expect_map("23505", 409, "duplicate");
}

static void test_foreign_key_violation_is_409_conflict(void **state)
{
	(void)state;
	expect_map("23503", 409, "conflict");
}

static void test_serialization_and_deadlock_are_409_conflict(void **state)
{
	(void)state;
	expect_map("40001", 409, "conflict");
	expect_map("40P01", 409, "conflict");
}

static void test_bad_input_is_422_invalid(void **state)
{
	(void)state;
	expect_map("22P02", 422, "invalid"); /* invalid text representation */
	expect_map("22003", 422, "invalid"); /* numeric value out of range */
	expect_map("22008", 422, "invalid"); /* datetime field overflow */
	expect_map("23502", 422, "invalid"); /* not null */
	expect_map("23514", 422, "invalid"); /* check */
}

static void test_timeouts_are_503(void **state)
{
	(void)state;
	expect_map("57014", 503, "timeout"); /* statement_timeout */
	expect_map("55P03", 503, "timeout"); /* lock_timeout */
}

static void test_lost_connection_is_503_db_unavailable(void **state)
{
	(void)state;
	expect_map("08006", 503, "db_unavailable");
	expect_map("08001", 503, "db_unavailable");
	expect_map("57P01", 503, "db_unavailable"); /* admin shutdown */
	expect_map("57P03", 503, "db_unavailable"); /* cannot connect now */
}

static void test_anything_else_is_500(void **state)
{
	(void)state;
	expect_map("XX000", 500, "db_error");
	expect_map("42P01", 500, "db_error"); /* undefined table: our bug, not the client's */
	expect_map("42601", 500, "db_error"); /* syntax error */
	expect_map(NULL, 500, "db_error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unique_violation_is_409_duplicate),
		cmocka_unit_test(test_foreign_key_violation_is_409_conflict),
		cmocka_unit_test(test_serialization_and_deadlock_are_409_conflict),
		cmocka_unit_test(test_bad_input_is_422_invalid),
		cmocka_unit_test(test_timeouts_are_503),
		cmocka_unit_test(test_lost_connection_is_503_db_unavailable),
		cmocka_unit_test(test_anything_else_is_500),
	};

	return cmocka_run_group_tests_name("db_errors", tests, NULL, NULL);
}

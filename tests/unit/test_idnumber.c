/* tests/unit/test_idnumber.c — placeholder until idnumber.c lands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void not_yet(void **state)
{
	(void)state;
	/* replaced by the real tests when idnumber.c lands */
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(not_yet)};
	return cmocka_run_group_tests_name("idnumber", tests, NULL, NULL);
}

/*
 * tests/unit/test_config.c — onegridd's configuration reader: defaults,
 * the file, environment overrides, and errors that name the bad key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core.h"

static char path[] = "/tmp/onegrid-config-XXXXXX";

static const char *write_config(const char *text)
{
	int fd;

	strcpy(path, "/tmp/onegrid-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int load(const char *text, ogc_config *cfg, char *err, size_t len)
{
	int rc = ogc_config_load(cfg, text ? write_config(text) : NULL, err, len);
	if (text)
		unlink(path);
	return rc;
}

static void test_defaults(void **state)
{
	(void)state;
	ogc_config cfg;
	char err[256];

	unsetenv("ONEGRID_LISTEN");
	assert_int_equal(load(NULL, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.listen, "127.0.0.1:8080");
	assert_int_equal(cfg.max_body_bytes, 1024 * 1024);
	assert_int_equal(cfg.nplugins, 0);
	ogc_config_free(&cfg);
}

static void test_file_and_plugins(void **state)
{
	(void)state;
	ogc_config cfg;
	char err[256];

	assert_int_equal(load("{\"listen\": \"0.0.0.0:9000\", \"workers\": 3, \"plugins\": "
	                      "[\"example\", {\"name\": \"civil\", \"optional\": true}]}",
	                      &cfg, err, sizeof(err)),
	                 0);
	assert_string_equal(cfg.listen, "0.0.0.0:9000");
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(cfg.nplugins, 2);
	assert_string_equal(cfg.plugins[0].name, "example");
	assert_false(cfg.plugins[0].optional);
	assert_string_equal(cfg.plugins[1].name, "civil");
	assert_true(cfg.plugins[1].optional);
	ogc_config_free(&cfg);
}

static void test_unknown_key_named(void **state)
{
	(void)state;
	ogc_config cfg;
	char err[256];

	assert_int_equal(load("{\"listne\": \"x:1\"}", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "listne"));
	ogc_config_free(&cfg);
}

static void test_bad_values_named(void **state)
{
	(void)state;
	ogc_config cfg;
	char err[256];

	assert_int_equal(load("{\"workers\": \"two\"}", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "workers"));
	ogc_config_free(&cfg);
	assert_int_equal(load("{\"max_body_bytes\": 10}", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "max_body_bytes"));
	ogc_config_free(&cfg);
	assert_int_equal(load("{\"listen\": \"nohost\"}", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "listen"));
	ogc_config_free(&cfg);
	assert_int_equal(load("{\"plugins\": [\"Bad-Name\"]}", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "plugins"));
	ogc_config_free(&cfg);
	assert_int_equal(load("{\"workers\": 2,", &cfg, err, sizeof(err)), -1);
	ogc_config_free(&cfg);
}

static void test_env_overrides(void **state)
{
	(void)state;
	ogc_config cfg;
	char err[256];

	setenv("ONEGRID_LISTEN", "127.0.0.1:18080", 1);
	setenv("ONEGRID_PLUGINS", "example,?party", 1);
	assert_int_equal(load("{\"listen\": \"127.0.0.1:1\", \"plugins\": []}", &cfg, err,
	                      sizeof(err)),
	                 0);
	assert_string_equal(cfg.listen, "127.0.0.1:18080");
	assert_int_equal(cfg.nplugins, 2);
	assert_true(cfg.plugins[1].optional);
	assert_string_equal(cfg.plugins[1].name, "party");
	ogc_config_free(&cfg);
	setenv("ONEGRID_WORKERS", "many", 1);
	assert_int_equal(load(NULL, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "workers"));
	ogc_config_free(&cfg);
	unsetenv("ONEGRID_WORKERS");
	unsetenv("ONEGRID_LISTEN");
	unsetenv("ONEGRID_PLUGINS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_file_and_plugins),
	    cmocka_unit_test(test_unknown_key_named),
	    cmocka_unit_test(test_bad_values_named),
	    cmocka_unit_test(test_env_overrides),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

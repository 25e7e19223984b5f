/*
 * core/main.c — onegridd's command line.
 *
 *   onegridd [-c FILE] [serve]          run the daemon (default)
 *   onegridd [-c FILE] --check-config   validate the configuration and exit
 *   onegridd [-c FILE] migrate          apply pending core and plugin migrations
 *   onegridd [-c FILE] create-admin NAME   create (or reset) an administrator;
 *                                       password from ONEGRID_ADMIN_PASSWORD or stdin
 *   onegridd [-c FILE] seed-demo        load the demo district (idempotent);
 *                                       password from ONEGRID_DEMO_PASSWORD
 *   onegridd --version
 *
 * Everything that can refuse to start (configuration, plugins, the schema
 * version) is checked here, in the master, before any worker is forked.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Exit statuses: 1 a failure worth retrying (database down, a worker
 * problem), 2 a configuration or usage error, 3 the database schema does
 * not fit this binary (pending migrations, or newer: a downgrade).  A
 * supervisor should not restart on 2 or 3. */
#define EXIT_SCHEMA_REFUSED 3

static void usage(FILE *out)
{
	fprintf(out, "usage: onegridd [-c FILE] [--check-config] "
	             "[serve | migrate | create-admin USERNAME | seed-demo]\n"
	             "       onegridd --version\n");
}

static void register_core(void)
{
	ogc_core_register_permissions();
	ogc_system_register_routes();
	ogc_auth_register_routes();
	ogc_users_register_routes();
	ogc_audit_register_routes();
	ogc_enable_register_routes();
	ogc_roles_register_routes();
	ogc_regions_register_routes();
	ogc_households_register_routes();
	ogc_residents_register_routes();
	ogc_tags_register_routes();
	ogc_transfer_register_routes();
	ogc_changes_register_routes();
	ogc_reports_register_routes(); /* first: it registers reports.read */
	ogc_ledgers_register_routes();
	for (size_t i = 0; i < ogc_core_migrations_count; i++)
		ogc_migrate_add("core", ogc_core_migrations[i].version, ogc_core_migrations[i].name,
		                ogc_core_migrations[i].sql);
}

static PGconn *connect_master(const ogc_config *cfg, ogc_db **db)
{
	*db = ogc_db_new(cfg->database, cfg->db_connect_timeout_s, cfg->statement_timeout_ms);
	if (ogc_db_ensure(*db) != 0) {
		ogc_log(OG_LOG_ERROR, "cannot connect to the database (%s); is PostgreSQL running?",
		        cfg->database);
		return NULL;
	}
	return ogc_db_conn(*db);
}

static int create_admin(PGconn *conn, const char *username)
{
	char hash[256], buf[512];
	const char *password = getenv("ONEGRID_ADMIN_PASSWORD");
	const char *params[2];
	PGresult *res;
	int rc;

	if (password == NULL || password[0] == '\0') {
		if (fgets(buf, sizeof(buf), stdin) == NULL) {
			ogc_log(OG_LOG_ERROR,
			        "create-admin: no password (set ONEGRID_ADMIN_PASSWORD "
			        "or give it on standard input)");
			return 1;
		}
		buf[strcspn(buf, "\r\n")] = '\0';
		password = buf;
	}
	if (strlen(password) < 8) {
		ogc_log(OG_LOG_ERROR, "create-admin: the password must have at least 8 characters");
		return 1;
	}
	if (ogc_auth_hash_password(password, hash, sizeof(hash)) != 0)
		return 1;
	params[0] = username;
	params[1] = hash;
	res = PQexecParams(
	        conn,
	        "INSERT INTO core.app_user (username, display_name, password_hash, role) "
	        "VALUES ($1, '系统管理员', $2, 'admin') "
	        "ON CONFLICT (username) DO UPDATE SET password_hash = $2, role = 'admin', "
	        "scope_region_id = NULL, active = true, "
	        "version = core.app_user.version + 1, updated_at = now() "
	        "RETURNING id, (xmax = 0)",
	        2, NULL, params, NULL, NULL, 0);
	rc = PQresultStatus(res) == PGRES_TUPLES_OK ? 0 : 1;
	if (rc == 0 && PQgetvalue(res, 0, 1)[0] != 't') {
		/* A reset password must end the sessions opened with the old one. */
		const char *uid[1] = {PQgetvalue(res, 0, 0)};
		PGresult *rv = PQexecParams(conn,
		                            "UPDATE core.token SET revoked_at = now() "
		                            "WHERE user_id = $1::bigint AND revoked_at IS NULL",
		                            1, NULL, uid, NULL, NULL, 0);
		if (PQresultStatus(rv) != PGRES_COMMAND_OK)
			rc = 1;
		PQclear(rv);
	}
	if (rc == 0)
		printf("administrator %s %s (id %s)\n", username,
		       PQgetvalue(res, 0, 1)[0] == 't' ? "created" : "updated",
		       PQgetvalue(res, 0, 0));
	else
		ogc_log(OG_LOG_ERROR, "create-admin %s: %s", username, PQerrorMessage(conn));
	PQclear(res);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"check-config", no_argument, NULL, 'C'},
	                                     {"version", no_argument, NULL, 'V'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *config_path = getenv("ONEGRID_CONFIG"), *command = "serve";
	bool check_only = false;
	ogc_config cfg;
	ogc_db *db = NULL;
	PGconn *conn;
	char err[512];
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'C':
			check_only = true;
			break;
		case 'V':
			printf("onegridd %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, OG_ABI_MAJOR,
			       OG_ABI_MINOR);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		command = argv[optind++];
	if (ogc_config_load(&cfg, config_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "onegridd: configuration error: %s\n", err);
		ogc_config_free(&cfg);
		return 2;
	}
	if (check_only) {
		printf("onegridd: configuration %s is valid\n",
		       config_path ? config_path : "(defaults)");
		ogc_config_free(&cfg);
		return 0;
	}
	if (strcmp(command, "create-admin") == 0 && optind >= argc) {
		usage(stderr);
		ogc_config_free(&cfg);
		return 2;
	}
	if (strcmp(command, "serve") != 0 && strcmp(command, "migrate") != 0 &&
	    strcmp(command, "create-admin") != 0 && strcmp(command, "seed-demo") != 0) {
		fprintf(stderr, "onegridd: unknown command \"%s\"\n", command);
		usage(stderr);
		ogc_config_free(&cfg);
		return 2;
	}

	register_core();
	if (ogc_plugins_load(&cfg) != 0) {
		ogc_log(OG_LOG_ERROR, "refusing to start: a required plugin could not be loaded");
		goto out;
	}
	conn = connect_master(&cfg, &db);
	if (conn == NULL)
		goto out;

	if (strcmp(command, "migrate") == 0) {
		/* A database newer than this binary (a downgrade) is refused
		 * before anything is written into it. */
		if (ogc_migrate_check(conn, true) != 0) {
			rc = EXIT_SCHEMA_REFUSED;
			goto out;
		}
		rc = ogc_migrate_apply(conn) == 0 && ogc_registry_sync(conn) == 0 ? 0 : 1;
		goto out;
	}
	if (strcmp(command, "serve") == 0 && cfg.auto_migrate && ogc_migrate_apply(conn) != 0)
		goto out;
	if (ogc_migrate_check(conn, false) != 0) {
		rc = EXIT_SCHEMA_REFUSED;
		goto out;
	}
	if (strcmp(command, "create-admin") == 0) {
		rc = create_admin(conn, argv[optind]);
		goto out;
	}
	/* Permissions, default grants and tags the code registered must be in
	 * the database before anything refers to them. */
	if (ogc_registry_sync(conn) != 0)
		goto out;
	if (strcmp(command, "seed-demo") == 0) {
		const char *pw = getenv("ONEGRID_DEMO_PASSWORD");
		if (pw == NULL || strlen(pw) < 8) {
			ogc_log(OG_LOG_ERROR,
			        "seed-demo: set ONEGRID_DEMO_PASSWORD (8 characters or more)");
			goto out;
		}
		rc = ogc_demo_seed(conn, pw, stdout) == 0 ? 0 : 1;
		goto out;
	}
	/* No libpq connection may cross the fork: workers open their own. */
	ogc_db_free(db);
	db = NULL;
	rc = ogc_daemon_run(&cfg);
out:
	if (db != NULL)
		ogc_db_free(db);
	ogc_config_free(&cfg);
	return rc;
}

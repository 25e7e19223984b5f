/*
 * core/config.c — reading onegridd's configuration.
 *
 * Defaults first, then the JSON file, then ONEGRID_* environment variables,
 * so a unit file or a test can override one key without a new file.  Every
 * key is checked for type and range here, and an unknown key is an error:
 * a typo in a district's config must not be silently ignored.  What the
 * values mean at run time is the business of the code that uses them.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = strdup(src);
}

static int add_plugin(ogc_config *cfg, const char *name, bool optional, char *err, size_t errlen)
{
	ogc_plugin_conf *p;

	if (name[0] == '\0') {
		snprintf(err, errlen, "plugins: empty plugin name");
		return -1;
	}
	p = realloc(cfg->plugins, (cfg->nplugins + 1) * sizeof(*p));
	if (p == NULL) {
		snprintf(err, errlen, "plugins: out of memory");
		return -1;
	}
	cfg->plugins = p;
	p[cfg->nplugins].name = strdup(name);
	p[cfg->nplugins].optional = optional;
	cfg->nplugins++;
	return 0;
}

static void clear_plugins(ogc_config *cfg)
{
	for (size_t i = 0; i < cfg->nplugins; i++)
		free(cfg->plugins[i].name);
	free(cfg->plugins);
	cfg->plugins = NULL;
	cfg->nplugins = 0;
}

/* Integer keys: name, where it lives in the struct, and its range. */
struct int_key {
	const char *name;
	size_t offset;
	long min, max;
	bool is_long;
};

#define INT_KEY(n, lo, hi)                                 \
	{                                                  \
#n, offsetof(ogc_config, n), lo, hi, false \
	}
static const struct int_key int_keys[] = {
        INT_KEY(workers, 0, 256),
        INT_KEY(max_json_depth, 2, 1000),
        INT_KEY(request_timeout_s, 1, 3600),
        INT_KEY(db_connect_timeout_s, 1, 300),
        INT_KEY(statement_timeout_ms, 10, 3600000),
        INT_KEY(token_ttl_s, 1, 31 * 24 * 3600),
        INT_KEY(login_max_failures, 1, 1000),
        INT_KEY(login_window_s, 1, 24 * 3600),
        INT_KEY(shutdown_grace_s, 0, 3600),
        INT_KEY(auth_cache_ms, 0, 60000),
        INT_KEY(health_cache_ms, 0, 60000),
        {"max_body_bytes", offsetof(ogc_config, max_body_bytes), 1024, 1L << 34, true},
};

static int set_int(ogc_config *cfg, const struct int_key *k, long v, char *err, size_t errlen)
{
	if (v < k->min || v > k->max) {
		snprintf(err, errlen, "%s: %ld is out of range (%ld..%ld)", k->name, v, k->min,
		         k->max);
		return -1;
	}
	if (k->is_long)
		*(long *)((char *)cfg + k->offset) = v;
	else
		*(int *)((char *)cfg + k->offset) = (int)v;
	return 0;
}

static const struct int_key *find_int_key(const char *name)
{
	for (size_t i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++)
		if (strcmp(int_keys[i].name, name) == 0)
			return &int_keys[i];
	return NULL;
}

/* "host:port" with a numeric port; the host may be empty (all addresses). */
static int check_listen(const char *listen, char *err, size_t errlen)
{
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	if (colon == NULL) {
		snprintf(err, errlen, "listen: \"%s\" is not host:port", listen);
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port < 0 || port > 65535) {
		snprintf(err, errlen, "listen: \"%s\" has no valid port", listen);
		return -1;
	}
	return 0;
}

static int parse_plugin_list(ogc_config *cfg, const char *list, char *err, size_t errlen)
{
	char *copy = strdup(list), *save = NULL, *tok;
	int rc = 0;

	clear_plugins(cfg);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
		bool optional = tok[0] == '?';
		if ((rc = add_plugin(cfg, tok + optional, optional, err, errlen)) != 0)
			break;
	}
	free(copy);
	return rc;
}

static int load_file(ogc_config *cfg, const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	const char *key;
	json_t *v;
	int rc = -1;

	if (root == NULL) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: the configuration must be a JSON object", path);
		goto out;
	}
	json_object_foreach(root, key, v) {
		const struct int_key *ik = find_int_key(key);

		if (ik != NULL) {
			if (!json_is_integer(v)) {
				snprintf(err, errlen, "%s: must be an integer", key);
				goto out;
			}
			if (set_int(cfg, ik, (long)json_integer_value(v), err, errlen) != 0)
				goto out;
		} else if (strcmp(key, "listen") == 0 || strcmp(key, "database") == 0 ||
		           strcmp(key, "plugin_dir") == 0) {
			char **dst = key[0] == 'l'   ? &cfg->listen
			             : key[0] == 'd' ? &cfg->database
			                             : &cfg->plugin_dir;
			if (!json_is_string(v)) {
				snprintf(err, errlen, "%s: must be a string", key);
				goto out;
			}
			set_str(dst, json_string_value(v));
		} else if (strcmp(key, "trusted_proxies") == 0) {
			size_t i;
			json_t *a;

			if (!json_is_array(v)) {
				snprintf(err, errlen,
				         "trusted_proxies: must be an array of addresses");
				goto out;
			}
			for (size_t k = 0; k < cfg->ntrusted_proxies; k++)
				free(cfg->trusted_proxies[k]);
			free(cfg->trusted_proxies);
			cfg->trusted_proxies = calloc(json_array_size(v) + 1, sizeof(char *));
			cfg->ntrusted_proxies = 0;
			json_array_foreach(v, i, a) {
				if (!json_is_string(a) || json_string_length(a) == 0 ||
				    json_string_length(a) >= 64) {
					snprintf(err, errlen,
					         "trusted_proxies[%zu]: must be an IP address "
					         "string",
					         i);
					goto out;
				}
				cfg->trusted_proxies[cfg->ntrusted_proxies++] =
				        strdup(json_string_value(a));
			}
		} else if (strcmp(key, "auto_migrate") == 0) {
			if (!json_is_boolean(v)) {
				snprintf(err, errlen, "%s: must be true or false", key);
				goto out;
			}
			cfg->auto_migrate = json_is_true(v);
		} else if (strcmp(key, "plugins") == 0) {
			size_t i;
			json_t *p;

			if (!json_is_array(v)) {
				snprintf(err, errlen, "plugins: must be an array");
				goto out;
			}
			clear_plugins(cfg);
			json_array_foreach(v, i, p) {
				const char *name = NULL;
				bool optional = false;

				if (json_is_string(p)) {
					name = json_string_value(p);
				} else if (json_is_object(p)) {
					json_t *n = json_object_get(p, "name");
					json_t *o = json_object_get(p, "optional");
					if (!json_is_string(n) ||
					    (o != NULL && !json_is_boolean(o)) ||
					    json_object_size(p) != 1u + (o != NULL)) {
						snprintf(err, errlen,
						         "plugins[%zu]: must be \"name\" or "
						         "{\"name\": ..., \"optional\": bool}",
						         i);
						goto out;
					}
					name = json_string_value(n);
					optional = json_is_true(o);
				} else {
					snprintf(err, errlen,
					         "plugins[%zu]: must be a string or object", i);
					goto out;
				}
				if (add_plugin(cfg, name, optional, err, errlen) != 0)
					goto out;
			}
		} else {
			snprintf(err, errlen, "%s: unknown configuration key", key);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static int load_env(ogc_config *cfg, char *err, size_t errlen)
{
	const char *v;

	if ((v = getenv("ONEGRID_LISTEN")) != NULL && v[0] != '\0')
		set_str(&cfg->listen, v);
	if ((v = getenv("ONEGRID_DATABASE")) != NULL && v[0] != '\0')
		set_str(&cfg->database, v);
	if ((v = getenv("ONEGRID_PLUGIN_DIR")) != NULL && v[0] != '\0')
		set_str(&cfg->plugin_dir, v);
	if ((v = getenv("ONEGRID_PLUGINS")) != NULL && parse_plugin_list(cfg, v, err, errlen) != 0)
		return -1;
	if ((v = getenv("ONEGRID_WORKERS")) != NULL && v[0] != '\0') {
		char *end;
		long n;

		errno = 0;
		n = strtol(v, &end, 10);
		if (errno != 0 || *end != '\0') {
			snprintf(err, errlen, "workers: ONEGRID_WORKERS=\"%s\" is not a number", v);
			return -1;
		}
		if (set_int(cfg, find_int_key("workers"), n, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int ogc_config_load(ogc_config *cfg, const char *path, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = strdup("127.0.0.1:8080");
	cfg->database = strdup("dbname=onegrid");
	cfg->plugin_dir = strdup(OG_PLUGIN_DIR_DEFAULT);
	cfg->workers = 0;
	cfg->max_body_bytes = 1024 * 1024;
	cfg->max_json_depth = 32;
	cfg->request_timeout_s = 30;
	cfg->db_connect_timeout_s = 2;
	cfg->statement_timeout_ms = 5000;
	cfg->token_ttl_s = 8 * 3600;
	cfg->login_max_failures = 5;
	cfg->login_window_s = 300;
	cfg->shutdown_grace_s = 10;
	cfg->auth_cache_ms = 2000;
	cfg->health_cache_ms = 250;
	cfg->auto_migrate = false;

	if (path != NULL && load_file(cfg, path, err, errlen) != 0)
		return -1;
	if (load_env(cfg, err, errlen) != 0)
		return -1;
	if (check_listen(cfg->listen, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < cfg->nplugins; i++) {
		const char *n = cfg->plugins[i].name;
		for (const char *c = n; *c; c++) {
			if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) ||
			      *c == '_')) {
				snprintf(err, errlen, "plugins: \"%s\" is not a valid plugin name",
				         n);
				return -1;
			}
		}
	}
	return 0;
}

void ogc_config_free(ogc_config *cfg)
{
	free(cfg->listen);
	free(cfg->database);
	free(cfg->plugin_dir);
	clear_plugins(cfg);
	for (size_t i = 0; i < cfg->ntrusted_proxies; i++)
		free(cfg->trusted_proxies[i]);
	free(cfg->trusted_proxies);
	memset(cfg, 0, sizeof(*cfg));
}

/*
 * core/plugin_loader.c — opens the configured plugins, checks their
 * descriptors, orders them by dependency and runs their init.
 *
 * For: dlopen of "<plugin_dir>/<name>.so", every refusal (with the file and
 * the reason on one log line), the topological order of `depends`, the
 * `in_init` window during which a plugin may register, fini at shutdown,
 * and the route rules that only the loader knows (a plugin's URL prefix).
 * Not for: the registrations themselves (host_api.c forwards them to
 * router.c, migrate.c and registry.c) or per-district enablement
 * (enablement.c).
 *
 * Loading happens in three passes so that no plugin code runs before every
 * plugin has been checked: (1) dlopen and validate each descriptor, (2)
 * resolve dependencies and sort, refusing what cannot be satisfied, (3)
 * call init in dependency order.  Plugins are never dlclose()d: routes,
 * SQL and names point into their mappings for the life of the process.
 *
 * A plugin whose init fails — it returns -1, or any registration it made
 * was refused (say a route collision) — is fatal even when configured as
 * optional: its earlier registrations (routes, migrations, permissions)
 * are already in the live tables and cannot be withdrawn, so serving
 * without it would serve half of it.  Optional only covers refusals found
 * before any plugin code runs: a missing file, a wrong ABI, a missing
 * dependency, a duplicate name.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define PLUGIN_NAME_MAX 32

/* One configured plugin on its way through the passes. */
typedef struct candidate {
	const ogc_plugin_conf *conf; /* borrowed from the config */
	og_plugin *p;                /* new; NULL until the file is opened */
	bool refused;
	bool sorted; /* placed in the init order */
	int mark;    /* cycle search: 0 unvisited, 1 on path, 2 done */
} candidate;

/* Plugins whose init succeeded, in init order; owned here for the life of
 * the process (route owners point at them). */
static og_plugin **loaded;
static size_t nloaded;
static bool load_called;
static bool fini_called;

/* ^[a-z][a-z0-9_]{0,31}$: also the URL prefix and the SQL schema name. */
static bool valid_name(const char *s)
{
	size_t i;

	if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (i = 1; s[i] != '\0'; i++) {
		if (i >= PLUGIN_NAME_MAX)
			return false;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return true;
}

/* Logs the one refusal line of a plugin: ERROR when required (or when
 * `fatal`: an init failure), WARN when optional (it is then skipped). */
static void refusev(candidate *c, bool fatal, const char *fmt, va_list ap)
{
	char reason[512];

	vsnprintf(reason, sizeof(reason), fmt, ap);
	c->refused = true;
	if (c->conf->optional && !fatal)
		ogc_log(OG_LOG_WARN, "plugin %s (%s): refused: %s; optional, skipped",
		        c->conf->name, c->p != NULL ? c->p->file : "-", reason);
	else
		ogc_log(OG_LOG_ERROR, "plugin %s (%s): refused: %s", c->conf->name,
		        c->p != NULL ? c->p->file : "-", reason);
}

static void refuse(candidate *c, const char *fmt, ...) OG_PRINTF(2, 3);
static void refuse(candidate *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refusev(c, false, fmt, ap);
	va_end(ap);
}

static void refuse_fatal(candidate *c, const char *fmt, ...) OG_PRINTF(2, 3);
static void refuse_fatal(candidate *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	refusev(c, true, fmt, ap);
	va_end(ap);
}

/* The first accepted candidate called `name`, other than `self`. */
static candidate *find_accepted(candidate *cands, size_t n, const char *name, const candidate *self)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (&cands[i] == self || cands[i].refused || cands[i].p == NULL)
			continue;
		if (strcmp(cands[i].p->desc->name, name) == 0)
			return &cands[i];
	}
	return NULL;
}

/* Pass 1 for one candidate: open the file and check the descriptor.  On
 * refusal the handle stays open (never dlclose) but is forgotten. */
static void open_one(candidate *cands, candidate *c, const char *dir)
{
	const og_plugin_descriptor *d;
	candidate *other;
	void *handle;
	char *file;
	size_t len;
	size_t i;

	if (!valid_name(c->conf->name)) {
		refuse(c, "invalid plugin name in the configuration (must match "
		          "^[a-z][a-z0-9_]{0,31}$)");
		return;
	}
	len = strlen(dir) + strlen(c->conf->name) + 5;
	file = malloc(len);
	c->p = calloc(1, sizeof(*c->p));
	if (file == NULL || c->p == NULL) {
		free(file);
		free(c->p);
		c->p = NULL;
		refuse(c, "out of memory");
		return;
	}
	snprintf(file, len, "%s/%s.so", dir, c->conf->name);
	c->p->file = file;
	c->p->optional = c->conf->optional;

	/* RTLD_LOCAL: a plugin's symbols never satisfy another's.  No
	 * RTLD_DEEPBIND: it breaks AddressSanitizer's interposition. */
	handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		refuse(c, "cannot load: %s", dlerror());
		return;
	}
	dlerror();
	d = dlsym(handle, "og_plugin_desc");
	if (d == NULL) {
		const char *e = dlerror();

		refuse(c,
		       "no og_plugin_desc symbol (%s); not a OneGrid plugin, or built "
		       "without OG_PLUGIN_DEFINE",
		       e != NULL ? e : "symbol is NULL");
		return;
	}
	if (d->magic != OG_PLUGIN_MAGIC) {
		refuse(c, "og_plugin_desc has magic 0x%08x, expected 0x%08x; not a OneGrid plugin",
		       (unsigned)d->magic, (unsigned)OG_PLUGIN_MAGIC);
		return;
	}
	if (d->abi_major != OG_ABI_MAJOR || d->abi_minor > OG_ABI_MINOR) {
		refuse(c,
		       "built for plugin ABI %u.%u, this onegridd provides %u.%u; rebuild it "
		       "against this onegridd's SDK",
		       (unsigned)d->abi_major, (unsigned)d->abi_minor, (unsigned)OG_ABI_MAJOR,
		       (unsigned)OG_ABI_MINOR);
		return;
	}
	if (d->size < sizeof(og_plugin_descriptor)) {
		refuse(c, "descriptor is %u bytes, this onegridd expects at least %zu",
		       (unsigned)d->size, sizeof(og_plugin_descriptor));
		return;
	}
	if (!valid_name(d->name)) {
		refuse(c, "descriptor name \"%s\" is invalid (must match ^[a-z][a-z0-9_]{0,31}$)",
		       d->name != NULL ? d->name : "(null)");
		return;
	}
	/* Duplicates before the basename rule, so that a second file claiming
	 * a loaded plugin's name is reported as what it is. */
	other = find_accepted(cands, (size_t)(c - cands), d->name, c);
	if (other != NULL) {
		refuse(c, "duplicate plugin name %s (already loaded from %s)", d->name,
		       other->p->file);
		return;
	}
	if (strcmp(d->name, c->conf->name) != 0) {
		refuse(c,
		       "descriptor names the plugin \"%s\" but the file is %s.so; a plugin's "
		       "file must be named after it",
		       d->name, c->conf->name);
		return;
	}
	if (d->version == NULL || d->title == NULL || d->init == NULL) {
		refuse(c, "descriptor lacks %s",
		       d->version == NULL ? "a version"
		       : d->title == NULL ? "a title"
		                          : "an init function");
		return;
	}
	for (i = 0; d->depends != NULL && d->depends[i] != NULL; i++) {
		if (!valid_name(d->depends[i])) {
			refuse(c, "depends on \"%s\", which is not a valid plugin name",
			       d->depends[i]);
			return;
		}
	}
	c->p->desc = d;
}

/* Pass 2a: refuse every candidate with a dependency that is not accepted,
 * until nothing changes (a refusal can strand its dependents).  Returns
 * true if anything was refused. */
static bool refuse_unmet(candidate *cands, size_t n)
{
	bool changed, any = false;
	size_t i, j;

	do {
		changed = false;
		for (i = 0; i < n; i++) {
			const char *const *deps;

			if (cands[i].refused)
				continue;
			deps = cands[i].p->desc->depends;
			for (j = 0; deps != NULL && deps[j] != NULL; j++) {
				if (find_accepted(cands, n, deps[j], NULL) == NULL) {
					refuse(&cands[i], "depends on %s, which is not loaded",
					       deps[j]);
					changed = any = true;
					break;
				}
			}
		}
	} while (changed);
	return any;
}

/* Cycle search from c along accepted, unsorted dependencies.  On finding a
 * cycle, refuses every member with the cycle spelled out and returns true. */
static bool refuse_cycle_from(candidate *cands, size_t n, candidate *c, candidate **path,
                              size_t depth)
{
	const char *const *deps = c->p->desc->depends;
	size_t j, k;

	c->mark = 1;
	path[depth] = c;
	for (j = 0; deps != NULL && deps[j] != NULL; j++) {
		candidate *d = find_accepted(cands, n, deps[j], NULL);

		if (d == NULL || d->sorted)
			continue;
		if (d->mark == 1) {
			char cycle[512] = "";
			size_t start;

			for (start = 0; path[start] != d; start++)
				;
			/* "a -> b -> a"; names are at most 32 bytes, strncat truncates
			 * a pathological chain instead of overflowing. */
			for (k = start; k <= depth; k++) {
				strncat(cycle, path[k]->p->desc->name,
				        sizeof(cycle) - strlen(cycle) - 1);
				strncat(cycle, " -> ", sizeof(cycle) - strlen(cycle) - 1);
			}
			strncat(cycle, d->p->desc->name, sizeof(cycle) - strlen(cycle) - 1);
			for (k = start; k <= depth; k++)
				refuse(path[k], "dependency cycle %s", cycle);
			return true;
		}
		if (d->mark == 0 && refuse_cycle_from(cands, n, d, path, depth + 1))
			return true;
	}
	c->mark = 2;
	return false;
}

/* Pass 2: the init order (Kahn's algorithm, configuration order breaking
 * ties).  Fills order[] and returns its length; refuses unmet dependencies
 * and cycles on the way. */
static size_t sort_plugins(candidate *cands, size_t n, candidate **order)
{
	size_t norder = 0, i, j;
	bool progress;

	refuse_unmet(cands, n);
	for (;;) {
		do {
			progress = false;
			for (i = 0; i < n; i++) {
				const char *const *deps;
				bool ready = true;

				if (cands[i].refused || cands[i].sorted)
					continue;
				deps = cands[i].p->desc->depends;
				for (j = 0; deps != NULL && deps[j] != NULL; j++)
					if (!find_accepted(cands, n, deps[j], NULL)->sorted)
						ready = false;
				if (ready) {
					cands[i].sorted = true;
					order[norder++] = &cands[i];
					progress = true;
				}
			}
		} while (progress);

		/* Whatever is left waits on a cycle: refuse one cycle, then its
		 * dependents through refuse_unmet, and sort again. */
		for (i = 0; i < n; i++)
			cands[i].mark = 0;
		for (i = 0; i < n; i++) {
			if (!cands[i].refused && !cands[i].sorted) {
				candidate **path = calloc(n, sizeof(*path));

				if (path == NULL) {
					refuse(&cands[i], "out of memory");
				} else {
					if (!refuse_cycle_from(cands, n, &cands[i], path, 0))
						refuse(&cands[i], "dependency cycle");
					free(path);
				}
				break;
			}
		}
		if (i == n)
			return norder;
		refuse_unmet(cands, n);
	}
}

/* Pass 3 for one plugin.  0, or -1 after logging the refusal. */
static int init_one(candidate *c)
{
	og_plugin *p = c->p;
	og_plugin **grown;
	int rc;

	p->in_init = true;
	p->registration_failed = false;
	rc = p->desc->init(p, ogc_host_api());
	p->in_init = false;
	if (rc != 0 || p->registration_failed) {
		refuse_fatal(c, "%s%s",
		             rc != 0 ? "init failed" : "a registration made by init was refused",
		             c->conf->optional ? " (fatal even for an optional plugin: what it "
		                                 "registered before failing cannot be withdrawn)"
		                               : "");
		return -1;
	}
	grown = realloc(loaded, (nloaded + 1) * sizeof(*loaded));
	if (grown == NULL) {
		refuse_fatal(c, "out of memory");
		return -1;
	}
	loaded = grown;
	loaded[nloaded++] = p;
	ogc_log(OG_LOG_INFO, "plugin %s %s loaded: %s (%s)", p->desc->name, p->desc->version,
	        p->desc->title, p->file);
	return 0;
}

int ogc_plugins_load(const ogc_config *cfg)
{
	candidate *cands, **order;
	size_t n = cfg->nplugins, norder, i;
	const char *dir = cfg->plugin_dir;
	int rc = 0;

	if (load_called) {
		ogc_log(OG_LOG_ERROR, "plugins: ogc_plugins_load called twice");
		return -1;
	}
	load_called = true;
	if (n == 0)
		return 0;
	if (dir == NULL || dir[0] == '\0') {
		ogc_log(OG_LOG_ERROR, "plugins: %zu plugin(s) configured but no plugin_dir", n);
		return -1;
	}
	cands = calloc(n, sizeof(*cands));
	order = calloc(n, sizeof(*order));
	if (cands == NULL || order == NULL) {
		ogc_log(OG_LOG_ERROR, "plugins: out of memory");
		free(cands);
		free(order);
		return -1;
	}
	for (i = 0; i < n; i++) {
		cands[i].conf = &cfg->plugins[i];
		open_one(cands, &cands[i], dir);
	}
	norder = sort_plugins(cands, n, order);

	/* No plugin code runs unless every required plugin passed the checks,
	 * so the log lists every refusal at once. */
	for (i = 0; i < n; i++)
		if (cands[i].refused && !cands[i].conf->optional)
			rc = -1;
	for (i = 0; rc == 0 && i < norder; i++)
		if (init_one(order[i]) < 0)
			rc = -1;

	for (i = 0; i < n; i++) {
		/* Refused ones are forgotten (their mapping stays, harmlessly);
		 * accepted ones that never ran init after a fatal error too. */
		bool in_loaded = false;
		size_t k;

		for (k = 0; k < nloaded; k++)
			if (loaded[k] == cands[i].p)
				in_loaded = true;
		if (!in_loaded && cands[i].p != NULL) {
			free(cands[i].p->file);
			free(cands[i].p);
		}
	}
	free(cands);
	free(order);
	if (rc < 0)
		ogc_plugins_fini();
	return rc;
}

size_t ogc_plugins_count(void)
{
	return nloaded;
}

og_plugin *ogc_plugins_get(size_t i)
{
	return i < nloaded ? loaded[i] : NULL;
}

og_plugin *ogc_plugins_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < nloaded; i++)
		if (strcmp(loaded[i]->desc->name, name) == 0)
			return loaded[i];
	return NULL;
}

void ogc_plugins_fini(void)
{
	size_t i;

	if (fini_called)
		return;
	fini_called = true;
	for (i = nloaded; i-- > 0;)
		if (loaded[i]->desc->fini != NULL)
			loaded[i]->desc->fini();
}

int ogc_plugins_check_route(og_plugin *p, const char *path, const char *permission)
{
	const char *name, *rest;
	size_t len;

	if (p == NULL)
		return 0;
	name = p->desc->name;
	len = strlen(name);
	if (path == NULL || strncmp(path, "/api/v1/", 8) != 0 ||
	    strncmp(path + 8, name, len) != 0 || (path[8 + len] != '\0' && path[8 + len] != '/')) {
		ogc_log(OG_LOG_ERROR,
		        "plugin %s: route %s refused: a plugin's routes live under "
		        "/api/v1/%s/",
		        name, path != NULL ? path : "(null)", name);
		goto fail;
	}
	rest = permission;
	if (rest == NULL || strcmp(rest, OG_PERM_PUBLIC) == 0) {
		ogc_log(OG_LOG_ERROR, "plugin %s: route %s refused: %s", name, path,
		        rest == NULL ? "no permission given"
		                     : "permission \"public\" is reserved for the core");
		goto fail;
	}
	if (strcmp(rest, OG_PERM_AUTHENTICATED) != 0 && !ogc_registry_has_permission(rest)) {
		ogc_log(OG_LOG_ERROR,
		        "plugin %s: route %s refused: permission %s is not registered "
		        "(register permissions before the routes that use them)",
		        name, path, rest);
		goto fail;
	}
	return 0;
fail:
	p->registration_failed = true;
	return -1;
}

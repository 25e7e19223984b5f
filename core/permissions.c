/*
 * core/permissions.c — the permissions the core's own routes declare.
 *
 * Registered exactly as a plugin registers its own (owner NULL = "core"),
 * with the roles that hold each one by default; registry.c stores them and
 * their grants at start-up.  The admin role holds every permission without
 * a grant.
 *
 * Not here: checking permissions (auth.c, called by the router) and the
 * pseudo-permissions public/authenticated, which have no row.
 */
#include "core.h"

static const char *const users_read_roles[] = {"admin", "district", "street", NULL};
static const char *const users_write_roles[] = {"district", "street", NULL};
static const char *const audit_read_roles[] = {"district", "street", "community", NULL};
static const char *const plugins_manage_roles[] = {"district", NULL};

void ogc_core_register_permissions(void)
{
	/* A failure is logged by the registry, naming the code. */
	ogc_registry_permission(NULL, "users.read", "用户管理-查看", users_read_roles);
	ogc_registry_permission(NULL, "users.write", "用户管理-新建与修改",
	                        users_write_roles);
	ogc_registry_permission(NULL, "audit.read", "审计日志-查看", audit_read_roles);
	ogc_registry_permission(NULL, "plugins.manage", "插件启用-管理",
	                        plugins_manage_roles);
}

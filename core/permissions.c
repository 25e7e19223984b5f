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
static const char *const everyone[] = {"district", "street", "community", "grid_worker", NULL};
static const char *const region_write_roles[] = {"district", NULL};
static const char *const model_write_roles[] = {"district", "street", "community", "grid_worker",
                                                NULL};
static const char *const import_roles[] = {"district", "street", "community", NULL};
/* Grid workers see their own grid's ID numbers and phones in full; other
 * roles only by an explicit grant (PUT /api/v1/roles/{role}/permissions). */
static const char *const sensitive_roles[] = {"grid_worker", NULL};

/* The core's resident tags (DESIGN.md §4); plugins add their own. */
static const struct {
	const char *code, *label;
} core_tags[] = {
        {"disabled", "残疾人"},  {"lives_alone", "独居老人"}, {"empty_nest", "空巢老人"},
        {"veteran", "退役军人"}, {"floating", "流动人口"},    {"key_person", "重点人员"},
};

void ogc_core_register_permissions(void)
{
	/* A failure is logged by the registry, naming the code. */
	ogc_registry_permission(NULL, "users.read", "用户管理-查看", users_read_roles);
	ogc_registry_permission(NULL, "users.write", "用户管理-新建与修改", users_write_roles);
	ogc_registry_permission(NULL, "audit.read", "审计日志-查看", audit_read_roles);
	ogc_registry_permission(NULL, "plugins.manage", "插件启用-管理", plugins_manage_roles);
	ogc_registry_permission(NULL, "roles.manage", "角色权限-授予与撤销", NULL);

	/* The shared model. */
	ogc_registry_permission(NULL, "regions.read", "区域-查看", everyone);
	ogc_registry_permission(NULL, "regions.write", "区域-新建、修改、关闭", region_write_roles);
	ogc_registry_permission(NULL, "households.read", "楼栋与户-查看", everyone);
	ogc_registry_permission(NULL, "households.write", "楼栋与户-登记与修改", model_write_roles);
	ogc_registry_permission(NULL, "residents.read", "居民-查看", everyone);
	ogc_registry_permission(NULL, "residents.write", "居民-登记与修改", model_write_roles);
	ogc_registry_permission(NULL, "residents.read_sensitive", "居民-查看完整证件号与电话",
	                        sensitive_roles);
	ogc_registry_permission(NULL, "residents.import", "居民-批量导入", import_roles);
	ogc_registry_permission(NULL, "residents.export", "居民-导出", import_roles);
	for (size_t i = 0; i < sizeof(core_tags) / sizeof(core_tags[0]); i++)
		ogc_registry_tag(NULL, core_tags[i].code, core_tags[i].label);
}

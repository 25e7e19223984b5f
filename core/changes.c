/*
 * core/changes.c — placeholder while the shared model is being written.
 */
#include "core.h"

void ogc_changes_register_routes(void)
{
}

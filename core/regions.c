/*
 * core/regions.c — placeholder while the shared model is being written.
 */
#include "core.h"

void ogc_regions_register_routes(void)
{
}

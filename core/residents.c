/*
 * core/residents.c — placeholder while the shared model is being written.
 */
#include "core.h"

void ogc_residents_register_routes(void)
{
}

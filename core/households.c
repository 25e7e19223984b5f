/*
 * core/households.c — placeholder while the shared model is being written.
 */
#include "core.h"

void ogc_households_register_routes(void)
{
}

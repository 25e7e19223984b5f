/*
 * core/transfer.c — placeholder while the shared model is being written.
 */
#include "core.h"

void ogc_transfer_register_routes(void)
{
}

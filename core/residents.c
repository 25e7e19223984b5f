/*
 * core/residents.c — placeholder while the shared model is being written.
 */
#include "core.h"

void ogc_residents_register_routes(void)
{
}

int ogc_residents_validate(json_t *in, bool partial, json_t **out, const char **field, char *why,
                           size_t whylen)
{
	(void)in;
	(void)partial;
	*out = NULL;
	*field = "name";
	snprintf(why, whylen, "residents are not available yet");
	return -1;
}

/*
 * core/tags.c — placeholder while the shared model is being written.
 */
#include "core.h"

void ogc_tags_register_routes(void)
{
}

int ogc_tags_set(og_req *req, og_plugin *owner, int64_t resident_id, const char *code,
                 const char *source)
{
	(void)owner;
	(void)resident_id;
	(void)code;
	(void)source;
	ogc_req_reply_error(req, 500, "internal", "tags are not available yet", NULL);
	return -1;
}

int ogc_tags_clear(og_req *req, og_plugin *owner, int64_t resident_id, const char *code)
{
	(void)owner;
	(void)resident_id;
	(void)code;
	ogc_req_reply_error(req, 500, "internal", "tags are not available yet", NULL);
	return -1;
}

/*
 * core/log.c — the daemon's log: one line per event on stderr.
 *
 * Lines look like "2026-11-27T07:11:42.123+08:00 INFO [worker 1 4242] msg".
 * stderr is what systemd's journal and the test harness read, so there is
 * no log file handling here; rotation is the journal's business.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

static char log_role[32] = "onegridd";

void ogc_log_set_role(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
}

static const char *level_name(og_log_level level)
{
	switch (level) {
	case OG_LOG_DEBUG:
		return "DEBUG";
	case OG_LOG_INFO:
		return "INFO";
	case OG_LOG_WARN:
		return "WARN";
	case OG_LOG_ERROR:
		return "ERROR";
	}
	return "?";
}

void ogc_logv(og_log_level level, const char *fmt, va_list ap)
{
	char line[4096];
	struct timeval tv;
	struct tm tm;
	size_t n;

	if (level == OG_LOG_DEBUG && getenv("ONEGRID_DEBUG") == NULL)
		return;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ld %s [%s %ld] ",
	                      (long)(tv.tv_usec / 1000), level_name(level), log_role,
	                      (long)getpid());
	if (n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = strlen(line);
	if (n + 1 >= sizeof(line))
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write() per line so lines of concurrent workers never interleave. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void ogc_log(og_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ogc_logv(level, fmt, ap);
	va_end(ap);
}

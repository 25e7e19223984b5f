/*
 * core/log.c — the daemon's log: one line per event on stderr.
 *
 * Lines look like "2026-11-27T07:11:42.123+08:00 INFO [worker 1 4242] msg".
 * stderr is what systemd's journal and the test harness read, so there is
 * no log file handling here; rotation is the journal's business.
 *
 * The per-request line (ogc_log_access) is the one written thousands of
 * times a second, so it is made cheap: the date is formatted once a second,
 * the "[role pid]" part once per process, and a worker that installed a
 * flush hook (daemon.c) collects the lines of one event-loop turn and
 * writes them with one write(2) at the end of the turn, before the loop
 * waits again.  Every other line, and the crash handler, first writes what
 * is collected, so the log's order is the order of events.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

/* A pipe writes up to PIPE_BUF (4096) bytes at once: lines of concurrent
 * workers never interleave as long as every write stays within it. */
#define LINE_MAX_BYTES 4096

static char log_tag[64] = "[onegridd] "; /* "[worker 1 4242] " once the role is set */
static bool log_tag_has_pid;

/* The collected access lines of this loop turn (whole lines only). */
static char pending[LINE_MAX_BYTES];
static size_t npending;
static void (*schedule_flush)(void); /* NULL: write every line at once */

void ogc_log_set_role(const char *role)
{
	/* Called after every fork (daemon.c): the pid is this process's. */
	snprintf(log_tag, sizeof(log_tag), "[%s %ld] ", role, (long)getpid());
	log_tag_has_pid = true;
}

void ogc_log_defer(void (*schedule)(void))
{
	ogc_log_flush();
	schedule_flush = schedule;
}

void ogc_log_flush(void)
{
	/* write(2) only: on_crash in router.c calls this from a signal handler. */
	if (npending > 0 && write(STDERR_FILENO, pending, npending) < 0)
		npending = 0;
	npending = 0;
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

/* "2026-11-27T07:11:42.123 INFO [worker 1 4242] " into line; its length.
 * len must leave room for the prefix (LINE_MAX_BYTES does). */
static size_t prefix(char *line, size_t len, og_log_level level)
{
	static time_t cached_sec = (time_t)-1;
	static char cached_date[32];
	static size_t cached_len;
	struct timeval tv;
	const char *name = level_name(level);
	size_t n, k;
	long ms;

	gettimeofday(&tv, NULL);
	if (tv.tv_sec != cached_sec) {
		struct tm tm;
		localtime_r(&tv.tv_sec, &tm);
		cached_len = strftime(cached_date, sizeof(cached_date), "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = tv.tv_sec;
	}
	if (!log_tag_has_pid) { /* before the role is set: one-off commands, start-up */
		int m = snprintf(line, len, "%s.%03ld %s [onegridd %ld] ", cached_date,
		                 (long)(tv.tv_usec / 1000), name, (long)getpid());
		return m > 0 ? (size_t)m : 0;
	}
	/* The common case, without printf: it is on every request's path. */
	memcpy(line, cached_date, cached_len);
	n = cached_len;
	ms = (long)(tv.tv_usec / 1000);
	line[n++] = '.';
	line[n++] = (char)('0' + ms / 100);
	line[n++] = (char)('0' + ms / 10 % 10);
	line[n++] = (char)('0' + ms % 10);
	line[n++] = ' ';
	k = strlen(name);
	memcpy(line + n, name, k);
	n += k;
	line[n++] = ' ';
	k = strlen(log_tag);
	memcpy(line + n, log_tag, k);
	return n + k;
}

/* Formats one line (newline included) into line[LINE_MAX_BYTES]. */
static size_t format_line(char *line, og_log_level level, const char *fmt, va_list ap)
{
	size_t n = prefix(line, LINE_MAX_BYTES, level);
	int m;

	if (n < LINE_MAX_BYTES) {
		m = vsnprintf(line + n, LINE_MAX_BYTES - n, fmt, ap);
		n += m > 0 ? (size_t)m : 0;
	}
	if (n + 1 >= LINE_MAX_BYTES)
		n = LINE_MAX_BYTES - 2;
	line[n++] = '\n';
	return n;
}

void ogc_logv(og_log_level level, const char *fmt, va_list ap)
{
	char line[LINE_MAX_BYTES];
	size_t n;

	if (level == OG_LOG_DEBUG && getenv("ONEGRID_DEBUG") == NULL)
		return;
	n = format_line(line, level, fmt, ap);
	ogc_log_flush(); /* the access lines before it happened before it */
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

/* Writes v in decimal at line + n (room for 21 bytes assumed); new n. */
static size_t put_long(char *line, size_t n, long v)
{
	char digits[24];
	int k = 0;
	unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;

	do
		digits[k++] = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (v < 0)
		line[n++] = '-';
	while (k > 0)
		line[n++] = digits[--k];
	return n;
}

/*
 * The access line's own formatter: %s, %d, %ld, %.1f and %% only, no
 * locale, no padding; some ten times cheaper than vsnprintf for the one
 * line every request writes.  Returns the new length, or 0 when fmt holds
 * anything else or the line would not fit (the caller then uses
 * vsnprintf on its own copy of the arguments).
 */
static size_t quick_format(char *line, size_t n, const char *fmt, va_list ap)
{
	const size_t room = LINE_MAX_BYTES - 2; /* the newline goes after */

	for (const char *f = fmt; *f != '\0'; f++) {
		if (n + 32 > room)
			return 0;
		if (*f != '%') {
			line[n++] = *f;
			continue;
		}
		f++;
		if (*f == 's') {
			const char *v = va_arg(ap, const char *);
			size_t k = strlen(v ? v : "(null)");
			if (n + k + 32 > room)
				return 0;
			memcpy(line + n, v ? v : "(null)", k);
			n += k;
		} else if (*f == 'd') {
			n = put_long(line, n, va_arg(ap, int));
		} else if (f[0] == 'l' && f[1] == 'd') {
			n = put_long(line, n, va_arg(ap, long));
			f++;
		} else if (f[0] == '.' && f[1] == '1' && f[2] == 'f') {
			double d = va_arg(ap, double);
			long tenths;
			if (!(d >= 0 && d < 1e15))
				return 0;
			tenths = (long)(d * 10.0 + 0.5);
			n = put_long(line, n, tenths / 10);
			line[n++] = '.';
			line[n++] = (char)('0' + tenths % 10);
			f += 2;
		} else if (*f == '%') {
			line[n++] = '%';
		} else {
			return 0;
		}
	}
	return n;
}

void ogc_log_access(const char *fmt, ...)
{
	char line[LINE_MAX_BYTES];
	va_list ap;
	size_t n, m;

	n = prefix(line, LINE_MAX_BYTES, OG_LOG_INFO);
	va_start(ap, fmt);
	m = quick_format(line, n, fmt, ap);
	va_end(ap);
	if (m == 0) {
		va_start(ap, fmt);
		m = format_line(line, OG_LOG_INFO, fmt, ap) - 1; /* without its newline */
		va_end(ap);
	}
	n = m;
	line[n++] = '\n';
	if (schedule_flush == NULL) {
		if (write(STDERR_FILENO, line, n) < 0)
			return;
		return;
	}
	if (npending + n > sizeof(pending))
		ogc_log_flush();
	if (npending == 0)
		schedule_flush();
	memcpy(pending + npending, line, n);
	npending += n;
}

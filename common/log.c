/*
 * log: logfmt or JSON lines on stderr, filtered by level, copied to a hook.
 */
#include <sys/time.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

#define LOG_LINE_MAX 8192

static pthread_mutex_t	 log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum log_level	 log_level = LOGL_INFO;
static enum log_format	 log_format = LOGF_LOGFMT;
static log_hook_fn	 log_hook;
static void		*log_hook_arg;
static char		 log_last[512];

static const char *level_names[] = { "error", "warn", "info", "debug" };

void
log_set_level(enum log_level l)
{
	log_level = l;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_set_format(enum log_format f)
{
	log_format = f;
}

int
log_parse_format(const char *s, enum log_format *f)
{
	if (strcmp(s, "logfmt") == 0)
		*f = LOGF_LOGFMT;
	else if (strcmp(s, "json") == 0)
		*f = LOGF_JSON;
	else
		return -1;
	return 0;
}

void
log_set_hook(log_hook_fn fn, void *arg)
{
	pthread_mutex_lock(&log_lock);
	log_hook = fn;
	log_hook_arg = arg;
	pthread_mutex_unlock(&log_lock);
}

/* Appends s to line at *off, quoted and escaped for logfmt or JSON as needed. */
static void
append_value(char *line, size_t *off, const char *s, int force_quote)
{
	const char	*p;
	int		 quote = force_quote || *s == '\0';
	size_t		 o = *off;

	for (p = s; !quote && *p != '\0'; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
			quote = 1;
	if (quote && o < LOG_LINE_MAX - 1)
		line[o++] = '"';
	for (p = s; *p != '\0' && o < LOG_LINE_MAX - 8; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			line[o++] = '\\';
			line[o++] = (char)c;
		} else if (c == '\n') {
			line[o++] = '\\';
			line[o++] = 'n';
		} else if (c == '\t') {
			line[o++] = '\\';
			line[o++] = 't';
		} else if (c < 0x20) {
			o += (size_t)snprintf(line + o, 8, "\\u%04x", c);
		} else
			line[o++] = (char)c;
	}
	if (quote && o < LOG_LINE_MAX - 1)
		line[o++] = '"';
	line[o] = '\0';
	*off = o;
}

static void
append_raw(char *line, size_t *off, const char *s)
{
	size_t	n = strlen(s), room;

	if (*off >= LOG_LINE_MAX - 1)
		return;
	room = LOG_LINE_MAX - 1 - *off;
	if (n > room)
		n = room;
	memcpy(line + *off, s, n);
	*off += n;
	line[*off] = '\0';
}

static void
append_pair(char *line, size_t *off, const char *key, const char *value)
{
	int	json = log_format == LOGF_JSON;

	append_raw(line, off, json ? "," : " ");
	if (json) {
		append_value(line, off, key, 1);
		append_raw(line, off, ":");
	} else {
		append_raw(line, off, key);
		append_raw(line, off, "=");
	}
	append_value(line, off, value, json);
}

static void
log_emit(enum log_level level, const char *msg, va_list kv)
{
	char		 line[LOG_LINE_MAX], ts[40], frac[8];
	struct timeval	 tv;
	struct tm	 tm;
	const char	*k, *v;
	size_t		 off = 0;

	if (level > log_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(frac, sizeof(frac), ".%03dZ", (int)(tv.tv_usec / 1000));
	strlcat(ts, frac, sizeof(ts));

	line[0] = '\0';
	if (log_format == LOGF_JSON) {
		append_raw(line, &off, "{\"ts\":");
		append_value(line, &off, ts, 1);
	} else {
		append_raw(line, &off, "ts=");
		append_raw(line, &off, ts);
	}
	append_pair(line, &off, "level", level_names[level]);
	append_pair(line, &off, "msg", msg);
	while ((k = va_arg(kv, const char *)) != NULL) {
		v = va_arg(kv, const char *);
		append_pair(line, &off, k, v == NULL ? "" : v);
	}
	if (log_format == LOGF_JSON)
		append_raw(line, &off, "}");

	pthread_mutex_lock(&log_lock);
	if (level <= LOGL_WARN)
		strlcpy(log_last, msg, sizeof(log_last));
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
	if (log_hook != NULL)
		log_hook(line, log_hook_arg);
	pthread_mutex_unlock(&log_lock);
}

void
log_kv(enum log_level level, const char *msg, ...)
{
	va_list	ap;

	va_start(ap, msg);
	log_emit(level, msg, ap);
	va_end(ap);
}

static void
log_vfmt(enum log_level level, const char *fmt, va_list ap)
{
	char	msg[LOG_LINE_MAX / 2];

	if (level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_kv(level, msg, (char *)NULL);
}

void
log_error(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vfmt(LOGL_ERROR, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vfmt(LOGL_WARN, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vfmt(LOGL_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vfmt(LOGL_DEBUG, fmt, ap);
	va_end(ap);
}

void
log_last_error(char *buf, size_t len)
{
	pthread_mutex_lock(&log_lock);
	strlcpy(buf, log_last, len);
	pthread_mutex_unlock(&log_lock);
}

void
log_clear_last_error(void)
{
	pthread_mutex_lock(&log_lock);
	log_last[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

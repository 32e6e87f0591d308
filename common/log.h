/*
 * log: one line per event on stderr, logfmt by default
 *   ts=2026-11-24T03:00:00.123Z level=info msg="backup committed" id=20261124T030000Z
 * or JSON objects (log_format = json).  Thread-safe: child stderr readers and
 * the HTTP server log from their own threads.
 *
 * Never pass a secret to these functions: nothing here can tell one apart.
 */
#ifndef KB_LOG_H
#define KB_LOG_H

enum log_level {
	LOGL_ERROR,
	LOGL_WARN,
	LOGL_INFO,
	LOGL_DEBUG
};

enum log_format {
	LOGF_LOGFMT,
	LOGF_JSON
};

void	 log_set_level(enum log_level);
enum log_level log_get_level(void);
void	 log_set_format(enum log_format);
int	 log_parse_format(const char *, enum log_format *);

/*
 * A hook sees every line written (after level filtering), without its
 * newline: the control socket streams a job's log to its client with it.
 */
typedef void (*log_hook_fn)(const char *line, void *arg);
void	 log_set_hook(log_hook_fn, void *arg);

/* Message, then key/value string pairs, NULL-terminated. */
void	 log_kv(enum log_level, const char *msg, ...) __attribute__((sentinel));

/* printf-style message without extra keys. */
void	 log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The message of the last error or warning line logged (for notifications). */
void	 log_last_error(char *buf, size_t len);
void	 log_clear_last_error(void);

#endif

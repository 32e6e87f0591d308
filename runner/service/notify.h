/*
 * notify: telling the outside world how a job went ([notify]).
 *
 *   webhook = URL      POST of a JSON object about each job (on = failure:
 *                      failed jobs only; on = always: every job)
 *   ping_start = URL   GET when a job starts        (healthchecks.io style)
 *   ping_success = URL GET when it succeeded
 *   ping_failure = URL POST of the job's last log lines when it failed
 *
 * Each request is retried 3 times with a growing pause (1 s, 2 s, 4 s) on a
 * transport error, a 5xx or a 429.  A notification that cannot be delivered
 * is logged as a warning and never changes the job's result.  URLs are not
 * logged whole (they often carry a token): only their scheme and host.
 *
 * The last log lines come from a notify_tail, which the run loop chains
 * into the log hook (notify_tail_hook) for the duration of a job.
 */
#ifndef KB_NOTIFY_H
#define KB_NOTIFY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct notify_config {
	const char	*webhook;
	int		 always;		/* on = always */
	const char	*ping_start;
	const char	*ping_success;
	const char	*ping_failure;
	int		 retries;		/* 0: the default, 3 */
	int		 backoff_ms;		/* 0: the default, 1000 */
	long		 timeout;		/* seconds per request; 0: 10 */
};

struct notify_event {
	const char	*name;
	const char	*namespace;
	const char	*engine;
	const char	*job;		/* "backup", "restore" */
	int		 success;
	const char	*backup_id;	/* may be NULL */
	uint64_t	 raw_bytes;
	uint64_t	 stored_bytes;
	double		 duration;
	time_t		 started;
	const char	*error;		/* last error line, or NULL */
};

#define NOTIFY_TAIL_LINES	20

struct notify_tail {
	pthread_mutex_t	 lock;
	char		*lines[NOTIFY_TAIL_LINES];
	size_t		 next;
};

/* ping_start. */
void	 notify_job_start(const struct notify_config *);
/* webhook (as "on" says), then ping_success or ping_failure (with tail, may be NULL). */
void	 notify_job_end(const struct notify_config *, const struct notify_event *,
	    const char *tail);

/* The webhook's JSON body; free() it. */
char	*notify_webhook_body(const struct notify_event *);
/*
 * One request with retries: body NULL means GET, else POST of body with
 * content_type.  0 on a 2xx, -1 when every attempt failed.
 */
int	 notify_send(const struct notify_config *, const char *url, const char *body,
	    const char *content_type, char *err, size_t errlen);

void	 notify_tail_init(struct notify_tail *);
void	 notify_tail_free(struct notify_tail *);
/* A log_hook_fn: arg is the struct notify_tail. */
void	 notify_tail_hook(const char *line, void *arg);
/* The lines kept, oldest first, newline-terminated; free() it. */
char	*notify_tail_text(struct notify_tail *);

#endif

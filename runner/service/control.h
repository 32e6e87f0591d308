/*
 * control: the daemon's control socket (Unix stream, mode 0600; where it is:
 * runner_control_path()), and its client, "kbackup-runner trigger".
 *
 * Protocol: the client sends one line, "NAMESPACE/NAME backup",
 * "NAMESPACE/NAME restore ARGS..." or "NAMESPACE/NAME status"; the server
 * answers with lines and ends with "exit N".  A daemon of another
 * definition answers "error: this daemon serves ..." and exit 2: trigger
 * never runs a job of a definition it was not given.  While a
 * triggered job runs, every log line is streamed to the client (log hook).
 * When a job is already running, the answer is
 *   busy: backup 20261124T030000Z started at 2026-11-24T03:00:00Z
 *   exit 1
 *
 * One job at a time: the job slot (control_job_begin/end) is shared with the
 * run loop, which takes it for scheduled jobs too.  A triggered job runs in a
 * thread of this module, calling the job callback given at start.
 */
#ifndef KB_CONTROL_H
#define KB_CONTROL_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "common/log.h"

struct control;

/* Runs a job to its end; argv[0] is "backup" or "restore".  Returns the exit status. */
typedef int	(*control_job_fn)(void *arg, int argc, char **argv);
/* Writes status lines (no newline) with emit(ctx, line); may be NULL. */
typedef void	(*control_status_fn)(void *arg, void (*emit)(void *ctx, const char *line),
		    void *ctx);

struct control_config {
	const char		*socket_path;
	const char		*definition;	/* NAMESPACE/NAME */
	control_job_fn		 job;
	control_status_fn	 status;
	void			*arg;
	/* The log hook in place outside triggered jobs (still called during them), or NULL. */
	log_hook_fn		 chain;
	void			*chain_arg;
};

/* Binds the socket and starts the accept thread. */
int	 control_start(struct control **, const struct control_config *, char *err,
	    size_t errlen);
/* Stops accepting, waits for a triggered job to end, removes the socket. */
void	 control_stop(struct control *);

/*
 * Takes the job slot for desc ("backup 20261124T030000Z"); -1 with
 * "busy: DESC started at TIME" in busy if a job holds it.
 */
int	 control_job_begin(struct control *, const char *desc, char *busy, size_t busylen);
void	 control_job_end(struct control *);
/* 1 with the description and start of the job holding the slot; 0 when it is free. */
int	 control_job_running(struct control *, char *desc, size_t desclen, time_t *started);

/*
 * Client: sends argv as one request, copies the answer's lines to out and
 * returns the N of "exit N".  No daemon listening, or a broken answer: -1 with
 * the reason in err (the caller exits 1).
 */
int	 control_client(const char *socket_path, const char *definition, int argc,
	    char **argv, FILE *out, char *err, size_t errlen);

#endif

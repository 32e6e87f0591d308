/*
 * cancel: the one place signals are handled, and the process-wide "stop
 * what you are doing" flag every wait checks.
 *
 * cancel_signals() installs the handlers once, for every command and the
 * daemon: SIGTERM and SIGINT call cancel_request(), SIGHUP sets the hangup
 * flag; both write a byte to a pipe, so that a poll() wakes at once.  Every
 * wait -- on storage (the S3 backend's transfers and back-off), on a child
 * (common/proc.h), on the dump's pipe, the daemon's sleep -- polls
 * cancel_fd() or checks cancel_requested() as it goes and fails with
 * "cancelled"; whoever started a child kills it on that failure, whoever
 * began an upload aborts it.  cancel_reset() clears the flag (tests; never
 * while a job runs).
 */
#ifndef KB_CANCEL_H
#define KB_CANCEL_H

/* Creates the pipes and installs the SIGTERM, SIGINT and SIGHUP handlers. */
void	 cancel_signals(void);
/* Creates the pipes only (tests, and programs with handlers of their own). */
void	 cancel_init(void);
/* Async-signal-safe. */
void	 cancel_request(void);
int	 cancel_requested(void);
/* "cancelled: interrupted by signal 15", or "cancelled" (for messages). */
const char *cancel_why(void);
/* Readable once cancel_request() was called (-1 before cancel_init()). */
int	 cancel_fd(void);
void	 cancel_reset(void);

/*
 * Cleanup after a cancel (dropping what a cancelled restore created): the
 * flag is cleared so that the cleanup's own children run, and set again at
 * the end.  A signal during the cleanup cancels it too.
 */
int	 cancel_cleanup_begin(void);
void	 cancel_cleanup_end(int was_cancelled);

/*
 * The daemon's wake-ups: SIGHUP, and cancel_wake() from its own threads.
 * cancel_wake_fd() is readable until cancel_wake_drain(); the hangup flag
 * is returned and cleared by cancel_hangup_take().
 */
void	 cancel_wake(void);
int	 cancel_wake_fd(void);
void	 cancel_wake_drain(void);
int	 cancel_hangup_take(void);

#endif

/*
 * cancel: the process-wide "stop what you are doing" flag.
 *
 * A signal handler (SIGTERM, SIGINT) calls cancel_request(), which is
 * async-signal-safe: it sets a volatile sig_atomic_t and writes a byte to a
 * pipe.  Long-running loops (the pipeline) check cancel_requested() as they
 * go, or poll cancel_fd() next to their own descriptors to wake at once, and
 * fail with "cancelled"; whoever started a child kills it on that failure.
 * cancel_reset() clears the flag (tests; never while a job runs).
 */
#ifndef KB_CANCEL_H
#define KB_CANCEL_H

/* Creates the wake pipe; call once, before installing the signal handlers. */
void	 cancel_init(void);
/* Async-signal-safe. */
void	 cancel_request(void);
int	 cancel_requested(void);
/* Readable once cancel_request() was called (-1 before cancel_init()). */
int	 cancel_fd(void);
void	 cancel_reset(void);

#endif

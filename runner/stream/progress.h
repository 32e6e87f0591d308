/*
 * progress: how far a backup, restore or unpack has got.
 *
 * The pipeline adds to two counters (bytes read from the source, bytes
 * stored or written) from any thread, and calls progress_tick() as it goes;
 * the tick is cheap (a clock read and a compare) and prints only when due:
 * a log line every 10 seconds (bytes read and stored, rate, elapsed), or,
 * for a restore or unpack with stderr on a terminal, a progress bar redrawn
 * a few times a second instead.  progress_finish() prints the totals.
 */
#ifndef KB_PROGRESS_H
#define KB_PROGRESS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

enum progress_kind {
	PROGRESS_BACKUP,
	PROGRESS_RESTORE,
	PROGRESS_UNPACK
};

struct progress {
	enum progress_kind	 kind;
	uint64_t		 total;		/* expected bytes read, 0: unknown */
	_Atomic uint64_t	 read;
	_Atomic uint64_t	 stored;
	_Atomic int64_t		 due_ms;	/* monotonic ms of the next print */
	int64_t			 start_ms;
	int			 interval_ms;
	int			 bar;		/* draw a bar on bar_fd instead of logging */
	int			 bar_fd;
	pthread_mutex_t		 lock;		/* one printer at a time */
	void			(*beat)(void *);	/* see progress_set_heartbeat() */
	void			*beat_arg;
	int64_t			 beat_ms;
	int64_t			 beat_due_ms;
};

/* total: expected bytes read (a restore knows its stored size), or 0. */
void	 progress_start(struct progress *, enum progress_kind, uint64_t total);
/* Tests: draw to fd (bar 1) or log (bar 0), every interval_ms. */
void	 progress_set_output(struct progress *, int bar, int fd, int interval_ms);
/*
 * fn(arg) is called from progress_tick() every interval_ms, in the thread
 * that ticks (a backup's job marker is rewritten so: the pipeline ticks in
 * the thread that drives storage, also while the dump is silent).
 */
void	 progress_set_heartbeat(struct progress *, void (*fn)(void *), void *arg,
	    int interval_ms);
void	 progress_add_read(struct progress *, uint64_t n);
void	 progress_add_stored(struct progress *, uint64_t n);
void	 progress_tick(struct progress *);
/* Ends the bar's line and logs the totals; ok: the job succeeded. */
void	 progress_finish(struct progress *, int ok);

#endif

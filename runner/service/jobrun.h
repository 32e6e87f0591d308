/*
 * jobrun: one job with everything around it, the same for --once, the
 * daemon's schedule and triggered jobs:
 *
 *   ping_start → [hooks] before → the job → [hooks] after → on_failure (if
 *   it failed) → metrics → webhook and pings → [metrics] textfile
 *
 * and, after a successful backup, prune (one call site, see jobrun.c).
 * Notifications carry the job's last log lines: jobrun_init() installs
 * notify_tail_hook as the log hook (the control socket chains it while a
 * triggered job streams its log).
 */
#ifndef KB_JOBRUN_H
#define KB_JOBRUN_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "runner/cmd/jobs.h"
#include "runner/service/metrics.h"
#include "runner/service/notify.h"

/* What one location holds (its ok backups), as last read: at start, after each backup. */
struct jobrun_stored {
	char		 name[64];	/* "default" ([storage]) or NAME ([storage.NAME]) */
	int		 known;		/* 0: could not be read */
	size_t		 count;
	struct {			/* the newest backup; id "" when there is none */
		char	 id[BACKUP_ID_MAX];
		time_t	 started;
		time_t	 finished;
		uint64_t raw_bytes;
		uint64_t stored_bytes;
	} newest;
};

/* A job that ended, for jobrun_set_done(); error is NULL when it succeeded. */
struct jobrun_done {
	const char		*job;		/* "backup", "restore" */
	int			 ok;
	const struct job_result	*res;
	const char		*error;
};
typedef void	(*jobrun_done_fn)(void *arg, const struct jobrun_done *);

struct jobrun {
	struct runner		*r;		/* the daemon swaps it on SIGHUP, between jobs */
	struct metrics		 metrics;
	struct notify_tail	 tail;
	pthread_mutex_t		 lock;		/* stored, done */
	struct jobrun_stored	*stored;
	size_t			 nstored;
	jobrun_done_fn		 done;
	void			*done_arg;
};

/* metrics labelled from r; installs the tail as the log hook. */
void	 jobrun_init(struct jobrun *, struct runner *, time_t start);
void	 jobrun_free(struct jobrun *);
/*
 * Opens every location's catalog: what each holds (jobrun_stored()), and
 * the last success and stored backups of the first for the metrics.
 */
void	 jobrun_seed(struct jobrun *);
/* A copy of what the locations held when last read; free() it. */
size_t	 jobrun_stored(struct jobrun *, struct jobrun_stored **);
/* fn is called at the end of every job run through jobrun, in the job's thread. */
void	 jobrun_set_done(struct jobrun *, jobrun_done_fn, void *arg);

/* Exit statuses as job_backup()/job_restore(). */
int	 jobrun_backup(struct jobrun *, struct job_result *);
int	 jobrun_restore(struct jobrun *, const struct restore_request *);

#endif

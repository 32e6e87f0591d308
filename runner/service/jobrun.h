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

#include <time.h>

#include "runner/cmd/jobs.h"
#include "runner/service/metrics.h"
#include "runner/service/notify.h"

struct jobrun {
	struct runner		*r;		/* the daemon swaps it on SIGHUP, between jobs */
	struct metrics		 metrics;
	struct notify_tail	 tail;
};

/* metrics labelled from r; installs the tail as the log hook. */
void	 jobrun_init(struct jobrun *, struct runner *, time_t start);
void	 jobrun_free(struct jobrun *);
/* Last success and stored backups from the first location's manifests. */
void	 jobrun_seed(struct jobrun *);

/* Exit statuses as job_backup()/job_restore(). */
int	 jobrun_backup(struct jobrun *, struct job_result *);
int	 jobrun_restore(struct jobrun *, const struct restore_request *);

#endif

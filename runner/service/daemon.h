/*
 * daemon: "kbackup-runner run" — the schedule loop, with /metrics and
 * /healthz on [metrics] listen, the control socket for trigger, sd_notify,
 * and signals (SIGTERM/SIGINT stop, aborting a running job; SIGHUP rereads
 * the config).  Also "schedule": the next runs of the config's schedule.
 */
#ifndef KB_DAEMON_H
#define KB_DAEMON_H

#include <stdio.h>

#include "runner/runner.h"

struct jobrun;
struct job_result;

/*
 * Runs a triggered command's words (argv[0] the command) with the daemon's
 * runner and jobrun, as the command line would; returns its exit status.
 */
typedef int (*daemon_trigger_fn)(struct runner *, struct jobrun *, int argc, char **argv,
    struct job_result *);

/*
 * Runs until SIGTERM or SIGINT (cancel_signals() installed by the caller).
 * r: storage open, lock held by the caller; config_path: reread on SIGHUP
 * (r is then replaced between jobs); trigger: runs what "trigger" asks.
 * Returns an exit status: 0 after a clean stop, 1 if it could not start.
 */
int	 daemon_run(struct runner *r, const char *config_path, daemon_trigger_fn trigger);

/* Prints the next count runs, in the timezone and UTC, and OnCalendar= lines. */
int	 daemon_schedule_print(struct runner *r, int count, FILE *out);


#endif

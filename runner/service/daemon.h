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

/*
 * Runs until SIGTERM or SIGINT.  r: storage open, lock held by the caller;
 * config_path: reread on SIGHUP (r is then replaced between jobs).
 * Returns an exit status: 0 after a clean stop, 1 if it could not start.
 */
int	 daemon_run(struct runner *r, const char *config_path);

/* Prints the next count runs, in the timezone and UTC, and OnCalendar= lines. */
int	 daemon_schedule_print(struct runner *r, int count, FILE *out);

/* Parses "restore" request words (ID|latest, --at TIME, --database NAME, --dry-run). */
struct restore_request;
int	 daemon_parse_restore(int argc, char **argv, struct restore_request *, char *err,
	    size_t errlen);

#endif

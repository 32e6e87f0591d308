/*
 * jobs: what the runner does, one function per command, on a struct runner
 * whose storage is open.  Each returns an exit status of kbackup-runner(8):
 * EXIT_OK, EXIT_JOB (the job failed, logged with its reason) or EXIT_USAGE.
 * The CLI (main.c), the daemon and the control socket all call these.
 */
#ifndef KB_JOBS_H
#define KB_JOBS_H

#include <stdint.h>
#include <time.h>

#include "runner/catalog/catalog.h"
#include "runner/stream/keys.h"
#include "runner/runner.h"

struct job_result {
	char		id[17];
	uint64_t	raw_bytes;
	uint64_t	stored_bytes;
	time_t		started;
	time_t		finished;
	char		error[256];	/* why it failed, for notifications and hooks */
};

struct restore_request {
	const char	*which;		/* ID, "latest" or NULL */
	const char	*at;		/* --at TIME, or NULL */
	const char	*database;	/* --database NAME, or NULL */
	const char	*storage;	/* --storage NAME, or NULL: the first */
	const char	*output;	/* unpack -o FILE|- */
	int		 dry_run;
};

int	 job_backup(struct runner *, struct job_result *);
int	 job_restore(struct runner *, const struct restore_request *);
int	 job_unpack(struct runner *, const struct restore_request *);
int	 job_verify(struct runner *, const struct restore_request *, int all);
/*
 * verify --restore: restores the backup into a scratch database (target, or
 * the engine's scratch_name() when NULL) that must not exist yet, prints its
 * tables and row counts, and drops it whatever happened.  EXIT_USAGE for
 * engines without scratch databases, definitions whose backups cannot be
 * restored under another name, and a scratch database that exists.
 */
int	 job_verify_restore(struct runner *, const struct restore_request *,
	    const char *target);
int	 job_list(struct runner *, const char *storage, int json);
int	 job_check(struct runner *, int offline);
/*
 * Deletes what no retention label holds any more (retained mode; nothing in
 * single mode).  Call it only after a successful backup, or on request.
 * dry_run: prints what it would delete and why, deletes nothing.
 */
int	 job_prune(struct runner *, int dry_run);

/* A request's backup, its location and that location's keys. */
struct opened {
	struct catalog		 catalog;
	struct keyring		 keys;
	struct location		*loc;
	const struct manifest	*m;
};

/* Loads the catalog and keys and picks the backup; -1 after logging why. */
int	 job_open_backup(struct runner *, const struct restore_request *, struct opened *);
void	 job_close_backup(struct opened *);

/* The location a request names (NULL: the first), or NULL after logging why. */
struct location *job_location(struct runner *, const char *name);

#endif

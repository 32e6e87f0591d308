/*
 * jobs: what the runner does, one function per command, on a struct runner
 * whose storage is open.  Each returns an exit status of kbackup-runner(8):
 * EXIT_OK, EXIT_JOB (the job failed, logged with its reason) or EXIT_USAGE.
 * The CLI (main.c), the daemon and the control socket all call these.
 */
#ifndef KB_JOBS_H
#define KB_JOBS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "runner/catalog/catalog.h"
#include "runner/stream/progress.h"
#include "runner/stream/keys.h"
#include "runner/runner.h"

struct job_result {
	char		id[BACKUP_ID_MAX];
	uint64_t	raw_bytes;
	uint64_t	stored_bytes;
	time_t		started;
	time_t		finished;
	char		error[256];	/* why it failed, for notifications and hooks */
};

/* --globals: whether a restore of a backup with the server's globals restores them. */
enum restore_globals {
	RESTORE_GLOBALS_DEFAULT,	/* with a whole restore, not with --only */
	RESTORE_GLOBALS_MISSING,	/* --globals: what the server lacks, existing roles untouched */
	RESTORE_GLOBALS_REPLACE,	/* --globals=replace: existing roles take the backup's */
	RESTORE_GLOBALS_SKIP		/* --globals=skip */
};

#define RESTORE_ONLY_MAX	64	/* --only NAME, given once per database */

struct restore_request {
	const char	*which;		/* ID, "latest" or NULL */
	const char	*at;		/* --at TIME, or NULL */
	const char	*lsn;		/* --lsn LSN (physical), or NULL */
	const char	*position;	/* --position FILE:POS (MySQL binary log), or NULL */
	const char	*gtid;		/* --gtid SET (MariaDB GTID position), or NULL */
	const char	*data_dir;	/* --data-dir DIR (physical), or NULL */
	const char	*database;	/* --database NAME, or NULL */
	const char	*storage;	/* --storage NAME, or NULL: the first */
	const char	*output;	/* unpack -o FILE|DIR|- */
	int		 dry_run;
	int		 skip_damaged;	/* latest / --at may pass over damaged backups */
	/* A backup of several databases: the ones to take (none: every one). */
	const char	*only[RESTORE_ONLY_MAX];
	size_t		 nonly;
	enum restore_globals globals;
	/*
	 * --jobs N, or 0: [postgres] restore_jobs.  Above 1, each database's
	 * dump is spooled into tmp/ and restored by N workers (engine.h).
	 */
	unsigned	 jobs;
};

struct prune_request {
	int	dry_run;	/* print what would be deleted and why */
	int	damaged;	/* delete damaged backups too (prune --damaged) */
};

/*
 * cats: one catalog per location, opened here when not yet (c->r == NULL)
 * and left open for the prune and the metrics that follow; the caller
 * closes them (catalogs_close).
 */
int	 job_backup(struct runner *, struct catalog *cats, struct job_result *);
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
/*
 * Drops the scratch databases of this runner's verify --restore runs that
 * are no longer running (SIGKILL), and says what it found on out (check)
 * or only in the log (out NULL).  -1 if one could not be listed or dropped.
 */
int	 job_scratch_sweep(struct runner *, FILE *out);
/*
 * Drops database (the engine's drop(), a cancel included: it runs in the
 * cleanup window) and logs it as what ("the scratch database"); -1 after
 * logging that it is to be dropped by hand.
 */
int	 job_drop_database(struct runner *, const char *database, const char *what);
int	 job_list(struct runner *, const char *storage, int json);
int	 job_check(struct runner *, int offline);
/*
 * Deletes what no retention label holds any more (retained mode) and what
 * interrupted runs left (both modes), per location, deciding each deletion
 * on the backup's own manifest.  Call it only after a successful backup, or
 * on request, holding the lock.  cats: as for job_backup (NULL: opened and
 * closed here).
 */
int	 job_prune(struct runner *, struct catalog *cats, const struct prune_request *);
struct catalog *catalogs_new(const struct runner *);
void	 catalogs_close(const struct runner *, struct catalog *);

/* A request's backup, its location and that location's keys. */
struct opened {
	struct catalog			 catalog;
	struct keyring			 keys;
	struct location			*loc;
	struct catalog_entry		*e;
	const struct backup_record	*m;	/* &e->rec: its manifest, read from storage */
};

/* Streams part n of a backup into fd (-1: check and discard). */
int	 job_read_part(struct location *, const struct keyring *,
	    const struct backup_record *, size_t n, int fd, struct progress *, uint64_t *raw,
	    char *err, size_t errlen);

/*
 * The parts a request takes of a backup, in the backup's order: a backup of
 * one stream whole; of several, the globals (with a whole restore or
 * --globals, and where globals is set: verify --restore has no use for
 * them) and every database, or those --only names.  Returns EXIT_OK, or
 * EXIT_USAGE / EXIT_JOB after logging why (--database with several
 * databases; --only of a database the backup does not hold).
 */
struct restore_plan {
	size_t	*parts;		/* indices into the record's parts */
	size_t	 n;
	int	 multi;		/* a backup of several parts (engine.h) */
};
int	 job_plan(const struct backup_record *, const struct restore_request *, int globals,
	    struct restore_plan *);
void	 job_plan_free(struct restore_plan *);
/* job_open_backup() and job_plan(); EXIT_OK with both to free, else neither. */
int	 job_open_plan(struct runner *, const struct restore_request *, int globals,
	    struct opened *, struct restore_plan *);
/* Whether a backup holds every database a request's --only names (restore --at). */
int	 job_holds(const struct backup_record *, void *req);

/* Loads the catalog and keys and picks the backup; -1 after logging why. */
int	 job_open_backup(struct runner *, const struct restore_request *, struct opened *);
void	 job_close_backup(struct opened *);

/* The location a request names (NULL: the first), or NULL after logging why. */
struct location *job_location(struct runner *, const char *name);

#endif

/*
 * status: what WAL archiving has done lately, for the metrics.
 *
 * wal-push runs once per segment, as PostgreSQL's archive_command, with no
 * daemon around it: it leaves its counts in STATE_DIR/wal-status.json
 * (read, changed and replaced under an flock of STATE_DIR/wal-status.lock,
 * never fsynced: it is only what the metrics show).  The daemon's /metrics
 * and the --once textfile read it; with wal_method = stream the daemon's
 * archiver keeps the same numbers in memory instead.
 */
#ifndef KB_WAL_STATUS_H
#define KB_WAL_STATUS_H

#include <stdint.h>
#include <time.h>

#include "engines/pg_wal.h"

struct wal_status {
	char		last_file[PG_WAL_NAME_MAX];	/* the last file archived */
	time_t		last_archived;			/* when; 0: never */
	uint64_t	archived;			/* files archived (counter) */
	uint64_t	failed;				/* pushes that failed (counter) */
	/*
	 * The oldest WAL completed and not yet archived, as the last push saw
	 * it (0: none): the archive lag is now minus this.
	 */
	time_t		pending_since;
	/* The push under way (0: none): one killed before it ended counts as failed. */
	long		running_pid;
	unsigned long long running_start;
};

/*
 * A push begins: one the status says is under way but whose process is
 * gone (SIGKILL, a crash) is counted as failed now.
 */
void	 wal_status_begin(const char *state_dir);
/* -1 when there is no status file (nothing pushed yet) or it cannot be read. */
int	 wal_status_read(const char *state_dir, struct wal_status *);
/* One push of name ended (ok or not); pending_since as above.  Failures are logged at debug. */
void	 wal_status_update(const char *state_dir, const char *name, int ok,
	    time_t pending_since);

#endif

/*
 * walcmd: "wal-push PATH" and "wal-get NAME PATH", PostgreSQL's
 * archive_command and restore_command (kbackup-runner(8)).
 *
 * Both run once per WAL file, concurrently with the daemon and with each
 * other, so they take no lock and list nothing: wal-push reads the file
 * once, checks the archive's identity (one GET), stores the file (created
 * only where absent) in every location and leaves its counts for the
 * metrics (status.h); wal-get fetches one object by its key.
 */
#ifndef KB_WALCMD_H
#define KB_WALCMD_H

#include "runner/runner.h"

/*
 * wal-get's exit status when the file is in the archive but refused
 * (damaged, swapped, a wrong key) or storage fails: above 125, PostgreSQL
 * stops recovery there instead of taking the file for the end of the
 * archive and promoting early.  A file not in the archive is EXIT_JOB.
 */
#define EXIT_WAL_REFUSED	126

/* Exit statuses of kbackup-runner(8). */
int	 job_wal_push(struct runner *, const char *path);
int	 job_wal_get(struct runner *, const char *name, const char *dest, const char *storage);

#endif

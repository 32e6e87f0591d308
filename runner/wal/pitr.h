/*
 * pitr: point-in-time recovery in the commands -- restore of a physical
 * backup into a data directory, the WAL half of verify and list, and the
 * backup's wait for its WAL.
 */
#ifndef KB_PITR_H
#define KB_PITR_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "runner/catalog/catalog.h"
#include "runner/cmd/jobs.h"
#include "runner/wal/chain.h"

/*
 * [postgres] method = physical: the definition has a WAL archive, which
 * wal-push, wal-get and restore --data-dir need.
 */
int	 pitr_on(const struct runner *);

/* The ok physical base backups of a catalog, as its records say (caller frees). */
void	 wal_bases_of(const struct catalog *, struct wal_base **, size_t *);

/*
 * restore ... --data-dir DIR: picks the base backup and recovery for the
 * target, refuses (before writing anything) a target it cannot reach or a
 * directory that is not empty, unpacks and checks the base backup there,
 * and writes the recovery settings.  An exit status.
 */
int	 job_restore_physical(struct runner *, const struct restore_request *);

/*
 * verify and list: the location's WAL archive, per timeline, for the
 * catalog's physical backups -- gaps, backups that lack their WAL, the
 * recoverable windows; with read (verify), every archived file read back,
 * each frame checked.  Prints to out; returns the number of problems
 * (verify fails on them).
 */
size_t	 wal_report(struct runner *, struct location *, const struct catalog *, FILE *out,
	    int read);
/*
 * list --json: for each physical backup's ID, its timeline, the window of
 * its run and the gap that ends it (an object; NULL when there is no
 * physical backup).
 */
json_t	*wal_report_json(struct runner *, struct location *, const struct catalog *);

/*
 * A physical backup's commit waits for its WAL: until every location holds
 * its first to last segment ([postgres] wal_wait at most, cancellable).
 */
int	 wal_wait_archived(struct runner *, const json_t *details, char *err,
	    size_t errlen);

#endif

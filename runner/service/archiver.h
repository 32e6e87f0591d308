/*
 * archiver: the daemon's half of WAL archiving for [postgres] method =
 * physical.
 *
 * wal_method = stream: a thread of its own runs the replication stream
 * (runner/wal/receive.h) with the definition's replication slot ([postgres]
 * slot, default kbackup_NAMESPACE_NAME), stores each completed segment in
 * every location through storage connections of its own (the jobs' are not
 * shared across threads), feeds the metrics, and connects again after a
 * failure with a growing pause (1 s to 60 s).  wal_method = push: nothing
 * runs here (PostgreSQL runs wal-push); the metrics read wal-push's status.
 *
 * [mysql] binlog = archive: the same thread, locations and pauses run the
 * sessions of runner/binlog/bstream.h instead of the WAL stream.
 */
#ifndef KB_ARCHIVER_H
#define KB_ARCHIVER_H

#include <stddef.h>

#include "runner/runner.h"
#include "runner/service/metrics.h"

struct archiver;

/* *ap stays NULL when there is nothing to run.  r's config must outlive it. */
int	 archiver_start(struct archiver **ap, struct runner *r, struct metrics *, char *err,
	    size_t errlen);
/* Stops the stream (at once, between two messages) and frees; NULL is a no-op. */
void	 archiver_stop(struct archiver *);
/* The slot a definition streams with: [postgres] slot, else kbackup_NAMESPACE_NAME. */
void	 archiver_slot_name(const struct runner *, char *buf, size_t len);

#endif

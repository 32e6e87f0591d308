/*
 * bstream: one session of the daemon's binary log archiving ([mysql]
 * binlog = archive), run by runner/service/archiver's thread, which starts
 * it again after a failure.
 *
 * A session asks the first location where its archive ends (the newest
 * piece: resume in that file at the offset it ends at, or in the next file
 * when it is the file's .last piece; an empty archive starts at the oldest
 * file the server still has), starts mariadb-binlog --raw --stop-never from
 * that file into a directory of the state directory, and stores what it
 * writes: a file once the next one appears (with its .last piece), and the
 * whole events of the current file at least every binlog_flush.  Offsets
 * are the server's own, so a session that starts again stores from where
 * the archive ends: no gap and no event twice.
 */
#ifndef KB_BSTREAM_H
#define KB_BSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "runner/runner.h"
#include "runner/stream/keys.h"
#include "runner/wal/archive.h"

struct binlog_stream {
	struct runner			*r;
	struct location			*locs;
	const struct keyring		*keys;
	size_t				 nlocs;
	const struct wal_store_opts	*opts;
	int				 stop_fd;	/* readable: stop */
	/* Called after each round that stored what there was (metrics); may be NULL. */
	void				(*progress)(void *arg, const struct binlog_stream *);
	void				*arg;
	/* Filled by the session: */
	uint64_t			 stored;	/* pieces stored */
	time_t				 newest_event;
	time_t				 synced;	/* the archive last held all there was */
};

/* 0: told to stop (or cancelled); -1: mariadb-binlog or an upload failed (err says). */
int	 binlog_stream_session(struct binlog_stream *, char *err, size_t errlen);

#endif

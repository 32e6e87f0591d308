/*
 * receive: WAL streamed from the server over the replication protocol
 * (libpq), each completed segment handed on to be archived: wal_method =
 * stream, what the daemon runs when the runner is not on the database's
 * host (a runner pod in Kubernetes).
 *
 * The replication protocol through libpq rather than a pg_receivewal
 * child: the position reported back to the server as flushed is the end
 * of the last segment *archived*, so the replication slot keeps on the
 * server every segment not yet in the archive.  pg_receivewal reports what
 * it has written to its local directory; a runner whose directory is lost
 * (a pod rescheduled onto another node, a SIGKILL before the upload) would
 * leave a gap the server no longer holds.  Here a killed receiver loses
 * nothing: the next one starts at the slot's position, and a segment
 * archived twice is accepted as the same content.
 *
 * A segment is assembled in a spool file (one at a time, at most the
 * segment size on disk), handed over once complete, and the status update
 * that moves the slot is sent right after it was archived.  The slot is
 * created (RESERVE_WAL) when missing.  At the end of a timeline its
 * successor's history file is fetched and handed over, and streaming goes
 * on from the switch segment on the new timeline.
 */
#ifndef KB_WAL_RECEIVE_H
#define KB_WAL_RECEIVE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct wal_receiver {
	/* Connection keywords and values for PQconnectStartParams (NULL-ended). */
	const char *const	*keywords;
	const char *const	*values;
	const char		*slot;
	const char		*spool;		/* path of the spool file */
	/* Where to start: the segment after the newest archived of a timeline, or 0. */
	uint64_t		(*next_segment)(void *arg, uint32_t tli, uint64_t segsize);
	/* A complete segment (name, fd of the spool file): archive it, 0 when stored. */
	int			(*segment)(void *arg, const char *name, int fd, char *err,
				    size_t errlen);
	/* A timeline history file: archive it. */
	int			(*history)(void *arg, const char *name, const char *text,
				    size_t len, char *err, size_t errlen);
	/* Bytes received, and since when some wait to be archived (0: none). */
	void			(*progress)(void *arg, uint64_t received, time_t pending);
	void			*arg;
	int			 stop_fd;	/* readable: stop (-1: none) */
};

/*
 * Connects, and streams until the connection fails (-1, why in err), or
 * cancel_requested() or stop_fd (0).  A segment that cannot be archived
 * fails it too: the caller connects again later, from the slot.
 */
int	 wal_receive(const struct wal_receiver *, char *err, size_t errlen);

#endif

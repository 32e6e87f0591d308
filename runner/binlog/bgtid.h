/*
 * bgtid: where a MariaDB GTID position stands in the binary log files a
 * restore replays (restore --gtid SET).
 *
 * A GTID position names, per replication domain, the last transaction to
 * keep.  The walk reads the GTID events of the files in order from the
 * dump's position: the restore stops at the first transaction's GTID event
 * once every named transaction has been seen, so that --gtid becomes a
 * --position that the replay already knows.  It refuses what is no single
 * point of the log: a named GTID that is not there (the domain skips it,
 * another server wrote that number), a transaction past the target in one
 * domain before the target of another, a transaction of a domain the
 * position does not name, and a position the archive does not reach yet.
 */
#ifndef KB_BGTID_H
#define KB_BGTID_H

#include <stddef.h>
#include <stdint.h>

#include "engines/my_binlog.h"

struct bgtid_walk {
	struct my_gtid_pos	 target;
	int			 reached[MY_GTID_DOMAINS_MAX];	/* of target.v[] */
	struct my_gtid		 newest;	/* the last GTID read, for messages */
	int			 any;
	int			 done;
	struct my_binpos	 stop;		/* once done: replay the events before it */
};

/* -1 when the dump's GTID position (dump) is already past target. */
int	 bgtid_begin(struct bgtid_walk *, const struct my_gtid_pos *target,
	    const struct my_gtid_pos *dump, const char *id, char *err, size_t errlen);
/*
 * Reads the GTID events of the file at fd (named name) from offset from on,
 * up to end (0: its end).
 */
int	 bgtid_file(struct bgtid_walk *, int fd, const char *name, uint64_t from,
	    uint64_t end, char *err, size_t errlen);
/* No more files: the last one, name, ends at end; -1 when the target is not reached. */
int	 bgtid_end(struct bgtid_walk *, const char *name, uint64_t end, char *err,
	    size_t errlen);

#endif

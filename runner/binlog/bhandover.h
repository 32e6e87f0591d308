/*
 * bhandover: what the binary log archive needs of a server that is not the
 * writer of its newest history (a replica promoted after a failover), and
 * whether that server can continue it (blink.h).
 *
 * The archive's newest file of that history is fetched and read: its last
 * transaction is left to the new server, and the GTID position before it
 * is the state the new server must have passed through.  Its
 * @@gtid_binlog_pos must hold every GTID of that state (domain by domain,
 * the same sequence number and the same server where they are equal);
 * where it does not, the server lacks archived transactions or wrote
 * others under their numbers, and it is refused: archiving it would put a
 * log that is not the archive's after it.  Where exactly the new server's
 * log passes through that state is found in its files as they arrive
 * (blink_continuation()).
 */
#ifndef KB_BHANDOVER_H
#define KB_BHANDOVER_H

#include <stddef.h>
#include <stdint.h>

#include "engines/engine.h"
#include "runner/binlog/barchive.h"
#include "runner/binlog/blink.h"

struct binlog_handover {
	uint32_t		 hist;		/* the archive's newest history */
	uint32_t		 writer;	/* its writer (0: not recorded) */
	uint32_t		 server;	/* the server reached */
	int			 needed;	/* the server is another: history hist + 1 */
	struct my_gtid_pos	 state;		/* needed: the position to go on from */
	struct binlog_link	 link;		/* needed: the link, but for file and start */
};

/*
 * Reads the archive's newest history and the server behind job into ho;
 * -1 (err says why) when they do not read, or when the server is another
 * and cannot continue the archive.
 */
int	 binlog_handover_plan(struct binlog_archive *, struct engine_job *,
	    struct binlog_handover *ho, char *err, size_t errlen);

#endif

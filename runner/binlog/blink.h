/*
 * blink: where one history of the binary log archive continues another
 * (kbackup-format(5), "Binary log archive").
 *
 * A history is the binary log of one server as the archive holds it.  The
 * first is under BASE/binlog/FILE/...; when the definition reaches another
 * server (a replica promoted after a failover: other server id, its own
 * files, whose names may be the old ones), the archiver starts history H+1
 * under BASE/binlog/H+1/FILE/... and first stores its link, BASE/binlog/
 * H+1/link: one object in the container format whose plain stream is this
 * fixed head.
 *
 *    0    8  magic "KBBLINK1"
 *    8    8  this history's number (2 and up)
 *   16    8  the server id of its writer
 *   24    8  the server id of the parent history's writer
 *   32    8  parent end: the parent's events before this offset of the
 *            parent file are replayed, what follows is not
 *   40    8  start: this history's events from this offset of its first
 *            file on are replayed
 *   48  256  the parent file's name, NUL-padded
 *  304  256  this history's first file, NUL-padded
 *  560 4096  the GTID position at both points, as text, NUL-padded
 *
 * Integers are big-endian.  The two points are the same point of the log:
 * the parent's last archived transaction is left to the new server (it may
 * have been archived only in part), so the parent ends where that
 * transaction's GTID event starts, and the state there -- every GTID
 * before it -- is where the new server's log is entered: before the first
 * transaction it holds that the state does not.  The new server must have
 * had exactly that state there (MariaDB GTIDs, gtid_strict_mode): a server
 * that lacks archived transactions, or wrote others under their numbers,
 * is refused, and nothing of it is stored.
 */
#ifndef KB_BLINK_H
#define KB_BLINK_H

#include <stddef.h>
#include <stdint.h>

#include "engines/my_binlog.h"
#include "runner/runner.h"
#include "runner/stream/keys.h"
#include "runner/binlog/bobj.h"

#define BLINK_HEAD_LEN	4656

struct binlog_link {
	uint32_t	 hist;
	uint32_t	 server;
	uint32_t	 parent_server;
	uint64_t	 parent_end;
	uint64_t	 start;
	char		 parent_file[BOBJ_NAME_MAX];
	char		 file[BOBJ_NAME_MAX];
	char		 gtid[MY_BINLOG_GTID_MAX];
	char		*key;		/* where it is stored, once listed */
};

void	 blink_encode(const struct binlog_link *, unsigned char out[BLINK_HEAD_LEN]);
int	 blink_decode(const unsigned char in[BLINK_HEAD_LEN], struct binlog_link *,
	    char *err, size_t errlen);
char	*blink_key(const char *base, uint32_t hist);
/* 1 when rest (a key after BASE/binlog/) is "H/link": *hist set. */
int	 blink_key_parse(const char *rest, uint32_t *hist);
/* Reads the link at l->key into l, checked against its key. */
int	 blink_read(struct location *, const struct keyring *, struct binlog_link *,
	    char *err, size_t errlen);
/* Stores l where absent; a link there already must say the same. */
int	 blink_store(struct location *, const struct keyring *, const char *base,
	    const struct binlog_link *, char *err, size_t errlen);

/*
 * The end of a history, from its newest file's archived bytes at fd (len
 * of them, from offset 0): *end where its last transaction's GTID event
 * starts (len when the file holds none), *state the GTID position before
 * it (the file's GTID list and the GTIDs up to there).
 */
int	 blink_tail(int fd, uint64_t len, uint64_t *end, struct my_gtid_pos *state,
	    char *err, size_t errlen);
/*
 * Where a log that has reached state goes on, in a file of a server (fd,
 * its whole events from offset 0 so far, len bytes): 1 with *start, the
 * first transaction the state does not hold; 0 when the bytes hold none
 * yet; -1 (err says why) when the file's log is not state's: a GTID of
 * state missing or another in its place, a file that starts past it.
 */
int	 blink_continuation(int fd, uint64_t len, const struct my_gtid_pos *state,
	    uint64_t *start, char *err, size_t errlen);

#endif
